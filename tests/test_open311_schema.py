"""Property-based checks of Open311 GeoReport v2 against its own OpenAPI description
(/open311/v2/openapi.json, complaints/api_openapi.py) with schemathesis.

Like tests/test_api_schema.py: the app is built at module level on a temporary SQLite file
(`schema.parametrize()` needs the schema at import time), with a small registry, handler accounts
and a few complaints filed, so that look-ups by code and the handlers' listing have real cases.
Every response must avoid a 5xx, use a documented status code and match the documented schema
(closed objects: an undocumented field — a complainant's contact, say — fails).
"""

from decimal import Decimal

import pytest
import schemathesis

from extensions import db
from tests.schema_support import (
    CHECKS,
    build_app,
    fuzz_settings,
    module_app_fixture,
    seeded_nursery,
)

SEED = 20240611
BASE = "/open311/v2"

# (lat, lon, kind, inclusive, filed): filed nurseries can be complained about by id; the
# unfiled one cannot (a 400, like an unknown id).
NURSERIES = [
    (29.600, 106.520, "private", False, True),
    (29.603, 106.522, "public", True, True),
    (29.610, 106.530, "community", True, True),
    (29.650, 106.560, "kindergarten_class", False, True),
    (29.598, 106.518, "employer", False, True),
    (29.601, 106.521, "private", False, False),
]
SITE = {"lat": "29.6", "long": "106.52", "address_string": "南坪测试路88号"}
# Filled in by _seed_complaints: (tracking code, case id) of each filed complaint; tokens.
SEEDED: dict[str, tuple[str, int]] = {}
TOKENS: dict[str, str] = {}


def _seed_registry():
    from maps.models import Community, Offer, Street, bump_registry_version

    street = Street(code="500108001", name="南坪街道")
    db.session.add(street)
    for name, lat, lon in [("阳光花园", 29.601, 106.519), ("江南小区", 29.605, 106.525)]:
        db.session.add(
            Community(
                name=name, street=street, lat=lat, lon=lon, population=3000, children_under_3=90
            )
        )
    for n, (lat, lon, kind, inclusive, filed) in enumerate(NURSERIES, 1):
        nursery = seeded_nursery(n, lat, lon, kind, inclusive, filed, street, capacity=20)
        nursery.offers.append(
            Offer(care_type="full_day", price_yuan=Decimal("1800"), price_unit="month", capacity=20)
        )
        db.session.add(nursery)
    bump_registry_version()
    db.session.commit()


def _seed_complaints():
    """Complaints in several states, handler accounts and their tokens."""
    from accounts.services import create_user, issue_token
    from complaints import codes
    from complaints.services import filing, handling

    market = create_user("handler", "market-handler", "secret-pass-1", department_code="market")
    police = create_user("handler", "police-handler", "secret-pass-1", department_code="police")
    parent = create_user("parent", "parent-demo", "secret-pass-1")
    filings = {
        "food": filing.Filing(
            category="food_safety",
            description="午饭的肉有股馊味，好几个孩子拉肚子",
            nursery_id=1,
            name="欧阳晓明",
            phone="13912345678",
            source="open311",
        ),
        "fees": filing.Filing(
            category="fees", description="押金不退", nursery_id=2, source="open311"
        ),
        "abuse": filing.Filing(
            category="abuse",
            description="监控里看到保育员扇了孩子一个耳光",
            site_name="楼下看护点",
            site_address="某小区3栋",
            lat=29.6,
            lon=106.52,
            source="open311",
        ),
        "resolved": filing.Filing(
            category="fees", description="乱收费 <材料费> & 杂费", nursery_id=4, source="web"
        ),
    }
    for key, f in filings.items():
        complaint, code = filing.file_complaint(f)
        SEEDED[key] = (codes.format_code(code), complaint.id)
    resolved_id = SEEDED["resolved"][1]
    handling.accept(market, resolved_id)
    handling.add_note(market, resolved_id, "已约谈机构 <负责人> & 会计", public=True)
    handling.resolve(market, resolved_id, "已责令退还材料费 300 元")
    TOKENS.update(
        market=issue_token(market, 1), police=issue_token(police, 1), parent=issue_token(parent, 1)
    )


def _seed():
    _seed_registry()
    _seed_complaints()


def _bearer(who: str) -> dict:
    return {"Authorization": f"Bearer {TOKENS[who]}"}


APP = build_app("open311-schema", _seed)
# The handlers' listing is fuzzed with the market handler's token (schemathesis 4: headers
# configured per operation, as `[[operations]]` in schemathesis.toml); the other operations
# without one. (Filters on path and method are alternatives, so the operation is named.)
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "operations": [{"include-name": "GET /requests.json", "headers": _bearer("market")}],
    }
)
schema = schemathesis.openapi.from_wsgi(f"{BASE}/openapi.json", APP, config=CONFIG)


_schema_app = module_app_fixture(APP)


@schema.parametrize()
@fuzz_settings
def test_open311_conforms_to_its_openapi_description(case):
    case.call_and_validate(checks=CHECKS)


def test_only_the_listing_is_fuzzed_with_the_handlers_token():
    with_token = {
        result.ok().label
        for result in schema.get_all_operations()
        if schema.config.headers_for(operation=result.ok())
    }
    assert with_token == {"GET /requests.json"}


def test_the_description_is_served_and_lists_the_five_operations():
    client = APP.test_client()
    r = client.get(f"{BASE}/openapi.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    doc = r.get_json()
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": BASE}]
    operations = {(method.upper(), path) for path, item in doc["paths"].items() for method in item}
    assert operations == {
        ("GET", "/services.json"),
        ("GET", "/services/{service_code}.json"),
        ("POST", "/requests.json"),
        ("GET", "/requests.json"),
        ("GET", "/requests/{service_request_id}.json"),
    }
    # The listing is public without a token, the handler's with one.
    assert doc["paths"]["/requests.json"]["get"]["security"] == [{"bearer": []}, {}]
    # The posted service_code is one of the codes services.json lists right now.
    posted = doc["paths"]["/requests.json"]["post"]["requestBody"]["content"]
    codes = {s["service_code"] for s in client.get(f"{BASE}/services.json").get_json()}
    for media in ("application/x-www-form-urlencoded", "application/json"):
        assert set(posted[media]["schema"]["properties"]["service_code"]["enum"]) == codes


# --- explicit cases: real codes, real cases, valid filings --------------------------------------


def _call(path: str, method: str = "GET", **kwargs):
    case = schema[path][method].Case(**kwargs)
    return case.call_and_validate(checks=CHECKS)


def test_services_and_their_definitions_conform():
    services = _call("/services.json").json()
    assert {s["service_code"] for s in services} >= {"food_safety", "fees", "abuse", "other"}
    for code in ("food_safety", "other"):
        r = _call("/services/{service_code}.json", path_parameters={"service_code": code})
        assert r.status_code == 200 and r.json()["service_code"] == code
    r = _call("/services/{service_code}.json", path_parameters={"service_code": "potholes"})
    assert r.status_code == 404


@pytest.mark.parametrize("key", ["food", "fees", "abuse", "resolved"])
def test_look_ups_of_real_codes_conform(key):
    code, _ = SEEDED[key]
    path = "/requests/{service_request_id}.json"
    for variant in (code, code.replace("-", "").lower()):
        r = _call(path, path_parameters={"service_request_id": variant})
        assert r.status_code == 200
        [row] = r.json()
        assert row["service_request_id"] == code
        assert row["status"] == ("closed" if key == "resolved" else "open")
        assert "欧阳" not in r.text and "13912345678" not in r.text


@pytest.mark.parametrize(
    ("request_id", "who", "status"),
    [
        ("ABC", None, 400),
        ("ABCD-EFGH-JKLM-NPQR", None, 404),
        ("case-1", None, 401),
        ("case-1", "market", 200),  # food safety: market leads
        ("case-1", "police", 404),  # not routed to the police
        ("case-3", "police", 200),  # abuse: police leads
        ("case-1", "parent", 403),
        ("case-9999999999", "market", 404),
    ],
)
def test_look_ups_by_case_id_conform(request_id, who, status):
    headers = _bearer(who) if who else None
    r = _call(
        "/requests/{service_request_id}.json",
        path_parameters={"service_request_id": request_id},
        headers=headers,
    )
    assert r.status_code == status


@pytest.mark.parametrize(
    ("query", "who", "status", "found"),
    [
        # fees at the public nursery: market leads (荣昌 第9项), development co-handles
        ({}, "market", 200, {"food", "fees", "resolved"}),
        ({"status": "closed"}, "market", 200, {"resolved"}),
        ({"status": "open,closed", "service_code": "food_safety"}, "market", 200, {"food"}),
        ({"service_request_id": "case-3"}, "police", 200, {"abuse"}),
        ({}, "police", 200, {"abuse"}),
        ({"start_date": "2000-01-01", "end_date": "2000-02-01"}, "market", 200, set()),
        ({}, None, 401, None),
        ({}, "parent", 403, None),
        ({"status": "pending"}, "market", 400, None),
        ({"service_code": "potholes"}, "market", 400, None),
        ({"start_date": "2026-06-01", "end_date": "2026-01-01"}, "market", 400, None),
        # near the ends of datetime's range (were 500s: OverflowError)
        ({"start_date": "0001-01-01T00:00:00+14:00"}, "market", 400, None),
        ({"end_date": "9999-12-31T23:00:00-10:00"}, "market", 400, None),
        ({"start_date": "9999-12-31T00:00:00"}, "market", 400, None),
        ({"end_date": "0001-01-02"}, "market", 400, None),
        ({"end_date": "9999-12-31"}, "market", 200, set()),
    ],
)
def test_listings_conform(query, who, status, found):
    """`found`: which of the seeded cases are listed (the fuzzer files more of its own)."""
    headers = _bearer(who) if who else {"Authorization": ""}
    r = _call("/requests.json", query=query, headers=headers)
    assert r.status_code == status, r.text
    if found is not None:
        seeded = {f"case-{case_id}": key for key, (_, case_id) in SEEDED.items()}
        listed = {
            seeded[row["service_request_id"]]
            for row in r.json()
            if row["service_request_id"] in seeded
        }
        assert listed == found


def test_deeply_nested_json_body_is_a_georeport_400():
    """json.loads raises RecursionError (not a ValueError) on deep nesting: was a 500."""
    client = APP.test_client()
    for body in (b"[" * 100_000, b'{"a":' * 100_000):
        r = client.post(f"{BASE}/requests.json", data=body, content_type="application/json")
        assert r.status_code == 400
        assert r.get_json() == [{"code": 400, "description": "请求体须为 JSON 对象"}]


FORM = "application/x-www-form-urlencoded"
GOOD_POSTS = [
    (
        FORM,
        {"service_code": "food_safety", "description": "饭里有虫子", "attribute[nursery_id]": 1},
    ),
    (FORM, {"service_code": "fees", "description": "乱收费", **SITE, "phone": "13912345678"}),
    (
        "application/json",
        {
            "service_code": "other",
            "description": "老师体罚孩子",
            "lat": 29.6,
            "long": 106.52,
            "address_string": "某小区3栋",
            "attribute": {"site_name": "楼下看护点"},
            "first_name": "晓明",
            "last_name": "欧阳",
            "email": "ouyang@example.cn",
        },
    ),
    (
        "application/json",
        {"service_code": "hygiene", "description": "厕所很臭", "attribute": {"nursery_id": 5}},
    ),
]
BAD_POSTS = [
    (FORM, {"service_code": "fees", "description": "乱收费"}),  # no site; next: unfiled nursery
    (FORM, {"service_code": "fees", "description": "乱收费", "attribute[nursery_id]": "6"}),
    (
        FORM,
        {
            "service_code": "fees",
            "description": "x",
            "lat": 48.85,
            "long": 2.35,
            "address_string": "巴黎",
        },
    ),
    (
        "application/json",
        {"service_code": "fees", "description": "x", "attribute": {"nursery_id": 99999}},
    ),
]


@pytest.mark.parametrize(("media_type", "body"), GOOD_POSTS + BAD_POSTS)
def test_filings_conform(media_type, body):
    r = _call("/requests.json", "POST", body=body, media_type=media_type)
    good = (media_type, body) in GOOD_POSTS
    assert r.status_code == (201 if good else 400), r.text
    if good:
        code = r.json()[0]["service_request_id"]
        got = _call(
            "/requests/{service_request_id}.json", path_parameters={"service_request_id": code}
        )
        assert got.json()[0]["status"] == "open"
        assert "欧阳" not in got.text
