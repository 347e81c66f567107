"""Online filing in a phone browser (360 px): an applicant registers and files a new nursery with
its documents, the commission's admin approves it, and the nursery is found on the public
search page at once."""

import io
import subprocess

import pytest
from PIL import Image

from tests.browser.conftest import BIN, COMMUNITY, ORIGIN, PHONE, ROOT, watch

ADMIN = "filing-admin"
PASSWORD = "filing-pass-2026"
NAME = "浏览器测试托育园"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 160, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def admin(live_server, server_env):
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", "users", "create", "--role", "admin",
         "--username", ADMIN, "--password", PASSWORD],
        cwd=ROOT, env=server_env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return ADMIN


# Afterwards the approved nursery is unfiled again (not public): the browser tests share one
# server, and the search tests count the filed nurseries around the test community.
UNFILE = """
import sys
from sqlalchemy import select
from app import app
from extensions import db
from maps.models import Nursery, bump_registry_version
with app.app_context():
    for n in db.session.scalars(select(Nursery).where(Nursery.name == sys.argv[1])):
        n.filing_no = None
    bump_registry_version()
    db.session.commit()
"""


@pytest.fixture
def unfiled_afterwards(live_server, server_env):
    yield
    subprocess.run(
        [str(BIN / "python"), "-c", UNFILE, NAME],
        cwd=ROOT, env=server_env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip


def fits_the_phone(page, what: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= 360, f"{what} is wider than the 360 px screen: {widths}"


def test_operator_files_admin_approves_and_the_nursery_is_public(
    page, browser, live_server, admin, artifacts, unfiled_afterwards
):
    # 1. the applicant registers and lands on the application form
    page.goto("/filing/register")
    page.get_by_label("用户名").fill("browser-operator")
    page.get_by_label("申办人姓名或单位").fill("测试申办人")
    page.get_by_label("密码", exact=True).fill("op-pass-2026-x")
    page.get_by_label("再次输入密码").fill("op-pass-2026-x")
    with page.expect_navigation():
        page.locator("main form button[type=submit]").tap()
    assert page.url.endswith("/filing/new")
    fits_the_phone(page, "the filing form")

    # 2. the form, section by section
    page.fill("#name", NAME)
    page.select_option("#kind", "private")
    page.select_option("#registration", "market")
    page.fill("#registration_no", "91350100M000100Y43")
    page.check("input[name=care_full_day]")
    page.fill("#address", "测试街道花园路2号")
    page.select_option("#street_id", label="测试街道")
    page.fill("#lat", f"{ORIGIN[0] + 0.001:.6f}")
    page.fill("#lon", f"{ORIGIN[1] + 0.001:.6f}")
    page.fill("#floor_area_m2", "260")
    page.fill("#outdoor_area_m2", "40")
    page.select_option("#class_type-0", "toddler")
    page.fill("#class_name-0", "小一班")
    page.fill("#class_capacity-0", "10")
    page.fill("#class_carers-0", "2")
    page.fill("#staff_name-0", "王保育")
    page.select_option("#staff_role-0", "caregiver")
    page.fill("#staff_cert-0", "BY001")
    page.fill("#staff_name-1", "李育婴")
    page.select_option("#staff_role-1", "infant_carer")
    page.fill("#staff_cert-1", "无")
    page.get_by_role("button", name="＋ 再加一人").tap()  # the script adds a third row
    page.fill("#staff_name-2", "赵保健")
    page.select_option("#staff_role-2", "health_worker")
    pdf = {"name": "消防.pdf", "mimeType": "application/pdf", "buffer": PDF}
    page.set_input_files("#doc_fire_safety", pdf)
    page.set_input_files("#doc_health_evaluation", {**pdf, "name": "卫生评价.pdf"})
    page.set_input_files(
        "#doc_photo", {"name": "活动室.png", "mimeType": "image/png", "buffer": _png()}
    )
    fits_the_phone(page, "the filled filing form")
    page.screenshot(path=str(artifacts / "filing-form-360.png"), full_page=True)
    with page.expect_navigation():
        page.locator("#submit-filing").tap()
    body = page.locator("main").inner_text()
    assert "待审核" in body and "审核期限" in body, body[:1500]
    assert "王保育" in body and "赵保健" in body
    assert page.get_by_role("link", name="活动室.png").count() == 1

    # 3. the admin reviews and approves on a phone too
    context = browser.new_context(base_url=live_server, **PHONE)
    try:
        review = watch(context.new_page())
        review.goto("/login?next=/admin/filings")
        review.get_by_label("用户名").fill(admin)
        review.get_by_label("密码").fill(PASSWORD)
        with review.expect_navigation():
            review.locator("main form button[type=submit]").tap()
        with review.expect_navigation():
            review.get_by_role("link", name=f"新机构备案：{NAME}").tap()
        fits_the_phone(review, "the review page")
        review.screenshot(path=str(artifacts / "filing-review-360.png"), full_page=True)
        review.check("input[name=confirm]")
        with review.expect_navigation():
            review.locator("#approve").tap()
        assert "已通过" in review.locator("main").inner_text()
        assert review.csp_violations == [] and review.js_errors == []
    finally:
        context.close()

    # 4. the public search finds it at once
    page.goto("/")
    page.fill("#q", COMMUNITY)
    with page.expect_navigation():
        page.click("#search-form .locate button[type=submit]")
    names = page.eval_on_selector_all(
        "#results li.result a.name", "els => els.map(e => e.textContent.trim())"
    )
    assert NAME in names
    assert page.js_errors == []
