"""End-to-end at 360 px: a fire department handler records an inspection of 远山托育中心 that
orders rectification by a date; the public nursery page then shows the result and the deadline,
never the findings.

The handler account is made with `flask --app app users create` under the live server's
environment, so it lives in the very database the server reads.
"""

import subprocess
from datetime import date, timedelta

import pytest

from .conftest import BIN, PHONE, ROOT, assert_no_csp_violation, watch

pytestmark = pytest.mark.browser

NURSERY = "远山托育中心"  # the farthest seed nursery: no other browser test asserts its page
HANDLER = "browser_fire"
PASSWORD = "browser-pass-123"
FINDINGS = "二楼安全出口指示灯损坏，疏散门上锁（浏览器测试）"
NURSERY_ID_BY_NAME = """
import sys
from sqlalchemy import select
from app import app
from extensions import db
from maps.models import Nursery
with app.app_context():
    print(db.session.scalar(select(Nursery.id).where(Nursery.name == sys.argv[1])))
"""


def _run(env: dict, *args: str) -> str:
    try:
        done = subprocess.run(
            list(args), cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120
        )
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"set-up command failed: {exc.cmd[:4]}…\n{exc.stdout}\n{exc.stderr}")
    return done.stdout.strip()


@pytest.fixture(scope="module")
def nursery_id(live_server, server_env) -> int:
    env = dict(server_env)
    _run(env, str(BIN / "flask"), "--app", "app", "users", "create", "--role", "handler",
         "--username", HANDLER, "--password", PASSWORD, "--department", "fire")  # fmt: skip
    return int(_run(env, str(BIN / "python"), "-c", NURSERY_ID_BY_NAME, NURSERY))


def assert_fits(page, what: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= 360, f"{what} is wider than the 360 px screen: {widths}"


def test_a_handler_records_a_rectification_and_the_public_page_shows_it(
    browser, live_server, nursery_id, artifacts
):
    today = date.today()
    deadline = (today + timedelta(days=14)).isoformat()
    context = browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(15_000)
    page = watch(context.new_page())
    try:
        page.goto("/login?next=/handle/inspections")
        page.get_by_label("用户名").fill(HANDLER)
        page.get_by_label("密码").fill(PASSWORD)
        with page.expect_navigation():
            page.locator("main form button[type=submit]").tap()
        assert page.locator("h1").inner_text() == "监督检查"
        assert_fits(page, "the inspection list")
        with page.expect_navigation():
            page.locator("#new-inspection").tap()
        assert_fits(page, "the record form")
        page.get_by_label("被检查机构").select_option(str(nursery_id))
        page.get_by_label("检查类别").select_option("fire")
        page.get_by_label("检查日期").fill(today.isoformat())
        page.get_by_label("检查发现").fill(FINDINGS)
        page.get_by_label("责令限期整改").check()
        page.get_by_label("整改期限").fill(deadline)
        page.screenshot(path=str(artifacts / "inspection-form-360.png"), full_page=True)
        with page.expect_navigation():
            page.get_by_role("button", name="保存检查记录").tap()
        assert page.locator("#inspection-status").get_attribute("data-status") == "open"
        assert page.locator("#inspection-result").inner_text() == "责令限期整改"
        assert deadline in page.locator("#rectify-deadline").inner_text()
        assert FINDINGS in page.locator("#findings").inner_text()
        assert page.locator("#action-close").count() == 1
        assert_fits(page, "the inspection page")
        assert page.js_errors == []
    finally:
        context.close()
    assert_no_csp_violation(page)

    public = browser.new_context(base_url=live_server, **PHONE)
    visitor = watch(public.new_page())
    try:
        visitor.goto(f"/nurseries/{nursery_id}")
        results = visitor.locator("#inspection-results")
        row = results.locator('tr[data-kind="fire"]')
        assert row.get_attribute("data-result") == "rectify"
        text = row.inner_text()
        assert "消防救援" in text and "责令限期整改" in text and deadline in text
        assert today.isoformat() in text
        assert FINDINGS not in visitor.content()
        assert_fits(visitor, "the public nursery page")
        visitor.screenshot(path=str(artifacts / "inspection-public-360.png"), full_page=True)
    finally:
        public.close()
    assert_no_csp_violation(visitor)
