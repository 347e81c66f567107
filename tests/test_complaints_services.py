"""Complaint use cases on SQLite and PostgreSQL (DESIGN §3.6–3.8): filing and routing as stored,
tracking codes, bad input storing nothing, every handler action with its audit row, the state
rules, who may see and do what, confidentiality, queues, statistics and the rules versions.

Routing tables and deadline arithmetic on their own are in test_complaints_routing.py; here they
are checked as recorded on the case. Every test uses a fixed `now` so dates are exact.
"""

import copy
import hashlib
import io
import json
import logging
import math
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import chinese_calendar
import pytest
from PIL import Image
from sqlalchemy import func, select, text

from accounts.models import HandlerStreet, User
from audit import AuditEntry
from complaints import codes, masking, queries, rulebook
from complaints.models import (
    Complaint,
    ComplaintDepartment,
    ComplaintEvent,
    ComplaintPhoto,
    RulesVersion,
)
from complaints.queries import QueueFilter
from complaints.services import filing, handling
from complaints.services import rules as rule_versions
from complaints.services.filing import Filing
from errors import DomainError
from extensions import db
from maps.models import Community, Nursery, Street

# Thursday 12 February 2026, just before the Spring Festival (Feb 15–23 off, make-up working
# days Sat Feb 14 and Sat Feb 28).
NOW = datetime(2026, 2, 12, 10, 30)
ACCEPTED = datetime(2026, 2, 24, 9, 0)  # the first working day after the holiday
CALM = "老师对孩子态度冷淡，家长多次反映都没有改进"  # care_quality, no urgent words

NAME, PHONE, EMAIL = "欧阳秘密", "13912345678", "ouyang.secret@example.com"


def workdays_between(after: date, until: date) -> int:
    """Working days in (after, until], straight from chinese_calendar (not via workdays.py)."""
    return len(chinese_calendar.get_workdays(after + timedelta(days=1), until))


# --- the world: two streets, nurseries of several kinds, one account per role -------------------


@dataclass
class World:
    streets: dict[str, int]
    nurseries: dict[str, int]
    usernames: dict[str, str]

    def user(self, key: str) -> User:
        return db.session.scalar(select(User).where(User.username == self.usernames[key]))

    def file(self, category="care_quality", description=CALM, nursery="private", now=NOW, **kw):
        """File a complaint (about one of the world's nurseries unless lat/lon are given)."""
        nursery_id = self.nurseries[nursery] if nursery and "lat" not in kw else None
        f = Filing(category=category, description=description, nursery_id=nursery_id, **kw)
        c, code = filing.file_complaint(f, now=now)
        return c.id, code


HANDLERS = (
    "health",
    "market",
    "police",
    "education",
    "union",
    "development",
    "hr",
    "emergency",
)


NURSERIES = {  # key → (kind, inclusive, street, filed)
    "private": ("private", False, "s1", True),
    "other_private": ("private", False, "s1", True),
    "s2_private": ("private", False, "s2", True),
    "no_street": ("private", False, None, True),
    "kindergarten_class": ("kindergarten_class", False, "s1", True),
    "employer": ("employer", False, "s1", True),
    "public": ("public", False, "s1", True),
    "public_inclusive": ("public", True, "s1", True),
    "public_private": ("public_private", False, "s1", True),  # 公建民营: counts as 公办
    "inclusive": ("private", True, "s1", True),
    "unfiled": ("private", False, "s1", False),
}


@pytest.fixture
def w(app):
    """The world, built in one transaction (fast on PostgreSQL), with an app context pushed for
    the test body. Handler accounts are made as `create_user` makes them: a department code,
    and for the street department a HandlerStreet row binding the account to its street."""
    with app.app_context():
        streets = {code: Street(code=code, name=f"{code}街道") for code in ("s1", "s2")}
        db.session.add_all(streets.values())
        db.session.flush()
        nurseries = {}
        for i, (key, (kind, inclusive, street, filed)) in enumerate(NURSERIES.items()):
            nurseries[key] = Nursery(
                name=f"测试托育园{i}",
                address=f"测试路{i}号",
                kind=kind,
                inclusive=inclusive,
                street_id=streets[street].id if street else None,
                filing_no=f"测备〔2024〕{i:03d}号" if filed else None,
                lat=29.6 + i * 0.001,
                lon=106.52,
                capacity=20,
            )
        db.session.add_all(nurseries.values())
        db.session.flush()
        accounts = {d: User(role="handler", department_code=d) for d in HANDLERS}
        for street in streets:
            accounts[f"street_{street}"] = User(role="handler", department_code="street")
        accounts["parent"] = User(role="parent")
        accounts["nursery_staff"] = User(role="nursery_staff", nursery_id=nurseries["private"].id)
        accounts["admin"] = User(role="admin")
        for key, user in accounts.items():
            user.username, user.password_hash = f"u-{key}", "x"
        db.session.add_all(accounts.values())
        db.session.flush()
        for street in streets:
            db.session.add(
                HandlerStreet(user_id=accounts[f"street_{street}"].id, street_id=streets[street].id)
            )
        world = World(
            {k: v.id for k, v in streets.items()},
            {k: v.id for k, v in nurseries.items()},
            {k: v.username for k, v in accounts.items()},
        )
        db.session.commit()
    ctx = app.app_context()
    ctx.push()
    yield world
    db.session.rollback()
    ctx.pop()


def get(cid: int) -> Complaint:
    db.session.expire_all()
    return db.session.get(Complaint, cid)


def roles(cid: int) -> dict[str, str]:
    rows = db.session.scalars(
        select(ComplaintDepartment).where(ComplaintDepartment.complaint_id == cid)
    )
    return {r.department: r.role for r in rows}


def audits(cid: int) -> list[tuple]:
    rows = db.session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject_type == "complaint", AuditEntry.subject_id == cid)
        .order_by(AuditEntry.id)
    )
    return [(a.action, a.actor_id) for a in rows]


def counts(rollback: bool = True) -> tuple[int, ...]:
    """Rows in every table a complaint use case writes. Without rollback, in the current
    transaction (autoflush included): what a refused use case left behind, even uncommitted."""
    if rollback:
        db.session.rollback()
    return tuple(
        db.session.scalar(select(func.count()).select_from(model))
        for model in (
            Complaint,
            ComplaintDepartment,
            ComplaintEvent,
            ComplaintPhoto,
            AuditEntry,
            RulesVersion,
        )
    )


@contextmanager
def refused(code: str, status: int = 400):
    """The block raises a DomainError with this code and HTTP status; the request then ends."""
    with pytest.raises(DomainError) as info:
        yield info
    db.session.rollback()  # what the request teardown does
    assert (info.value.code, info.value.status) == (code, status), info.value.message


def jpeg(size=(32, 24)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


# --- filing: routing as recorded -------------------------------------------------------------


ROUTES = [  # nursery, category → lead, co-handlers, the rule the reasons must name
    ("private", "care_quality", "health", set(), "基线规则"),
    ("kindergarten_class", "care_quality", "health", {"education"}, "kindergarten_class"),
    ("employer", "hygiene", "health", {"union", "street"}, "employer_union"),
    # 荣昌 第9项: market leads fees, development and health co-handle at public nurseries
    ("public", "fees", "market", {"development", "health"}, "public_fees_joint"),
    ("public_private", "fees", "market", {"development", "health"}, "public_fees_joint"),
    ("public_inclusive", "fees", "market", {"development", "health"}, "public_fees_joint"),
    ("inclusive", "fees", "market", {"health"}, "inclusive_fees_health"),
    ("private", "fees", "market", set(), "基线规则"),
    ("employer", "food_safety", "market", {"health", "union", "street"}, "employer_union"),
    ("private", "unlicensed", "health", {"market", "civil_affairs"}, "基线规则"),
    # 北碚 任务分工 第11项 (emergency) and the street's territorial safety duty
    ("private", "security", "police", {"health", "emergency", "street"}, "基线规则"),
]


def test_filing_records_lead_co_and_informed_rows(w, subtests):
    for nursery, category, lead, co, rule in ROUTES:
        with subtests.test(nursery=nursery, category=category):
            cid, _ = w.file(category, "孩子在园里的情况需要有关部门了解处理", nursery=nursery)
            c = get(cid)
            street = {} if "street" in co else {"street": "informed"}  # co, or informed
            assert roles(cid) == {lead: "lead"} | street | {d: "co" for d in co}
            assert c.lead_department == lead
            assert c.category_chosen == c.category == category
            assert c.status == "submitted" and c.urgent is False
            assert c.street_id == w.streets["s1"]
            reasons = json.loads(c.routing_reasons)
            assert reasons and all(isinstance(r, str) for r in reasons)
            assert any(rule in r for r in reasons)
            told = "协办" if "street" in co else "知会"
            assert any("street" in r and told in r for r in reasons)


def test_text_escalation_is_recorded_with_the_words(w):
    cid, _ = w.file("care_quality", "午睡时老师打孩子，还关小黑屋", nursery="kindergarten_class")
    c = get(cid)
    assert (c.category_chosen, c.category) == ("care_quality", "abuse")
    assert c.urgent is True
    assert roles(cid) == {
        "police": "lead",
        "health": "co",
        "education": "co",
        "street": "informed",
    }
    reasons = json.loads(c.routing_reasons)
    assert any("打孩子" in r and "升级" in r for r in reasons)


def test_nursery_without_a_street_informs_no_street(w):
    cid, _ = w.file(nursery="no_street")
    c = get(cid)
    assert c.street_id is None
    assert roles(cid) == {"health": "lead"}
    reasons = json.loads(c.routing_reasons)
    assert not any("知会（属地责任" in r for r in reasons)
    assert any("镇街" in r and "未知" in r for r in reasons)


def _community(name, street, lat, lon):
    db.session.add(
        Community(
            name=name, street_id=street, lat=lat, lon=lon, population=1000, children_under_3=30
        )
    )


KM_LAT = 1 / 111.195  # degrees of latitude per km
SITE = (29.70, 106.60)


def test_unregistered_site_takes_the_street_of_the_nearest_community(w):
    lat, lon = SITE
    _community("无街道小区", None, lat + 0.2 * KM_LAT, lon)  # nearest, but has no street
    _community("近处小区", w.streets["s2"], lat + 1.0 * KM_LAT, lon)
    _community("远一点小区", w.streets["s1"], lat - 3.0 * KM_LAT, lon)
    db.session.commit()
    cid, _ = w.file(
        "unlicensed",
        "小区里有人在家里开托育点，不知道有没有资质",
        lat=lat,
        lon=lon,
        site_name="无名托管点",
        site_address="某路 8 号 2 单元",
    )
    c = get(cid)
    assert c.nursery_id is None
    assert (c.site_name, c.site_address) == ("无名托管点", "某路 8 号 2 单元")
    assert (c.lat, c.lon) == (lat, lon)
    assert c.street_id == w.streets["s2"]
    assert roles(cid) == {
        "health": "lead",
        "market": "co",
        "civil_affairs": "co",
        "street": "informed",
    }
    assert any("未登记" in r for r in json.loads(c.routing_reasons))
    # the street handler of that street sees it, the other does not
    assert queries.role_of(w.user("street_s2"), c) == "informed"
    assert queries.role_of(w.user("street_s1"), c) is None


def test_unregistered_site_far_from_every_community_has_no_street(w):
    lat, lon = SITE
    east_6km = 6.0 / (111.32 * math.cos(math.radians(lat)))  # inside the search box, > 5 km
    _community("六公里外小区", w.streets["s1"], lat, lon + east_6km)
    db.session.commit()
    cid, _ = w.file(lat=lat, lon=lon, site_address="山里某处")
    c = get(cid)
    assert c.street_id is None
    assert roles(cid) == {"health": "lead"}
    assert queries.role_of(w.user("street_s1"), c) is None
    # a community 4 km away is near enough
    _community("四公里小区", w.streets["s2"], lat, lon + east_6km * 4 / 6)
    db.session.commit()
    cid, _ = w.file(lat=lat, lon=lon, site_address="山里某处")
    assert get(cid).street_id == w.streets["s2"]


# --- filing: deadlines under the case's regime, on the Chinese calendar -----------------------

FEES = "托育园乱收费，多收了三个月伙食费还不给收据"  # fees: market supervision leads


def test_deadlines_before_spring_festival_and_national_day(w):
    """A health case counts 日 (信访工作条例: calendar days, the holiday included); a market
    case counts 工作日 (SAMR's rules), over the Spring Festival and National Day."""
    cid, _ = w.file(now=NOW)
    c = get(cid)
    assert c.filed_at == NOW and c.urgent is False
    assert (c.lead_department, c.deadline_regime) == ("health", "xinfang_2022")
    assert c.accept_by == datetime(2026, 2, 27, 10, 30)  # 15 calendar days
    assert c.conclude_by == datetime(2026, 4, 13, 10, 30)  # 60 calendar days, from filing
    assert c.next_deadline() == c.accept_by
    assert not c.overdue(datetime(2026, 2, 27, 10, 30))
    assert c.overdue(datetime(2026, 2, 27, 10, 31))
    cid, _ = w.file("fees", FEES, now=NOW)
    c = get(cid)
    assert (c.lead_department, c.deadline_regime, c.urgent) == ("market", "samr_2022", False)
    # 13 (Fri), 14 (make-up Sat), 24–27, 28 (make-up Sat) = 7 working days
    assert c.accept_by == datetime(2026, 2, 28, 10, 30)
    assert workdays_between(NOW.date(), c.conclude_by.date()) == 45  # from filing until accepted
    assert not c.overdue(datetime(2026, 2, 28, 10, 30))
    assert c.overdue(datetime(2026, 2, 28, 10, 31))
    # before National Day: Sun Sep 20 is a working day, Fri Sep 25 (中秋) and Oct 1–7 are not
    filed = datetime(2026, 9, 18, 16, 0)  # Friday
    cid, _ = w.file("fees", FEES, now=filed)
    assert get(cid).accept_by == datetime(2026, 9, 29, 16, 0)
    assert workdays_between(filed.date(), date(2026, 9, 29)) == 7
    cid, _ = w.file(now=filed)
    assert get(cid).accept_by == datetime(2026, 10, 3, 16, 0)  # 15 days, in the holiday


def test_urgent_complaint_is_flagged_and_due_in_24_calendar_hours(w):
    during_holiday = datetime(2026, 2, 16, 20, 15)  # the first day of the Spring Festival
    cid, _ = w.file("abuse", "孩子身上有多处淤青，怀疑被体罚", now=during_holiday)
    c = get(cid)
    assert c.urgent is True and c.lead_department == "police"
    assert c.accept_by == datetime(2026, 2, 17, 20, 15)
    assert any("紧急" in r for r in json.loads(c.routing_reasons))
    assert "紧急" in c.public_events()[0].text


def test_filing_stores_text_as_typed_and_an_audit_row(w):
    description = '<script>alert("x")</script> 老师态度 & “冷淡”\n第二行'
    cid, _ = w.file(description=description + "   ", name=" " + NAME, phone=PHONE, email=EMAIL)
    c = get(cid)
    assert c.description == description  # stripped at the ends, otherwise as typed
    assert (c.complainant_name, c.complainant_phone, c.complainant_email) == (NAME, PHONE, EMAIL)
    assert c.source == "web" and not c.anonymous
    assert audits(cid) == [("complaint_filed", None)]
    [event] = c.events
    assert (event.kind, event.public, event.at) == ("filed", True, NOW)
    assert "卫生健康委" in event.text
    cid, _ = w.file(description="态" * 4000)  # the longest allowed
    assert len(get(cid).description) == 4000


def test_photos_are_stored_cleaned(w):
    photo = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "SecretPhoneMaker"
    Image.new("RGB", (40, 30), "blue").save(photo, "JPEG", exif=exif)
    assert b"SecretPhoneMaker" in photo.getvalue()
    cid, _ = w.file(photos=[photo.getvalue(), jpeg()])
    stored = get(cid).photos
    assert [(p.content_type, p.width, p.height) for p in stored] == [
        ("image/jpeg", 40, 30),
        ("image/jpeg", 32, 24),
    ]
    assert b"SecretPhoneMaker" not in stored[0].data
    assert b"Exif" not in stored[0].data
    # routed handlers can fetch them, others cannot
    assert queries.photo_for(w.user("health"), cid, stored[1].id).data == stored[1].data
    with refused("complaint_not_found", 404):
        queries.photo_for(w.user("market"), cid, stored[1].id)
    with refused("photo_not_found", 404):
        queries.photo_for(w.user("health"), cid, 987654)


# --- tracking codes -----------------------------------------------------------------------------


def test_tracking_code_is_80_bits_of_base32_and_only_its_hash_is_stored(w):
    cid, code = w.file(name=NAME, phone=PHONE)
    assert len(code) == 16 and set(code) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
    assert codes.CODE_LENGTH * math.log2(len(codes.CODE_ALPHABET)) == 80
    c = get(cid)
    assert c.code_hash == hashlib.sha256(code.encode()).hexdigest()
    formatted = codes.format_code(code)
    for table in ("complaints", "complaint_events", "complaint_departments", "audit_log"):
        for row in db.session.execute(text(f"SELECT * FROM {table}")):
            dump = repr(tuple(row)).upper()
            assert code not in dump and formatted not in dump, table
    # codes are drawn from the whole alphabet, uniformly enough to never repeat
    drawn = [codes.new_code() for _ in range(300)]
    assert len(set(drawn)) == 300
    assert set("".join(drawn)) == set(codes.CODE_ALPHABET)


def test_codes_are_read_in_any_case_with_dashes_and_spaces(w):
    cid, code = w.file()
    formatted = codes.format_code(code)
    assert formatted == "-".join([code[:4], code[4:8], code[8:12], code[12:]])
    for variant in (code, formatted, formatted.lower(), f"  {code[:8].lower()} {code[8:]} "):
        assert codes.normalise_code(variant) == code
        assert queries.by_code(variant).id == cid


MALFORMED = [
    None,
    "",
    "   ",
    12345,
    b"ABCDEFGHIJKLMNOP",  # bytes, not text
    "ABCDEFGHIJKLMNO",  # 15
    "ABCDEFGHIJKLMNOPQ",  # 17
    "ABCDEFGHIJKLMNO0",  # 0, 1, 8, 9 are not base32
    "ABCDEFGHIJKLMN18",
    "ABCD_EFGH_IJKL_MNOP",
    "ABCDEFGHIJKLMNO；",
    "ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰ",  # full-width
]


def test_malformed_codes_are_400_unknown_codes_404(w, subtests):
    w.file()
    for raw in MALFORMED:
        with subtests.test(raw=raw):
            with refused("code_malformed", 400):
                queries.by_code(raw)
    # well-formed but unknown: 404, by every door
    _, code = w.file()
    other = "A" * 16 if code != "A" * 16 else "B" * 16
    with refused("code_not_found", 404):
        queries.by_code(other)
    with refused("code_not_found", 404):
        filing.answer_info(other, "补充")
    with refused("code_not_found", 404):
        filing.rate(other, "satisfied")


# --- filing: bad input stores nothing -----------------------------------------------------------


def _bad_filings():
    big = b"\xff\xd8" + b"\0" * (5 * 1024 * 1024)
    base = {"category": "care_quality", "description": CALM, "nursery": "private"}
    site = {"nursery": None}  # an unregistered site, placed on the map
    cases = [
        ("missing_category", 400, {"category": None}),
        ("missing_category", 400, {"category": ""}),
        ("invalid_category", 400, {"category": "noise"}),
        ("invalid_category", 400, {"category": ["abuse"]}),
        ("missing_description", 400, {"description": None}),
        ("missing_description", 400, {"description": "  \n "}),
        ("invalid_description", 400, {"description": 42}),
        ("description_too_long", 400, {"description": "态" * 4001}),
        ("description_too_long", 400, {"description": "态" * 5000}),
        ("name_too_long", 400, {"name": "名" * 33}),
        ("invalid_phone", 400, {"phone": "13912a45678"}),
        ("invalid_phone", 400, {"phone": "12"}),
        ("phone_too_long", 400, {"phone": "1" * 21}),
        ("invalid_email", 400, {"email": "no-at-sign.example.com"}),
        ("invalid_email", 400, {"email": "a@b"}),
        ("unknown_nursery", 400, {"nursery_id": 987654}),
        ("unknown_nursery", 400, {"nursery_id": -1}),
        ("unknown_nursery", 400, {"nursery_id": 2**40}),
        ("unknown_nursery", 400, {"nursery": "unfiled"}),
        ("invalid_nursery", 400, {"nursery_id": "1"}),
        ("invalid_nursery", 400, {"nursery_id": True}),
        ("missing_site", 400, {"nursery": None}),
        ("missing_site", 400, site | {"lat": 29.6, "site_address": "某路"}),
        ("missing_site", 400, site | {"lon": 106.5, "site_address": "某路"}),
        ("site_outside_china", 400, site | {"lat": 51.5, "lon": -0.12, "site_address": "London"}),
        ("site_outside_china", 400, site | {"lat": -33.9, "lon": 151.2, "site_address": "悉尼"}),
        ("site_outside_china", 400, site | {"lat": math.nan, "lon": 106.5, "site_address": "某路"}),
        ("site_outside_china", 400, site | {"lat": 29.6, "lon": math.inf, "site_address": "某路"}),
        ("site_outside_china", 400, site | {"lat": "29.6", "lon": "106.5", "site_address": "某路"}),
        ("site_outside_china", 400, site | {"lat": 29.6, "lon": [106.5], "site_address": "x"}),
        ("missing_site", 400, site | {"site_address": "  "}),
        (
            "site_address_too_long",
            400,
            site | {"lat": 29.6, "lon": 106.5, "site_address": "路" * 201},
        ),
        ("too_many_photos", 400, {"photos": [jpeg()] * 4}),
        ("photo_type", 400, {"photos": [jpeg(), b"not an image at all"]}),
        ("photo_empty", 400, {"photos": [b""]}),
        ("photo_too_large", 413, {"photos": [jpeg(), big]}),
    ]
    for i, (code, status, changes) in enumerate(cases):
        yield i, code, status, base | changes


def test_an_unlisted_site_given_by_its_address_alone_is_placed_in_the_street_it_names(w):
    case, _ = w.file(nursery=None, site_address="s2街道幸福路3号门面")
    c = db.session.get(Complaint, case)
    assert (c.lat, c.lon, c.site_address) == (None, None, "s2街道幸福路3号门面")
    assert c.street.code == "s2"
    case, _ = w.file(nursery=None, site_address="某个不知名的地方")
    assert db.session.get(Complaint, case).street_id is None  # no street named: none informed


def test_bad_filing_is_refused_and_stores_nothing(w, subtests):
    w.file(photos=[jpeg()])  # something already there, so "unchanged" is not "empty"
    before = counts()
    for i, code, status, fields in _bad_filings():
        with subtests.test(case=i, code=code):
            fields = dict(fields)
            nursery = fields.pop("nursery", None)
            if nursery and "nursery_id" not in fields:
                fields["nursery_id"] = w.nurseries[nursery]
            with pytest.raises(DomainError) as info:
                filing.file_complaint(Filing(**fields), now=NOW)
            assert (info.value.code, info.value.status) == (code, status)
            assert counts(rollback=False) == before
            assert counts() == before


def test_errors_do_not_echo_contact_details(w):
    with refused("invalid_phone") as info:
        w.file(phone="139-SECRET-88")
    assert "SECRET" not in info.value.message
    with refused("invalid_email") as info:
        w.file(email="secret-mailbox")
    assert "secret" not in info.value.message


# --- handler actions and their audit rows -------------------------------------------------------


def test_every_action_is_audited_with_actor_and_subject(w):
    health, education, market = w.user("health"), w.user("education"), w.user("market")
    cid, code = w.file(nursery="kindergarten_class", name=NAME, phone=PHONE)
    t = ACCEPTED
    handling.accept(health, cid, now=t)
    handling.add_note(education, cid, "协办意见：请核查班级", False, now=t + timedelta(hours=1))
    handling.add_note(health, cid, "已联系机构", True, now=t + timedelta(hours=2))
    handling.request_info(health, cid, "请提供事发日期", now=t + timedelta(hours=3))
    filing.answer_info(code, "2 月 10 日上午", now=t + timedelta(hours=4))
    handling.extend(health, cid, 10, "需要调取监控", now=t + timedelta(days=1))
    handling.reveal_contact(health, cid, now=t + timedelta(days=1))
    handling.reveal_contact(education, cid, now=t + timedelta(days=1))
    handling.resolve(health, cid, "已责令整改", now=t + timedelta(days=5))
    filing.rate(code, "satisfied", now=t + timedelta(days=6))
    handling.close(health, cid, None, now=t + timedelta(days=7))
    handling.reopen(health, cid, "机构未按期整改", now=t + timedelta(days=8))
    h, e = health.id, education.id
    assert audits(cid) == [
        ("complaint_filed", None),
        ("complaint_accepted", h),
        ("complaint_note", e),
        ("complaint_public_note", h),
        ("complaint_info_requested", h),
        ("complaint_info_provided", None),
        ("complaint_extended", h),
        ("complaint_contact_revealed", h),
        ("complaint_contact_revealed", e),
        ("complaint_resolved", h),
        ("complaint_rated", None),
        ("complaint_closed", h),
        ("complaint_reopened", h),
    ]
    reasons = dict(
        db.session.execute(
            select(AuditEntry.action, AuditEntry.reason).where(AuditEntry.subject_id == cid)
        ).all()
    )
    assert reasons["complaint_extended"] == "需要调取监控"
    assert reasons["complaint_reopened"] == "机构未按期整改"
    assert reasons["complaint_rated"] == "satisfied"
    # every audited action also has its timeline line, with actor and department
    kinds = [(ev.kind, ev.actor_id, ev.department) for ev in get(cid).events]
    assert kinds[:3] == [("filed", None, None), ("accepted", h, "health"), ("note", e, "education")]
    assert ("reopened", h, "health") in kinds

    # transfers and duplicates, on two more cases
    other, _ = w.file("fees", "托费涨价没有提前通知家长")  # market leads
    dup, _ = w.file(now=NOW + timedelta(hours=1))
    handling.request_transfer(health, dup, "police", "怀疑涉及治安", now=t)
    handling.decline_transfer(w.user("police"), dup, "不属于治安范畴", now=t)
    handling.request_transfer(health, dup, "market", "实为收费问题", now=t)
    handling.accept_transfer(market, dup, now=t + timedelta(hours=1))
    handling.mark_duplicate(market, dup, other, now=t + timedelta(hours=2))
    assert audits(dup) == [
        ("complaint_filed", None),
        ("complaint_transfer_requested", h),
        ("complaint_transfer_declined", w.user("police").id),
        ("complaint_transfer_requested", h),
        ("complaint_transfer_accepted", market.id),
        ("complaint_duplicate", market.id),
    ]
    everything = set(db.session.scalars(select(AuditEntry.action)))
    assert everything >= {
        "complaint_" + a
        for a in (
            "filed accepted transfer_requested transfer_accepted transfer_declined "
            "info_requested note public_note extended resolved closed duplicate reopened "
            "contact_revealed rated info_provided"
        ).split()
    }
    assert set(db.session.scalars(select(AuditEntry.subject_type))) == {"complaint"}


def test_accept_only_when_submitted_and_conclusion_runs_from_acceptance(w):
    health = w.user("health")
    cid, _ = w.file()
    c = handling.accept(health, cid, now=ACCEPTED)
    assert (c.status, c.accepted_at) == ("accepted", ACCEPTED)
    assert c.conclude_by == datetime(2026, 4, 25, 9, 0)  # 60 days; not Apr 13, from filing
    assert c.next_deadline() == c.conclude_by
    public = get(cid).public_events()[-1]
    assert public.kind == "accepted" and "2026-04-25" in public.text
    market_id, _ = w.file("fees", FEES, now=NOW)
    c = handling.accept(w.user("market"), market_id, now=ACCEPTED)
    assert c.conclude_by == datetime(2026, 4, 28, 9, 0)  # 45 working days from acceptance
    assert workdays_between(ACCEPTED.date(), c.conclude_by.date()) == 45
    with refused("not_submitted", 409):
        handling.accept(health, cid, now=ACCEPTED)
    handling.close(health, cid, "不属于受理范围", now=ACCEPTED)
    with refused("not_submitted", 409):
        handling.accept(health, cid, now=ACCEPTED)


def test_accept_is_refused_while_a_transfer_is_pending(w):
    health = w.user("health")
    cid, _ = w.file()
    handling.request_transfer(health, cid, "market", "属收费纠纷", now=NOW)
    with refused("transfer_pending", 409):
        handling.accept(health, cid, now=NOW)
    assert get(cid).status == "submitted"
    handling.decline_transfer(w.user("market"), cid, "不属于本部门", now=NOW)
    assert handling.accept(health, cid, now=ACCEPTED).status == "accepted"


def test_extend_once_by_1_to_30_days_with_a_reason(w):
    """信访工作条例 (health): once, by at most 30 calendar days. SAMR's regime (market) allows
    at most 15 working days: see test_complaints_regimes.py."""
    health = w.user("health")
    cid, _ = w.file()
    with refused("not_accepted", 409):
        handling.extend(health, cid, 10, "需要调查", now=NOW)
    handling.accept(health, cid, now=ACCEPTED)
    with refused("missing_reason"):
        handling.extend(health, cid, 10, "  ", now=ACCEPTED)
    for bad in (0, 31, -5, 2.5, "10", None, True):
        with refused("invalid_extension"):
            handling.extend(health, cid, bad, "需要调查", now=ACCEPTED)
    assert get(cid).extended_days is None
    c = handling.extend(health, cid, 10, "需要调取监控录像", now=ACCEPTED + timedelta(days=30))
    assert c.conclude_by == datetime(2026, 5, 5, 9, 0)  # Apr 25 + 10 days (May Day included)
    assert (c.extended_days, c.extension_reason) == (10, "需要调取监控录像")
    shown = get(cid).public_events()[-1]
    assert shown.kind == "extended" and "需要调取监控录像" in shown.text
    assert "延长 10 天，至 2026-05-05" in shown.text
    with refused("invalid_extension") as info:
        handling.extend(health, cid, 1, "再延一次", now=ACCEPTED + timedelta(days=40))
    assert "一次" in info.value.message
    assert get(cid).conclude_by == datetime(2026, 5, 5, 9, 0)
    handling.resolve(health, cid, "已处理", now=ACCEPTED + timedelta(days=41))
    with refused("case_finished", 409):
        handling.extend(health, cid, 1, "办结后", now=ACCEPTED + timedelta(days=41))


def test_resolve_only_after_acceptance(w):
    health = w.user("health")
    cid, _ = w.file()
    with refused("not_in_progress", 409):
        handling.resolve(health, cid, "结果", now=NOW)
    handling.accept(health, cid, now=ACCEPTED)
    with refused("missing_result"):
        handling.resolve(health, cid, "", now=ACCEPTED)
    handling.request_info(health, cid, "请补充照片", now=ACCEPTED)
    c = handling.resolve(health, cid, "经核查已整改", now=ACCEPTED + timedelta(days=3))
    assert (c.status, c.result, c.resolved_at) == (
        "resolved",
        "经核查已整改",
        ACCEPTED + timedelta(days=3),
    )
    assert c.next_deadline() is None and not c.overdue(datetime(2030, 1, 1))
    with refused("not_in_progress", 409):
        handling.resolve(health, cid, "再办结", now=ACCEPTED + timedelta(days=4))


def test_close_without_resolution_needs_a_reason(w):
    health = w.user("health")
    cid, _ = w.file()
    with refused("missing_reason"):
        handling.close(health, cid, "", now=NOW)
    assert get(cid).status == "submitted"
    c = handling.close(health, cid, "重复投诉，已另案处理", now=NOW)
    assert (c.status, c.closed_at) == ("closed", NOW)
    assert get(cid).public_events()[-1].text == "重复投诉，已另案处理"
    with refused("case_finished", 409):
        handling.close(health, cid, "再次关闭", now=NOW)
    # after a resolution no reason is needed
    cid2, _ = w.file()
    handling.accept(health, cid2, now=ACCEPTED)
    handling.resolve(health, cid2, "已整改", now=ACCEPTED)
    assert handling.close(health, cid2, None, now=ACCEPTED).status == "closed"


def test_request_info_and_answer(w):
    health = w.user("health")
    cid, code = w.file()
    with refused("not_in_progress", 409):
        handling.request_info(health, cid, "请补充", now=NOW)
    with refused("not_awaiting_info", 409):
        filing.answer_info(code, "补充内容", now=NOW)
    handling.accept(health, cid, now=ACCEPTED)
    handling.request_info(health, cid, "请提供孩子所在班级", now=ACCEPTED)
    assert get(cid).status == "awaiting_info"
    with refused("not_in_progress", 409):
        handling.request_info(health, cid, "再补充", now=ACCEPTED)
    with refused("missing_answer"):
        filing.answer_info(code, "   ", now=ACCEPTED)
    c = filing.answer_info(codes.format_code(code).lower(), "小二班", now=ACCEPTED)
    assert c.status == "accepted"
    kinds = [(e.kind, e.public, e.text) for e in get(cid).public_events()]
    assert kinds[-2:] == [
        ("info_requested", True, "请提供孩子所在班级"),
        ("info_provided", True, "小二班"),
    ]
    with refused("not_awaiting_info", 409):
        filing.answer_info(code, "又补充", now=ACCEPTED)


def test_answer_during_review_returns_to_review(w):
    health = w.user("health")
    cid, code = w.file()
    handling.accept(health, cid, now=ACCEPTED)
    handling.resolve(health, cid, "已整改", now=ACCEPTED)
    handling.reopen(health, cid, "复查", now=ACCEPTED + timedelta(days=1))
    handling.request_info(health, cid, "请说明仍存在的问题", now=ACCEPTED + timedelta(days=2))
    assert filing.answer_info(code, "仍然如此", now=ACCEPTED + timedelta(days=3)).status == (
        "reopened"
    )


def test_reopen_only_when_finished_with_a_30_day_review(w):
    health = w.user("health")
    cid, _ = w.file()
    with refused("case_open", 409):
        handling.reopen(health, cid, "理由", now=NOW)
    handling.close(health, cid, "不予受理", now=NOW)
    with refused("missing_reason"):
        handling.reopen(health, cid, "", now=NOW)
    at = datetime(2026, 9, 28, 10, 0)
    c = handling.reopen(health, cid, "上级督办", now=at)
    # 信访工作条例 Art. 35: 30 days (calendar), National Day included
    assert (c.status, c.closed_at, c.conclude_by) == ("reopened", None, datetime(2026, 10, 28, 10))
    assert "上级督办" in get(cid).public_events()[-1].text
    with refused("case_open", 409):
        handling.reopen(health, cid, "再来", now=at)


def _resolved_case(w, resolved_at):
    health = w.user("health")
    cid, code = w.file()
    handling.accept(health, cid, now=ACCEPTED)
    handling.resolve(health, cid, "已整改", now=resolved_at)
    return cid, code


def test_rate_only_after_resolution_and_once_per_resolution(w):
    health = w.user("health")
    cid, code = w.file()
    with refused("cannot_rate", 409):
        filing.rate(code, "satisfied", now=NOW)
    handling.accept(health, cid, now=ACCEPTED)
    with refused("cannot_rate", 409):
        filing.rate(code, "satisfied", now=ACCEPTED)
    resolved = datetime(2026, 3, 20, 15, 0)
    handling.resolve(health, cid, "已整改", now=resolved)
    for bad in ("good", "", None, "满意"):
        with refused("invalid_rating"):
            filing.rate(code, bad, now=resolved)
    c = filing.rate(code, "basically", now=resolved + timedelta(days=1))
    assert (c.status, c.rating) == ("resolved", "basically")
    assert get(cid).public_events()[-1].text == "评价：基本满意"
    for again in ("satisfied", "dissatisfied"):
        with refused("cannot_rate", 409):
            filing.rate(code, again, now=resolved + timedelta(days=2))
    assert get(cid).rating == "basically"


def test_dissatisfied_within_30_days_reopens_for_review(w):
    resolved = datetime(2026, 9, 24, 15, 0)
    cid, code = _resolved_case(w, resolved)
    handling.close(w.user("health"), cid, None, now=resolved)  # closed cases can be rated too
    rated = datetime(2026, 9, 28, 10, 0)
    c = filing.rate(code, "dissatisfied", now=rated)
    assert (c.status, c.rating, c.closed_at) == ("reopened", "dissatisfied", None)
    assert c.conclude_by == datetime(2026, 10, 28, 10, 0)  # 30 days after the rating
    kinds = [e.kind for e in get(cid).public_events()]
    assert kinds[-2:] == ["rated", "reopened"]
    with refused("cannot_rate", 409):
        filing.rate(code, "satisfied", now=rated)
    # a new resolution can be rated again
    handling.resolve(w.user("health"), cid, "复查后已整改到位", now=datetime(2026, 10, 20, 9, 0))
    c = filing.rate(code, "satisfied", now=datetime(2026, 10, 21, 9, 0))
    assert (c.status, c.rating) == ("resolved", "satisfied")


def test_dissatisfied_reopens_up_to_30_days_after_resolution_not_later(w):
    resolved = datetime(2026, 3, 20, 15, 0)
    _, code = _resolved_case(w, resolved)
    assert filing.rate(code, "dissatisfied", now=resolved + timedelta(days=30)).status == (
        "reopened"
    )
    cid, code = _resolved_case(w, resolved)
    late = resolved + timedelta(days=30, minutes=1)
    c = filing.rate(code, "dissatisfied", now=late)
    assert (c.status, c.rating, c.rated_at) == ("resolved", "dissatisfied", late)
    assert [e.kind for e in get(cid).events][-1] == "rated"
    assert ("complaint_reopened", None) not in audits(cid)


# --- duplicates --------------------------------------------------------------------------------


def test_duplicate_suggestions_and_marking(w):
    health = w.user("health")
    day = timedelta(days=1)
    too_old, _ = w.file(now=NOW - 31 * day)
    recent, _ = w.file(now=NOW - 10 * day)
    finished, _ = w.file(now=NOW - 5 * day)
    handling.close(health, finished, "已另案处理", now=NOW - 4 * day)
    other_category, _ = w.file("hygiene", "教室地面很不整洁", now=NOW - 3 * day)
    other_nursery, _ = w.file(nursery="other_private", now=NOW - 2 * day)
    # a case health cannot see: the rules lead care_quality to market for a while
    admin = w.user("admin")
    _, _, raw = rulebook.current()
    changed = copy.deepcopy(raw)
    next(c for c in changed["categories"] if c["code"] == "care_quality")["lead"] = "market"
    rule_versions.save(admin.id, changed, "试行", now=NOW - 2 * day)
    invisible, _ = w.file(now=NOW - day)
    rule_versions.save(admin.id, raw, "恢复", now=NOW - day)
    assert roles(invisible) == {"market": "lead", "street": "informed"}
    current, _ = w.file(now=NOW)

    c = get(current)
    suggested = queries.duplicate_candidates(health, c, now=NOW)
    assert [o.id for o in suggested] == [recent]
    assert {too_old, finished, other_category, other_nursery, invisible}.isdisjoint(
        o.id for o in suggested
    )
    # the street handler of the site sees both the current and the invisible-to-health case
    assert [o.id for o in queries.duplicate_candidates(w.user("street_s1"), c, now=NOW)] == [
        recent,
        invisible,
    ]

    for bad in (current, invisible, 987654, str(recent), None):
        with refused("invalid_original"):
            handling.mark_duplicate(health, current, bad, now=NOW)
    assert get(current).status == "submitted"
    with refused("not_lead", 403):
        handling.mark_duplicate(w.user("street_s1"), current, recent, now=NOW)
    c = handling.mark_duplicate(health, current, recent, now=NOW)
    assert (c.status, c.duplicate_of_id, c.closed_at) == ("duplicate", recent, NOW)
    assert not c.is_open and c.next_deadline() is None
    # a duplicate is no original, and is not suggested any more
    with refused("invalid_original"):
        handling.mark_duplicate(health, too_old, current, now=NOW)
    assert current not in [o.id for o in queries.duplicate_candidates(health, get(recent), NOW)]
    with refused("case_finished", 409):
        handling.mark_duplicate(health, current, recent, now=NOW)
    # reopening a duplicate undoes the link
    c = handling.reopen(health, current, "并非同一事件", now=NOW + day)
    assert (c.status, c.duplicate_of_id) == ("reopened", None)
    # unregistered sites have no nursery to match on: no suggestions
    site, _ = w.file(lat=29.6, lon=106.52, site_address="某路")
    w.file(lat=29.6, lon=106.52, site_address="某路")
    assert queries.duplicate_candidates(health, get(site), now=NOW) == []


# --- transfers ----------------------------------------------------------------------------------


def test_transfer_only_lead_requests_only_target_answers(w):
    health, education, market = w.user("health"), w.user("education"), w.user("market")
    cid, _ = w.file(nursery="kindergarten_class")  # health lead, education co, street informed
    with refused("not_lead", 403):
        handling.request_transfer(education, cid, "market", "理由", now=NOW)
    with refused("not_lead", 403):
        handling.request_transfer(w.user("street_s1"), cid, "market", "理由", now=NOW)
    with refused("complaint_not_found", 404):
        handling.request_transfer(market, cid, "market", "理由", now=NOW)
    with refused("invalid_department"):
        handling.request_transfer(health, cid, "nasa", "理由", now=NOW)
    with refused("same_department"):
        handling.request_transfer(health, cid, "health", "理由", now=NOW)
    with refused("missing_reason"):
        handling.request_transfer(health, cid, "market", "", now=NOW)
    assert queries.role_of(market, get(cid)) is None

    c = handling.request_transfer(health, cid, "market", "属于收费纠纷，内部理由X", now=NOW)
    assert (c.pending_transfer_to, c.transfer_reason) == ("market", "属于收费纠纷，内部理由X")
    assert queries.role_of(market, get(cid)) == "transfer"
    assert queries.case_for(market, cid).id == cid
    with refused("transfer_pending", 409):
        handling.request_transfer(health, cid, "police", "另一个", now=NOW)
    for not_target in (health, education):
        with refused("no_transfer", 409):
            handling.accept_transfer(not_target, cid, now=NOW)
        with refused("no_transfer", 409):
            handling.decline_transfer(not_target, cid, "不接", now=NOW)
    with refused("complaint_not_found", 404):
        handling.accept_transfer(w.user("police"), cid, now=NOW)
    # the target may look and note, but not act as lead or see the contact
    with refused("not_lead", 403):
        handling.accept(market, cid, now=NOW)
    with refused("not_handling", 403):
        handling.reveal_contact(market, cid, now=NOW)

    c = handling.accept_transfer(market, cid, now=NOW + timedelta(hours=2))
    assert c.lead_department == "market" and c.pending_transfer_to is None
    assert c.transfer_reason is None
    assert roles(cid) == {
        "market": "lead",
        "health": "informed",
        "education": "co",
        "street": "informed",
    }
    assert queries.role_of(health, get(cid)) == "informed"
    with refused("not_lead", 403):
        handling.accept(health, cid, now=NOW)
    assert handling.accept(market, cid, now=ACCEPTED).status == "accepted"
    assert "市场监管局" in get(cid).public_events()[-2].text


def test_transfer_to_a_co_handler_makes_it_lead_without_a_second_row(w):
    health, education = w.user("health"), w.user("education")
    cid, _ = w.file(nursery="kindergarten_class")
    handling.request_transfer(health, cid, "education", "托班事务归教委", now=NOW)
    assert queries.role_of(education, get(cid)) == "co"  # its routed role is kept meanwhile
    handling.accept_transfer(education, cid, now=NOW)
    assert roles(cid) == {"education": "lead", "health": "informed", "street": "informed"}
    assert (
        db.session.scalar(select(func.count()).where(ComplaintDepartment.complaint_id == cid)) == 3
    )


def test_declined_transfer_leaves_the_lead_and_hides_the_case_again(w):
    health, market = w.user("health"), w.user("market")
    cid, _ = w.file()
    handling.request_transfer(health, cid, "market", "可能涉及收费", now=NOW)
    with refused("missing_reason"):
        handling.decline_transfer(market, cid, " ", now=NOW)
    c = handling.decline_transfer(market, cid, "未涉及收费", now=NOW)
    assert (c.lead_department, c.pending_transfer_to, c.transfer_reason) == ("health", None, None)
    assert roles(cid) == {"health": "lead", "street": "informed"}
    with refused("complaint_not_found", 404):
        queries.case_for(market, cid)
    with refused("complaint_not_found", 404):
        handling.accept_transfer(market, cid, now=NOW)


@pytest.mark.parametrize("finish", ["close", "resolve", "duplicate"])
def test_finishing_a_case_withdraws_its_pending_transfer(w, finish):
    health, market = w.user("health"), w.user("market")
    cid, _ = w.file()
    if finish == "resolve":
        handling.accept(health, cid, now=NOW)
    if finish == "duplicate":
        original, _ = w.file()
    handling.request_transfer(health, cid, "market", "可能涉及收费", now=NOW)
    if finish == "close":
        handling.close(health, cid, "投诉人撤回", now=NOW)
    elif finish == "resolve":
        handling.resolve(health, cid, "已办结", now=NOW)
    else:
        handling.mark_duplicate(health, cid, original, now=NOW)
    assert get(cid).pending_transfer_to is None and get(cid).lead_department == "health"
    with refused("complaint_not_found", 404):  # no longer offered to the other department
        handling.accept_transfer(market, cid, now=NOW)


# --- access -------------------------------------------------------------------------------------


def test_who_can_open_a_case(w):
    cid, _ = w.file(nursery="kindergarten_class")
    c = get(cid)
    expected = {
        "health": "lead",
        "education": "co",
        "street_s1": "informed",
        "street_s2": None,
        "market": None,
        "police": None,
        "union": None,
        "parent": None,
        "nursery_staff": None,
        "admin": None,
    }
    for key, role in expected.items():
        user = w.user(key)
        assert queries.role_of(user, c) == role, key
        if role is None:
            with refused("complaint_not_found", 404):
                queries.case_for(user, cid)
        else:
            assert queries.case_for(user, cid).id == cid
    assert queries.role_of(None, c) is None
    for bad_id in (str(cid), 987654, None, float(cid)):
        with refused("complaint_not_found", 404):
            queries.case_for(w.user("health"), bad_id)


def test_allowed_actions_follow_each_handlers_role_in_the_case(w):
    """What the case page offers each account: by its role in this case; a handler of another
    department, or of another street, and every other account get nothing."""
    cid, _ = w.file(nursery="kindergarten_class")
    lead = {
        "accept",
        "refuse",
        "recategorise",
        "transfer",
        "note",
        "public_note",
        "duplicate",
        "close",
        "reveal_contact",
    }
    expected = {
        "health": lead,
        "education": {"note", "reveal_contact"},
        "street_s1": {"note"},
        "street_s2": set(),
        "market": set(),
        "police": set(),
        "parent": set(),
        "nursery_staff": set(),
        "admin": set(),
    }
    for key, actions in expected.items():
        assert queries.allowed_actions(w.user(key), get(cid)) == actions, key
    handling.request_transfer(w.user("health"), cid, "market", "属市场监管", now=NOW)
    assert queries.allowed_actions(w.user("market"), get(cid)) == {
        "accept_transfer",
        "decline_transfer",
    }
    assert queries.allowed_actions(w.user("health"), get(cid)) == lead - {
        "accept",
        "refuse",
        "transfer",
        "recategorise",
    }
    assert queries.allowed_actions(w.user("police"), get(cid)) == set()
    handling.accept_transfer(w.user("market"), cid, now=NOW)
    assert queries.allowed_actions(w.user("market"), get(cid)) == lead
    assert queries.allowed_actions(w.user("health"), get(cid)) == {"note"}  # now informed


def test_street_handlers_see_only_their_own_street(w):
    in_s2, _ = w.file(nursery="s2_private")
    assert queries.role_of(w.user("street_s2"), get(in_s2)) == "informed"
    with refused("complaint_not_found", 404):
        queries.case_for(w.user("street_s1"), in_s2)
    assert [c.id for c, _, _ in queries.queue(w.user("street_s1"), QueueFilter(), NOW)] == []
    assert [c.id for c, _, _ in queries.queue(w.user("street_s2"), QueueFilter(), NOW)] == [in_s2]


def test_what_co_handlers_and_informed_departments_may_do(w):
    education, street = w.user("education"), w.user("street_s1")
    cid, _ = w.file(nursery="kindergarten_class", name=NAME, phone=PHONE, email=EMAIL)
    for actor in (education, street):
        with refused("not_lead", 403):
            handling.accept(actor, cid, now=ACCEPTED)
    handling.accept(w.user("health"), cid, now=ACCEPTED)
    for actor in (education, street):
        with refused("not_lead", 403):
            handling.resolve(actor, cid, "结果", now=ACCEPTED)
        with refused("not_lead", 403):
            handling.add_note(actor, cid, "公开说明", True, now=ACCEPTED)
        with refused("not_lead", 403):
            handling.request_info(actor, cid, "问题", now=ACCEPTED)
        with refused("not_lead", 403):
            handling.extend(actor, cid, 5, "理由", now=ACCEPTED)
        with refused("not_lead", 403):
            handling.close(actor, cid, "理由", now=ACCEPTED)
        with refused("not_lead", 403):
            handling.reopen(actor, cid, "理由", now=ACCEPTED)
    handling.add_note(education, cid, "教委内部意见", False, now=ACCEPTED)
    handling.add_note(street, cid, "街道已走访", False, now=ACCEPTED)
    with refused("missing_note"):
        handling.add_note(education, cid, "", False, now=ACCEPTED)
    notes = [(e.department, e.public) for e in get(cid).events if e.kind == "note"]
    assert notes == [("education", False), ("street", False)]
    assert get(cid).status == "accepted"


def test_only_lead_and_co_handlers_reveal_the_contact_each_time_audited(w):
    cid, _ = w.file(nursery="kindergarten_class", name=NAME, phone=PHONE, email=EMAIL)
    full = {"name": NAME, "phone": PHONE, "email": EMAIL}
    assert handling.reveal_contact(w.user("health"), cid, now=NOW) == full
    assert handling.reveal_contact(w.user("education"), cid, now=NOW) == full
    with refused("not_handling", 403):
        handling.reveal_contact(w.user("street_s1"), cid, now=NOW)
    for outsider in ("market", "street_s2", "parent", "nursery_staff", "admin"):
        with refused("complaint_not_found", 404):
            handling.reveal_contact(w.user(outsider), cid, now=NOW)
    revealed = [a for a in audits(cid) if a[0] == "complaint_contact_revealed"]
    assert revealed == [
        ("complaint_contact_revealed", w.user("health").id),
        ("complaint_contact_revealed", w.user("education").id),
    ]
    anonymous, _ = w.file()
    assert handling.reveal_contact(w.user("health"), anonymous, now=NOW) == {
        "name": "（匿名）",
        "phone": "—",
        "email": "—",
    }


def test_masked_contact(w):
    cid, _ = w.file(name=NAME, phone="+86 139-1234-5678", email=EMAIL)
    masked = masking.masked_contact(get(cid))
    assert masked == {"name": "欧***", "phone": "861******5678", "email": "o***@example.com"}
    cid, _ = w.file(name="王", phone=PHONE, email="ab@x.cn")
    assert masking.masked_contact(get(cid)) == {
        "name": "*",  # "王*" would show the whole name
        "phone": "139****5678",
        "email": "a***@x.cn",
    }
    cid, _ = w.file()
    c = get(cid)
    assert c.anonymous
    assert masking.masked_contact(c) == {"name": "（匿名）", "phone": "—", "email": "—"}


# --- queue ------------------------------------------------------------------------------------


def test_queue_contents_order_and_filters(w):
    health = w.user("health")
    t0 = datetime(2026, 3, 2, 10, 0)  # Monday
    hour = timedelta(hours=1)
    early, _ = w.file("hygiene", "教室很久没有消毒，厕所有异味", now=t0 - 48 * hour)
    plain, _ = w.file(now=t0)
    as_co, _ = w.file("fees", "托费上涨没有提前说明", nursery="inclusive", now=t0)  # market leads
    urgent_later, _ = w.file("injury", "孩子在园里摔倒骨折了", now=t0 + 24 * hour)
    urgent_co, _ = w.file("abuse", "孩子被老师体罚", now=t0 + 2 * hour)  # police leads
    accepted, _ = w.file(now=t0 - 72 * hour)
    handling.accept(health, accepted, now=t0)
    finished_old, _ = w.file(now=t0)
    handling.close(health, finished_old, "不予受理", now=t0 + hour)
    finished_new, _ = w.file(now=t0)
    handling.close(health, finished_new, "不予受理", now=t0 + 2 * hour)
    hr_only, _ = w.file("labour_rights", "机构拖欠员工工资", now=t0)

    def ids(user, now=t0, **kw):
        return [c.id for c, _, _ in queries.queue(user, QueueFilter(**kw), now)]

    # market's case is due for acceptance in 7 working days (Mar 11), before the health
    # cases' 15 calendar days (early: Mar 15, plain: Mar 17)
    open_order = [urgent_co, urgent_later, as_co, early, plain, accepted]
    assert ids(health) == open_order
    rows = queries.queue(health, QueueFilter(), t0)
    assert [r for _, r, _ in rows] == ["co", "lead", "co", "lead", "lead", "lead"]
    assert ids(health, status="all") == open_order + [finished_new, finished_old]
    assert ids(health, status="closed") == [finished_new, finished_old]
    assert ids(health, status="accepted") == [accepted]
    assert ids(health, status="submitted") == open_order[:-1]
    assert ids(health, role="co") == [urgent_co, as_co]
    assert ids(health, role="lead") == [urgent_later, early, plain, accepted]
    assert ids(health, urgent=True) == [urgent_co, urgent_later]
    assert ids(health, category="hygiene") == [early]
    assert ids(health, category="abuse", role="co") == [urgent_co]
    # three days on, the urgent cases (24 h to accept) are overdue, the others are not
    later = t0 + 72 * hour
    assert ids(health, now=later, overdue=True) == [urgent_co, urgent_later]
    flags = {c.id: late for c, _, late in queries.queue(health, QueueFilter(), later)}
    assert flags[urgent_co] and not flags[plain]
    # other departments' queues
    assert ids(w.user("market")) == [as_co]
    assert ids(w.user("police")) == [urgent_co]
    assert ids(w.user("hr")) == [hr_only]
    assert ids(w.user("education")) == []
    assert set(ids(w.user("street_s1"), status="all")) == {
        early, plain, as_co, urgent_later, urgent_co, accepted, finished_old, finished_new, hr_only
    }  # fmt: skip
    assert ids(w.user("street_s1"), role="lead") == []
    # a pending transfer shows in the target's queue with its own role
    handling.request_transfer(health, plain, "union", "涉及职工福利", now=t0)
    assert [(c.id, r) for c, r, _ in queries.queue(w.user("union"), QueueFilter(), t0)] == [
        (plain, "transfer")
    ]
    assert ids(w.user("union"), role="transfer") == [plain]


# --- confidentiality ----------------------------------------------------------------------------


def test_contact_details_never_reach_the_logs(w, caplog):
    caplog.set_level(logging.DEBUG)
    # every SQL statement too (SQLAlchemy keeps its loggers at WARNING): the engine hides the
    # parameters, so the contact details must not be in them
    caplog.set_level(logging.INFO, logger="sqlalchemy.engine")
    png = io.BytesIO()
    Image.new("RGB", (8, 8), "green").save(png, "PNG")
    health, education = w.user("health"), w.user("education")
    cid, code = w.file(
        nursery="kindergarten_class", name=NAME, phone=PHONE, email=EMAIL, photos=[png.getvalue()]
    )
    queries.by_code(code)
    masking.masked_contact(get(cid))
    handling.accept(health, cid, now=ACCEPTED)
    handling.reveal_contact(health, cid, now=ACCEPTED)
    handling.reveal_contact(education, cid, now=ACCEPTED)
    handling.request_info(health, cid, "请补充", now=ACCEPTED)
    filing.answer_info(code, "已补充", now=ACCEPTED)
    handling.add_note(education, cid, "内部备注", False, now=ACCEPTED)
    handling.request_transfer(health, cid, "market", "转办理由", now=ACCEPTED)
    handling.decline_transfer(w.user("market"), cid, "退回", now=ACCEPTED)
    handling.extend(health, cid, 5, "延期", now=ACCEPTED)
    handling.resolve(health, cid, "已办结", now=ACCEPTED)
    filing.rate(code, "dissatisfied", now=ACCEPTED)
    handling.resolve(health, cid, "复查办结", now=ACCEPTED + timedelta(days=1))
    handling.close(health, cid, None, now=ACCEPTED + timedelta(days=1))
    queries.stats("health", now=ACCEPTED)
    queries.queue(health, QueueFilter(status="all"), ACCEPTED)
    assert caplog.records, "nothing was captured: the test would prove nothing"
    for record in caplog.records:
        shown = record.getMessage() + repr(record.args) + repr(record.__dict__)
        for secret in (NAME, PHONE, EMAIL, "13912345678", code):
            assert secret not in shown, (record.name, record.levelname)


def test_public_timeline_has_no_internal_notes_or_transfer_reasons(w):
    health, market = w.user("health"), w.user("market")
    cid, code = w.file(nursery="kindergarten_class")
    handling.add_note(w.user("education"), cid, "协办内部意见QX1", False, now=NOW)
    handling.request_transfer(health, cid, "market", "内部转办理由QX2", now=NOW)
    handling.decline_transfer(market, cid, "退回理由QX3", now=NOW)
    handling.request_transfer(health, cid, "market", "第二次转办理由QX4", now=NOW)
    handling.accept_transfer(market, cid, now=NOW)
    handling.add_note(market, cid, "牵头内部备注QX5", False, now=NOW)
    handling.add_note(market, cid, "公开说明：正在核查", True, now=NOW)
    handling.accept(market, cid, now=ACCEPTED)
    events = queries.by_code(code).public_events()
    assert [e.kind for e in events] == ["filed", "transfer_accepted", "public_note", "accepted"]
    assert all(e.public for e in events)
    everything = " ".join(e.text or "" for e in events)
    for secret in ("QX1", "QX2", "QX3", "QX4", "QX5"):
        assert secret not in everything
    # the internal lines exist, they are just not public
    internal = [e.text for e in get(cid).events if not e.public]
    # (the sixth: market took over a care-quality case, so its category was corrected)
    assert len(internal) == 6 and any("QX2" in t for t in internal)
    assert any(t.startswith("转办接收后类别由") for t in internal)


# --- statistics ---------------------------------------------------------------------------------


def test_stats_for_a_hand_made_set(w):
    health = w.user("health")
    hour, day = timedelta(hours=1), timedelta(days=1)

    def case(accept_after=None, resolve_after=None, rating=None, rate_after=None, **kw):
        cid, code = w.file(now=NOW, **kw)
        if accept_after is not None:
            handling.accept(health, cid, now=NOW + accept_after)
        if resolve_after is not None:
            handling.resolve(health, cid, "已处理", now=NOW + resolve_after)
        if rating:
            filing.rate(code, rating, now=NOW + rate_after)
        return cid

    case(2 * hour, 3 * day, "satisfied", 4 * day)
    case(6 * hour, 10 * day, "basically", 11 * day)
    case(1 * hour, 4 * day, "dissatisfied", 40 * day)  # too late to reopen
    case(10 * hour)  # accepted, still open
    case()  # never accepted
    closed = case()
    handling.close(health, closed, "不予受理", now=NOW + day)
    case(category="abuse", description="老师体罚孩子")  # police leads: not health's
    case(category="fees", description="收费不透明", nursery="inclusive")  # health only co-handles

    figures = queries.stats("health", now=NOW + 100 * day)
    assert figures == {
        "total": 6,
        "open": 2,
        "overdue": 2,  # the accepted one (60 days) and the unaccepted one (15)
        "urgent_open": 0,
        "median_hours_to_accept": 4.0,  # 1, 2, 6, 10 → (2 + 6) / 2
        "median_days_to_resolve": 4.0,  # 3, 4, 10
        "ratings": {"satisfied": 1, "basically": 1, "dissatisfied": 1},
        "rated": 3,
        "satisfaction": pytest.approx(2 / 3),
    }
    early = queries.stats("health", now=NOW + day)
    assert (early["open"], early["overdue"]) == (2, 0)
    police = queries.stats("police", now=NOW + 3 * day)
    assert (police["total"], police["open"], police["urgent_open"], police["overdue"]) == (
        1,
        1,
        1,
        1,
    )
    assert police["median_hours_to_accept"] is None and police["satisfaction"] is None
    assert queries.stats("union", now=NOW)["total"] == 0


# --- the rules versions -------------------------------------------------------------------------


def test_current_falls_back_to_the_shipped_file(w):
    version, rules, raw = rulebook.current()
    shipped = json.loads(rulebook.DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    assert version == 0
    assert raw == shipped  # departments (with their sources) shown to admins with the rest
    assert {c: d["name"] for c, d in raw["departments"].items()} == rules.departments
    assert rules.categories["care_quality"].lead == "health"
    assert rulebook.department_name("health") == "卫生健康委"
    assert rulebook.department_name("no_such") == "no_such"


BAD_RULES = [
    lambda d: d.pop("categories"),
    lambda d: d["categories"][0].update(lead="nasa"),
    lambda d: d["categories"][0].pop("lead"),
    lambda d: d["categories"].append(copy.deepcopy(d["categories"][0])),
    lambda d: d["adjustments"][0].update(when={"kind": ["castle"]}),
    lambda d: d.update(departments={"health": "卫健"}),  # street removed, others unknown
    lambda d: d.update(fallback_category="nothing"),
    lambda d: d.clear(),
]


def test_saving_bad_rules_is_refused_and_stores_nothing(w, subtests):
    _, _, raw = rulebook.current()
    before = counts()
    for i, mutate in enumerate(BAD_RULES):
        with subtests.test(case=i):
            data = copy.deepcopy(raw)
            mutate(data)
            with pytest.raises(DomainError) as info:
                rule_versions.save(w.user("admin").id, data, "试试", now=NOW)
            assert info.value.code == "rules_invalid"
            assert counts(rollback=False) == before
            assert counts() == before
            assert rulebook.current()[0] == 0
    with refused("rules_invalid"):
        rule_versions.save(w.user("admin").id, ["not", "an", "object"], now=NOW)
    assert counts() == before


def test_the_newest_rules_apply_to_new_filings_only(w):
    admin = w.user("admin")
    before, _ = w.file()
    _, _, raw = rulebook.current()
    data = copy.deepcopy(raw)
    next(c for c in data["categories"] if c["code"] == "care_quality").update(
        lead="civil_affairs", co=["health"]
    )
    saved_at = NOW + timedelta(hours=1)
    version = rule_versions.save(admin.id, data, "民政局试点", now=saved_at)
    assert version == rulebook.current()[0] and version > 0
    row = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "complaint_rules_saved"))
    assert (row.actor_id, row.subject_type, row.subject_id, row.reason, row.at) == (
        admin.id,
        "complaint_rules",
        version,
        "民政局试点",
        saved_at,
    )
    after, _ = w.file(now=NOW + timedelta(hours=2))
    assert roles(after) == {"civil_affairs": "lead", "health": "co", "street": "informed"}
    assert roles(before) == {"health": "lead", "street": "informed"}
    assert queries.role_of(w.user("health"), get(after)) == "co"
    # a later version wins again
    rule_versions.save(admin.id, raw, "恢复", now=NOW + timedelta(hours=3))
    third, _ = w.file(now=NOW + timedelta(hours=4))
    assert get(third).lead_department == "health"


def test_renamed_departments_show_their_new_names(w):
    _, _, raw = rulebook.current()
    data = copy.deepcopy(raw)
    data["departments"] = rulebook.current_rules().departments | {"health": "区卫生健康委员会"}
    rule_versions.save(w.user("admin").id, data, "更名", now=NOW)
    assert rulebook.department_name("health") == "区卫生健康委员会"
    assert rulebook.department_name("market") == "市场监管局"
    cid, _ = w.file()
    assert "区卫生健康委员会" in get(cid).events[0].text
    assert any("区卫生健康委员会" in r for r in json.loads(get(cid).routing_reasons))


def test_parse_reports_what_is_wrong(w):
    _, _, raw = rulebook.current()
    good = json.dumps(raw, ensure_ascii=False)
    data, rules = rulebook.parse(good)
    assert data == raw and "abuse" in rules.categories
    assert rulebook.parse("\ufeff".encode() + good.encode())[0] == raw  # BOM from Windows editors
    with refused("rules_invalid") as info:
        rulebook.parse('{"categories": [\n  {"code": "x",}\n]}')
    assert "第 2 行" in info.value.message
    with refused("rules_invalid"):
        rulebook.parse(good.encode("gbk"))
    with refused("rules_invalid"):
        rulebook.parse(b"\xff\xfe{}")
    with refused("rules_invalid"):
        rulebook.parse('{"categories": "none"}')
    with refused("rules_invalid") as info:
        rulebook.parse("[" * 100_000 + "]" * 100_000)  # nesting deeper than the parser goes
    assert "嵌套" in info.value.message
    oversize = " " * (rulebook.MAX_RULES_BYTES + 1) + good
    with refused("rules_too_large"):
        rulebook.parse(oversize.encode())
    with refused("rules_too_large"):
        rulebook.parse(oversize)  # pasted text is held to the same size as an uploaded file


def test_a_case_without_a_street_cannot_be_transferred_to_the_street(w):
    health = w.user("health")
    cid, _ = w.file(nursery="no_street")
    with refused("no_street", 400):
        handling.request_transfer(health, cid, "street", "属地问题", now=NOW)
    assert get(cid).pending_transfer_to is None
    other, _ = w.file()  # a site with a street can be
    handling.request_transfer(health, other, "street", "属地问题", now=NOW)
    assert get(other).pending_transfer_to == "street"
