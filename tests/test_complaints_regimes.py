"""Deadline regimes as data (complaints/regimes.py): 信访工作条例's calendar days for the health
commission and by default, SAMR's working days for market supervision, the legacy working-day
rule of cases filed before regimes; validated with the routing rules, stored on the case at
filing and followed by every later deadline whatever today's rules say; shown on the tracking
page, the case page and in Open311.

Dates around the Spring Festival 2026: Feb 15–23 off, Sat Feb 14 and Sat Feb 28 working days.
"""

import copy
import json
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from complaints import deadlines, rulebook
from complaints.models import Complaint
from complaints.regimes import LEGACY, regimes_from_dict
from complaints.routing import DEFAULT_RULES_PATH
from complaints.services import filing, handling
from complaints.services import rules as rule_versions
from errors import DomainError
from extensions import db
from tests.conftest import login

SHIPPED = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
FRIDAY = datetime(2026, 2, 13, 9, 0)  # the last working day before the Spring Festival
FEES = ("fees", "托育园乱收费，多收了三个月伙食费还不给收据")  # market supervision leads
HYGIENE = ("hygiene", "教室很久没有消毒，厕所有异味")  # the health commission leads


def shipped_regimes():
    return regimes_from_dict(SHIPPED["deadline_regimes"])


# --- the plain rules ----------------------------------------------------------------------------


def test_the_shipped_regimes_follow_the_statutes():
    r = shipped_regimes()
    xinfang, samr = r.regimes["xinfang_2022"], r.regimes["samr_2022"]
    assert (xinfang.unit, xinfang.accept, xinfang.conclude, xinfang.max_extension) == (
        "calendar_days",
        15,
        60,
        30,
    )
    assert xinfang.review == 30 and "信访工作条例" in xinfang.source
    assert (samr.unit, samr.accept, samr.conclude, samr.max_extension, samr.review) == (
        "working_days",
        7,
        45,
        15,
        30,
    )
    assert "第十八条" in samr.source and "第二十三条" in samr.source
    assert "本系统的选择" in samr.source  # the extension is modelled, not prescribed
    assert r.default == "xinfang_2022"
    assert r.for_case("health", "hygiene") is xinfang
    assert r.for_case("market", "fees") is samr
    assert r.for_case("police", "abuse") is xinfang  # any other department: the default
    assert (LEGACY.unit, LEGACY.accept, LEGACY.conclude, LEGACY.max_extension, LEGACY.review) == (
        "working_days",
        15,
        60,
        30,
        30,
    )


def test_a_category_regime_wins_over_the_department():
    section = copy.deepcopy(SHIPPED["deadline_regimes"])
    section["by_category"] = {"food_safety": "xinfang_2022"}
    r = regimes_from_dict(section)
    assert r.for_case("market", "food_safety").code == "xinfang_2022"
    assert r.for_case("market", "fees").code == "samr_2022"


def test_both_regimes_across_the_spring_festival():
    r = shipped_regimes()
    samr, xinfang = r.regimes["samr_2022"], r.regimes["xinfang_2022"]
    # market: Sat 14 (make-up), Tue 24 … Fri 27, Sat 28 (make-up), Mon Mar 2 = 7 working days
    market = deadlines.deadlines(FRIDAY, False, regime=samr)
    assert market.accept_by == datetime(2026, 3, 2, 9, 0)
    # health: 15 calendar days, the holiday counted
    health = deadlines.deadlines(FRIDAY, False, regime=xinfang)
    assert health.accept_by == datetime(2026, 2, 28, 9, 0)
    assert health.conclude_by == FRIDAY + timedelta(days=60)
    # conclusion from acceptance: 45 working days for market
    accepted = datetime(2026, 3, 2, 9, 0)
    assert deadlines.deadlines(FRIDAY, False, accepted, samr).conclude_by == datetime(
        2026, 5, 8, 9, 0
    )  # Mar 3–31 (21), Apr (20: Apr 6 off), May 6–8 (3; May 1–5 off, Sat May 9 works)
    # the legacy rule: 15 working days
    assert deadlines.deadlines(FRIDAY, False).accept_by == datetime(2026, 3, 12, 9, 0)


def test_urgent_cases_are_accepted_within_24_calendar_hours_under_any_regime():
    during = datetime(2026, 2, 16, 20, 15)  # in the holiday
    for regime in (*shipped_regimes().regimes.values(), LEGACY):
        assert deadlines.deadlines(during, True, regime=regime).accept_by == during + timedelta(
            hours=24
        )


def test_extension_and_review_follow_the_regime():
    r = shipped_regimes()
    samr, xinfang = r.regimes["samr_2022"], r.regimes["xinfang_2022"]
    due = datetime(2026, 2, 13, 9, 0)
    assert deadlines.extend(due, 15, regime=samr) == datetime(2026, 3, 12, 9, 0)
    for bad in (0, 16, True, 2.5):
        with pytest.raises(ValueError):
            deadlines.extend(due, bad, regime=samr)
    assert deadlines.extend(due, 30, regime=xinfang) == due + timedelta(days=30)
    with pytest.raises(ValueError):
        deadlines.extend(due, 31, regime=xinfang)
    assert deadlines.review_by(due, samr) == datetime(2026, 4, 2, 9, 0)  # 30 working days
    assert deadlines.review_by(due, xinfang) == due + timedelta(days=30)


def _bad(mutate):
    section = copy.deepcopy(SHIPPED["deadline_regimes"])
    mutate(section)
    return section


BAD_SECTIONS = [
    (lambda s: s["regimes"]["samr_2022"].update(unit="weeks"), "“samr_2022”：unit 须为"),
    (lambda s: s["regimes"]["samr_2022"].update(accept=0), "accept（受理期限）须为 1–365"),
    (lambda s: s["regimes"]["samr_2022"].update(conclude=True), "conclude（办结期限）"),
    (lambda s: s["regimes"]["samr_2022"].update(review="30"), "review（复查期限）"),
    (lambda s: s["regimes"]["samr_2022"].pop("max_extension"), "max_extension（最长延期）"),
    (lambda s: s["regimes"]["samr_2022"].update(label=" "), "“samr_2022”：缺少 label"),
    (lambda s: s["regimes"]["samr_2022"].pop("source"), "缺少 source"),
    (lambda s: s["regimes"]["samr_2022"].update(conclusion=45), "未知字段 conclusion"),
    (lambda s: s["regimes"].update(SAMR={}), "期限规则代码“SAMR”须为"),
    (lambda s: s["regimes"].update(legacy_working_days={}), "系统保留"),
    (lambda s: s.update(regimes={}), "至少一条期限规则"),
    (lambda s: s.update(default="nope"), "default 须为已定义"),
    (lambda s: s["by_department"].update(market="nope"), "“market”指向未定义的期限规则“nope”"),
    (lambda s: s["by_department"].update(tax="xinfang_2022"), "by_department：未知的代码“tax”"),
    (lambda s: s["by_category"].update(parking="xinfang_2022"), "by_category：未知的代码“parking”"),
    (lambda s: s.update(by_category=["fees"]), "by_category 须为对象"),
]


@pytest.mark.parametrize("mutate, message", BAD_SECTIONS)
def test_a_bad_regime_is_refused_naming_the_entry_in_chinese(mutate, message):
    departments = {d: d for d in ("health", "market", "police", "street")}
    categories = {"fees", "hygiene"}
    with pytest.raises(ValueError) as info:
        regimes_from_dict(_bad(mutate), departments, categories)
    assert message in str(info.value)


@pytest.mark.parametrize("mutate, message", BAD_SECTIONS[:3])
def test_the_rules_validation_refuses_a_bad_regime(mutate, message):
    doc = copy.deepcopy(SHIPPED)
    doc["deadline_regimes"] = _bad(mutate)
    with pytest.raises(DomainError) as info:
        rulebook.validate(doc, "规则有误，未保存")
    assert info.value.code == "rules_invalid"
    assert info.value.message.startswith("规则有误，未保存：") and message in info.value.message


# --- on the case --------------------------------------------------------------------------------


@pytest.fixture
def world(street_nursery, make_user):
    nursery = street_nursery
    users = {d: make_user("handler", department_code=d) for d in ("health", "market", "police")}
    users["admin"] = make_user("admin")
    return {"nursery": nursery, "users": users}


def file(app, world, kind, now=FRIDAY) -> tuple[int, str]:
    category, description = kind
    with app.app_context():
        f = filing.Filing(category=category, description=description, nursery_id=world["nursery"])
        c, code = filing.file_complaint(f, now=now)
        return c.id, code


def handler(world, department):
    from accounts.models import User

    return db.session.scalar(select(User).where(User.username == world["users"][department][0]))


def get(cid) -> Complaint:
    db.session.expire_all()
    return db.session.get(Complaint, cid)


def test_filing_stores_the_regime_and_counts_by_it(app, world):
    market, _ = file(app, world, FEES)
    health, _ = file(app, world, HYGIENE)
    with app.app_context():
        m, h = get(market), get(health)
        assert (m.lead_department, m.deadline_regime) == ("market", "samr_2022")
        assert (h.lead_department, h.deadline_regime) == ("health", "xinfang_2022")
        assert m.accept_by == datetime(2026, 3, 2, 9, 0)  # 7 working days after the holiday
        assert h.accept_by == datetime(2026, 2, 28, 9, 0)  # 15 calendar days
        accepted = handling.accept(handler(world, "market"), market, now=datetime(2026, 3, 2, 9))
        assert accepted.conclude_by == datetime(2026, 5, 8, 9, 0)  # 45 working days


def test_later_deadlines_follow_the_stored_regime_not_todays_rules(app, world):
    """The admin points market supervision at 信访工作条例: an earlier market case keeps
    counting SAMR's working days (acceptance, extension, review), a new one counts days."""
    old, code = file(app, world, FEES)
    with app.app_context():
        doc = copy.deepcopy(rulebook.current()[2])
        doc["deadline_regimes"]["by_department"]["market"] = "xinfang_2022"
        rule_versions.save(None, doc, "市场监管也按信访条例")
    new, _ = file(app, world, FEES)
    with app.app_context():
        assert get(new).deadline_regime == "xinfang_2022"
        assert get(new).accept_by == datetime(2026, 2, 28, 9, 0)
        market = handler(world, "market")
        accepted_at = datetime(2026, 3, 2, 9, 0)
        c = handling.accept(market, old, now=accepted_at)
        assert c.conclude_by == datetime(2026, 5, 8, 9, 0)  # 45 working days, not 60 days
        with pytest.raises(DomainError) as info:
            handling.extend(market, old, 16, "需要检测", now=accepted_at)
        assert info.value.message == "延长天数须为 1–15 个工作日"
        c = handling.extend(market, old, 5, "需要检测", now=accepted_at)
        assert c.conclude_by == datetime(2026, 5, 14, 9, 0)  # Sat May 9 (make-up), 11–14
        assert "延长 5 个工作日" in c.public_events()[-1].text
        handling.resolve(market, old, "已退费", now=datetime(2026, 5, 11, 9))
        reopened = datetime(2026, 5, 12, 9, 0)
        c = handling.reopen(market, old, "复查", now=reopened)
        assert c.conclude_by == datetime(2026, 6, 24, 9, 0)  # 30 working days (Jun 19 off)


def test_a_regime_cases_use_cannot_be_recounted_or_removed(app, world):
    with app.app_context():
        doc = copy.deepcopy(rulebook.current()[2])
        unused = copy.deepcopy(doc)
        unused["deadline_regimes"]["regimes"]["samr_2022"]["accept"] = 10
        rule_versions.save(None, unused, "尚无案件：可以修改")
        doc["deadline_regimes"]["regimes"]["samr_2022"]["accept"] = 7
        rule_versions.save(None, doc, "改回")
    file(app, world, FEES)
    with app.app_context():
        changed = copy.deepcopy(rulebook.current()[2])
        changed["deadline_regimes"]["regimes"]["samr_2022"]["accept"] = 10
        with pytest.raises(DomainError) as info:
            rule_versions.save(None, changed)
        assert info.value.code == "rules_invalid" and "不能修改计日方式或天数" in info.value.message
        removed = copy.deepcopy(rulebook.current()[2])
        del removed["deadline_regimes"]["regimes"]["samr_2022"]
        removed["deadline_regimes"]["by_department"].pop("market")
        with pytest.raises(DomainError) as info:
            rule_versions.save(None, removed)
        assert "“samr_2022”已有案件按其计算期限，不能删除" in info.value.message
        relabelled = copy.deepcopy(rulebook.current()[2])
        relabelled["deadline_regimes"]["regimes"]["samr_2022"]["label"] = "市场监管投诉举报"
        rule_versions.save(None, relabelled, "只改名称")
        assert rulebook.regime("samr_2022").label == "市场监管投诉举报"


def test_a_case_filed_before_regimes_keeps_the_working_day_rule(app, world):
    cid, code = file(app, world, HYGIENE)
    with app.app_context():
        db.session.execute(update(Complaint).values(deadline_regime=None))
        db.session.commit()
        c = get(cid)
        assert c.regime is LEGACY
        health = handler(world, "health")
        c = handling.accept(health, cid, now=datetime(2026, 3, 2, 9, 0))
        assert c.conclude_by == datetime(2026, 5, 28, 9, 0)  # 60 working days
        c = handling.extend(health, cid, 30, "需要调查", now=datetime(2026, 3, 3, 9, 0))
        assert c.conclude_by == datetime(2026, 7, 10, 9, 0)  # 30 more working days (Jun 19 off)
    page = app.test_client().get(f"/track/{code}").get_data(as_text=True)
    assert "原工作日规则" in page and "已延长 30 个工作日" in page


def test_a_rules_version_saved_before_regimes_takes_the_shipped_ones(app, world):
    from complaints.models import RulesVersion

    with app.app_context():
        doc = copy.deepcopy(SHIPPED)
        del doc["deadline_regimes"]
        db.session.add(RulesVersion(saved_at=FRIDAY, data=json.dumps(doc, ensure_ascii=False)))
        db.session.commit()
        rulebook.reset()
        assert rulebook.current_regimes() == shipped_regimes()
        assert rulebook.current()[2]["deadline_regimes"] == SHIPPED["deadline_regimes"]
    cid, _ = file(app, world, FEES)
    with app.app_context():
        assert get(cid).deadline_regime == "samr_2022"


# --- the pages and Open311 ----------------------------------------------------------------------


def test_the_tracking_page_case_page_and_open311_show_the_regime(app, world):
    market, market_code = file(app, world, FEES)
    health, health_code = file(app, world, HYGIENE)
    client = app.test_client()
    page = client.get(f"/track/{market_code}").get_data(as_text=True)
    assert 'id="deadline-regime" data-code="samr_2022" data-unit="working_days"' in page
    assert "市场监督管理投诉举报处理暂行办法（工作日）" in page
    assert "依据：市场监督管理投诉举报处理暂行办法第十八条、第二十三条" in page
    assert "按工作日计算" in page
    page = client.get(f"/track/{health_code}").get_data(as_text=True)
    assert "信访工作条例（日历日）" in page and "按日历日计算" in page
    assert "依据：信访工作条例（2022）第二十三条" in page

    row = client.get(f"/open311/v2/requests/{market_code}.json").get_json()[0]
    assert row["deadline_regime"] == {
        "code": "samr_2022",
        "label": "市场监督管理投诉举报处理暂行办法",
        "source": SHIPPED["deadline_regimes"]["regimes"]["samr_2022"]["source"],
        "unit": "working_days",
        "provisional": False,
    }
    xml = client.get(f"/open311/v2/requests/{health_code}.xml").get_data(as_text=True)
    assert "<deadline_regime><code>xinfang_2022</code><label>信访工作条例</label>" in xml
    schema = client.get("/open311/v2/openapi.json").get_json()["components"]["schemas"]
    request_schema = schema["ServiceRequest"]
    assert "deadline_regime" in request_schema["properties"]
    assert "deadline_regime" not in request_schema["required"]  # optional, an addition

    login(client, world["users"]["market"])
    page = client.get(f"/handle/{market}").get_data(as_text=True)
    assert 'id="deadline-regime" data-code="samr_2022"' in page
    assert "依据：市场监督管理投诉举报处理暂行办法" in page
    assert "可延长一次最多 15 个工作日" in page


def test_the_extension_form_speaks_the_regimes_unit_and_maximum(app, world):
    market, _ = file(app, world, FEES)
    health, _ = file(app, world, HYGIENE)
    with app.app_context():
        handling.accept(handler(world, "market"), market, now=datetime(2026, 3, 2, 9))
        handling.accept(handler(world, "health"), health, now=datetime(2026, 3, 2, 9))
    client = app.test_client()
    login(client, world["users"]["market"])
    page = client.get(f"/handle/{market}").get_data(as_text=True)
    assert "延长工作日数（1–15）" in page and 'max="15"' in page
    assert "最多 15 个工作日；理由会告知投诉人" in page and "最多 30" not in page
    r = client.post(
        f"/handle/{market}/extend", data={"extend-days": "16", "extend-reason": "需要检测"}
    )
    assert r.status_code == 400 and "延长天数须为 1–15 个工作日" in r.get_data(as_text=True)
    r = client.post(
        f"/handle/{market}/extend", data={"extend-days": "15", "extend-reason": "需要检测"}
    )
    assert r.status_code == 303
    flashed = client.get(f"/handle/{market}").get_data(as_text=True)
    assert "办理期限已延长 15 个工作日" in flashed
    client.post("/logout")
    login(client, world["users"]["health"])
    page = client.get(f"/handle/{health}").get_data(as_text=True)
    assert "延长天数（1–30）" in page and 'max="30"' in page and "最多 30 天" in page
    r = client.post(
        f"/handle/{health}/extend", data={"extend-days": "31", "extend-reason": "需要调查"}
    )
    assert r.status_code == 400 and "延长天数须为 1–30 天" in r.get_data(as_text=True)


def test_the_admin_json_editor_refuses_a_bad_regime_with_a_message(app, world):
    client = app.test_client()
    login(client, world["users"]["admin"])
    with app.app_context():
        doc = copy.deepcopy(rulebook.current()[2])
    doc["deadline_regimes"]["regimes"]["samr_2022"]["unit"] = "weeks"
    r = client.post(
        "/admin/complaint-rules/json",
        data={"base_version": "0", "document": json.dumps(doc, ensure_ascii=False)},
    )
    body = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "规则有误：期限规则“samr_2022”：unit 须为 calendar_days（日历日）" in body
    with app.app_context():
        assert rulebook.current()[0] == 0  # nothing saved
    index = client.get("/admin/complaint-rules").get_data(as_text=True)
    assert 'id="deadline-regimes"' in index and 'data-code="samr_2022"' in index
    assert "延期最多 15 个工作日" in index
