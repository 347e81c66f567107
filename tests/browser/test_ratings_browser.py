"""End-to-end at 360 px: a parent whose child's enrolment has started rates the nursery, the
district admin approves the comment in the moderation queue, and the comment appears on the
nursery's public page (family ratings, issue 12).

The set-up gives a new parent a child with a confirmed enrolment at 远山托育中心 that began 40
days ago (written by a short script of the app's own code under the live server's
environment: no page makes a past booking), and creates an admin with the CLI.
"""

import pytest

from .conftest import PHONE, assert_no_csp_violation, watch
from .test_booking_flow import _flask, _python, assert_no_horizontal_overflow, log_in

pytestmark = pytest.mark.browser

NURSERY = "远山托育中心"
PASSWORD = "browser-pass-123"  # the one test_booking_flow.log_in types
PARENT = ("rating_parent", "赵先生")
ADMIN = ("rating_admin", "区管理员")
COMMENT = "老师每天反馈孩子吃饭午睡的情况，很安心。"

STARTED_ENROLMENT = """
import sys
from datetime import date, datetime, timedelta
from sqlalchemy import select
from app import app
from accounts.models import User
from booking.models import Booking
from booking.services import family
from booking.waitlist import Settings
from extensions import db
from maps.models import Nursery, Offer
with app.app_context():
    parent = db.session.scalar(select(User).where(User.username == sys.argv[1]))
    nursery = db.session.scalar(select(Nursery).where(Nursery.name == sys.argv[2]))
    child = family.register_child(
        parent.id, "小禾", date.today() - timedelta(days=600), True,
        Settings.from_config(app.config),
    )
    offer = db.session.scalar(
        select(Offer).where(Offer.nursery_id == nursery.id, Offer.care_type == "full_day")
    )
    now = datetime.now().replace(microsecond=0)
    db.session.add(Booking(
        child_id=child.id, parent_id=parent.id, nursery_id=nursery.id, offer_id=offer.id,
        care_type="full_day", status="confirmed", start_date=date.today() - timedelta(days=40),
        created_at=now, updated_at=now,
    ))
    db.session.commit()
    print(nursery.id)
"""


@pytest.fixture(scope="module")
def rated_nursery(live_server, server_env) -> int:
    env = dict(server_env)
    for role, (username, name) in (("parent", PARENT), ("admin", ADMIN)):
        _flask(env, "users", "create", "--role", role,
               "--username", username, "--password", PASSWORD, "--name", name)  # fmt: skip
    return int(_python(env, STARTED_ENROLMENT, PARENT[0], NURSERY))


def _phone(browser, base_url):
    context = browser.new_context(base_url=base_url, **PHONE)
    context.set_default_timeout(15_000)
    return context, watch(context.new_page())


def test_parent_rates_admin_approves_and_the_comment_goes_public(
    browser, live_server, rated_nursery, artifacts
):
    nursery_id = rated_nursery
    # The parent rates, from 我的评价.
    context, page = _phone(browser, live_server)
    log_in(page, PARENT[0])
    page.goto("/ratings")
    assert_no_horizontal_overflow(page, "my ratings")
    with page.expect_navigation():
        page.get_by_role("link", name="去评价").tap()
    assert page.url.endswith(f"/nurseries/{nursery_id}/rate?child_id=" + page.url.rsplit("=", 1)[1])
    for aspect, n in (("safety", 5), ("care", 5), ("food", 4), ("communication", 5), ("value", 4)):
        page.locator(f"#field-{aspect} label.star-choice", has_text=f"{n} 星").tap()
        assert page.locator(f'#field-{aspect} input[value="{n}"]').is_checked()
    page.locator("#comment").fill(COMMENT)
    assert_no_horizontal_overflow(page, "the rating form")
    page.screenshot(path=str(artifacts / "rating-form-360.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="提交评价").tap()
    assert page.url.endswith("/ratings")
    assert "审核通过后公开" in page.locator(".flash-success").inner_text()
    assert "待审核" in page.locator(".my-rating").inner_text()
    context.close()
    assert_no_csp_violation(page)

    # Before moderation the stars count, the words do not show.
    context, page = _phone(browser, live_server)
    page.goto(f"/nurseries/{nursery_id}")
    assert "1 条评价" in page.locator("#ratings").inner_text()
    assert COMMENT not in page.locator("main").inner_text()

    # The admin approves it in the queue.
    log_in(page, ADMIN[0])
    page.goto("/admin/ratings")
    assert_no_horizontal_overflow(page, "the moderation queue")
    item = page.locator(".moderation-item", has_text=COMMENT)
    assert (
        item.count() == 1 and PARENT[1] not in item.inner_text() and "小禾" not in item.inner_text()
    )
    with page.expect_navigation():
        item.get_by_role("button", name="公开").tap()
    assert page.locator(".flash-success").inner_text() == "已公开该评价内容。"
    context.close()
    assert_no_csp_violation(page)

    # Anyone now reads it on the nursery's page, without the family's names.
    context, page = _phone(browser, live_server)
    page.goto(f"/nurseries/{nursery_id}")
    section = page.locator("#ratings")
    assert COMMENT in section.inner_text()
    assert "家长 · " in section.inner_text() and "学期" in section.inner_text()
    assert PARENT[1] not in section.inner_text() and "小禾" not in section.inner_text()
    assert "4.6" in section.locator(".rating-overall").inner_text()
    assert_no_horizontal_overflow(page, "the nursery page with ratings")
    page.screenshot(path=str(artifacts / "nursery-ratings-360.png"), full_page=True)
    context.close()
    assert_no_csp_violation(page)
