"""End-to-end: a family on a 360 px phone looks up the policies and asks "what applies to me":
they enter the child's birth date, pick an inclusive (普惠) nursery like the demo's, and see the
operating subsidy for the class the child would join, and the under-3 tax deduction.

A module fixture loads the shipped policies and the district's own subsidy policy with
`flask --app app policies import`, the operating subsidies with `flask --app app subsidies
import`, and adds a filed inclusive nursery with 乳儿班, 托小班 and 托大班 by a short script of
the app's own code; afterwards the nursery is unfiled again (not public), so the search tests'
counts of filed nurseries stay as they were.
"""

import json
import subprocess
from datetime import date

import pytest

from booking.rules import add_months

from .conftest import BIN, PHONE, ROOT, assert_no_csp_violation

pytestmark = pytest.mark.browser

NURSERY = "普惠星星托育园"
ADD_NURSERY = """
import sys
from datetime import time
from decimal import Decimal
from app import app
from extensions import db
from maps.models import Nursery, NurseryClass, Offer, bump_registry_version
with app.app_context():
    n = Nursery(name=sys.argv[1], address="测试路88号", kind="private", inclusive=True,
                filing_no="测备〔2025〕088号", lat=29.62, lon=106.50,
                opens_at=time(8, 0), closes_at=time(17, 0), capacity=45)
    for class_type, capacity in (("infant", 10), ("toddler", 15), ("older", 20)):
        n.classes.append(NurseryClass(class_type=class_type, name=class_type, carers=3,
                                      capacity=capacity))
        n.offers.append(Offer(care_type="full_day", class_type=class_type, price_unit="month",
                              price_yuan=Decimal("1500"), capacity=5))
    db.session.add(n)
    bump_registry_version()
    db.session.commit()
    print(n.id)
"""
UNFILE = """
import sys
from app import app
from extensions import db
from maps.models import Nursery, bump_registry_version
with app.app_context():
    db.session.get(Nursery, int(sys.argv[1])).filing_no = None
    bump_registry_version()
    db.session.commit()
"""
HOME_SUBSIDY = {
    "code": "browser-home-operating-subsidy",
    "title": "本区普惠性托育机构运营补贴",
    "category": "subsidy",
    "summary": "按班级每生每年补贴给普惠性托育机构。",
    "body": "测试数据：金额取自本区运营补贴表。",
    "region": "重庆市/渝星区",
    "inclusive_required": True,
    "amount_rule": {"kind": "operating_subsidies"},
    "source_title": "测试文件",
    "source_date": "2024-02-21",
}
SUBSIDIES = {
    "subsidies": [
        {"class_type": "older", "yuan_per_year": 700, "source": "荣昌区三年行动计划第11项"},
        {"class_type": "toddler", "yuan_per_year": 800, "source": "荣昌区三年行动计划第11项"},
        {"class_type": "infant", "yuan_per_year": 900, "source": "荣昌区三年行动计划第11项"},
    ]
}


def _run(env: dict, *args: str) -> str:
    try:
        done = subprocess.run(
            list(args), cwd=ROOT, env=env, check=True, capture_output=True, text=True, timeout=120
        )
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"set-up command failed: {exc.cmd[:4]}…\n{exc.stdout}\n{exc.stderr}")
    return done.stdout.strip()


@pytest.fixture(scope="module")
def inclusive_nursery(live_server, server_env, browser_tmp):
    env = dict(server_env)
    flask = [str(BIN / "flask"), "--app", "app"]
    home = browser_tmp / "home-policy.json"
    home.write_text(json.dumps({"policies": [HOME_SUBSIDY]}, ensure_ascii=False), "utf-8")
    subsidies = browser_tmp / "subsidies.json"
    subsidies.write_text(json.dumps(SUBSIDIES, ensure_ascii=False), "utf-8")
    _run(env, *flask, "policies", "import", str(ROOT / "policies" / "policies.json"))
    _run(env, *flask, "policies", "import", str(home))
    _run(env, *flask, "subsidies", "import", str(subsidies))
    nursery_id = _run(env, str(BIN / "python"), "-c", ADD_NURSERY, NURSERY)
    yield nursery_id
    _run(env, str(BIN / "python"), "-c", UNFILE, nursery_id)


def assert_fits_the_phone(page, what: str) -> None:
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= 360, f"{what} is wider than the 360 px screen: {widths}"


def test_a_family_finds_the_subsidy_for_their_child_at_an_inclusive_nursery(
    page, inclusive_nursery, artifacts
):
    assert PHONE["viewport"] == {"width": 360, "height": 740}
    page.goto("/policies")
    assert page.locator("h1").inner_text() == "托育政策查询"
    assert page.locator("#policies li.policy").count() >= 16
    assert "国发〔2023〕13号" in page.locator("#policies").inner_text()
    assert_fits_the_phone(page, "the policy list")

    # search: the housing-fund rules of families with two or more children
    page.get_by_label("关键词").fill("公积金")
    with page.expect_navigation():
        page.get_by_role("button", name="搜索").tap()
    titles = page.locator("#policies li.policy .name").all_inner_texts()
    assert "荣昌区二孩及以上家庭租房提取住房公积金" in titles and len(titles) == 2

    with page.expect_navigation():
        page.locator("#for-me-link").tap()
    birth = add_months(date.today(), -18).isoformat()  # 18 months old: a 托小班
    page.get_by_label("孩子出生日期").fill(birth)
    page.get_by_label("准备送托的托育机构（可不选）").select_option(label=f"{NURSERY}（普惠）")
    page.get_by_label("家中子女数（含这个孩子）").fill("2")
    with page.expect_navigation():
        page.locator("#for-me-submit").tap()

    assert page.locator("#class-note").inner_text() == "孩子 18 个月，按月龄可入该机构的托小班"
    subsidy = page.locator('#benefits li[data-code="browser-home-operating-subsidy"]')
    assert subsidy.locator(".amount").all_inner_texts() == ["每生每年 800 元"]
    assert "家庭不直接领取" in subsidy.inner_text()
    tax = page.locator('#benefits li[data-code="national-infant-care-deduction"]')
    assert tax.locator(".amount").all_inner_texts()[:2] == [
        "每孩每月 2000 元",
        "每孩每年 24000 元（12 个月）",
    ]
    assert page.locator("#price-regime").inner_text() == "普惠限价"
    assert_fits_the_phone(page, "the helper's answer")
    assert_no_csp_violation(page)
    page.screenshot(path=str(artifacts / "policies-for-me-360.png"), full_page=True)

    # a child of three is refused with a clear message, the form kept
    page.get_by_label("孩子出生日期").fill(add_months(date.today(), -36).isoformat())
    with page.expect_navigation():
        page.locator("#for-me-submit").tap()
    assert "3 岁以下" in page.locator("#page-error").inner_text()
    assert page.locator("#for-me-result").count() == 0
