"""Complaint routing, classification and deadlines: the pure domain layer (DESIGN §3.6, §3.7)."""

import copy
import json
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest

from complaints.classifier import shipped_model
from complaints.deadlines import deadlines, extend
from complaints.routing import (
    DEFAULT_RULES_PATH,
    REASON_KINDS,
    Reason,
    load_rules,
    route,
    rules_from_dict,
)
from maps.domain import NURSERY_KINDS


@pytest.fixture(scope="module")
def rules():
    return load_rules()


@pytest.fixture(scope="module")
def model():
    return shipped_model()


# --- routing matrix: every category × nursery kind ---------------------------------------------

# DESIGN §3.6 baseline as the seeds refine it (issue 16), typed independently of
# routing_rules.json: the street (镇街) co-handles the safety categories (大竹 四(三), 北碚
# 四(二), 荣昌 第16项), the emergency bureau security (北碚 任务分工 第11项).
BASELINE = {
    "food_safety": ("market", {"health", "street"}),
    "medicine_safety": ("market", {"health"}),
    "abuse": ("police", {"health"}),
    "injury": ("health", {"emergency", "street"}),
    "security": ("police", {"health", "emergency", "street"}),
    "fire_safety": ("fire", {"emergency", "street"}),
    "building_safety": ("housing", {"emergency", "street"}),
    "hygiene": ("health", {"street"}),
    "fees": ("market", set()),
    "contract_dispute": ("market", set()),
    "unlicensed": ("health", {"market", "civil_affairs"}),
    "staffing": ("health", {"hr"}),
    "labour_rights": ("hr", set()),
    "care_quality": ("health", set()),
    "false_advertising": ("market", set()),
    "other": ("health", set()),
}
KIND_CO = {"kindergarten_class": {"education"}, "employer": {"union"}}
PUBLIC = {"public", "public_private"}  # 公建民营 counts as 公办 (as planning counts it)


def test_rules_cover_exactly_the_design_categories(rules):
    assert set(rules.categories) == set(BASELINE)


@pytest.mark.parametrize("kind", [*NURSERY_KINDS, None])
@pytest.mark.parametrize("category", list(BASELINE))
def test_route_every_category_and_kind(rules, category, kind):
    is_public = kind in PUBLIC
    r = route(category, kind, is_public, False, "", rules)
    lead, co = BASELINE[category]
    expected_co = set(co) | KIND_CO.get(kind, set())
    if category == "fees" and is_public:
        expected_co |= {"development", "health"}  # 荣昌 第9项: the three jointly
    expected_co.discard(lead)
    assert r.category_used == category
    assert r.lead == lead
    assert set(r.co_handlers) == expected_co
    assert len(r.co_handlers) == len(set(r.co_handlers))
    street_co = "street" in BASELINE[category][1]
    assert r.informed == (() if street_co else ("street",))
    assert r.urgent is (category == "abuse")
    assert any("基线规则" in reason for reason in r.texts)
    if not street_co:
        assert any("镇街" in reason and "知会" in reason for reason in r.texts)
    else:
        assert any("镇街（street）协办" in reason for reason in r.texts)
    if kind in KIND_CO:
        assert any(NURSERY_KINDS[kind] in reason for reason in r.texts)
    if kind is None:
        assert any("未登记" in reason for reason in r.texts)


@pytest.mark.parametrize("kind", ["public", "public_private"])
def test_fees_at_a_public_nursery_market_leads_with_development_and_health(rules, kind):
    # 荣昌 第9项 names 发展改革委, 卫生健康委 and 市场监管局 jointly; market enforces prices
    r = route("fees", kind, True, False, "保育费涨价了，比物价局核定的标准多收三百", rules)
    assert r.lead == "market"
    assert r.co_handlers == ("development", "health")
    assert any("public_fees_joint" in reason and "发展改革委" in reason for reason in r.texts)
    assert "public_fees_development" not in json.dumps(r.texts, ensure_ascii=False)


def test_fees_at_a_private_nursery_have_no_development_co_handler(rules):
    r = route("fees", "private", False, False, "保育费涨价了", rules)
    assert (r.lead, r.co_handlers) == ("market", ())


def test_inclusive_fees_add_health(rules):
    r = route("fees", "private", False, True, "多收费", rules)
    assert (r.lead, r.co_handlers) == ("market", ("health",))
    r = route("fees", "public", True, True, "多收费", rules)
    assert (r.lead, r.co_handlers) == ("market", ("development", "health"))
    # inclusive does not matter outside fees
    assert route("care_quality", "private", False, True, "", rules).co_handlers == ()


def test_reason_text_names_category_and_department(rules):
    r = route("food_safety", "private", False, False, "饭菜不新鲜", rules)
    assert "类别 餐食与饮用水（food_safety）→ 市场监管局（market）牵头（基线规则）" in r.texts


# --- structured reasons: a kind per step, the text as stored ----------------------------------


def _kinds(r) -> list[tuple]:
    return [(x.kind, x.department) for x in r.reasons]


def test_every_reason_names_its_kind_and_keeps_its_text(rules):
    r = route("medicine_safety", "kindergarten_class", False, False, "老师给孩子喂错药", rules)
    assert all(isinstance(x, Reason) and x.kind in REASON_KINDS for x in r.reasons)
    assert r.texts == [x.text for x in r.reasons]
    assert _kinds(r) == [
        ("baseline_lead", "market"),
        ("baseline_co", None),
        ("adjustment", None),
        ("informed", "street"),
    ]
    lead = "类别 药品安全（medicine_safety）→ 市场监管局（market）牵头（基线规则）"
    assert r.reasons[0].text == lead
    assert r.reasons[2].rule == "kindergarten_class_education"
    assert r.reasons[3].text == "镇街（street）知会（属地责任，始终知会）"


def test_escalation_and_classification_reasons_say_which_rule(rules, model):
    r = route("care_quality", "private", False, False, "老师态度很差，还打孩子的手心", rules)
    kinds = [x.kind for x in r.reasons]
    assert kinds[:2] == ["escalated", "escalated_co"]
    assert r.reasons[1].department == "health"  # the chosen category's lead, now co-handling
    assert "urgent_category" in kinds and "urgent_text" not in kinds
    other = route("other", None, False, False, "收了一年学费突然关门跑路了", rules, model)
    assert [x.kind for x in other.reasons][0] == "classified"
    assert "unregistered_site" in [x.kind for x in other.reasons]
    # without a model nothing classifies the text: a person does (待分类)
    unread = route("other", "private", False, False, "收了一年学费突然关门跑路了", rules)
    assert unread.reasons[0].kind == "awaiting" and unread.awaiting_category


def test_a_site_without_a_street_informs_no_one_as_the_street(rules):
    r = route("care_quality", "private", False, False, "", rules)
    assert r.informed == ("street",)
    without = r.without_street(rules.departments)
    assert without.informed == ()
    assert ("informed", "street") not in _kinds(without)
    assert without.reasons[-1] == Reason(
        "no_street",
        "场所所属镇街未知（机构未登记镇街，或 5 公里内无已知社区）→ 暂无属地镇街知会",
        "street",
    )
    assert without.reasons[:-1] == r.reasons[:-1]  # the other steps as they were
    assert (without.lead, without.co_handlers) == (r.lead, r.co_handlers)


def test_a_site_without_a_street_has_no_street_co_handler(rules):
    r = route("fire_safety", "private", False, False, "", rules)
    assert r.co_handlers == ("emergency", "street") and r.informed == ()
    without = r.without_street(rules.departments)
    assert (without.lead, without.co_handlers, without.informed) == ("fire", ("emergency",), ())
    assert without.reasons[-1] == Reason(
        "no_street",
        "场所所属镇街未知（机构未登记镇街，或 5 公里内无已知社区）→ 暂无属地镇街协办",
        "street",
    )


def test_the_street_reason_is_found_by_its_kind_not_its_words():
    """Renaming the street department (rules are data) still drops its "知会" reason."""
    data = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    data["departments"] = {**load_rules().departments, "street": "街道办事处"}
    renamed = rules_from_dict(data)
    r = route("care_quality", "private", False, False, "", renamed)
    r = r.without_street(renamed.departments)
    assert not any("知会（属地责任" in t for t in r.texts)
    assert r.texts[-1].startswith("场所所属街道办事处未知")


def test_a_reason_of_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        Reason("guess", "按经验")


# --- escalation and urgency ------------------------------------------------------------------


def test_child_hit_filed_as_care_quality_escalates_to_abuse(rules):
    r = route("care_quality", "private", False, False, "老师态度很差，还打孩子的手心", rules)
    assert r.category_used == "abuse"
    assert r.urgent is True
    assert r.lead == "police"
    assert "health" in r.co_handlers
    escalation = [reason for reason in r.texts if "升级为" in reason]
    assert any("“打孩子”" in reason and "虐待体罚" in reason for reason in escalation)


def test_escalation_keeps_original_lead_as_co_handler(rules):
    r = route(
        "building_safety", "employer", False, False, "吊顶掉下来砸到孩子头上，缝了五针", rules
    )
    assert r.category_used == "injury"
    assert r.lead == "health"
    assert set(r.co_handlers) == {"emergency", "housing", "union", "street"}
    assert r.urgent is True
    assert any("缝" in reason and "意外伤害" in reason for reason in r.texts)


def test_other_is_routed_by_text(rules, model):
    r = route("other", "private", False, False, "收了一年学费突然关门跑路了", rules, model)
    assert r.category_used == "fees"
    assert r.lead == "market"
    assert r.urgent is False
    assert not r.awaiting_category
    assert any("文本分类模型归为 收费与退费" in reason for reason in r.texts)


def test_other_without_text_awaits_a_person_at_health(rules, model):
    r = route(None, "community", False, False, "", rules, model)
    assert (r.category_used, r.lead, r.urgent, r.awaiting_category) == (
        "other",
        "health",
        False,
        True,
    )
    assert any("待分类" in reason for reason in r.texts)


def test_no_escalation_to_a_less_serious_category(rules):
    r = route("abuse", "private", False, False, "孩子被打后摔倒骨折了", rules)
    assert r.category_used == "abuse"
    assert r.lead == "police"
    assert r.urgent is True
    assert any("骨折" in reason and "紧急" in reason for reason in r.texts)


def test_minor_injury_is_not_urgent_but_serious_is(rules):
    assert route("injury", "private", False, False, "膝盖擦破了皮", rules).urgent is False
    assert route("injury", "private", False, False, "摔到胳膊骨折", rules).urgent is True


def test_food_poisoning_filed_as_hygiene_is_urgent_food_safety(rules):
    r = route("hygiene", "private", False, False, "好几个孩子上吐下泻，像是食物中毒", rules)
    assert (r.category_used, r.lead, r.urgent) == ("food_safety", "market", True)


def test_fire_filed_as_building_is_urgent(rules):
    r = route("building_safety", "family", False, False, "配电箱着火冒烟了", rules)
    assert (r.category_used, r.lead, r.urgent) == ("fire_safety", "fire", True)


def test_blocked_exit_is_fire_safety_but_not_urgent(rules):
    r = route("fire_safety", "private", False, False, "安全出口被堵", rules)
    assert (r.lead, r.urgent) == ("fire", False)


@pytest.mark.parametrize(
    "text", ["老师说从来没有打孩子", "孩子没有骨折，只是擦伤", "园方说不是食物中毒"]
)
def test_negated_urgent_words_do_not_escalate(rules, text):
    r = route("care_quality", "private", False, False, text, rules)
    assert r.category_used == "care_quality"
    assert r.urgent is False


def test_full_width_text_is_normalised(rules):
    # NFKC: full-width "ＩＣＵ" matches the keyword "icu"
    assert route("injury", "private", False, False, "孩子进了ＩＣＵ", rules).urgent is True


def test_unknown_category_or_kind_is_refused(rules):
    with pytest.raises(ValueError, match="category"):
        route("nonsense", "private", False, False, "", rules)
    with pytest.raises(ValueError, match="kind"):
        route("fees", "castle", False, False, "", rules)


# --- data validation ----------------------------------------------------------------------------


def _data():
    return json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))


def _category(data, code):
    return next(c for c in data["categories"] if c["code"] == code)


def test_unknown_department_is_refused():
    data = _data()
    _category(data, "fees")["lead"] = "tax"
    with pytest.raises(ValueError, match=r"category fees lead: unknown department code 'tax'"):
        rules_from_dict(data)


def test_unknown_co_handler_is_refused():
    data = _data()
    _category(data, "hygiene")["co"] = ["cdc"]
    with pytest.raises(ValueError, match="unknown department code 'cdc'"):
        rules_from_dict(data)


def test_category_without_lead_is_refused():
    data = _data()
    del _category(data, "abuse")["lead"]
    with pytest.raises(ValueError, match="category abuse: has no lead department"):
        rules_from_dict(data)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda d: d["categories"].append(copy.deepcopy(d["categories"][0])), "duplicate"),
        (lambda d: d.update(categories=[]), "non-empty list"),
        (lambda d: d.update(fallback_category="misc"), "fallback category 'misc'"),
        (lambda d: d["adjustments"][0]["when"].update(kind=["castle"]), "unknown nursery kind"),
        (lambda d: d["adjustments"][0].update(add_co=["tax"]), "unknown department code"),
        (lambda d: d["adjustments"][0]["when"].update(colour=["red"]), "'when' must use only"),
        (lambda d: d["adjustments"][2]["when"].update(category=["pets"]), "unknown category"),
        (lambda d: d.update(always_informed=["village"]), "always_informed"),
        (lambda d: _category(d, "fees").update(keywords="收费"), "fees keywords"),
        (lambda d: _category(d, "fees").update(co=["market"]), "also a co-handler"),
    ],
)
def test_invalid_rules_are_refused(mutate, message):
    data = _data()
    mutate(data)
    with pytest.raises(ValueError, match=message):
        rules_from_dict(data)


def test_load_rules_from_a_path(tmp_path):
    path = tmp_path / "rules.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_rules(path)
    path.write_text(json.dumps(_data(), ensure_ascii=False), encoding="utf-8")
    assert load_rules(path).categories["abuse"].lead == "police"


# --- deadlines on the Chinese calendar -----------------------------------------------------------


def test_calendar_facts_2026():
    # Spring Festival 2026: Feb 15–23 off, make-up working days Sat Feb 14 and Sat Feb 28
    assert chinese_calendar.is_workday(date(2026, 2, 14)) is True
    assert chinese_calendar.is_workday(date(2026, 2, 28)) is True
    for day in range(15, 24):
        assert chinese_calendar.is_holiday(date(2026, 2, day)) is True
    assert chinese_calendar.is_workday(date(2026, 2, 24)) is True
    # National Day 2026: Oct 1–7 off, make-up Sun Sep 20 and Sat Oct 10; Mid-autumn Sep 25–27
    assert chinese_calendar.is_workday(date(2026, 9, 20)) is True
    assert chinese_calendar.is_workday(date(2026, 10, 10)) is True
    for day in range(1, 8):
        assert chinese_calendar.is_holiday(date(2026, 10, day)) is True
    for day in (25, 26, 27):
        assert chinese_calendar.is_holiday(date(2026, 9, day)) is True


def _count_workdays(after: date, until: date) -> int:
    """Working days in (after, until], straight from chinese_calendar (not via workdays.py)."""
    return len(chinese_calendar.get_workdays(after + timedelta(days=1), until))


def test_acceptance_across_spring_festival():
    filed = datetime(2026, 2, 12, 10, 30)  # Thursday
    d = deadlines(filed, urgent=False)
    # 13 (Fri), 14 (make-up Sat), 24–27, 28 (make-up Sat) = 7; Mar 2–6 = 12; Mar 9–11 = 15
    assert d.accept_by == datetime(2026, 3, 11, 10, 30)
    assert _count_workdays(filed.date(), d.accept_by.date()) == 15


def test_filed_on_make_up_saturday():
    d = deadlines(datetime(2026, 2, 14, 9, 0), urgent=False)
    # 24, 25, 26, 27, 28 (make-up Sat) = 5; Mar 2–6 = 10; Mar 9–13 = 15
    assert d.accept_by == datetime(2026, 3, 13, 9, 0)
    assert _count_workdays(date(2026, 2, 14), date(2026, 3, 13)) == 15


def test_acceptance_across_national_day():
    filed = datetime(2026, 9, 18, 16, 0)  # Friday
    d = deadlines(filed, urgent=False)
    # Sep 20 (make-up Sun), 21–24 (5), 28–30 (8), Oct 8, 9, 10 (make-up Sat) (11), 12–15 (15)
    assert d.accept_by == datetime(2026, 10, 15, 16, 0)
    assert _count_workdays(filed.date(), d.accept_by.date()) == 15


def test_conclusion_is_60_working_days_and_counts_from_acceptance():
    # crosses the Spring Festival, Qingming and May Day (May 1–5, make-up Sat May 9) holidays
    filed = datetime(2026, 2, 12, 10, 30)
    conclude = deadlines(filed, urgent=False).conclude_by
    assert conclude.time() == filed.time()
    assert chinese_calendar.is_workday(conclude.date())
    assert _count_workdays(filed.date(), conclude.date()) == 60
    accepted = datetime(2026, 2, 24, 9, 0)
    d = deadlines(filed, urgent=False, accepted_at=accepted)
    assert _count_workdays(accepted.date(), d.conclude_by.date()) == 60
    assert d.conclude_by > conclude
    with pytest.raises(ValueError):
        deadlines(filed, urgent=False, accepted_at=datetime(2026, 2, 1))


def test_urgent_acceptance_does_not_wait_for_holidays():
    filed = datetime(2026, 10, 1, 20, 0)
    assert deadlines(filed, urgent=True).accept_by == datetime(2026, 10, 2, 20, 0)


def test_extension_once_by_at_most_30_working_days():
    conclude = datetime(2026, 9, 30, 17, 0)
    # Oct 8, 9, 10 (make-up Sat) = 3 working days
    assert extend(conclude, 3) == datetime(2026, 10, 10, 17, 0)
    assert extend(conclude, 30) > extend(conclude, 29)
    for bad in (0, 31, -1, 2.5, True):
        with pytest.raises(ValueError):
            extend(conclude, bad)
    with pytest.raises(ValueError, match="only once"):
        extend(conclude, 10, already_extended=True)
