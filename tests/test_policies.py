"""Policy look-up (托育政策查询): the policies as data, the public search, the admin's edits with
their audit entries, the file import/export, and the "what applies to me" helper's amounts for
each class, district, nursery and family — on both databases where a database is involved."""

import json
import re
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from audit.models import AuditEntry
from extensions import db
from policies import eligibility
from policies.document import (
    PolicyError,
    check_policy,
    dump_document,
    parse_document,
    region_covers,
)
from policies.eligibility import NurseryFacts, Situation, evaluate
from policies.models import Policy
from tests.conftest import login

SHIPPED = Path(__file__).resolve().parent.parent / "policies" / "policies.json"
SHIPPED_POLICIES = parse_document(SHIPPED.read_bytes())
HOME = "重庆市/渝星区"
RONGCHANG, DAZU, DAZHU = "重庆市/荣昌区", "重庆市/大足区", "四川省/达州市/大竹县"
RATES = {"older": 700, "toddler": 800, "infant": 900}  # the demo's table (荣昌 item 11)
HOME_SUBSIDY = check_policy(
    {
        "code": "home-operating-subsidy",
        "title": "本区普惠性托育机构运营补贴",
        "category": "subsidy",
        "summary": "按班级每生每年补贴",
        "body": "本区运营补贴表",
        "region": HOME,
        "inclusive_required": True,
        "amount_rule": {"kind": "operating_subsidies"},
        "source_title": "测试文件",
    }
)
POLICIES = [*SHIPPED_POLICIES, HOME_SUBSIDY]
ON = date(2026, 12, 3)


def situation(months, district=HOME, children=1, nursery=None, birth=None, on=ON):
    return Situation(months, on, district, HOME, children, birth, nursery)


def benefit(outcome, code):
    found = [b for b in outcome.applies if b.policy.code == code]
    return found[0] if found else None


def yuan(b):
    return [a.yuan for a in b.amounts]


def reasons(outcome):
    return {p.code: reason for p, reason in outcome.not_applicable}


# --- the plain rules: amounts by class, district, nursery and family --------------------------


@pytest.mark.parametrize(
    "months, label, amount",
    [
        (0, "乳儿班", 900),  # joins no class before six months: the first class it can join
        (5, "乳儿班", 900),
        (6, "乳儿班", 900),
        (11, "乳儿班", 900),
        (12, "托小班", 800),
        (23, "托小班", 800),
        (24, "托大班", 700),
        (35, "托大班", 700),
    ],
)
def test_rongchang_subsidy_follows_the_class_of_the_childs_age(months, label, amount):
    out = evaluate(situation(months, RONGCHANG), POLICIES, RATES)
    b = benefit(out, "rongchang-operating-subsidy")
    assert [(a.label, a.yuan, a.unit) for a in b.amounts] == [(label, amount, "元/生/年")]
    assert "仅限选择普惠性托育机构" in b.notes
    assert ("满 6 个月后才能入托" in out.class_note) == (months < 6)


def _nursery(class_types, inclusive=True, kind="private"):
    return NurseryFacts(1, "测试托育园", kind, inclusive, tuple(class_types))


@pytest.mark.parametrize(
    "class_types, months, expected",
    [
        (("infant", "toddler", "older"), 8, [("乳儿班", 900)]),
        (("infant", "toddler", "older"), 15, [("托小班", 800)]),
        (("infant", "toddler", "older"), 30, [("托大班", 700)]),
        # a 混合班 (18–36 months) has no rate of its own: the class of the child's age counts
        (("mixed",), 20, [("混合班（按月龄计托小班标准）", 800)]),
        (("mixed",), 30, [("混合班（按月龄计托大班标准）", 700)]),
        (("toddler", "mixed"), 20, [("托小班", 800), ("混合班（按月龄计托小班标准）", 800)]),
    ],
)
def test_subsidy_at_a_chosen_inclusive_nursery_by_its_classes(class_types, months, expected):
    out = evaluate(situation(months, nursery=_nursery(class_types)), POLICIES, RATES)
    b = benefit(out, "home-operating-subsidy")
    assert [(a.label, a.yuan) for a in b.amounts] == expected


def test_a_mixed_class_with_a_rate_of_its_own_gets_that_rate():
    rates = {**RATES, "mixed": 750}
    out = evaluate(situation(20, nursery=_nursery(["mixed"])), POLICIES, rates)
    assert yuan(benefit(out, "home-operating-subsidy")) == [750]


def test_no_subsidy_at_a_nursery_that_is_not_inclusive():
    out = evaluate(situation(15, nursery=_nursery(["toddler"], inclusive=False)), POLICIES, RATES)
    assert benefit(out, "home-operating-subsidy") is None
    assert reasons(out)["home-operating-subsidy"] == "所选机构不是普惠性托育机构"
    assert out.regime == "market"
    # the national deduction does not depend on the nursery
    assert yuan(benefit(out, "national-infant-care-deduction"))[:2] == [2000, 24000]


def test_no_subsidy_when_the_nursery_has_no_class_for_the_age():
    out = evaluate(situation(10, nursery=_nursery(["older"])), POLICIES, RATES)
    assert benefit(out, "home-operating-subsidy") is None
    assert "没有" in reasons(out)["home-operating-subsidy"]
    assert out.classes == []


def test_a_kindergarten_class_takes_two_year_olds_only():
    kg = _nursery(["older"], kind="kindergarten_class")
    assert evaluate(situation(20, nursery=kg), POLICIES, RATES).classes == []
    assert yuan(
        benefit(evaluate(situation(26, nursery=kg), POLICIES, RATES), "home-operating-subsidy")
    ) == [700]


def test_price_regime_of_the_chosen_nursery():
    public = _nursery(["toddler"], kind="public")
    assert evaluate(situation(15, nursery=public), POLICIES, RATES).regime == "guided"
    assert (
        evaluate(situation(15, nursery=_nursery(["toddler"])), POLICIES, RATES).regime == "capped"
    )


def test_each_district_sees_its_own_and_the_wider_regions_policies():
    def codes(district):
        return {
            b.policy.code for b in evaluate(situation(15, district, 2), POLICIES, RATES).applies
        }

    rongchang, dazu, dazhu, home = codes(RONGCHANG), codes(DAZU), codes(DAZHU), codes(HOME)
    assert {"rongchang-operating-subsidy", "rongchang-housing-fund-rent"} <= rongchang
    assert "rongchang-operating-subsidy" not in dazu | dazhu | home
    assert {"dazu-operating-subsidy", "dazu-housing-fund"} <= dazu
    # 重庆市 policies reach every Chongqing district, not 大竹 (四川)
    assert "chongqing-extended-leave" in rongchang & dazu & home
    assert "chongqing-extended-leave" not in dazhu
    # national ones reach everyone
    assert "national-infant-care-deduction" in rongchang & dazu & dazhu & home
    assert "home-operating-subsidy" in home and "home-operating-subsidy" not in rongchang


def test_a_nursery_policy_follows_the_nurserys_district_not_the_familys():
    """A family in 荣昌 that picks a nursery of this service gets this district's subsidy."""
    out = evaluate(situation(15, RONGCHANG, nursery=_nursery(["toddler"])), POLICIES, RATES)
    assert yuan(benefit(out, "home-operating-subsidy")) == [800]
    assert benefit(out, "rongchang-operating-subsidy") is None
    assert any("渝星区" in n for n in out.notes)
    # the family's own district still decides the housing fund
    out2 = evaluate(situation(15, RONGCHANG, 2, nursery=_nursery(["toddler"])), POLICIES, RATES)
    assert benefit(out2, "rongchang-housing-fund-rent") is not None


def test_dazu_states_no_amount_and_the_helper_invents_none():
    b = benefit(evaluate(situation(15, DAZU), POLICIES, RATES), "dazu-operating-subsidy")
    assert b.amounts == [] and "以当地公布为准" in " ".join(b.notes)


def test_an_expired_policy_is_listed_with_its_end_date():
    out = evaluate(situation(15, DAZHU), POLICIES, RATES)
    assert reasons(out)["dazhu-leave"] == "已于 2026-09-14 失效"
    assert benefit(
        evaluate(situation(15, DAZHU, on=date(2026, 1, 5)), POLICIES, RATES), "dazhu-leave"
    )


@pytest.mark.parametrize("children, applies", [(1, False), (2, True), (3, True)])
def test_housing_fund_rule_for_two_or_more_children(children, applies):
    out = evaluate(situation(15, RONGCHANG, children), POLICIES, RATES)
    b = benefit(out, "rongchang-housing-fund-rent")
    assert (b is not None) == applies
    if applies:
        assert b.amounts[0].text == "为无孩、一孩家庭租住市场租赁住房的提取额度的 1.5 倍"
    else:
        assert reasons(out)["rongchang-housing-fund-rent"] == "适用于有 2 个及以上子女的家庭"


def test_tax_deduction_per_month_per_year_and_this_year():
    birth = date(2024, 5, 10)
    out = evaluate(situation(30, birth=birth, on=date(2026, 11, 10)), POLICIES, RATES)
    b = benefit(out, "national-infant-care-deduction")
    assert yuan(b) == [2000, 24000, 24000]
    assert "national-infant-care-deduction-2022" in reasons(out)  # superseded in 2023
    # from the month of birth to the month before the third birthday (2027-05-10)
    assert eligibility.deduction_months_in_year(birth, 2024) == 8
    assert eligibility.deduction_months_in_year(birth, 2027) == 4
    assert eligibility.deduction_months_in_year(birth, 2028) == 0
    in_2022 = evaluate(situation(5, birth=date(2022, 3, 1), on=date(2022, 8, 1)), POLICIES, RATES)
    assert yuan(benefit(in_2022, "national-infant-care-deduction-2022")) == [1000, 12000, 10000]
    assert benefit(in_2022, "national-infant-care-deduction") is None


def test_maternity_leave_concerns_the_first_year():
    assert (
        benefit(evaluate(situation(3), POLICIES), "national-maternity-leave").amounts[0].text
        == "98 天"
    )
    assert benefit(evaluate(situation(12), POLICIES), "national-maternity-leave") is None


@pytest.mark.parametrize("months", [0, 35])
def test_ages_zero_and_35_months_are_answered(months):
    assert eligibility.age_in_months(None, months, ON) == months


def test_age_boundaries_and_bad_ages_are_refused_in_chinese():
    with pytest.raises(eligibility.EligibilityError) as exc:
        eligibility.age_in_months(None, 36, ON)
    assert exc.value.code == "over_three" and "3 岁以下" in exc.value.message
    with pytest.raises(eligibility.EligibilityError) as exc:
        eligibility.age_in_months(date(2026, 12, 4), None, ON)
    assert exc.value.code == "birth_in_future"
    assert eligibility.age_in_months(ON, None, ON) == 0
    assert eligibility.age_in_months(date(2023, 12, 4), None, ON) == 35
    with pytest.raises(eligibility.EligibilityError):
        eligibility.age_in_months(date(2023, 12, 3), None, ON)  # the third birthday


def test_regions_cover_their_districts_only():
    assert region_covers("全国", DAZHU)
    assert region_covers("重庆市", RONGCHANG)
    assert not region_covers("重庆市/荣昌区", "重庆市/荣昌")
    assert not region_covers(RONGCHANG, "重庆市")


# --- the file ----------------------------------------------------------------------------------


def test_the_shipped_file_round_trips_and_states_its_sources():
    again = parse_document(dump_document(SHIPPED_POLICIES).encode())
    assert again == sorted(SHIPPED_POLICIES, key=lambda p: p.code)
    assert all(p.source_title for p in SHIPPED_POLICIES)
    tax = next(p for p in SHIPPED_POLICIES if p.code == "national-infant-care-deduction")
    assert tax.amount_rule == {"kind": "per_child_month", "yuan": 2000}
    assert "国发〔2023〕13号" in tax.source_title


@pytest.mark.parametrize(
    "change, message",
    [
        ({"category": "lottery"}, "类别须为"),
        ({"title": "标" * 121}, "标题不能超过 120 字"),
        ({"summary": "含\x00控制字符"}, "控制字符"),
        ({"min_age_months": 24, "max_age_months": 12}, "最大月龄须大于最小月龄"),
        ({"amount_rule": {"kind": "per_class_year", "rates": {"kindergarten": 1}}}, "rates 的班级"),
        ({"amount_rule": {"kind": "per_child_month"}}, "缺少：yuan"),
        ({"region": "重庆市//荣昌区"}, "适用地区"),
        ({"effective_from": "2026-13-01"}, "生效日期须为日期"),
    ],
)
def test_a_bad_policy_is_refused_with_a_chinese_message(change, message):
    item = {**SHIPPED_POLICIES[0].as_dict(), **change}
    with pytest.raises(PolicyError) as exc:
        check_policy(item)
    assert message in exc.value.message


def test_a_file_with_a_bad_entry_is_refused_whole_with_its_number():
    items = [p.as_dict() for p in SHIPPED_POLICIES[:2]]
    items.append({**items[0]})  # duplicate code
    with pytest.raises(PolicyError) as exc:
        parse_document(json.dumps({"policies": items}).encode())
    assert "第 3 条" in exc.value.message and "重复" in exc.value.message
    with pytest.raises(PolicyError):
        parse_document(b"\xff\xfe")


# --- with a database ---------------------------------------------------------------------------


def _import_shipped(runner):
    result = runner.invoke(args=["policies", "import", str(SHIPPED)])
    assert result.exit_code == 0, result.output
    return result


def test_import_export_round_trip_and_reimport_updates(app, runner, tmp_path):
    result = _import_shipped(runner)
    assert f"新增 {len(SHIPPED_POLICIES)} 条" in result.output
    exported = runner.invoke(args=["policies", "export"]).output
    assert parse_document(exported.encode()) == sorted(SHIPPED_POLICIES, key=lambda p: p.code)
    again = _import_shipped(runner)
    assert f"更新 {len(SHIPPED_POLICIES)} 条" in again.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Policy)) == len(SHIPPED_POLICIES)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "policies.import")
            )
            == 2
        )
    bad = tmp_path / "bad.json"
    items = json.loads(exported)["policies"]
    items[0]["title"] = "改过的标题"
    items[1]["category"] = "lottery"
    bad.write_text(json.dumps({"policies": items}), encoding="utf-8")
    refused = runner.invoke(args=["policies", "import", str(bad)])
    assert refused.exit_code != 0 and "第 2 条" in refused.output
    with app.app_context():  # nothing half-stored
        assert (
            db.session.scalar(select(Policy.title).where(Policy.code == items[0]["code"]))
            != "改过的标题"
        )


def _count(html: str) -> int:
    return html.count('class="result policy"')


def test_search_by_text_and_category(app, client, runner):
    _import_shipped(runner)
    page = client.get("/policies")
    assert page.status_code == 200 and _count(page.get_data(as_text=True)) == len(SHIPPED_POLICIES)
    html = client.get("/policies?q=公积金").get_data(as_text=True)
    assert _count(html) == 2 and "荣昌区二孩及以上家庭租房提取住房公积金" in html
    html = client.get("/policies?category=tax").get_data(as_text=True)
    assert _count(html) == 2 and "国发〔2023〕13号" in html
    html = client.get("/policies?q=荣昌 补贴&category=subsidy").get_data(as_text=True)
    assert _count(html) == 1 and "每生每年 700 元、800 元、900 元" in html
    # % is a literal, not a wildcard: "%补贴" is in no text, though 补贴 is
    assert _count(client.get("/policies?q=%25补贴").get_data(as_text=True)) == 0
    assert _count(client.get("/policies?q=100%25").get_data(as_text=True)) == 1
    api = client.get("/api/v1/policies?category=housing_fund").get_json()
    assert api["count"] == 2 and all(r["category"] == "housing_fund" for r in api["results"])
    assert {"source_title", "source_date", "amount_rule"} <= set(api["results"][0])


@pytest.mark.parametrize(
    "query, message",
    [("category=lottery", "类别须为"), ("q=" + "补" * 51, "不能超过 50 字"), ("q=%01", "控制字符")],
)
def test_bad_search_input_is_refused(app, client, query, message):
    r = client.get("/policies?" + query)
    assert r.status_code == 400 and message in r.get_data(as_text=True)
    assert client.get("/api/v1/policies?" + query).status_code == 400


def _admin(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = False
    user = make_user("admin")
    login(client, user)
    with app.app_context():
        from accounts.models import User

        return db.session.scalar(select(User.id).where(User.username == user[0]))


def _form(p, **changes) -> dict:
    d = p.as_dict()
    data = {
        k: ("" if v is None else v)
        for k, v in d.items()
        if k not in ("hidden", "inclusive_required")
    }
    data["amount_rule"] = json.dumps(d["amount_rule"], ensure_ascii=False)
    if d["inclusive_required"]:
        data["inclusive_required"] = "y"
    data.update(changes)
    return data


def _audit(app, action):
    with app.app_context():
        return db.session.execute(
            select(AuditEntry.actor_id, AuditEntry.subject_id).where(AuditEntry.action == action)
        ).all()


def test_admin_edits_a_policy_and_the_audit_log_says_so(app, client, runner, make_user):
    _import_shipped(runner)
    admin_id = _admin(app, client, make_user)
    with app.app_context():
        policy = db.session.scalar(
            select(Policy).where(Policy.code == "rongchang-operating-subsidy")
        )
        pid, data = policy.id, policy.data()
    assert client.get(f"/admin/policies/{pid}/edit").status_code == 200
    rule = json.dumps(
        {"kind": "per_class_year", "rates": {"infant": 950, "toddler": 850, "older": 750}}
    )
    r = client.post(f"/admin/policies/{pid}/edit", data=_form(data, amount_rule=rule))
    assert r.status_code == 303
    with app.app_context():
        row = db.session.get(Policy, pid)
        assert row.data().amount_rule["rates"]["infant"] == 950 and row.updated_by == admin_id
    assert _audit(app, "policy.update") == [(admin_id, pid)]
    out = client.get("/api/v1/policies/for-me?age_months=8&district=重庆市/荣昌区").get_json()
    assert next(b for b in out["results"] if b["code"] == data.code)["amounts"][0]["yuan"] == 950

    # refused: a bad amount rule, nothing stored, no audit entry
    r = client.post(f"/admin/policies/{pid}/edit", data=_form(data, amount_rule='{"kind": "lots"}'))
    assert r.status_code == 400 and "金额规则的 kind" in r.get_data(as_text=True)
    r = client.post(f"/admin/policies/{pid}/edit", data=_form(data, min_children="两个"))
    assert r.status_code == 400 and "须为整数" in r.get_data(as_text=True)
    assert len(_audit(app, "policy.update")) == 1

    # hide: gone from the public page and the helper; show brings it back
    r = client.post(f"/admin/policies/{pid}/hide", data={"reason": "标准调整中"})
    assert r.status_code == 303
    admin_page = client.get("/admin/policies").get_data(as_text=True)  # shows the flash too
    assert "已隐藏" in admin_page and "荣昌区普惠性托育机构运营补贴" in admin_page
    public_page = client.get("/policies?q=荣昌").get_data(as_text=True)
    assert "荣昌区普惠性托育机构运营补贴" not in public_page
    out = client.get("/api/v1/policies/for-me?age_months=8&district=重庆市/荣昌区").get_json()
    assert data.code not in {b["code"] for b in out["results"]}
    assert _audit(app, "policy.hide") == [(admin_id, pid)]
    client.post(f"/admin/policies/{pid}/show", data={})
    client.get("/admin/policies")
    assert "荣昌区普惠性托育机构运营补贴" in client.get("/policies?q=荣昌").get_data(as_text=True)
    assert _audit(app, "policy.show") == [(admin_id, pid)]


def test_admin_creates_a_policy_and_a_taken_code_is_refused(app, client, make_user):
    admin_id = _admin(app, client, make_user)
    assert client.get("/admin/policies/new").status_code == 200
    data = _form(HOME_SUBSIDY)
    r = client.post("/admin/policies/new", data=data)
    assert r.status_code == 303
    with app.app_context():
        pid = db.session.scalar(select(Policy.id).where(Policy.code == HOME_SUBSIDY.code))
    assert _audit(app, "policy.create") == [(admin_id, pid)]
    r = client.post("/admin/policies/new", data={**data, "title": "另一条"})
    assert r.status_code == 409 and "已被其他政策使用" in r.get_data(as_text=True)
    r = client.post("/admin/policies/new", data={**data, "code": "other", "title": "题\x00目"})
    assert r.status_code == 400
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Policy)) == 1
    assert client.get("/admin/policies/9999/edit").status_code == 404


def test_only_the_admin_reaches_the_policy_admin_pages(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = False
    assert client.get("/admin/policies").status_code == 302  # to the login page
    login(client, make_user("parent"))
    assert client.get("/admin/policies").status_code == 403
    assert client.get("/policies").status_code == 200
    assert client.get("/policies/for-me").status_code == 200


@pytest.fixture
def district(app, runner, make_nursery):
    """The shipped policies, the home district's subsidy policy, its subsidy table, and an
    inclusive and a market nursery with 乳儿班, 托小班 and 托大班."""
    from booking.services.admin import replace_subsidies
    from policies.services import import_policies

    _import_shipped(runner)
    inclusive = make_nursery(
        name="普惠阳光托育园", inclusive=True, class_types=("infant", "toddler", "older")
    )
    market = make_nursery(name="市场彩虹托育园", class_types=("infant", "toddler", "older"))
    unfiled = make_nursery(name="未备案托育点", filed=False, inclusive=True)
    with app.app_context():
        replace_subsidies([(c, y, "测试") for c, y in RATES.items()], None, "测试")
        import_policies([HOME_SUBSIDY], None, "测试")
    return {"inclusive": inclusive, "market": market, "unfiled": unfiled}


def _amounts(html: str) -> list[str]:
    return re.findall(r'<dd class="amount">([^<]+)</dd>', html)


@pytest.mark.parametrize("months, amount", [(8, 900), (18, 800), (30, 700)])
def test_for_me_shows_the_subsidy_of_the_class_at_the_chosen_nursery(
    client, district, months, amount
):
    r = client.get(f"/policies/for-me?age_months={months}&nursery_id={district['inclusive']}")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert f"每生每年 {amount} 元" in _amounts(html)
    assert "每孩每月 2000 元" in _amounts(html)
    assert "普惠限价" in html  # the nursery's price regime
    market = client.get(f"/policies/for-me?age_months={months}&nursery_id={district['market']}")
    html = market.get_data(as_text=True)
    assert f"每生每年 {amount} 元" not in _amounts(html) and "所选机构不是普惠性托育机构" in html
    assert "市场调节价" in html


def test_for_me_by_birth_date_and_district(client, district):
    birth = date.today().replace(day=1).replace(year=date.today().year - 1).isoformat()
    out = client.get(
        f"/api/v1/policies/for-me?birth_date={birth}&district={RONGCHANG}&children=2"
    ).get_json()
    codes = {b["code"] for b in out["results"]}
    assert {
        "rongchang-operating-subsidy",
        "rongchang-housing-fund-rent",
        "national-infant-care-deduction",
    } <= codes
    assert out["age_months"] in (11, 12)
    one = client.get(
        f"/api/v1/policies/for-me?birth_date={birth}&district={RONGCHANG}&children=1"
    ).get_json()
    assert "rongchang-housing-fund-rent" not in {b["code"] for b in one["results"]}


@pytest.mark.parametrize(
    "query, message",
    [
        ("birth_date=2999-01-01", "出生日期不能晚于今天"),
        ("age_months=36", "3 岁以下"),
        ("age_months=40", "3 岁以下"),
        ("birth_date=2020-01-01", "3 岁以下"),
        ("birth_date=昨天", "出生日期须为"),
        ("age_months=-1", "月龄须在"),
        ("age_months=12&nursery_id=987654", "所选托育机构不存在"),
        ("age_months=12&nursery_id={unfiled}", "所选托育机构不存在"),
        ("age_months=12&district=火星区", "请从列表中选择所在区县"),
        ("age_months=12&children=0", "家庭子女数"),
        ("age_months=12&district=%00", "控制字符"),
    ],
)
def test_for_me_bad_input_is_a_400_in_chinese(client, district, query, message):
    query = query.format(**district)
    page = client.get("/policies/for-me?" + query)
    assert page.status_code == 400 and message in page.get_data(as_text=True)
    api = client.get("/api/v1/policies/for-me?" + query)
    assert api.status_code == 400 and message in api.get_json()["error"]["message"]


def test_for_me_without_input_shows_the_form(client, district):
    html = client.get("/policies/for-me").get_data(as_text=True)
    assert 'id="for-me-form"' in html and 'id="for-me-result"' not in html
    assert "普惠阳光托育园（普惠）" in html and "未备案托育点" not in html
    assert "荣昌区" in html and "大竹县" in html
    assert client.get("/api/v1/policies/for-me").status_code == 400


def test_price_policies_name_the_chosen_nurserys_regime():
    price = check_policy(
        {
            "code": "home-prices",
            "title": "本区收费价格管理",
            "category": "price",
            "summary": "收费方式",
            "body": "公办指导价，普惠限价，其他市场调节价",
            "region": HOME,
            "source_title": "测试文件",
        }
    )
    out = evaluate(situation(15, nursery=_nursery(["toddler"], kind="public")), [price], RATES)
    assert benefit(out, "home-prices").notes == [
        "所选机构收费实行政府指导价，各托位价格见下方“所选机构的收费”"
    ]
    alone = evaluate(situation(15), [price], RATES)
    assert benefit(alone, "home-prices").notes == ["文件未规定统一金额，以当地公布为准"]


def test_the_demo_shows_a_real_subsidy_for_its_inclusive_nurseries(app):
    """On the demo site, a family picking a demo inclusive nursery sees the district's operating
    subsidy for the class of their child's age (the table demo/district.py loads)."""
    from demo.district import SUBSIDIES, load_demo
    from maps.models import Nursery
    from policies import queries

    with app.app_context():
        summary = load_demo(now=None)
        assert summary["policies"] == len(SHIPPED_POLICIES) + 2
        nurseries = db.session.scalars(
            select(Nursery).where(Nursery.inclusive, Nursery.filing_no.is_not(None))
        ).all()
        checked = 0
        for n in nurseries:
            for c in {c.class_type for c in n.classes} & {"infant", "toddler", "older"}:
                months = {"infant": 8, "toddler": 15, "older": 30}[c]
                out = queries.for_me(
                    birth=None, months=months, district=HOME, home=HOME, children=1,
                    nursery_id=n.id, on=date.today(),
                )  # fmt: skip
                b = benefit(out, "demo-yuxing-operating-subsidy")
                assert SUBSIDIES[c] in yuan(b), (n.name, c)
                checked += 1
        assert checked >= 5
        # the demo's price regimes policy names each nursery's regime
        assert benefit(out, "demo-yuxing-price-regimes").notes[0].startswith("所选机构收费实行")


def test_the_api_answers_with_the_nurserys_regime_and_offers(client, district):
    out = client.get(f"/api/v1/policies/for-me?age_months=15&nursery_id={district['inclusive']}")
    body = out.get_json()
    assert out.status_code == 200 and body["price_regime"] == "capped"
    assert body["class_types"] == ["toddler"] and body["age_months"] == 15
    assert body["offers"] == [
        {"care": "全日托", "class_label": "各月龄", "price": "1800 元/月", "rule": None}
    ]
    subsidy = next(b for b in body["results"] if b["code"] == HOME_SUBSIDY.code)
    assert subsidy["amounts"] == [
        {"label": "托小班", "text": "每生每年 800 元", "yuan": 800, "unit": "元/生/年"}
    ]


def test_admin_imports_and_exports_on_the_page(app, client, make_user, tmp_path):
    import io

    _admin(app, client, make_user)
    data = {"file": (io.BytesIO(SHIPPED.read_bytes()), "policies.json"), "reason": "首次导入"}
    r = client.post("/admin/policies/import", data=data, content_type="multipart/form-data")
    assert r.status_code == 303
    assert "新增 16 条" in client.get("/admin/policies").get_data(as_text=True)
    exported = client.get("/admin/policies/export")
    assert exported.headers["Content-Disposition"].endswith('filename="policies.json"')
    assert parse_document(exported.data) == sorted(SHIPPED_POLICIES, key=lambda p: p.code)
    bad = {"file": (io.BytesIO(b'{"policies": [{"code": "x"}]}'), "bad.json")}
    r = client.post("/admin/policies/import", data=bad, content_type="multipart/form-data")
    assert r.status_code == 400 and "第 1 条" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Policy)) == 16
        reasons = db.session.scalars(
            select(AuditEntry.reason).where(AuditEntry.action == "policies.import")
        ).all()
        assert reasons == ["首次导入"]
