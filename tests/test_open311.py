"""Open311 GeoReport v2 at /open311/v2: services, filing, status by code, the handlers' listing,
XML, GeoReport errors, rate limits, confidentiality, and a standard client against gunicorn."""

import logging
from datetime import datetime, timedelta
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import func, select

import audit
from complaints.models import Complaint, ComplaintEvent
from complaints.routing import load_rules
from extensions import db
from tests.conftest import remote_address, service_missing

BASE = "/open311/v2"
SITE = {"lat": "29.6", "long": "106.52", "address_string": "测试路88号"}
CONTACT = {
    "first_name": "晓明",
    "last_name": "欧阳",
    "phone": "13912345678",
    "email": "ouyang@example.cn",
}
SECRET_WORDS = ("欧阳晓明", "欧阳", "晓明", "13912345678", "ouyang@example.cn", "example.cn")


def post(client, fmt="json", **fields):
    return client.post(f"{BASE}/requests.{fmt}", data=fields)


def file_ok(client, **fields) -> str:
    r = post(client, **fields)
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.get_json()[0]["service_request_id"]


def get_one(client, request_id, fmt="json", **kw):
    return client.get(f"{BASE}/requests/{request_id}.{fmt}", **kw)


def counts(app) -> tuple[int, int, int]:
    with app.app_context():
        return tuple(
            db.session.scalar(select(func.count()).select_from(t))
            for t in (Complaint, ComplaintEvent, audit.AuditEntry)
        )


def token(client, username, password) -> dict:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.get_json()
    return {"Authorization": f"Bearer {r.get_json()['token']}"}


def handler(client, make_user, department) -> dict:
    return token(client, *make_user("handler", department_code=department))


def the_user(app, headers):
    """The account behind a bearer header (for calling the handlers' use cases directly)."""
    from accounts.queries import user_for_token

    with app.app_context():
        user = user_for_token(headers["Authorization"].split()[1])
        return user.id


# --- services --------------------------------------------------------------------------------


def test_services_list_every_category_including_other(client):
    rules = load_rules()
    r = client.get(f"{BASE}/services.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    services = {s["service_code"]: s for s in r.get_json()}
    assert set(services) == set(rules.categories)
    assert "other" in services
    food = services["food_safety"]
    assert food["service_name"] == rules.categories["food_safety"].label
    assert food["description"] == rules.categories["food_safety"].description
    assert food["metadata"] is True and food["type"] == "realtime"
    assert food["group"] == "市场监管局"
    assert "饭菜" in food["keywords"].split(",")

    x = client.get(f"{BASE}/services.xml")
    assert x.status_code == 200 and x.mimetype == "application/xml"
    root = ET.fromstring(x.data)
    assert root.tag == "services"
    assert [s.findtext("service_code") for s in root.findall("service")] == list(services)
    other = next(s for s in root if s.findtext("service_code") == "other")
    assert other.findtext("service_name") == "其他"
    assert other.findtext("metadata") == "true"


def test_service_definition_declares_the_nursery_attribute(client):
    r = client.get(f"{BASE}/services/fees.json")
    assert r.status_code == 200
    body = r.get_json()
    assert body["service_code"] == "fees"
    attrs = {a["code"]: a for a in body["attributes"]}
    assert attrs["nursery_id"]["datatype"] == "number"
    assert attrs["nursery_id"]["required"] is False and attrs["nursery_id"]["variable"] is True
    root = ET.fromstring(client.get(f"{BASE}/services/fees.xml").data)
    assert root.tag == "service_definition"
    codes = [a.findtext("code") for a in root.find("attributes").findall("attribute")]
    assert codes == ["nursery_id", "site_name"]
    missing = client.get(f"{BASE}/services/no_such.json")
    assert missing.status_code == 404
    assert missing.get_json()[0]["code"] == 404
    assert client.get(f"{BASE}/services.csv").status_code == 404


# --- filing and status -----------------------------------------------------------------------


def test_post_then_get_round_trip(client, make_nursery, app):
    nursery = make_nursery()
    r = post(
        client,
        service_code="food_safety",
        description="午饭的肉有股馊味，好几个孩子拉肚子",
        **{"attribute[nursery_id]": str(nursery)},
        api_key="ignored-key",
    )
    assert r.status_code == 201
    [created] = r.get_json()
    code = created["service_request_id"]
    assert len(code) == 19 and code.count("-") == 3
    assert created["account_id"] is None
    assert "市场监管局" in created["service_notice"]

    got = get_one(client, code)
    assert got.status_code == 200
    [row] = got.get_json()
    assert row["service_request_id"] == code
    assert row["status"] == "open"
    assert row["service_code"] == "food_safety"
    assert row["service_name"] == "餐食与饮用水"
    assert row["agency_code"] == "market"  # DESIGN §3.6: food safety → 市场监管局 leads
    assert row["agency_responsible"] == "市场监管局"
    assert row["status_notes"].startswith("投诉举报已提交")
    assert "description" not in row  # may name the complainant: left out on purpose
    assert row["media_url"] is None
    with app.app_context():
        c = db.session.scalars(select(Complaint)).one()
        assert c.source == "open311" and c.nursery_id == nursery
        assert (row["lat"], row["long"]) == (c.lat, c.lon)  # the nursery's position
        assert row["address"] == c.site_address
        filed, conclude = c.filed_at, c.conclude_by
    requested = datetime.fromisoformat(row["requested_datetime"])
    assert row["requested_datetime"].endswith("+08:00")
    assert requested.replace(tzinfo=None) == filed
    assert datetime.fromisoformat(row["expected_datetime"]).replace(tzinfo=None) == conclude
    # The code is accepted raw, lower-case and with spaces as well as formatted.
    raw = code.replace("-", "").lower()
    assert get_one(client, raw).get_json()[0]["service_request_id"] == code


def test_other_describing_abuse_is_led_by_police(client):
    r = client.post(
        f"{BASE}/requests.json",
        json={
            "service_code": "other",
            "description": "监控里看到保育员扇了我女儿一个耳光",
            "lat": 29.6,
            "long": 106.52,
            "address_string": "某小区3栋",
            "attribute": {"site_name": "楼下看护点"},
        },
    )
    assert r.status_code == 201, r.get_json()
    assert "（紧急）" in r.get_json()[0]["service_notice"]
    [row] = get_one(client, r.get_json()[0]["service_request_id"]).get_json()
    assert row["agency_code"] == "police"
    assert row["service_code"] == "abuse"  # the category the case is handled under
    assert row["service_notice"].startswith("紧急")


def test_responses_and_logs_never_carry_contact_data(client, make_user, app, caplog):
    caplog.set_level(logging.DEBUG)
    description = "孩子吃饭慢被老师罚站，我是欧阳晓明，电话 13912345678"
    bodies = []
    r = post(client, service_code="care_quality", description=description, **SITE, **CONTACT)
    bodies.append(r.data)
    code = r.get_json()[0]["service_request_id"]
    x = post(client, "xml", service_code="hygiene", description="厕所很臭", **SITE, **CONTACT)
    bodies.append(x.data)
    for fmt in ("json", "xml"):
        bodies.append(get_one(client, code, fmt).data)
    health = handler(client, make_user, "health")
    for fmt in ("json", "xml"):
        listing = client.get(f"{BASE}/requests.{fmt}", headers=health)
        assert listing.status_code == 200
        bodies.append(listing.data)
    assert len(client.get(f"{BASE}/requests.json", headers=health).get_json()) == 2
    with app.app_context():
        stored = db.session.scalars(select(Complaint)).all()
        assert {c.complainant_name for c in stored} == {"欧阳晓明"}  # stored, but never shown
        assert {c.complainant_phone for c in stored} == {"13912345678"}
    for body in bodies:
        for secret in SECRET_WORDS:
            assert secret.encode() not in body
        assert "罚站".encode() not in body  # nor the description
    for secret in SECRET_WORDS:
        assert secret not in caplog.text


def test_contact_data_in_the_url_is_refused(client, app):
    r = client.post(
        f"{BASE}/requests.json?phone=13912345678",
        data={"service_code": "fees", "description": "乱收费", **SITE},
    )
    assert r.status_code == 400
    assert counts(app) == (0, 0, 0)


def test_xml_variants_parse_and_escape(client):
    address = "幸福路<1>号 & “花园”"
    r = post(
        client,
        "xml",
        service_code="fees",
        description="乱收费",
        **{**SITE, "address_string": address},
    )
    assert r.status_code == 201 and r.mimetype == "application/xml"
    assert r.data.startswith(b'<?xml version="1.0" encoding="utf-8"?>')
    root = ET.fromstring(r.data)
    assert root.tag == "service_requests"
    code = root.find("request").findtext("service_request_id")
    assert root.find("request").findtext("account_id") == ""
    got = get_one(client, code, "xml")
    assert got.status_code == 200 and b"&lt;1&gt;" in got.data and b"&amp;" in got.data
    request_el = ET.fromstring(got.data).find("request")
    assert request_el.findtext("address") == address
    assert request_el.findtext("status") == "open"
    assert request_el.findtext("agency_code") == "market"
    assert request_el.findtext("requested_datetime").endswith("+08:00")
    # JSON carries the same text, exactly as typed
    assert get_one(client, code).get_json()[0]["address"] == address
    err = post(client, "xml", service_code="fees", **SITE)
    assert err.status_code == 400 and err.mimetype == "application/xml"
    error = ET.fromstring(err.data).find("error")
    assert error.findtext("code") == "400"
    assert "description" in error.findtext("description")


def test_status_closed_after_resolution_without_the_complainants_answer(client, make_user, app):
    from accounts.models import User
    from complaints.services import filing, handling

    code = file_ok(client, service_code="fees", description="押金不退", **SITE)
    market = handler(client, make_user, "market")
    listing = client.get(f"{BASE}/requests.json", headers=market).get_json()
    case_id = int(listing[0]["service_request_id"].removeprefix("case-"))
    user_id = the_user(app, market)
    with app.app_context():
        user = db.session.get(User, user_id)
        handling.accept(user, case_id)
        handling.request_info(user, case_id, "请提供收据照片")
    assert get_one(client, code).get_json()[0]["status_notes"] == "请提供收据照片"
    with app.app_context():
        filing.answer_info(code, "收据在我这里，我叫欧阳晓明 13912345678")
    [row] = get_one(client, code).get_json()
    assert row["status"] == "open"
    assert row["status_notes"] == "投诉人已补充材料，等待承办部门继续办理"
    assert "13912345678" not in str(row)
    with app.app_context():
        user = db.session.get(User, user_id)
        handling.resolve(user, case_id, "已责令退还押金 2000 元")
        filing.rate(code, "satisfied")
    [row] = get_one(client, code).get_json()
    assert row["status"] == "closed"
    assert row["status_notes"] == "已责令退还押金 2000 元"  # the result, not the rating
    assert row["expected_datetime"] is None
    assert row["service_notice"] == "已办结"


def test_notes_with_markup_characters_give_well_formed_xml(client, make_user, app):
    # (control characters never reach a note: the services refuse them, test_complaints_edge)
    from accounts.models import User
    from complaints.services import handling

    code = file_ok(client, service_code="fees", description="乱收费", **SITE)
    market = handler(client, make_user, "market")
    case_id = int(
        client.get(f"{BASE}/requests.json", headers=market)
        .get_json()[0]["service_request_id"]
        .removeprefix("case-")
    )
    with app.app_context():
        user = db.session.get(User, the_user(app, market))
        handling.add_note(user, case_id, "已约谈机构 <负责人> & 会计", public=True)
    xml = get_one(client, code, "xml")
    notes = ET.fromstring(xml.data).find("request").findtext("status_notes")
    assert notes == "已约谈机构 <负责人> & 会计"
    assert get_one(client, code).get_json()[0]["status_notes"] == notes


# --- the handlers' listing -------------------------------------------------------------------


def test_listing_without_a_token_is_public_and_tells_nothing_personal(client, make_user):
    """GeoReport's public listing: every department's cases, no description, address, notes or
    contact, and the place to about a kilometre."""
    site = {"lat": "29.612345", "long": "106.523456", "address_string": "幸福路3号家中"}
    abuse = file_ok(
        client, service_code="abuse", description="老师把孩子关进小黑屋", **site, **CONTACT
    )
    file_ok(client, service_code="fees", description="乱收费，没有收据", **SITE)
    r = client.get(f"{BASE}/requests.json")
    assert r.status_code == 200
    rows = {row["service_code"]: row for row in r.get_json()}
    assert set(rows) == {"abuse", "fees"}
    row = rows["abuse"]
    assert row["service_request_id"].startswith("case-") and row["service_request_id"] != abuse
    assert (row["agency_code"], row["status"]) == ("police", "open")
    assert (row["lat"], row["long"], row["address"], row["status_notes"]) == (
        29.61,
        106.52,
        None,
        None,
    )
    text = r.get_data(as_text=True)
    for secret in (*SECRET_WORDS, "幸福路", "小黑屋", "收据"):
        assert secret not in text
    closed = client.get(f"{BASE}/requests.json", query_string={"status": "closed"})
    assert closed.get_json() == []
    only_fees = client.get(f"{BASE}/requests.json", query_string={"service_code": "fees"})
    assert [row["service_code"] for row in only_fees.get_json()] == ["fees"]
    xml = client.get(f"{BASE}/requests.xml")
    assert len(ET.fromstring(xml.data).findall("request")) == 2


def test_a_token_that_is_not_a_handlers_gets_no_listing(client, make_user):
    file_ok(client, service_code="fees", description="乱收费", **SITE)
    bad = client.get(f"{BASE}/requests.json", headers={"Authorization": "Bearer not-a-token"})
    assert bad.status_code == 401 and bad.headers["WWW-Authenticate"].startswith("Bearer")
    assert bad.get_json() == [{"code": 401, "description": bad.get_json()[0]["description"]}]
    parent = token(client, *make_user("parent"))
    forbidden = client.get(f"{BASE}/requests.xml", headers=parent)
    assert forbidden.status_code == 403
    assert ET.fromstring(forbidden.data).find("error").findtext("code") == "403"
    staff = token(client, *make_user("admin"))
    assert client.get(f"{BASE}/requests.json", headers=staff).status_code == 403


def test_listing_shows_the_departments_cases_with_filters(client, make_user):
    food = file_ok(client, service_code="food_safety", description="饭里有虫子", **SITE)
    abuse = file_ok(client, service_code="abuse", description="老师体罚孩子", **SITE)
    fees = file_ok(client, service_code="fees", description="乱收费", **SITE)
    market = handler(client, make_user, "market")
    police = handler(client, make_user, "police")
    health = handler(client, make_user, "health")

    def listing(headers, **params):
        r = client.get(f"{BASE}/requests.json", headers=headers, query_string=params)
        assert r.status_code == 200, r.get_json()
        assert r.headers["Cache-Control"] == "private, no-store"  # a department's own cases
        return {row["service_code"]: row for row in r.get_json()}

    assert set(listing(market)) == {"food_safety", "fees"}
    assert set(listing(police)) == {"abuse"}
    assert set(listing(health)) == {"food_safety", "abuse"}  # co-handler of both
    rows = listing(market)
    for row in rows.values():
        assert row["service_request_id"].startswith("case-")
        assert row["agency_code"] == "market" and row["status"] == "open"
        assert "description" not in row
    assert set(listing(market, service_code="fees")) == {"fees"}
    assert set(listing(market, status="closed")) == set()
    assert set(listing(market, status="open,closed")) == {"food_safety", "fees"}
    assert set(listing(market, service_request_id=fees)) == {"fees"}
    case = rows["food_safety"]["service_request_id"]
    assert set(listing(market, service_request_id=f"{case},{abuse}")) == {"food_safety"}
    future = (datetime.now() + timedelta(days=2)).date().isoformat()
    assert listing(market, start_date=future) == {}
    today = datetime.now().date().isoformat()
    assert set(listing(market, start_date=today + "T00:00:00+08:00", end_date=future)) == {
        "food_safety",
        "fees",
    }

    # A handler reads a listed case by its id; another department cannot, nor can the public.
    own = get_one(client, case, headers=market)
    assert own.status_code == 200 and own.get_json()[0]["service_request_id"] == case
    assert get_one(client, case, headers=police).status_code == 404
    assert get_one(client, case).status_code == 401
    assert get_one(client, food).get_json()[0]["agency_code"] == "market"

    for params in (
        {"status": "pending"},
        {"service_code": "no_such"},
        {"start_date": "yesterday"},
        {"start_date": "2026-01-01", "end_date": "2026-06-01"},  # more than 90 days
        {"start_date": "2026-06-01", "end_date": "2026-05-01"},
        {"service_request_id": "not-a-code"},
    ):
        r = client.get(f"{BASE}/requests.json", headers=market, query_string=params)
        assert r.status_code == 400, params
        assert r.get_json()[0]["code"] == 400


# --- bad input -------------------------------------------------------------------------------

BAD_POSTS = {
    "no service_code": {"description": "乱收费", **SITE},
    "unknown service_code": {"service_code": "potholes", "description": "乱收费", **SITE},
    "no description": {"service_code": "fees", **SITE},
    "blank description": {"service_code": "fees", "description": "   ", **SITE},
    "description too long": {"service_code": "fees", "description": "长" * 5000, **SITE},
    "lat not a number": {**SITE, "service_code": "fees", "description": "x", "lat": "北纬29"},
    "lat is NaN": {**SITE, "service_code": "fees", "description": "x", "lat": "nan"},
    "lat out of range": {**SITE, "service_code": "fees", "description": "x", "lat": "129.6"},
    "only lat": {"service_code": "fees", "description": "x", "lat": "29.6", "address_string": "y"},
    "outside China": {
        **SITE,
        "service_code": "fees",
        "description": "x",
        "lat": "48.85",
        "long": "2.35",
    },
    "no site at all": {"service_code": "fees", "description": "乱收费"},
    "site with a blank address only": {
        "service_code": "fees",
        "description": "x",
        "address_string": "   ",
    },
    "unknown nursery": {
        "service_code": "fees",
        "description": "x",
        "attribute[nursery_id]": "99999",
    },
    "nursery id not a number": {
        "service_code": "fees",
        "description": "x",
        "attribute[nursery_id]": "一",
    },
    "nursery id negative": {
        "service_code": "fees",
        "description": "x",
        "attribute[nursery_id]": "-3",
    },
    "nursery id huge": {
        "service_code": "fees",
        "description": "x",
        "attribute[nursery_id]": "9" * 30,
    },
    "unknown attribute": {
        **SITE,
        "service_code": "fees",
        "description": "x",
        "attribute[colour]": "red",
    },
    "bad phone": {**SITE, "service_code": "fees", "description": "x", "phone": "call me"},
    "bad email": {**SITE, "service_code": "fees", "description": "x", "email": "nobody"},
    "name too long": {**SITE, "service_code": "fees", "description": "x", "first_name": "名" * 40},
    "NUL in description": {**SITE, "service_code": "fees", "description": "乱收费\x00"},
}


@pytest.mark.parametrize(
    "site",
    [
        {"lat": "29.6", "long": "106.52"},
        {"address_string": "测试路88号"},
    ],
    ids=["lat/long alone", "address_string alone"],
)
def test_a_site_is_located_by_coordinates_or_by_address_alone(client, app, site):
    """GeoReport v2: a request gives lat/long or address_string (or both)."""
    request_id = file_ok(client, service_code="fees", description="乱收费，收了钱不给收据", **site)
    body = get_one(client, request_id).get_json()[0]
    assert body["address"] == site.get("address_string")
    assert (body["lat"] is None) == ("lat" not in site)


@pytest.mark.parametrize("fields", list(BAD_POSTS.values()), ids=list(BAD_POSTS))
def test_bad_posts_get_a_georeport_400_and_store_nothing(client, app, fields):
    r = post(client, **fields)
    assert r.status_code == 400, r.get_data(as_text=True)
    [error] = r.get_json()
    assert error["code"] == 400 and error["description"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["description"])  # said in Chinese
    assert counts(app) == (0, 0, 0)


@pytest.mark.parametrize(
    "body",
    [
        b"[1, 2]",
        b"{not json",
        b'{"service_code": "fees", "description": ["a"], "lat": 29.6, "long": 106.5}',
        b'{"service_code": "fees", "description": "x", "lat": true, "long": 106.5}',
        b'{"service_code": "fees", "description": "\\ud800", "lat": 29.6, "long": 106.5, '
        b'"address_string": "y"}',
        b'{"service_code": "fees", "description": "x", "lat": NaN, "long": 106.5}',
    ],
    ids=["array", "malformed", "list field", "bool lat", "lone surrogate", "NaN"],
)
def test_bad_json_bodies_get_a_400_and_store_nothing(client, app, body):
    r = client.post(f"{BASE}/requests.json", data=body, content_type="application/json")
    assert r.status_code == 400
    assert r.get_json()[0]["code"] == 400
    assert counts(app) == (0, 0, 0)


def test_malformed_code_is_400_and_unknown_code_404(client):
    malformed = get_one(client, "ABC")
    assert malformed.status_code == 400 and malformed.get_json()[0]["code"] == 400
    unknown = get_one(client, "ABCD-EFGH-JKLM-NPQR")
    assert unknown.status_code == 404 and unknown.get_json()[0]["code"] == 404
    xml = get_one(client, "ABCD-EFGH-JKLM-NPQR", "xml")
    assert xml.status_code == 404 and ET.fromstring(xml.data).tag == "errors"
    assert get_one(client, "ABCD-EFGH-JKLM-NPQR", "csv").status_code == 404


# --- rate limits -----------------------------------------------------------------------------


@pytest.fixture
def limited_app(rate_limited):
    return rate_limited(COMPLAINT_LOOKUP_LIMIT="3 per minute", COMPLAINT_FILE_LIMIT="2 per minute")


def test_lookups_beyond_the_limit_get_a_georeport_429(limited_app):
    client = limited_app.test_client()
    env = remote_address()
    answers = [get_one(client, "ABCD-EFGH-JKLM-NPQR", environ_base=env) for _ in range(4)]
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert answers[-1].get_json() == [{"code": 429, "description": "查询过于频繁，请稍后再试"}]
    assert "Retry-After" in answers[-1].headers
    # Another address is not affected; the services list is not limited.
    assert get_one(client, "ABCD-EFGH-JKLM-NPQR", environ_base=remote_address()).status_code == 404
    assert client.get(f"{BASE}/services.json", environ_base=env).status_code == 200


def test_the_public_listing_counts_with_the_lookups_and_a_handlers_does_not(limited_app):
    from accounts.services import create_user

    client = limited_app.test_client()
    env = remote_address()
    answers = [client.get(f"{BASE}/requests.json", environ_base=env) for _ in range(2)]
    answers.append(get_one(client, "ABCD-EFGH-JKLM-NPQR", environ_base=env))
    answers.append(client.get(f"{BASE}/requests.json", environ_base=env))
    assert [r.status_code for r in answers] == [200, 200, 404, 429]
    with limited_app.app_context():
        create_user("handler", "market-limited", "secret-pass-1", department_code="market")
    headers = token(client, "market-limited", "secret-pass-1")
    listed = [
        client.get(f"{BASE}/requests.json", headers=headers, environ_base=env) for _ in range(4)
    ]
    assert [r.status_code for r in listed] == [200] * 4


def test_filing_beyond_the_limit_gets_a_429_and_stores_nothing(limited_app):
    client = limited_app.test_client()
    env = remote_address()
    fields = {"service_code": "fees", "description": "乱收费", **SITE}
    answers = [
        client.post(f"{BASE}/requests.json", data=fields, environ_base=env) for _ in range(3)
    ]
    assert [r.status_code for r in answers] == [201, 201, 429]
    assert answers[-1].get_json()[0]["description"] == "提交过于频繁，请稍后再试"
    assert counts(limited_app)[0] == 2


# --- a standard GeoReport v2 client against the real server ------------------------------------


@pytest.mark.slow
def test_standard_client_lists_services_files_and_reads_status(tmp_path):
    """The flow of a generic GeoReport v2 client (as the `georeport` package does it) with
    `requests` against gunicorn: services → definition → POST a request → GET its status."""
    requests = pytest.importorskip("requests")
    from bench import _server as srv

    with srv.sqlite_database() as db_url:
        env = srv.server_env(db_url)
        srv.init_db(env)
        with srv.gunicorn(env, workers=1, log_dir=tmp_path) as server:
            root = f"http://127.0.0.1:{server.port}/open311/v2"
            try:
                services = requests.get(f"{root}/services.json", timeout=10)
            except requests.ConnectionError as exc:
                service_missing(f"gunicorn not reachable: {exc}")
            services.raise_for_status()
            codes = [s["service_code"] for s in services.json()]
            assert "other" in codes
            code = "food_safety"
            definition = requests.get(f"{root}/services/{code}.json", timeout=10)
            definition.raise_for_status()
            assert definition.json()["service_code"] == code

            created = requests.post(
                f"{root}/requests.json",
                data={
                    "service_code": code,
                    "lat": 29.6,
                    "long": 106.52,
                    "address_string": "测试路1号",
                    "description": "孩子说饭里吃出了虫子",
                    **CONTACT,
                },
                timeout=10,
            )
            created.raise_for_status()
            request_id = created.json()[0]["service_request_id"]
            status = requests.get(f"{root}/requests/{request_id}.json", timeout=10)
            status.raise_for_status()
            row = status.json()[0]
            assert row["status"] == "open" and row["agency_code"] == "market"

            xml = requests.get(f"{root}/requests/{request_id}.xml", timeout=10)
            xml.raise_for_status()
            assert xml.headers["Content-Type"].startswith("application/xml")
            assert ET.fromstring(xml.content).find("request").findtext("status") == "open"
            missing = requests.get(f"{root}/requests/ABCD-EFGH-JKLM-NPQR.json", timeout=10)
            assert missing.status_code == 404 and missing.json()[0]["code"] == 404
            payloads = services.content + created.content + status.content + xml.content
            log = server.log()
        for secret in SECRET_WORDS:
            assert secret.encode() not in payloads
            assert secret not in log
        assert srv.server_errors(log) == []
