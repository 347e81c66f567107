"""Price regimes (荣昌/大足 item 9): 政府指导价 for 公办 and 公建民营, 普惠限价 for other inclusive
nurseries, 市场调节价 for the rest — the plain rules, and their enforcement wherever a price is
set (the portal's offer form, the nursery API, the registry import, the demo), their display,
the admin's import and export; and the operating subsidy (运营补贴) worded as the nursery's."""

import io
import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from audit import AuditEntry
from booking.models import Booking, Subsidy
from booking.rules import RuleError, dump_subsidies, parse_subsidies, subsidy_class_type
from extensions import db
from maps import pricing
from maps.models import Nursery, Offer, PriceRuleRow, price_rules
from maps.pricing import PriceRule, PriceRuleError, check_price, parse_rules, regime_for
from maps.services import import_nurseries
from tests.booking_helpers import birth_for, make_bookable_nursery
from tests.conftest import login

SOURCE = "测试用规则（虚构）"


def rule(regime, care_type="full_day", class_type=None, unit="month", amount="2000", **kw):
    return PriceRule(regime, care_type, class_type, unit, Decimal(amount), SOURCE, **kw)


CAP = rule("capped", amount="2200")
GUIDED = rule("guided", amount="1500", float_up_percent=Decimal(10), float_down_percent=Decimal(20))


def refusal(rules, kind, inclusive, price, class_type="toddler", unit="month", care="full_day"):
    with pytest.raises(PriceRuleError) as caught:
        check_price(rules, kind, inclusive, care, class_type, Decimal(price), unit)
    return caught.value


def allowed(rules, kind, inclusive, price, class_type="toddler", unit="month", care="full_day"):
    check_price(rules, kind, inclusive, care, class_type, Decimal(price), unit)
    return True


# --- plain rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind, inclusive, regime",
    [
        ("public", True, "guided"),
        ("public", False, "guided"),
        ("public_private", False, "guided"),  # 公建民营 counts as public, as in planning
        ("private", True, "capped"),
        ("community", True, "capped"),
        ("kindergarten_class", True, "capped"),
        ("private", False, "market"),
        ("family", False, "market"),
    ],
)
def test_the_regime_follows_kind_and_inclusiveness(kind, inclusive, regime):
    assert regime_for(kind, inclusive) == regime


def test_a_price_above_the_cap_is_refused_with_the_cap_in_the_message():
    assert allowed([CAP], "private", True, "2200")
    exc = refusal([CAP], "private", True, "2200.01")
    assert exc.code == "price_above_cap" and exc.field == "price_yuan"
    assert "2200 元/月" in exc.message and "普惠性" in exc.message and SOURCE in exc.message


def test_a_guided_price_keeps_its_base_and_float_range():
    assert (GUIDED.low, GUIDED.high) == (Decimal("1200.00"), Decimal("1650.00"))
    assert allowed([GUIDED], "public", True, "1200") and allowed([GUIDED], "public", True, "1650")
    above = refusal([GUIDED], "public", True, "1650.01")
    assert above.code == "price_above_guided" and "1650" in above.message
    assert "基准价" not in above.message and "指导价 1500 元/月" in above.message
    below = refusal([GUIDED], "public_private", False, "1199.99")
    assert below.code == "price_below_guided" and "1200" in below.message


def test_a_guided_price_without_a_floor_may_be_anything_below_its_ceiling():
    no_floor = rule("guided", amount="1500", float_up_percent=Decimal(0))
    assert no_floor.low == 0 and allowed([no_floor], "public", True, "0")
    assert refusal([no_floor], "public", True, "1500.01").code == "price_above_guided"


def test_market_prices_and_prices_without_a_rule_are_not_bounded():
    assert allowed([CAP, GUIDED], "private", False, "99999")
    hourly_cap = rule("capped", care_type="hourly", unit="hour", amount="50")
    assert allowed([hourly_cap], "private", True, "5000")  # no full-day rule set
    check_price([CAP], "private", True, "full_day", "toddler", None, "month")  # unpublished


def test_a_class_types_own_rule_comes_before_the_general_one():
    infant = rule("capped", class_type="infant", amount="2600")
    rules = [CAP, infant]
    assert allowed(rules, "private", True, "2600", class_type="infant")
    assert refusal(rules, "private", True, "2600", class_type="toddler").code == "price_above_cap"
    assert refusal(rules, "private", True, "2300", class_type="mixed").code == "price_above_cap"
    # An offer for no class type (imported) keeps the general rule …
    assert allowed(rules, "private", True, "2200", class_type=None)
    # … or, without one, every class type's rule of its care type (the strictest decides).
    toddler = rule("capped", class_type="toddler", amount="2400")
    exc = refusal([infant, toddler], "private", True, "2500", class_type=None)
    assert "2400" in exc.message


def test_a_regulated_price_must_be_in_the_rules_unit():
    exc = refusal([CAP], "private", True, "80", unit="day")
    assert exc.code == "price_unit_mismatch" and exc.field == "price_unit"
    assert "元/月" in exc.message


def test_the_rule_file_round_trips_and_refuses_bad_rules():
    rules = [CAP, GUIDED, rule("capped", care_type="hourly", unit="hour", amount="55.5")]
    assert parse_rules(pricing.dump_rules(rules).encode()) == sorted(
        rules, key=lambda r: (r.regime, r.care_type != "full_day")
    )
    bad = {
        "rules": [
            CAP.as_dict(),
            CAP.as_dict(),
            {**CAP.as_dict(), "care_type": "hourly", "float_up_percent": 5},
            {**GUIDED.as_dict(), "amount": -1},
            {**GUIDED.as_dict(), "care_type": "half_day", "source": " "},
            {**GUIDED.as_dict(), "regime": "market"},
            {"regime": "capped"},
        ]
    }
    with pytest.raises(PriceRuleError) as caught:
        parse_rules(json.dumps(bad).encode())
    message = caught.value.message
    for fragment in (
        "第 2 条：与第 1 条重复",
        "第 3 条：限价",
        "第 4 条：amount",
        "第 5 条：source",
    ):
        assert fragment in message
    assert "另有 1 处错误" in message
    for raw in (b"{", b'{"rules": 3}', b"[]"):
        with pytest.raises(PriceRuleError):
            parse_rules(raw)


def test_the_shipped_rules_are_labelled_demo_data_and_name_no_seed_as_source():
    rules = parse_rules(pricing.SHIPPED_RULES.read_bytes())
    assert {r.regime for r in rules} == {"guided", "capped"}
    assert all("演示数据" in r.source for r in rules)
    assert not any(word in r.source for r in rules for word in ("荣昌", "大足", "发改"))


def test_the_operating_subsidy_follows_the_class_or_for_a_mixed_class_the_childs_age():
    assert subsidy_class_type("older", 30) == "older"
    assert subsidy_class_type("mixed", 20) == "toddler"
    assert subsidy_class_type("mixed", 30) == "older"
    assert subsidy_class_type(None, 8) == "infant"
    # A district that does rate 混合班 has its own rate used; a class without a rate has none.
    assert subsidy_class_type("mixed", 20, {"mixed": 750, "toddler": 800}) == "mixed"
    assert subsidy_class_type("older", 30, {"toddler": 800}) is None


def test_a_subsidy_file_is_refused_whole_with_every_bad_entry():
    rows = [("older", 700, "荣昌 第11项"), ("infant", 900, "荣昌 第11项")]
    assert parse_subsidies(dump_subsidies(rows).encode()) == rows[::-1]  # youngest first
    bad = {
        "subsidies": [
            {"class_type": "older", "yuan_per_year": 700, "source": "荣昌"},
            {"class_type": "older", "yuan_per_year": 700, "source": "荣昌"},
            {"class_type": "big", "yuan_per_year": 700, "source": "荣昌"},
            {"class_type": "toddler", "yuan_per_year": "800", "source": "荣昌"},
            {"class_type": "infant", "yuan_per_year": 900, "source": ""},
        ]
    }
    with pytest.raises(RuleError) as caught:
        parse_subsidies(json.dumps(bad).encode())
    for n in (2, 3, 4, 5):
        assert f"第 {n} 条" in caught.value.message
    assert "第 1 条" not in caught.value.message


def test_the_admin_replaces_the_operating_subsidies_from_a_file(app, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "subsidies.json"
    rows = [("toddler", 850, "某区运营补贴办法（测试）")]
    path.write_text(dump_subsidies(rows), encoding="utf-8")
    result = runner.invoke(args=["subsidies", "import", str(path)])
    assert result.exit_code == 0 and "付给机构" in result.output, result.output
    assert parse_subsidies(runner.invoke(args=["subsidies", "export"]).output.encode()) == rows
    path.write_text('{"subsidies": [{"class_type": "x"}]}', encoding="utf-8")
    result = runner.invoke(args=["subsidies", "import", str(path)])
    assert result.exit_code == 1 and "class_type" in result.output
    with app.app_context():
        assert [(s.class_type, s.yuan_per_year) for s in db.session.scalars(select(Subsidy))] == [
            ("toddler", 850)
        ]


# --- enforcement where a price is set ---------------------------------------------------------


def _load(app, *rules):
    with app.app_context():
        db.session.add_all(PriceRuleRow.from_rule(r) for r in rules)
        db.session.commit()


def _full_day_toddler(app, nursery_id) -> Offer:
    with app.app_context():
        offer = db.session.scalar(
            select(Offer).where(
                Offer.nursery_id == nursery_id,
                Offer.care_type == "full_day",
                Offer.class_type == "toddler",
            )
        )
        db.session.expunge(offer)
        return offer


@pytest.fixture
def inclusive_staff(app, make_user):
    """An inclusive private nursery under CAP (2200 元/月), its staff's API token and login."""
    _load(app, CAP, GUIDED)
    with app.app_context():
        nursery = make_bookable_nursery(capacity=2, inclusive=True)
    who = make_user("nursery_staff", nursery_id=nursery)
    return nursery, who


def _token(client, who) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": who[0], "password": who[1]})
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def test_the_portal_refuses_a_price_above_the_cap_with_the_cap_and_saves_nothing(
    app, client, inclusive_staff
):
    nursery, who = inclusive_staff
    app.config["WTF_CSRF_ENABLED"] = False
    login(client, who)
    form = {
        "action": "offer",
        "care_type": "full_day",
        "class_type": "toddler",
        "capacity": "3",
        "price_yuan": "2500",
        "price_unit": "month",
        "sessions": "am,pm",
    }
    r = client.post("/portal/offers", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "不得高于限价 2200 元/月" in html and 'id="price_yuan-error"' in html
    offer = _full_day_toddler(app, nursery)
    assert (offer.capacity, offer.price_yuan) == (2, Decimal("1800.00"))  # nothing written
    r = client.post("/portal/offers", data={**form, "price_yuan": "2200"})
    assert r.status_code == 303
    assert _full_day_toddler(app, nursery).price_yuan == Decimal("2200.00")
    page = client.get("/portal/offers").get_data(as_text=True)
    assert "收费方式：普惠限价" in page and "限价 2200 元/月" in page and SOURCE in page


def test_the_api_refuses_a_price_above_the_cap_with_the_cap(app, client, inclusive_staff):
    nursery, who = inclusive_staff
    headers = _token(client, who)
    body = {"capacity": 2, "price_yuan": 2300, "class_type": "toddler"}
    r = client.put("/api/v1/nursery/offers/full_day", json=body, headers=headers)
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "price_above_cap" and error["field"] == "price_yuan"
    assert "2200 元/月" in error["message"] and "2300" in error["message"]
    assert _full_day_toddler(app, nursery).price_yuan == Decimal("1800.00")
    r = client.put(
        "/api/v1/nursery/offers/full_day", json={**body, "price_unit": "day"}, headers=headers
    )
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "price_unit_mismatch"
    r = client.put(
        "/api/v1/nursery/offers/full_day", json={**body, "price_yuan": 2100}, headers=headers
    )
    assert r.status_code == 200
    assert r.get_json()["price_regime"] == "capped" and r.get_json()["price_yuan"] == 2100.0


def test_the_api_keeps_a_public_nurserys_price_within_the_guided_range(app, client, make_user):
    _load(app, CAP, GUIDED)
    with app.app_context():
        nursery = make_bookable_nursery(capacity=2, kind="public_private")
    headers = _token(client, make_user("nursery_staff", nursery_id=nursery))
    body = {"capacity": 2, "class_type": "toddler"}
    for price, code in ((1100, "price_below_guided"), (1700, "price_above_guided")):
        r = client.put(
            "/api/v1/nursery/offers/full_day", json={**body, "price_yuan": price}, headers=headers
        )
        assert r.status_code == 400 and r.get_json()["error"]["code"] == code
        assert "1200–1650 元/月" in r.get_json()["error"]["message"]
    r = client.put(
        "/api/v1/nursery/offers/full_day", json={**body, "price_yuan": 1650}, headers=headers
    )
    assert r.status_code == 200 and r.get_json()["price_regime"] == "guided"
    # The cap does not bind a public nursery, nor the guided price a market one.
    assert _full_day_toddler(app, nursery).price_yuan == Decimal("1650.00")


HEADER = "name,address,lat,lon,filing_no,kind,inclusive,care_types,price_full_day,price_hourly\n"


def test_the_import_refuses_a_price_above_the_cap_with_its_line_and_writes_nothing(app):
    _load(app, CAP, GUIDED)
    data = (
        HEADER
        + "普惠园,幸福路1号,29.60,106.52,B-1,private,1,全日托;计时托,2200,60\n"
        + "公办园,幸福路2号,29.61,106.52,B-2,public,1,全日托,1100,\n"
        + "普惠园二,幸福路3号,29.62,106.52,B-3,private,1,全日托,2600,\n"
        + "民办园,幸福路4号,29.63,106.52,B-4,private,0,全日托,5000,\n"
    ).encode()
    with app.app_context():
        with pytest.raises(Exception) as caught:
            import_nurseries(data, "n.csv")
        errors = dict(caught.value.errors)
        assert set(errors) == {3, 4}
        assert "price_full_day" in errors[3] and "不得低于" in errors[3] and "1200" in errors[3]
        assert "不得高于限价 2200 元/月" in errors[4] and "2600" in errors[4]
        assert db.session.scalar(select(func.count(Nursery.id))) == 0


def test_imported_prices_within_the_rules_are_published(app):
    _load(app, CAP)
    data = (HEADER + "普惠园,幸福路1号,29.60,106.52,B-1,private,1,全日托;计时托,2150,45\n").encode()
    with app.app_context():
        import_nurseries(data, "n.csv")
        offers = {o.care_type: o for o in db.session.scalars(select(Offer))}
        assert offers["full_day"].price_yuan == Decimal("2150.00")
        assert (offers["hourly"].price_yuan, offers["hourly"].price_unit) == (Decimal(45), "hour")


def test_an_import_price_for_a_care_type_not_offered_is_refused(app):
    data = (HEADER + "园,路1号,29.60,106.52,B-1,private,0,全日托,1800,40\n").encode()
    with app.app_context():
        with pytest.raises(Exception) as caught:
            import_nurseries(data, "n.csv")
        assert "price_hourly" in caught.value.message and "计时托" in caught.value.message


# --- display --------------------------------------------------------------------------------


def test_the_regime_is_shown_beside_the_price_on_the_nursery_page_and_in_the_api(app, client):
    _load(app, CAP, GUIDED)
    with app.app_context():
        inclusive = make_bookable_nursery(inclusive=True)
        public = make_bookable_nursery(kind="public", offers=[("full_day", "month", "1500")])
        market = make_bookable_nursery()
    details = client.get(f"/api/v1/nurseries/{inclusive}").get_json()
    assert (details["price_regime"], details["price_regime_label"]) == ("capped", "普惠限价")
    full = next(o for o in details["offers"] if o["care_type"] == "full_day")
    assert full["price_rule"]["high"] == 2200 and full["price_rule"]["source"] == SOURCE
    hourly = next(o for o in details["offers"] if o["care_type"] == "hourly")
    assert hourly["price_rule"] is None  # no hourly cap set
    page = client.get(f"/nurseries/{inclusive}").get_data(as_text=True)
    assert "收费：普惠限价" in page and "限价 2200 元/月" in page
    page = client.get(f"/nurseries/{public}").get_data(as_text=True)
    assert "收费：政府指导价" in page and "1200–1650 元/月" in page
    assert client.get(f"/api/v1/nurseries/{market}").get_json()["price_regime"] == "market"
    hits = client.get("/api/v1/nurseries?lat=29.6&lon=106.52").get_json()["results"]
    assert {h["id"]: h["price_regime_label"] for h in hits} == {
        inclusive: "普惠限价",
        public: "政府指导价",
        market: "市场调节价",
    }
    search = client.get("/?lat=29.6&lon=106.52").get_data(as_text=True)
    assert "政府指导价" in search and "市场调节价" in search


def test_a_booking_says_what_the_family_pays_and_that_the_subsidy_is_the_nurserys(
    app, client, make_user
):
    with app.app_context():
        db.session.add(Subsidy(class_type="toddler", yuan_per_year=800, source="荣昌 第11项"))
        db.session.commit()
        nursery = make_bookable_nursery(inclusive=True)
    parent = _token(client, make_user("parent"))
    child = client.post(
        "/api/v1/children",
        json={"name": "小雨", "birth_date": birth_for(20, date.today()).isoformat(),
              "guardian_consent": True},
        headers=parent,
    ).get_json()["id"]  # fmt: skip
    start = (date.today() + timedelta(days=7)).isoformat()
    r = client.post(
        "/api/v1/bookings",
        json={"child_id": child, "nursery_id": nursery, "care_type": "full_day",
              "start_date": start, "share_consent": True},
        headers=parent,
    )  # fmt: skip
    b = r.get_json()
    assert (b["price_yuan"], b["price_regime"]) == (1800.0, "capped")
    assert b["subsidy_yuan_per_year"] == b["operating_subsidy_yuan_per_year"] == 800
    with app.app_context():
        assert db.session.get(Booking, b["id"]).subsidy_yuan_per_year == 800


# --- the admin's rules, and the demo ----------------------------------------------------------


def test_prices_import_export_and_check_from_the_command_line(app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["prices", "import"])
    assert result.exit_code == 0, result.output
    assert "演示数据" in result.output
    with app.app_context():
        shipped = parse_rules(pricing.SHIPPED_RULES.read_bytes())
        assert sorted(price_rules(), key=repr) == sorted(shipped, key=repr)
        nursery = make_bookable_nursery(inclusive=True, offers=[("full_day", "month", "3000")])
    out = tmp_path / "rules.json"
    assert runner.invoke(args=["prices", "export", str(out)]).exit_code == 0
    assert parse_rules(out.read_bytes()) == parse_rules(pricing.dump_rules(shipped).encode())
    result = runner.invoke(args=["prices", "check"])
    assert result.exit_code == 1 and f"{nursery} 测试托育园" in result.output
    assert "2 项价格不符合" in result.output  # its toddler and older full-day offers
    # A district's own file replaces the rules; a bad one changes nothing.
    own = {"rules": [{**CAP.as_dict(), "amount": 3000, "source": "某区发改委公布（测试）"}]}
    out.write_text(json.dumps(own, ensure_ascii=False), encoding="utf-8")
    result = runner.invoke(args=["prices", "import", str(out)])
    assert result.exit_code == 0 and "已导入 1 条" in result.output
    assert runner.invoke(args=["prices", "check"]).exit_code == 0
    out.write_text('{"rules": [{"regime": "capped"}]}', encoding="utf-8")
    result = runner.invoke(args=["prices", "import", str(out)])
    assert result.exit_code == 1 and "缺少" in result.output
    with app.app_context():
        assert [r.amount for r in price_rules()] == [Decimal(3000)]


def test_the_admin_imports_and_exports_the_rules_on_a_page(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = False
    login(client, make_user("admin"))
    page = client.get("/admin/prices").get_data(as_text=True)
    assert "尚未录入本区的政府指导价和普惠限价" in page
    with app.app_context():
        make_bookable_nursery(inclusive=True, offers=[("full_day", "month", "2300")])
    good = json.dumps({"rules": [CAP.as_dict()]}, ensure_ascii=False).encode()
    r = client.post(
        "/admin/prices/import",
        data={"file": (io.BytesIO(good), "rules.json"), "reason": "区发改委文件（测试）"},
        content_type="multipart/form-data",
    )
    assert r.status_code == 303
    page = client.get("/admin/prices").get_data(as_text=True)
    assert "限价 2200 元/月" in page and SOURCE in page
    assert "不符合现行规则的价格" in page and "2300" in page  # reported, not rewritten
    exported = client.get("/admin/prices/export")
    assert parse_rules(exported.data) == [CAP]
    r = client.post(
        "/admin/prices/import",
        data={"file": (io.BytesIO(b'{"rules": [{"regime": "x"}]}'), "bad.json")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 400 and "导入失败" in r.get_data(as_text=True)
    with app.app_context():
        assert price_rules() == [CAP]  # the bad file changed nothing
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "prices.replace"))
        assert entry.reason == "区发改委文件（测试）" and entry.actor_id is not None
