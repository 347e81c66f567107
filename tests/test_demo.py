"""The fictional demo district (demo.load_demo): size, domain rules, determinism, accounts."""

import re
from collections import Counter
from datetime import datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

import database
from accounts.models import User
from accounts.queries import authenticate
from accounts.roles import DEPARTMENTS, ROLES
from app import create_app
from booking.models import Booking, BookingSlot, Child, NurseryConsent, Subsidy
from booking.rules import HELD, check_age, last_day_in_band
from demo.district import (
    AGE_SURCHARGE,
    DEMO_ACCOUNTS,
    DISTRICT_BBOX,
    PARENT_PASSWORD,
    PRICE_RULES,
    SUBSIDY_SOURCE,
    WAITLISTS,
    load_demo,
)
from extensions import db
from maps.availability import free_by_offer, free_places
from maps.coords import wgs84_to_gcj02
from maps.domain import (
    CARE_TYPES,
    DEFAULT_PRICE_UNIT,
    FAMILY_MAX_CHILDREN,
    NURSERY_KINDS,
    class_age_range,
    class_capacity_limit,
)
from maps.geo import distance_m, distances_m
from maps.models import (
    Community,
    Nursery,
    NurseryClass,
    Offer,
    PlaceCounter,
    RegistryVersion,
    Street,
    price_rules,
)
from maps.pricing import check_price, regime_for
from maps.queries import capacity_breaches, offers_outside_price_rules
from maps.standards import ClassSpec, OfferSpec, check_nursery

NOW = datetime(2026, 11, 20, 9, 30)  # for the determinism test


def _fresh_app(path):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(path),
            "RATELIMIT_ENABLED": False,
        }
    )


def _dispose(app):
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One demo district on SQLite, loaded once for the read-only tests of this module."""
    app = _fresh_app(tmp_path_factory.mktemp("demo") / "t.sqlite3")
    now = datetime.now().replace(microsecond=0)
    with app.app_context():
        database.create_schema()
        summary = load_demo(now=now)
    with app.app_context():
        yield {**summary, "now": now}
        db.session.rollback()
    _dispose(app)


@pytest.fixture
def nurseries(demo):
    return db.session.scalars(select(Nursery).order_by(Nursery.id)).all()


@pytest.fixture
def communities(demo):
    return db.session.scalars(select(Community).order_by(Community.id)).all()


@pytest.fixture
def bookings(demo):
    return db.session.scalars(
        select(Booking)
        .order_by(Booking.id)
        .options(selectinload(Booking.slots), selectinload(Booking.child))
    ).all()


def _counters() -> dict[tuple[int, str], PlaceCounter]:
    return {(c.offer_id, c.slot): c for c in db.session.scalars(select(PlaceCounter))}


def _band(nursery: Nursery, offer: Offer) -> tuple[int, int]:
    """The age band of an offer, as booking.services reckons it."""
    if offer.class_type:
        return class_age_range(nursery.kind, offer.class_type)
    months = sorted(nursery.admitted_months())
    return months[0], months[-1] + 1


def test_counts_meet_the_minimums(demo):
    assert demo["streets"] == 12
    assert demo["communities"] >= 300
    assert demo["nurseries"] >= 150
    assert demo["users"] == len(DEMO_ACCOUNTS)
    assert demo["families"] > 1000
    assert db.session.scalar(select(func.count()).select_from(Street)) == demo["streets"]
    assert db.session.scalar(select(func.count()).select_from(Community)) == demo["communities"]
    assert db.session.scalar(select(func.count()).select_from(Nursery)) == demo["nurseries"]
    users = db.session.scalar(select(func.count()).select_from(User))
    assert users == demo["users"] + demo["families"]
    # One family, one child, one consent and one booking (with one slot) per family.
    for model in (Child, NurseryConsent, Booking, BookingSlot):
        assert db.session.scalar(select(func.count()).select_from(model)) == demo["families"]
    by_status = dict(
        db.session.execute(select(Booking.status, func.count()).group_by(Booking.status)).all()
    )
    assert by_status == {s: demo[f"bookings_{s}"] for s in ("confirmed", "pending", "waitlisted")}
    assert by_status["pending"] < 0.1 * by_status["confirmed"]
    assert by_status["waitlisted"] == sum(w[3] for w in WAITLISTS)
    assert db.session.get(RegistryVersion, 1).version == 1
    codes = db.session.scalars(select(Street.code).order_by(Street.code)).all()
    assert codes == [f"S{i:02d}" for i in range(1, 13)]


def test_every_kind_is_present_filed_and_mostly_filed(nurseries):
    filed = [n for n in nurseries if n.is_filed]
    assert {n.kind for n in filed} == set(NURSERY_KINDS)
    assert 0.75 <= len(filed) / len(nurseries) <= 0.92
    assert any(not n.is_filed for n in nurseries)


def test_filing_grade_and_inclusive_fields(nurseries):
    numbers = [n.filing_no for n in nurseries if n.is_filed]
    assert len(numbers) == len(set(numbers))
    pattern = re.compile(r"^渝星卫托备〔(20\d\d)〕\d{3}号$")
    for n in nurseries:
        assert n.grade in ("A", "AA", "AAA", None)
        assert re.fullmatch(r"023-6\d{7}", n.phone)
        assert n.opens_at < n.closes_at
        assert n.street_id is not None
        if n.is_filed:
            match = pattern.match(n.filing_no)
            assert match and int(match.group(1)) == n.filing_date.year
        else:
            assert n.filing_date is None and n.grade is None and not n.demonstration
        if n.kind in ("public", "community"):
            assert n.inclusive
    others = [n for n in nurseries if n.is_filed and n.kind not in ("public", "community")]
    assert 0.4 <= sum(n.inclusive for n in others) / len(others) <= 0.8
    assert 0 < sum(n.demonstration for n in nurseries) / len(nurseries) < 0.15
    assert {n.grade for n in nurseries if n.is_filed} == {"A", "AA", "AAA", None}


def test_classes_respect_the_national_limits(nurseries):
    for n in nurseries:
        assert n.classes, n.name
        for cls in n.classes:
            assert 0 < cls.capacity <= class_capacity_limit(n.kind, cls.class_type, cls.carers)
        if n.kind == "kindergarten_class":
            assert {c.class_type for c in n.classes} == {"older"}
        if n.kind == "family":
            assert [c.class_type for c in n.classes] == ["mixed"]
            assert n.capacity <= FAMILY_MAX_CHILDREN
        assert n.capacity == sum(c.capacity for c in n.classes)
    names = db.session.scalars(select(NurseryClass.name)).all()
    assert "乳儿一班" in names and "托小一班" in names and "托大一班" in names


def test_offers_have_sane_places_and_prices(demo, nurseries):
    offers = [o for n in nurseries for o in n.offers]
    free = free_by_offer(offers, demo["now"].date())
    for n in nurseries:
        assert n.offers, n.name
        for o in n.offers:
            assert 0 <= free[o.id] <= o.capacity <= n.capacity
            assert o.price_unit == DEFAULT_PRICE_UNIT[o.care_type]
            assert o.price_yuan is not None and o.price_yuan > 0
            if regime_for(n.kind, n.inclusive) != "market":
                # Within the (demo) guided price or cap: `prices check` finds nothing.
                check_price(
                    PRICE_RULES, n.kind, n.inclusive, o.care_type, o.class_type, o.price_yuan,
                    o.price_unit,
                )  # fmt: skip
            elif o.care_type == "full_day":
                low, high = 2500, 5000 + AGE_SURCHARGE.get(o.class_type, 0)
                assert low <= o.price_yuan <= high, (n.name, o.price_yuan)
    assert {regime_for(n.kind, n.inclusive) for n in nurseries} == {"guided", "capped", "market"}
    assert offers_outside_price_rules() == []
    assert {o.care_type for o in offers} == set(CARE_TYPES)
    full = [o for o in offers if free[o.id] == 0]
    assert full and len(full) < len(offers) / 3  # the "free places only" filter matters
    assert {o.care_type for o in full} == {"full_day", "half_day"}
    assert all(n.is_filed for n in nurseries if any(free[o.id] < o.capacity for o in n.offers))
    assert sum(o.care_type == "full_day" for o in offers) > 0.8 * len(nurseries)
    assert sum(o.capacity for o in offers if o.care_type == "full_day") > 0.75 * sum(
        o.capacity for o in offers
    )  # most places are full-day


def _specs(n: Nursery) -> tuple[list[ClassSpec], list[OfferSpec]]:
    """A nursery's classes and offers as maps.standards takes them (as check-capacity builds
    them)."""
    return (
        [ClassSpec(c.class_type, c.capacity, c.carers, c.name) for c in n.classes],
        [OfferSpec(o.care_type, o.class_type, o.capacity) for o in n.offers],
    )


def test_no_nursery_breaches_the_national_limits(nurseries):
    for n in nurseries:
        classes, offers = _specs(n)
        assert check_nursery(n.kind, classes, offers) == [], n.name
        # Every place belongs to a class the nursery has; overlapping care types share it.
        class_types = {c.class_type for c in n.classes}
        assert all(o.class_type in class_types for o in n.offers), n.name
    assert capacity_breaches() == []
    # The care types share a class's places: some class types are split between several.
    split = [
        (n.id, class_type)
        for n in nurseries
        for class_type in {o.class_type for o in n.offers}
        if len([o for o in n.offers if o.class_type == class_type]) > 1
    ]
    assert len(split) > 20


def test_check_capacity_passes_on_the_demo(app, runner):
    """`flask nurseries check-capacity` finds no breach in a freshly loaded demo (exit 0)."""
    # This app's context, not the module's demo one (the CLI runs in whichever is current).
    with app.app_context():
        loaded = runner.invoke(args=["demo-data"])
        assert loaded.exit_code == 0, loaded.output
        result = runner.invoke(args=["nurseries", "check-capacity"])
        assert result.exit_code == 0, result.output
        count = db.session.scalar(select(func.count()).select_from(Nursery))
    assert count >= 150
    assert f"共 {count} 家机构，0 家不符合国家托育机构设置标准。" in result.output


def test_community_names_are_unique_and_populations_plausible(communities):
    names = [c.name for c in communities]
    assert len(names) == len(set(names))
    for c in communities:
        assert 800 <= c.population <= 12000
        assert 0.019 <= c.children_under_3 / c.population <= 0.036
        assert c.source_coordsys == "wgs84"
        assert c.street_id is not None


def test_all_points_lie_in_the_district(nurseries, communities):
    south, west, north, east = DISTRICT_BBOX
    # about 12 km east-west by 10 km north-south
    assert 11_000 < distance_m(29.6, west, 29.6, east) < 13_000
    assert 9_000 < distance_m(south, 106.52, north, 106.52) < 11_000
    for row in [*nurseries, *communities]:
        assert south <= row.lat <= north and west <= row.lon <= east, row.name


def test_gcj02_sources_are_stored_as_wgs84(nurseries):
    gcj = [n for n in nurseries if n.source_coordsys == "gcj02"]
    assert 0 < len(gcj) < len(nurseries)
    assert {n.source_coordsys for n in nurseries} == {"wgs84", "gcj02"}
    for n in gcj:
        # Stored WGS-84: shifting back gives the six-decimal GCJ-02 point it was entered as.
        g_lat, g_lon = wgs84_to_gcj02(n.lat, n.lon)
        assert abs(g_lat - round(g_lat, 6)) < 1e-8 and abs(g_lon - round(g_lon, 6)) < 1e-8


def test_some_communities_are_covered_and_some_are_not(nurseries, communities):
    filed = [n for n in nurseries if n.is_filed]
    lats = np.array([n.lat for n in filed])
    lons = np.array([n.lon for n in filed])
    nearest = [float(distances_m(c.lat, c.lon, lats, lons).min()) for c in communities]
    covered = sum(d <= 300 for d in nearest)
    assert 0.1 * len(communities) < covered < 0.9 * len(communities)
    # Spot-check the vectorised distances with the scalar one.
    c = communities[0]
    assert min(distance_m(c.lat, c.lon, n.lat, n.lon) for n in filed) == pytest.approx(nearest[0])


def test_demo_accounts_authenticate(demo):
    assert {role for _, _, role, _ in DEMO_ACCOUNTS} == set(ROLES)
    for username, password, role, description in DEMO_ACCOUNTS:
        assert description
        user = authenticate(username, password)
        assert user is not None, username
        assert user.role == role
    assert authenticate("admin", "parent-demo-2026") is None
    usernames = {a[0] for a in DEMO_ACCOUNTS}
    assert {"admin", "parent1", "parent2", "parent3"} <= usernames
    assert {"nursery1", "nursery2", "nursery3"} <= usernames
    handlers = db.session.scalars(select(User).where(User.role == "handler")).all()
    assert sorted(u.department_code for u in handlers) == sorted(DEPARTMENTS)
    assert all(u.username == f"handler-{u.department_code}" for u in handlers)


def test_nursery_staff_are_bound_to_filed_nurseries_offering_every_care_type(demo):
    staff = db.session.scalars(
        select(User).where(User.role == "nursery_staff").order_by(User.username)
    ).all()
    assert [u.username for u in staff] == ["nursery1", "nursery2", "nursery3"]
    kinds = [db.session.get(Nursery, u.nursery_id).kind for u in staff]
    assert kinds == ["public", "public_private", "private"]
    assert len({u.nursery_id for u in staff}) == 3
    for user in staff:
        nursery = db.session.get(Nursery, user.nursery_id)
        assert nursery.is_filed
        assert {o.care_type for o in nursery.offers} == set(CARE_TYPES)
        assert all(o.capacity > 0 for o in nursery.offers)


def test_place_counters_equal_the_places_held(demo, bookings):
    counters = _counters()
    offers = {o.id: o for o in db.session.scalars(select(Offer))}
    held = Counter((s.offer_id, s.slot) for b in bookings if b.status in HELD for s in b.slots)
    assert held and set(held) <= set(counters)  # no place is held without its counter
    for key, counter in counters.items():
        assert counter.taken == held[key], key
        assert 0 <= counter.taken <= counter.capacity == offers[counter.offer_id].capacity
    for b in bookings:
        assert [(s.offer_id, s.slot) for s in b.slots] == [(b.offer_id, b.session or "enrol")]


def test_every_held_child_fits_the_offers_age_band(demo, bookings):
    today = demo["now"].date()
    nurseries = {n.id: n for n in db.session.scalars(select(Nursery))}
    offers = {o.id: o for o in db.session.scalars(select(Offer))}
    consents = set(db.session.execute(select(NurseryConsent.child_id, NurseryConsent.nursery_id)))
    for b in bookings:
        nursery, offer = nurseries[b.nursery_id], offers[b.offer_id]
        band = _band(nursery, offer)
        birth = b.child.birth_date
        assert nursery.is_filed and offer.nursery_id == nursery.id
        assert b.care_type == offer.care_type in ("full_day", "half_day")
        assert (b.session is None) == (b.care_type == "full_day")
        assert b.session in (None, *offer.session_list())
        if b.status in HELD:
            check_age(birth, today, band)  # raises if the child is outside the band today
        check_age(birth, b.start_date, band)
        check_age(birth, b.end_date, band)
        assert b.end_date == last_day_in_band(birth, band)
        assert b.end_date >= today
        assert (b.price_yuan, b.price_unit) == (offer.price_yuan, offer.price_unit)
        assert (b.subsidy_yuan_per_year is not None) == nursery.inclusive
        assert (b.child_id, b.nursery_id) in consents
        assert b.child.parent_id == b.parent_id
        assert b.child.consent_version == "2026-11"
        if b.status == "confirmed":
            assert today - timedelta(days=183) <= b.start_date <= today
            assert b.queued_at is None and b.respond_by is None
        elif b.status == "pending":
            assert b.start_date > today and b.queued_at is None
            assert b.respond_by == demo["now"] + timedelta(days=3)
        else:
            assert b.status == "waitlisted" and b.start_date > today


def test_families_wait_only_for_full_slots(demo, bookings):
    counters = _counters()
    waiting = [b for b in bookings if b.status == "waitlisted"]
    assert 2 <= len({b.offer_id for b in waiting}) <= 3
    for b in waiting:
        assert b.queued_at is not None and b.respond_by is None
        for s in b.slots:
            counter = counters[s.offer_id, s.slot]
            assert counter.taken == counter.capacity, (b.id, s.slot)
    # Queue order is the order the families were created in.
    for offer_id in {b.offer_id for b in waiting}:
        queue = [b.queued_at for b in waiting if b.offer_id == offer_id]
        assert queue == sorted(queue) and len(set(queue)) == len(queue)
    # One of them waits on an offer that is full altogether.
    offers = db.session.scalars(select(Offer).where(Offer.id.in_({b.offer_id for b in waiting})))
    free = free_by_offer(offers, demo["now"].date())
    assert 0 in free.values()


def test_staff_nurseries_have_free_places_and_a_full_morning_session(demo):
    today = demo["now"].date()
    counters = _counters()
    staff = db.session.scalars(
        select(User).where(User.role == "nursery_staff").order_by(User.username)
    ).all()
    for number, user in enumerate(staff, start=1):
        places = free_places([user.nursery_id], today)[user.nursery_id]
        assert set(places) == set(CARE_TYPES) and all(n > 0 for n in places.values())
        half_day = db.session.scalar(
            select(Offer).where(Offer.nursery_id == user.nursery_id, Offer.care_type == "half_day")
        )
        am = counters[half_day.id, "am"]
        assert am.taken == am.capacity == half_day.capacity  # book 半日托 上午 → waitlist
        waiting = db.session.scalar(
            select(func.count()).where(
                Booking.offer_id == half_day.id, Booking.status == "waitlisted"
            )
        )
        assert waiting == sum(w[3] for w in WAITLISTS if w[0] == number)
        pending = db.session.scalar(
            select(func.count()).where(
                Booking.nursery_id == user.nursery_id, Booking.status == "pending"
            )
        )
        assert pending >= 2  # for the confirm/decline demo


def test_demo_families_cannot_log_in(demo):
    families = db.session.scalars(select(User).where(User.username.like("family-%"))).all()
    assert len(families) == demo["families"]
    assert {u.role for u in families} == {"parent"}
    assert len({u.password_hash for u in families}) == 1
    assert families[0].password_hash.startswith("scrypt:")
    for user in families[:3]:
        assert re.fullmatch(r"family-\d{4,}", user.username)
        assert user.name == "演示家庭" + user.username.removeprefix("family-")
        for password in ("", PARENT_PASSWORD, user.username, "password"):
            assert authenticate(user.username, password) is None
    names = db.session.scalars(select(Child.name)).all()
    assert all(re.fullmatch(r"演示幼儿\d{4,}", name) for name in names)
    # The demo parents start without children: the visitor adds them.
    demo_parents = select(User.id).where(User.username.in_(["parent1", "parent2", "parent3"]))
    assert (
        db.session.scalar(
            select(func.count()).select_from(Child).where(Child.parent_id.in_(demo_parents))
        )
        == 0
    )


def test_subsidies_are_loaded(demo):
    rows = db.session.scalars(select(Subsidy)).all()
    assert {r.class_type: r.yuan_per_year for r in rows} == {
        "older": 700,
        "toddler": 800,
        "infant": 900,
    }  # 荣昌 item 11's three figures, none invented for 混合班
    assert {r.source for r in rows} == {SUBSIDY_SOURCE} and "运营补贴" in SUBSIDY_SOURCE
    assert demo["subsidies"] == 3


def test_the_demo_price_rules_are_loaded_and_labelled_demo_data(demo):
    rules = price_rules()
    assert len(rules) == demo["price_rules"] == len(PRICE_RULES) > 0
    assert all("演示数据" in r.source for r in rules)


def _snapshot(path, seed):
    app = _fresh_app(path)
    with app.app_context():
        database.create_schema()
        load_demo(seed, now=NOW)
        nurseries = db.session.execute(
            select(
                Nursery.name, Nursery.lat, Nursery.lon, Nursery.kind, Nursery.filing_no
            ).order_by(Nursery.id)
        ).all()
        communities = db.session.execute(
            select(Community.name, Community.lat, Community.lon, Community.population).order_by(
                Community.id
            )
        ).all()
        offers = db.session.execute(
            select(Offer.nursery_id, Offer.care_type, Offer.price_yuan, Offer.capacity).order_by(
                Offer.id
            )
        ).all()
        counters = db.session.execute(
            select(
                PlaceCounter.offer_id, PlaceCounter.slot, PlaceCounter.capacity, PlaceCounter.taken
            ).order_by(PlaceCounter.offer_id, PlaceCounter.slot)
        ).all()
        families = db.session.execute(
            select(
                User.username,
                User.name,
                Child.name,
                Child.birth_date,
                Booking.offer_id,
                Booking.status,
                Booking.session,
                Booking.start_date,
                Booking.end_date,
                Booking.queued_at,
                Booking.subsidy_yuan_per_year,
            )
            .join(Child, Child.id == Booking.child_id)
            .join(User, User.id == Booking.parent_id)
            .order_by(Booking.id)
        ).all()
    _dispose(app)
    return (
        [tuple(r) for r in nurseries],
        [tuple(r) for r in communities],
        [tuple(r) for r in offers],
        [tuple(r) for r in counters],
        [tuple(r) for r in families],
    )


def test_same_seed_gives_identical_data(tmp_path):
    first = _snapshot(tmp_path / "a.sqlite3", 2026)
    second = _snapshot(tmp_path / "b.sqlite3", 2026)
    assert first == second
    other = _snapshot(tmp_path / "c.sqlite3", 7)
    assert other[0] != first[0]
    assert other[4] != first[4]


def test_kinds_have_sensible_proportions(nurseries):
    kinds = Counter(n.kind for n in nurseries)
    assert kinds.most_common(1)[0][0] == "private"
    assert kinds["family"] < kinds["private"] / 2
    streets_with_public = {n.street_id for n in nurseries if n.kind == "public"}
    assert len(streets_with_public) == 12


def test_load_demo_on_the_shared_app_fixture(app):
    """The demo loads on every backend (PostgreSQL too, when available)."""
    with app.app_context():
        summary = load_demo()
        assert summary["nurseries"] == db.session.scalar(select(func.count()).select_from(Nursery))
        assert summary["families"] == db.session.scalar(select(func.count()).select_from(Booking))
        held = {
            (offer_id, slot): count
            for offer_id, slot, count in db.session.execute(
                select(BookingSlot.offer_id, BookingSlot.slot, func.count())
                .join(Booking, Booking.id == BookingSlot.booking_id)
                .where(Booking.status.in_(HELD))
                .group_by(BookingSlot.offer_id, BookingSlot.slot)
            )
        }
        taken = {(c.offer_id, c.slot): c.taken for c in db.session.scalars(select(PlaceCounter))}
        assert held == {key: n for key, n in taken.items() if n}
        assert authenticate("admin", "admin-demo-2026") is not None


def test_demo_ratings_are_public_moderated_and_parent4_may_rate(demo):
    """Family ratings on the demo site: approved comments with replies at the staff nurseries,
    one comment in the admin's queue, and parent4 with a started enrolment not yet rated."""
    from datetime import date

    from ratings import queries as rating_queries
    from ratings.models import Rating

    states = dict(
        db.session.execute(
            select(Rating.comment_status, func.count()).group_by(Rating.comment_status)
        ).all()
    )
    assert states["approved"] >= 5 and states["pending"] == 1
    nursery1 = db.session.scalar(select(User).where(User.username == "nursery1")).nursery_id
    section = rating_queries.public_section(nursery1)
    assert section["count"] >= 5 and any(c["reply"] for c in section["comments"])
    assert authenticate("parent4", PARENT_PASSWORD) is not None
    parent4 = db.session.scalar(select(User).where(User.username == "parent4"))
    rateable, rated = rating_queries.family_overview(parent4.id, date.today())
    assert [(r.nursery.id, r.rating) for r in rateable] == [(nursery1, None)] and rated == []
