"""Places the law allows (issue 10): classes and offers are refused when they would break the
national limits, and bookings never put more children in a class than its places, whatever
care types they come through — also when the data on file is already unlawful."""

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from accounts.models import User
from booking import slots
from booking.rules import Request
from booking.services import family, staff
from booking.waitlist import Settings
from errors import DomainError
from extensions import db
from maps.models import Nursery, NurseryClass, Offer
from tests.booking_helpers import NOW, TODAY, birth_for, make_bookable_nursery

SETTINGS = Settings()
MONDAY = TODAY + timedelta(days=7)


# --- the moments a class's children are present (plain rules) ------------------------------


def test_peak_presence_adds_the_care_types_present_at_one_moment():
    day = slots.day(MONDAY)
    assert slots.peak_presence({}) == 0
    # Enrolments and sessions are present every day: full day + the larger session.
    assert slots.peak_presence({"enrol": 3, "am": 2, "pm": 1}) == 5
    # Hourly care adds to its half of the day only; the busiest hour counts.
    taken = {"enrol": 3, "am": 2, slots.hour(MONDAY, 9): 4, slots.hour(MONDAY, 10): 1}
    assert slots.peak_presence(taken) == 3 + 2 + 4
    taken = {"enrol": 3, "am": 2, slots.hour(MONDAY, 14): 4}
    assert slots.peak_presence(taken) == 3 + 4  # the afternoon has no am session children
    # Temporary care is present all day, on its day only.
    taken = {"enrol": 1, "pm": 2, day: 3, slots.hour(MONDAY, 15): 1}
    assert slots.peak_presence(taken) == 1 + 2 + 3 + 1
    other_day = slots.hour(MONDAY + timedelta(days=1), 15)
    assert slots.peak_presence({"enrol": 1, day: 3, other_day: 4}) == 5


def test_noon_splits_the_morning_from_the_afternoon():
    assert [slots.half_of_hour(h) for h in (8, 11, 12, 16)] == ["am", "am", "pm", "pm"]


# --- refusals when a nursery sets its classes and offers ------------------------------------


@pytest.fixture
def site(app):
    """A nursery with one 托小班 of 10 places (2 carers) and a 5-place full-day offer in it."""
    with app.app_context():
        nursery = Nursery(
            name="守法托育园",
            address="标准路1号",
            kind="private",
            filing_no="守法备-1",
            lat=29.6,
            lon=106.52,
            capacity=10,
        )
        nursery.classes.append(
            NurseryClass(class_type="toddler", name="小一班", carers=2, capacity=10)
        )
        nursery.offers.append(
            Offer(
                care_type="full_day",
                class_type="toddler",
                price_yuan=Decimal("1800"),
                price_unit="month",
                capacity=5,
            )
        )
        db.session.add(nursery)
        db.session.flush()
        user = User(
            username="staff-law", password_hash="x", role="nursery_staff", nursery_id=nursery.id
        )
        db.session.add(user)
        db.session.commit()
        ctx = app.app_context()
        ctx.push()
        yield {"nursery": nursery.id, "staff": user.id}
        ctx.pop()


def _offer(site, care_type, capacity, class_type="toddler"):
    return staff.set_offer(
        site["staff"], site["nursery"], care_type, capacity, "50", SETTINGS, class_type, now=NOW
    )


def _class(site, class_type, carers, capacity, class_id=None, name="班"):
    return staff.save_class(
        site["staff"], site["nursery"], class_type, name, carers, capacity, class_id, now=NOW
    )


def _refusal(call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    db.session.rollback()
    return caught.value


def test_care_types_of_a_class_share_its_places(site):
    _offer(site, "hourly", 3)  # 5 full-day + 3 hourly ≤ 10
    refused = _refusal(_offer, site, "temporary", 3)  # 5 + 3 + 3 = 11 > 10
    assert (refused.code, refused.status) == ("capacity_exceeds_class", 409)
    assert "11" in refused.message and "10" in refused.message and "全日托 5" in refused.message
    assert db.session.scalar(select(Offer.id).where(Offer.care_type == "temporary")) is None
    _offer(site, "temporary", 2)  # exactly the class's places
    # Lowering is always allowed, raising the full day now is not.
    assert _refusal(_offer, site, "full_day", 6).code == "capacity_exceeds_class"
    assert _offer(site, "full_day", 4).capacity == 4


def test_every_place_belongs_to_a_registered_class(site):
    refused = _refusal(_offer, site, "hourly", 2, class_type=None)
    assert (refused.code, refused.field) == ("no_class", "class_type")
    refused = _refusal(_offer, site, "hourly", 2, class_type="older")  # no 托大班 on file
    assert refused.code == "no_class" and "托大班" in refused.message


@pytest.mark.parametrize(
    ("class_type", "carers", "capacity", "code", "numbers"),
    [
        ("toddler", 4, 16, "class_size_exceeded", ("16", "15")),  # 托小班 at most 15
        ("infant", 2, 7, "ratio_exceeded", ("7", "1:3", "6")),  # 2 carers × 3
        ("mixed", 0, 5, "ratio_exceeded", ("0 名", "1:5")),  # a 混合班 needs carers
        ("mixed", 3, 16, "ratio_exceeded", ("16", "1:5", "15")),  # strictest ratio of its ages
    ],
)
def test_a_class_keeps_its_size_and_ratio(site, class_type, carers, capacity, code, numbers):
    refused = _refusal(_class, site, class_type, carers, capacity)
    assert refused.code == code and refused.status == 400
    assert all(n in refused.message for n in numbers), refused.message
    assert (
        db.session.scalar(select(NurseryClass.id).where(NurseryClass.capacity == capacity)) is None
    )


def test_a_class_cannot_shrink_below_what_its_offers_put_in_the_room(site):
    cls = db.session.scalar(select(NurseryClass))
    _offer(site, "hourly", 3)
    refused = _refusal(_class, site, "toddler", 2, 7, class_id=cls.id)
    assert refused.code == "capacity_exceeds_class" and "8" in refused.message
    assert _class(site, "toddler", 2, 8, class_id=cls.id).capacity == 8
    # Nor may it change type under its offers, nor be deleted while they hold its places.
    assert _refusal(_class, site, "older", 2, 8, class_id=cls.id).code == "no_class"
    refused = _refusal(staff.delete_class, site["staff"], site["nursery"], cls.id)
    assert refused.code == "no_class"
    _offer(site, "full_day", 0)
    _offer(site, "hourly", 0)
    staff.delete_class(site["staff"], site["nursery"], cls.id, now=NOW)
    nursery = db.session.get(Nursery, site["nursery"])
    assert nursery.classes == [] and nursery.capacity == 0


def _set_kind(site, kind):
    db.session.get(Nursery, site["nursery"]).kind = kind
    db.session.commit()


def test_a_family_point_is_one_group_of_five_at_one_carer_per_three(site):
    cls = db.session.scalar(select(NurseryClass))
    _offer(site, "full_day", 0)
    _set_kind(site, "family")
    assert _refusal(_class, site, "mixed", 2, 6, class_id=cls.id).code == "class_size_exceeded"
    assert _refusal(_class, site, "mixed", 1, 4, class_id=cls.id).code == "ratio_exceeded"
    _class(site, "mixed", 2, 5, class_id=cls.id)
    refused = _refusal(_class, site, "older", 1, 3)  # a second group
    assert refused.code == "class_size_exceeded" and "一个托育组" in refused.message
    _offer(site, "full_day", 4, "mixed")
    assert _refusal(_offer, site, "hourly", 2, "mixed").code == "capacity_exceeds_class"


def test_a_kindergarten_class_takes_two_to_three_year_olds_only(site):
    _offer(site, "full_day", 0)
    _set_kind(site, "kindergarten_class")
    refused = _refusal(_class, site, "infant", 3, 6)
    assert refused.code == "age_outside_class" and refused.field == "class_type"
    assert _class(site, "older", 3, 20).capacity == 20


def test_a_nursery_without_classes_offers_no_places(site):
    cls = db.session.scalar(select(NurseryClass))
    _offer(site, "full_day", 0)
    staff.delete_class(site["staff"], site["nursery"], cls.id, now=NOW)
    refused = _refusal(_offer, site, "full_day", 1)
    assert refused.code == "no_class"


# --- bookings hold the class's limit even on unlawful data on file --------------------------


def _parents_with_children(n: int, months: int = 20) -> list[tuple[int, int]]:
    out = []
    for i in range(n):
        user = User(username=f"law-parent-{i}", password_hash="x", role="parent")
        db.session.add(user)
        db.session.commit()
        child = family.register_child(
            user.id, f"孩子{i}", birth_for(months), True, SETTINGS, now=NOW
        )
        out.append((user.id, child.id))
    return out


def _unlawful_nursery() -> int:
    """A 3-place 托小班 whose full-day and hourly offers have 3 places each: on file from
    before the limits were enforced (set_offer would refuse the second)."""
    nursery_id = make_bookable_nursery(capacity=3, offers=[("full_day", "month", "1800")])
    nursery = db.session.get(Nursery, nursery_id)
    for c in nursery.classes:
        c.capacity, c.carers = 3, 1
    nursery.offers.append(
        Offer(
            care_type="hourly",
            class_type="toddler",
            price_yuan=Decimal("40"),
            price_unit="hour",
            capacity=3,
        )
    )
    db.session.commit()
    return nursery_id


def _book(parent, child, nursery, req):
    return family.book(parent, child, nursery, req, True, SETTINGS, now=NOW)[0]


def test_children_present_never_exceed_the_class_across_care_types(app, ctx):
    nursery = _unlawful_nursery()
    fams = _parents_with_children(5)
    enrol = Request(care_type="full_day", start_date=MONDAY)
    held = [_book(p, c, nursery, enrol) for p, c in fams[:2]]
    assert [b.status for b in held] == ["pending", "pending"]
    hourly = Request(care_type="hourly", start_date=MONDAY, start_hour=9, end_hour=11)
    first = _book(*fams[2], nursery, hourly)
    assert first.status == "confirmed"  # 2 enrolled + 1 at 9–11 = the class's 3 places
    second = _book(*fams[3], nursery, hourly)
    assert second.status == "waitlisted"  # the hourly offer has room, the room has not
    afternoon = Request(care_type="hourly", start_date=MONDAY, start_hour=14, end_hour=15)
    assert _book(*fams[4], nursery, afternoon).status == "confirmed"
    # A freed enrolment place goes to the class's other queue: the hourly family waiting.
    family.cancel(fams[0][0], held[0].id, SETTINGS, now=NOW)
    db.session.expire_all()
    assert db.session.get(type(second), second.id).status == "offered"


def test_legacy_places_without_a_class_cannot_be_booked(app, ctx):
    nursery_id = make_bookable_nursery(capacity=2, offers=[("full_day", "month", "1800")])
    for offer in db.session.get(Nursery, nursery_id).offers:
        offer.class_type = None if offer.class_type == "toddler" else offer.class_type
    db.session.execute(
        Offer.__table__.delete().where(
            Offer.class_type.is_not(None), Offer.nursery_id == nursery_id
        )
    )
    db.session.commit()
    ((parent, child),) = _parents_with_children(1)
    refused = _refusal(_book, parent, child, nursery_id, Request("full_day", MONDAY))
    assert (refused.code, refused.status) == ("no_class", 409)
    # Closing the legacy offer is allowed (it only lowers places).
    user = User(username="legacy-staff", password_hash="x", role="nursery_staff")
    user.nursery_id = nursery_id
    db.session.add(user)
    db.session.commit()
    offer = staff.set_offer(user.id, nursery_id, "full_day", 0, "1800", SETTINGS, None, now=NOW)
    assert offer.capacity == 0


# --- the nursery API: /api/v1/nursery/classes ----------------------------------------------


@pytest.fixture
def staff_api(app, client, make_user):
    with app.app_context():
        mine = make_bookable_nursery(capacity=1)
        other = make_bookable_nursery(capacity=1)
    tokens = {}
    for key, role, nursery in (
        ("staff", "nursery_staff", mine),
        ("other", "nursery_staff", other),
        ("parent", "parent", None),
    ):
        username, password = make_user(role, nursery_id=nursery) if nursery else make_user(role)
        r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        tokens[key] = {"Authorization": f"Bearer {r.get_json()['token']}"}
    return tokens


def test_the_classes_api_lists_creates_changes_and_deletes(client, staff_api):
    t = staff_api["staff"]
    listed = client.get("/api/v1/nursery/classes", headers=t).get_json()
    assert listed["count"] == 2 and listed["breaches"] == []
    assert {c["class_type"] for c in listed["results"]} == {"toddler", "older"}
    r = client.post(
        "/api/v1/nursery/classes",
        json={"class_type": "infant", "capacity": 6, "carers": 2},
        headers=t,
    )
    assert r.status_code == 201
    created = r.get_json()
    assert (created["name"], created["limit"], created["capacity"]) == ("乳儿班", 6, 6)
    r = client.put(f"/api/v1/nursery/classes/{created['id']}", json={"capacity": 7}, headers=t)
    body = r.get_json()
    assert r.status_code == 400 and body["error"]["code"] == "ratio_exceeded"
    assert "1:3" in body["error"]["message"]
    r = client.put(
        f"/api/v1/nursery/classes/{created['id']}", json={"capacity": 9, "carers": 3}, headers=t
    )
    assert r.status_code == 200 and r.get_json()["capacity"] == 9
    r = client.put(
        "/api/v1/nursery/offers/full_day",
        json={"capacity": 10, "price_yuan": 2000, "class_type": "infant"},
        headers=t,
    )
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "capacity_exceeds_class"
    r = client.put(
        "/api/v1/nursery/offers/full_day",
        json={"capacity": 9, "price_yuan": 2000, "class_type": "infant"},
        headers=t,
    )
    assert r.status_code == 200 and r.get_json()["class_type"] == "infant"
    r = client.delete(f"/api/v1/nursery/classes/{created['id']}", headers=t)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "no_class"
    client.put(
        "/api/v1/nursery/offers/full_day",
        json={"capacity": 0, "price_yuan": 2000, "class_type": "infant"},
        headers=t,
    )
    assert client.delete(f"/api/v1/nursery/classes/{created['id']}", headers=t).status_code == 204
    assert client.get("/api/v1/nursery/classes", headers=t).get_json()["count"] == 2


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"class_type": "giant", "capacity": 5, "carers": 1}, "invalid_class_type"),
        ({"class_type": "older", "capacity": "5", "carers": 1}, "invalid_number"),
        ({"class_type": "older", "capacity": 5}, "invalid_number"),
        ({"class_type": "older", "capacity": 21, "carers": 3}, "class_size_exceeded"),
        ({"class_type": ["older"], "capacity": 5, "carers": 1}, "invalid_class_type"),
        ({"class_type": {"older": 1}, "capacity": 5, "carers": 1}, "invalid_class_type"),
    ],
)
def test_bad_classes_are_refused_with_a_code(client, staff_api, body, code):
    r = client.post("/api/v1/nursery/classes", json=body, headers=staff_api["staff"])
    assert r.status_code == 400 and r.get_json()["error"]["code"] == code
    assert r.get_json()["error"]["message"]
    assert (
        client.get("/api/v1/nursery/classes", headers=staff_api["staff"]).get_json()["count"] == 2
    )


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"class_type": ["toddler"]}, "invalid_class_type"),
        ({"class_type": "toddler", "price_unit": ["day"]}, "invalid_price_unit"),
        ({"class_type": "toddler", "sessions": ["am"]}, "invalid_sessions"),
    ],
)
def test_offer_codes_that_are_not_strings_are_refused(client, staff_api, extra, code):
    body = {"capacity": 1, "price_yuan": 100, **extra}
    r = client.put("/api/v1/nursery/offers/half_day", json=body, headers=staff_api["staff"])
    assert r.status_code == 400 and r.get_json()["error"]["code"] == code


def test_only_the_nurserys_own_staff_reach_its_classes(client, staff_api):
    mine = client.get("/api/v1/nursery/classes", headers=staff_api["staff"]).get_json()
    class_id = mine["results"][0]["id"]
    other = staff_api["other"]
    assert (
        client.put(f"/api/v1/nursery/classes/{class_id}", json={}, headers=other).status_code == 404
    )
    assert client.delete(f"/api/v1/nursery/classes/{class_id}", headers=other).status_code == 404
    assert client.get("/api/v1/nursery/classes", headers=staff_api["parent"]).status_code == 403
    assert client.get("/api/v1/nursery/classes").status_code == 401
    still = client.get("/api/v1/nursery/classes", headers=staff_api["staff"]).get_json()
    assert still["results"] == mine["results"]


# --- the portal's 班级 page ------------------------------------------------------------------


def test_the_portal_shows_how_a_classs_places_are_shared_and_deletes_only_free_classes(
    app, client, make_user
):
    from tests.conftest import login

    app.config["WTF_CSRF_ENABLED"] = False  # the forms' tokens are tested in test_booking_pages
    with app.app_context():
        nursery_id = make_bookable_nursery(capacity=2)
        spare = NurseryClass(
            nursery_id=nursery_id, class_type="infant", name="乳儿一班", carers=2, capacity=6
        )
        db.session.add(spare)
        db.session.commit()
        used = db.session.scalar(
            select(NurseryClass.id).where(
                NurseryClass.nursery_id == nursery_id, NurseryClass.class_type == "toddler"
            )
        )
        spare_id = spare.id
    login(client, make_user("nursery_staff", nursery_id=nursery_id))
    html = client.get("/portal/classes").get_data(as_text=True)
    # 4 care types × 2 places in the 托小班's 15 places; the 乳儿班 offers none yet.
    assert (
        "班级托位 15 个，已分配 8 个" in html and "全日托 2、半日托 2、计时托 2、临时托 2" in html
    )
    assert "1 : 5" in html  # the 混合班 row shows its strictest ratio
    r = client.post(f"/portal/classes/{used}/delete")
    assert r.status_code == 409 and "托小班" in r.get_data(as_text=True)
    r = client.post(f"/portal/classes/{spare_id}/delete")
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(NurseryClass, spare_id) is None
        assert db.session.get(NurseryClass, used) is not None
        assert db.session.get(Nursery, nursery_id).capacity == 35
