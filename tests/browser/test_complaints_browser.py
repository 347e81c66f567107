"""End-to-end on a 360 px phone: file a complaint, read the tracking code, open 投诉举报马上查.

The live server (gunicorn, seed nurseries from the browser conftest) is the real app; nothing
is stubbed. One test uses the page's scripts (nursery search, the site fields shown on demand,
the copy button); the other files about an unregistered site with JavaScript off, typing the
coordinates, since the form must work without the map.
"""

import re

import pytest

from .conftest import FILED, ORIGIN

pytestmark = pytest.mark.browser

CODE = re.compile(r"^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$")
NURSERY = "晨光托育园"  # 150 m north of the seed community
assert NURSERY in {n.name for n in FILED}


def assert_fits_the_phone(page, what: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= 360, f"{what} is wider than the 360 px screen: {widths}"


def read_code(page) -> str:
    shown = page.locator("#tracking-code").inner_text().strip()
    assert CODE.match(shown), shown
    return shown


def test_file_a_complaint_on_a_phone_and_track_it(page, artifacts):
    from playwright.sync_api import expect  # imported here: without playwright, tests skip

    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/complaints/new")
    assert_fits_the_phone(page, "the complaint form")
    site_fields = page.locator("#site-fields")
    assert site_fields.is_hidden()  # shown only for an unregistered site

    page.fill("#nursery_q", "晨光")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索", exact=True).tap()
    choice = page.locator("label.nursery-choice", has_text=NURSERY)
    assert choice.count() == 1
    choice.tap()
    assert choice.locator("input[type=radio]").is_checked()
    page.locator("label.site-choice").tap()
    assert site_fields.is_visible()  # …and hidden again when a nursery is chosen
    choice.tap()
    assert site_fields.is_hidden()

    page.locator("label.category-choice", has_text="安全保卫").tap()
    assert page.locator('input[name="category"][value="security"]').is_checked()
    description = "接孩子时门卫不核对身份，陌生人也能随便进出园区。"
    page.get_by_label("问题描述", exact=True).fill(description)
    count = page.locator("#description-count").inner_text()
    assert count == f"已写 {len(description)} / 4000 字"
    assert_fits_the_phone(page, "the filled complaint form")
    page.screenshot(path=str(artifacts / "complaint-form-360.png"))
    page.screenshot(path=str(artifacts / "complaint-form-360-full.png"), full_page=True)

    with page.expect_navigation():
        page.get_by_role("button", name="提交投诉举报").tap()
    assert page.url.endswith("/complaints/filed"), page.locator("main").inner_text()
    shown = read_code(page)
    assert page.locator(".lead-department").inner_text() == "公安局"
    assert_fits_the_phone(page, "the tracking-code page")
    box = page.locator("#tracking-code").bounding_box()
    assert box["width"] <= 360 and box["height"] >= 30  # large, and on one line

    link = page.locator("#track-link")
    url = link.get_attribute("href")
    assert url.endswith("/track/" + shown.replace("-", ""))
    assert link.inner_text() == url  # the plain link, readable without the button
    page.get_by_role("button", name="复制查询链接").tap()
    expect(page.locator(".copied")).to_contain_text("已复制")  # the clipboard API is async
    assert page.evaluate("() => navigator.clipboard.readText()") == url
    page.screenshot(path=str(artifacts / "complaint-code-360.png"), full_page=True)

    with page.expect_navigation():
        link.tap()
    assert page.locator("h1").inner_text() == "投诉举报马上查"
    assert page.locator(".lead-department").inner_text() == "公安局"
    assert page.locator(".case-status").inner_text() == "待受理"
    assert shown in page.locator(".track-code").inner_text()
    assert "由公安局牵头办理" in page.locator(".timeline").inner_text()
    assert description not in page.locator("main").inner_text()
    assert_fits_the_phone(page, "the tracking page")
    page.screenshot(path=str(artifacts / "complaint-track-360.png"), full_page=True)
    assert page.js_errors == []


def test_file_about_an_unregistered_site_without_javascript(nojs_page, artifacts):
    page = nojs_page
    page.goto("/complaints/new")
    assert page.locator("#site-fields").is_visible()  # nothing is hidden without scripts
    page.locator("label.site-choice").tap()
    page.get_by_label("场所名称（选填）").fill("某小区 3 栋家庭看护点")
    page.get_by_label("场所地址", exact=True).fill("测试路 99 号 3 栋 2 单元")
    page.get_by_label("纬度", exact=True).fill(f"{ORIGIN[0] + 0.001:.6f}")
    page.get_by_label("经度", exact=True).fill(f"{ORIGIN[1]:.6f}")
    page.locator("label.category-choice", has_text="无证或未备案经营").tap()
    page.get_by_label("问题描述", exact=True).fill("小区里有人在家里看护十几个孩子，没有备案。")
    with page.expect_navigation():
        page.get_by_role("button", name="提交投诉举报").tap()
    assert page.url.endswith("/complaints/filed"), page.locator("main").inner_text()
    shown = read_code(page)
    assert page.locator(".lead-department").inner_text() == "卫生健康委"
    with page.expect_navigation():
        page.locator("#track-link").tap()
    assert page.locator(".lead-department").inner_text() == "卫生健康委"
    assert shown in page.locator(".track-code").inner_text()
    assert "某小区 3 栋家庭看护点" in page.locator(".track-summary").inner_text()
    assert_fits_the_phone(page, "the tracking page without scripts")
    page.screenshot(path=str(artifacts / "complaint-track-nojs-360.png"), full_page=True)
