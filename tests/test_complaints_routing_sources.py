"""Routing defaults as the seeds say them (issue 16): each default's source (依据), the
keyword adjustments (toys → market, 甲醛 → health, subsidies → finance, 配建 → planning), the
street as co-handler of the safety categories, and the validation of the new fields."""

import copy
import json

import pytest

from accounts.roles import DEPARTMENTS
from complaints.routing import (
    DEFAULT_RULES_PATH,
    MAX_SOURCE_CHARS,
    adjusted_lead,
    load_rules,
    route,
    rules_from_dict,
)

SAFETY = {"food_safety", "injury", "security", "fire_safety", "building_safety", "hygiene"}
SEEDS = ("荣昌", "大足", "大竹", "绍兴", "北碚", "本系统默认", "条例", "法")


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def shipped() -> dict:
    return json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


# --- every default names its source ----------------------------------------------------------


def test_every_department_category_and_adjustment_in_the_shipped_file_has_a_source():
    data = shipped()
    entries = [(f"department {c}", d) for c, d in data["departments"].items()]
    entries += [(f"category {c['code']}", c) for c in data["categories"]]
    entries += [(f"adjustment {a['id']}", a) for a in data["adjustments"]]
    assert len(entries) == len(data["departments"]) + 16 + len(data["adjustments"])
    for where, entry in entries:
        assert isinstance(entry, dict), where
        source = entry.get("source")
        assert isinstance(source, str) and source.strip(), where
        assert len(source) <= MAX_SOURCE_CHARS, where
        assert any(word in source for word in SEEDS), (where, source)


def test_the_loaded_rules_carry_the_sources(rules):
    assert set(rules.department_sources) == set(rules.departments)
    assert "北碚 任务分工 第11项" in rules.department_sources["emergency"]
    assert "四(三)" in rules.department_sources["street"]
    assert all(cat.source for cat in rules.categories.values())
    assert all(adj.source for adj in rules.adjustments)
    assert "荣昌 行动计划 第9项" in rules.categories["fees"].source


def test_a_version_saved_before_sources_still_loads():
    data = shipped()
    data["departments"] = {code: d["name"] for code, d in data["departments"].items()}
    for entry in data["categories"] + data["adjustments"]:
        entry.pop("source")
    old = rules_from_dict(data, strict=False)
    assert old.department_sources == {}
    assert all(c.source is None for c in old.categories.values())
    assert all(a.source is None for a in old.adjustments)
    assert old.departments == load_rules().departments
    # a version from before departments were data at all takes the default list
    data.pop("departments")
    assert rules_from_dict(data, strict=False).departments == DEPARTMENTS


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d["categories"][0].update(source=""),
        lambda d: d["categories"][0].update(source="   "),
        lambda d: d["categories"][0].update(source="第" * (MAX_SOURCE_CHARS + 1)),
        lambda d: d["categories"][0].update(source=9),
        lambda d: d["adjustments"][0].update(source=["荣昌"]),
        lambda d: d["departments"].update(finance={"name": "财政局", "source": ""}),
        lambda d: d["departments"].update(finance={"name": "财政局", "source": None, "x": 1}),
    ],
)
def test_a_bad_source_is_refused_in_chinese(change):
    data = shipped()
    change(data)
    with pytest.raises(ValueError) as err:
        rules_from_dict(data)
    message = str(err.value)
    assert "依据（source）须为" in message or "only 'name' and 'source'" in message


def test_the_rulebook_refuses_a_bad_source_with_a_chinese_message(app):
    from complaints import rulebook
    from errors import DomainError

    data = shipped()
    data["adjustments"][0]["source"] = "x" * 201
    with app.app_context(), pytest.raises(DomainError) as err:
        rulebook.validate(data)
    assert err.value.status == 400
    assert "规则有误：调整规则 kindergarten_class_education：依据（source）须为 1–200 字" in (
        err.value.message
    )


# --- the defaults, as the seeds say ----------------------------------------------------------


@pytest.mark.parametrize("category", sorted(SAFETY))
def test_the_street_co_handles_the_safety_categories(rules, category):
    r = route(category, "private", False, False, "", rules)
    assert "street" in r.co_handlers and "street" not in r.informed


@pytest.mark.parametrize(
    "category",
    ["abuse", "medicine_safety", "fees", "contract_dispute", "unlicensed", "staffing"]
    + ["labour_rights", "care_quality", "false_advertising", "other"],
)
def test_the_street_is_informed_of_the_other_categories(rules, category):
    r = route(category, "private", False, False, "", rules)
    assert r.informed == ("street",) and "street" not in r.co_handlers


def test_security_involves_the_emergency_bureau(rules):
    r = route("security", "private", False, False, "门口没有保安，陌生人随便进出", rules)
    assert r.lead == "police"
    assert r.co_handlers == ("health", "emergency", "street")


@pytest.mark.parametrize(
    "text",
    ["户外的滑梯开裂了，边上很锋利", "秋千的铁链生锈松动", "教室里的大型玩具缺了螺丝摇摇晃晃"],
)
def test_playground_equipment_and_toys_are_product_safety(rules, text):
    r = route("building_safety", "private", False, False, text, rules)
    assert r.lead == "market"
    assert "housing" not in r.co_handlers  # the building is not what is wrong
    assert any("toys_product_safety" in t and "文本含" in t for t in r.texts)
    assert adjusted_lead("building_safety", "private", False, False, text, rules) == "market"


def test_a_building_complaint_without_toys_stays_with_housing(rules):
    r = route("building_safety", "private", False, False, "天花板墙皮一块块往下掉", rules)
    assert r.lead == "housing" and not any("toys_product_safety" in t for t in r.texts)


def test_an_injury_on_the_slide_adds_market_as_co_handler(rules):
    r = route("injury", "private", False, False, "孩子从滑梯上摔下来磕破了头", rules)
    assert r.lead == "health"
    assert set(r.co_handlers) == {"emergency", "street", "market"}


def test_formaldehyde_is_indoor_air_for_the_health_commission(rules):
    r = route("building_safety", "private", False, False, "刚装修完就开园，甲醛超标", rules)
    assert r.lead == "health"
    assert set(r.co_handlers) == {"emergency", "street", "housing"}
    assert any("indoor_air_health" in t for t in r.texts)
    # a word inside a longer word does not count (word boundaries, as for keywords)
    r = route("building_safety", "private", False, False, "墙上的裂缝越来越大", rules)
    assert r.lead == "housing"


def test_a_subsidy_not_paid_adds_finance_and_health(rules):
    r = route("fees", "private", False, True, "普惠运营补贴一直没发，园长就让家长补交费用", rules)
    assert r.lead == "market"
    assert r.co_handlers == ("health", "finance")
    assert any("subsidy_finance" in t and "“运营补贴”" in t for t in r.texts)
    # a negation does not hide the word: that the subsidy is missing is the complaint
    r = route("fees", "private", False, False, "说今年没有补贴了，每月多收两百", rules)
    assert "finance" in r.co_handlers
    # an unclassified complaint about the subsidy: health triages, finance co-handles
    r = route("other", None, False, False, "托育补贴申请了半年还没到账", rules)
    assert (r.lead, r.co_handlers) == ("health", ("finance",))


def test_a_planned_facility_used_otherwise_adds_planning_and_housing(rules):
    text = "小区配建的托育用房被开发商挪作他用，改成了售楼处"
    r = route("building_safety", None, False, False, text, rules)
    assert r.lead == "housing" and "natural_resources" in r.co_handlers
    r = route("other", None, False, False, text, rules)  # no model: awaiting triage at health
    assert r.lead == "health" and r.co_handlers == ("natural_resources", "housing")


# --- keyword conditions: validated like the keywords -----------------------------------------


@pytest.mark.parametrize(
    "keywords, message",
    [
        (["甲"], "至少 2 个字"),
        ([], "must be a list of non-empty strings|at least one word"),
        ("甲醛", "must be a list"),
        ([""], "must be a list of non-empty strings"),
    ],
)
def test_a_bad_keyword_condition_is_refused(keywords, message):
    data = shipped()
    adj = next(a for a in data["adjustments"] if a["id"] == "indoor_air_health")
    adj["when"]["keywords"] = keywords
    with pytest.raises(ValueError, match=message):
        rules_from_dict(data)


def test_an_admin_keyword_adjustment_routes(rules):
    data = copy.deepcopy(shipped())
    data["adjustments"].append(
        {
            "id": "nursing_room_urban",
            "when": {"category": ["other"], "keywords": ["母婴室"]},
            "add_co": ["urban_management"],
            "reason": "公共场所母婴室 → 城市管理局 协办",
            "source": "北碚 任务分工 第20项（区城市管理局牵头）",
        }
    )
    data["departments"]["urban_management"] = {"name": "城市管理局", "source": "北碚 第20项"}
    mine = rules_from_dict(data)
    r = route("other", None, False, False, "商场的母婴室一直锁着用不了", mine)
    assert "urban_management" in r.co_handlers
    assert mine.adjustments[-1].source.startswith("北碚 任务分工 第20项")
