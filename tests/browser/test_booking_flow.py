"""End-to-end: a parent books a half-day place on a 360 px phone, the nursery confirms it.

The seed nurseries are imported from a registry file (care types, no classes yet), so a module
fixture gives 南坪宝贝屋 a 托小班 and five half-day places in it (上午 and 下午) and creates a
parent and that nursery's staff account. It runs
`flask --app app users create` and two short scripts of the app's own code in subprocesses under
the live server's environment, so they write the very database the server reads.
"""

import subprocess
from contextlib import contextmanager
from datetime import date, timedelta

import pytest

from booking.rules import add_months

from .conftest import BIN, COMMUNITY, PHONE, ROOT, assert_no_csp_violation, watch

pytestmark = pytest.mark.browser

NURSERY = "南坪宝贝屋"  # 800 m south of the community; its offers are asserted nowhere else
PASSWORD = "browser-pass-123"
PARENT = ("browser_parent", "王女士")
STAFF = ("browser_staff", "南坪老师")
HALF_DAY_PLACES = 5

# The CLI has no command to look a nursery up or to open a class and half-day places in it
# (staff do that on the portal's 班级 and 托育类型 pages), so these run the app's own code the
# way `flask shell` would.
NURSERY_ID_BY_NAME = """
import sys
from sqlalchemy import select
from app import app
from extensions import db
from maps.models import Nursery
with app.app_context():
    print(db.session.scalar(select(Nursery.id).where(Nursery.name == sys.argv[1])))
"""
OPEN_HALF_DAY = """
import sys
from app import app
from booking.services import staff
from booking.waitlist import Settings
with app.app_context():
    staff_id, nursery_id, places = (int(a) for a in sys.argv[1:4])
    staff.save_class(staff_id, nursery_id, "toddler", "托小一班", 3, 15)
    staff.set_offer(
        staff_id, nursery_id, "half_day", places, "1200", Settings.from_config(app.config),
        class_type="toddler", price_unit="month", sessions="am,pm",
    )
"""

# Shared by the two tests: the booking the parent made in the first (the second makes its own
# when run alone).
BOOKED: dict = {}


def _run(env: dict, *args: str) -> str:
    try:
        done = subprocess.run(
            list(args), cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120
        )
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"set-up command failed: {exc.cmd[:4]}…\n{exc.stdout}\n{exc.stderr}")
    return done.stdout.strip()


def _flask(env: dict, *args: str) -> str:
    return _run(env, str(BIN / "flask"), "--app", "app", *args)


def _python(env: dict, script: str, *args: str) -> str:
    return _run(env, str(BIN / "python"), "-c", script, *args)


@pytest.fixture(scope="module")
def half_day_nursery(live_server, server_env) -> dict:
    """The nursery's id, with half-day places open, and the parent's and staff's accounts."""
    env = dict(server_env)
    nursery_id = int(_python(env, NURSERY_ID_BY_NAME, NURSERY))
    _flask(env, "users", "create", "--role", "parent",
           "--username", PARENT[0], "--password", PASSWORD, "--name", PARENT[1])  # fmt: skip
    out = _flask(env, "users", "create", "--role", "nursery_staff",
                 "--username", STAFF[0], "--password", PASSWORD, "--name", STAFF[1],
                 "--nursery", str(nursery_id))  # fmt: skip
    staff_id = int(out.rsplit("id=", 1)[1].rstrip("）)"))  # 已创建账号 …（nursery_staff，id=7）
    _python(env, OPEN_HALF_DAY, str(staff_id), str(nursery_id), str(HALF_DAY_PLACES))
    return {"nursery_id": nursery_id}


@contextmanager
def phone_page(browser, base_url: str):
    """A fresh 360×740 phone (its own cookies: one person), like conftest's `page`."""
    context = browser.new_context(base_url=base_url, **PHONE)
    context.set_default_timeout(15_000)
    try:
        page = watch(context.new_page())
        yield page
    finally:
        context.close()
    assert_no_csp_violation(page)


def assert_no_horizontal_overflow(page, what: str):
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= 360, f"{what} is wider than the 360 px screen: {widths}"


def log_in(page, username: str, next_path: str | None = None) -> None:
    page.goto("/login" + (f"?next={next_path}" if next_path else ""))
    assert_no_horizontal_overflow(page, "the login page")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    assert page.locator(".flash-success").inner_text() == "登录成功"


def add_child(page, name: str) -> None:
    page.goto("/children/new")
    page.get_by_label("孩子姓名", exact=True).fill(name)
    page.get_by_label("出生日期", exact=True).fill(add_months(date.today(), -20).isoformat())
    page.locator("label.consent").tap()
    assert page.locator("#guardian_consent").is_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="登记").tap()
    assert page.locator(".flash-success").inner_text() == f"已登记孩子：{name}"


def open_booking_form(page, nursery_id: int, via_search: bool) -> None:
    if via_search:
        page.goto("/")
        page.fill("#q", COMMUNITY)
        with page.expect_navigation():
            page.click("#search-form .locate button[type=submit]")
        link = page.locator(f'#results li.result[data-id="{nursery_id}"] a.name')
        assert link.inner_text() == NURSERY
        with page.expect_navigation():
            link.tap()
    else:
        page.goto(f"/nurseries/{nursery_id}")
    assert page.locator("h1").inner_text() == NURSERY
    with page.expect_navigation():
        page.get_by_role("link", name="入托网上约").tap()
    assert page.url.endswith(f"/nurseries/{nursery_id}/book")


def fill_half_day_booking(page, child: str, start: date) -> None:
    option = page.locator("#child_id option", has_text=child)
    assert option.inner_text() == f"{child}（20 个月）"
    page.get_by_label("为哪个孩子预约").select_option(value=option.get_attribute("value"))

    page.locator("label.choice", has=page.locator(".choice-title", has_text="半日托")).tap()
    assert page.locator('input[name="care_type"][value="half_day"]').is_checked()
    sessions = page.locator("fieldset.sessions")
    assert sessions.is_visible()  # the script shows the half-day fields only now
    assert page.locator("fieldset.hours").is_hidden()
    sessions.locator("label.check", has_text="上午").tap()
    assert page.locator('input[name="session"][value="am"]').is_checked()

    page.get_by_label("开始日期", exact=True).fill(start.isoformat())
    page.locator("label.consent").tap()
    assert page.locator("#share_consent").is_checked()


def book_half_day(
    page, nursery_id: int, child: str, start: date, via_search: bool, artifacts=None
) -> int:
    """From the nursery's page to the submitted form; returns the new booking's id."""
    open_booking_form(page, nursery_id, via_search)
    fill_half_day_booking(page, child, start)
    assert_no_horizontal_overflow(page, "the booking form")
    if artifacts is not None:
        page.screenshot(path=str(artifacts / "book-form-360.png"))
        page.screenshot(path=str(artifacts / "book-form-360-full.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="提交预约").tap()
    assert "/bookings#booking-" in page.url, page.locator("main").inner_text()
    return int(page.url.rsplit("#booking-", 1)[1])


def booking_item(page, booking_id: int):
    item = page.locator(f'li.booking[data-id="{booking_id}"]')
    assert item.count() == 1
    return item


def facts(item) -> dict[str, str]:
    return item.locator("dl.facts").evaluate(
        """dl => Object.fromEntries([...dl.querySelectorAll('dt')].map(
            dt => [dt.textContent.trim(), dt.nextElementSibling.textContent.trim()]))"""
    )


def test_parent_books_a_half_day_place_on_a_phone(page, half_day_nursery, artifacts):
    child, start = "小雨", date.today() + timedelta(days=7)
    log_in(page, PARENT[0])
    add_child(page, child)
    booking_id = book_half_day(page, half_day_nursery["nursery_id"], child, start, True, artifacts)
    BOOKED.update(id=booking_id, child=child, start=start)

    assert (
        page.locator(".flash-success")
        .inner_text()
        .startswith(f"已提交{NURSERY}的半日托预约：托位已为您保留")
    )
    assert page.locator("h1").inner_text() == "我的预约"
    item = booking_item(page, booking_id)
    assert item.get_attribute("data-status") == "pending"
    assert item.locator(".status").inner_text() == "待机构确认"
    assert item.locator("a.name").inner_text() == NURSERY
    shown = facts(item)
    assert shown["孩子"] == child
    assert shown["类型"] == "半日托"
    assert shown["时间"].startswith(f"{start:%Y-%m-%d} 起")
    assert shown["时间"].endswith("（上午）")
    # what the family pays, with its price regime; no subsidy said to be the family's
    assert shown["您需支付"].startswith("1200 元/月")
    assert shown["您需支付"].split()[-1] in ("政府指导价", "普惠限价", "市场调节价")
    assert "享受区级托育补贴" not in page.content()
    assert shown["编号"] == str(booking_id)
    assert "机构确认" in shown
    assert item.get_by_role("button", name="取消预约").is_visible()
    assert_no_horizontal_overflow(page, "我的预约")
    page.screenshot(path=str(artifacts / "bookings-360.png"))
    page.screenshot(path=str(artifacts / "bookings-360-full.png"), full_page=True)
    assert page.js_errors == []


def test_nursery_confirms_and_the_parent_sees_it(browser, live_server, half_day_nursery, artifacts):
    if BOOKED:
        booking_id, child = BOOKED["id"], BOOKED["child"]
    else:  # run on its own: book first (another child, so no overlap with an earlier try)
        child = "小雪"
        with phone_page(browser, live_server) as parent:
            log_in(parent, PARENT[0])
            add_child(parent, child)
            start = date.today() + timedelta(days=7)
            booking_id = book_half_day(parent, half_day_nursery["nursery_id"], child, start, False)

    with phone_page(browser, live_server) as portal:
        log_in(portal, STAFF[0], next_path="/portal/bookings")
        assert portal.url.endswith("/portal/bookings")
        assert portal.locator(".portal-org").inner_text() == f"{NURSERY} · 机构工作台"
        item = booking_item(portal, booking_id)
        assert item.get_attribute("data-status") == "pending"
        assert item.locator(".status").inner_text() == "待机构确认"
        assert item.locator(".booking-head strong").inner_text() == "半日托"
        shown = facts(item)
        assert shown["孩子"] == f"{child}，20 个月"
        assert shown["时间"].endswith("（上午）")
        portal_widths = portal.evaluate(
            "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
        )
        portal.screenshot(path=str(artifacts / "portal-bookings-360.png"))
        portal.screenshot(path=str(artifacts / "portal-bookings-360-full.png"), full_page=True)

        with portal.expect_navigation():
            item.get_by_role("button", name="确认入托").tap()
        assert portal.locator(".flash-success").inner_text() == (
            f"已确认预约（编号 {booking_id}），已通知家长。"
        )
        item = booking_item(portal, booking_id)
        assert item.get_attribute("data-status") == "confirmed"
        assert item.locator(".status").inner_text() == "已确认"
        assert item.get_by_role("button", name="确认入托").count() == 0
        portal.screenshot(path=str(artifacts / "portal-bookings-confirmed-360.png"))
        assert portal.js_errors == []
        assert max(portal_widths) <= 360, f"/portal/bookings is wider than 360 px: {portal_widths}"

    with phone_page(browser, live_server) as parent:
        log_in(parent, PARENT[0], next_path="/bookings")
        item = booking_item(parent, booking_id)
        assert item.get_attribute("data-status") == "confirmed"
        assert item.locator(".status").inner_text() == "已确认"
        assert "机构确认" not in facts(item)
        assert_no_horizontal_overflow(parent, "我的预约")
        parent.screenshot(path=str(artifacts / "bookings-confirmed-360.png"))
        assert parent.js_errors == []
