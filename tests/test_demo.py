"""The fictional demo district (demo.load_demo): size, domain rules, determinism, accounts."""

import re
from collections import Counter

import numpy as np
import pytest
from sqlalchemy import func, select

import cli
from accounts.models import User
from accounts.roles import DEPARTMENTS, ROLES
from accounts.services import authenticate
from app import create_app
from demo import DEMO_ACCOUNTS, DISTRICT_BBOX, load_demo
from extensions import db
from maps.coords import wgs84_to_gcj02
from maps.domain import (
    CARE_TYPES,
    DEFAULT_PRICE_UNIT,
    FAMILY_MAX_CHILDREN,
    NURSERY_KINDS,
    class_capacity_limit,
)
from maps.geo import distance_m, distances_m
from maps.models import Community, Nursery, NurseryClass, Offer, RegistryVersion, Street


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
    with app.app_context():
        cli.init_schema()
        summary = load_demo()
    with app.app_context():
        yield summary
        db.session.rollback()
    _dispose(app)


@pytest.fixture
def nurseries(demo):
    return db.session.scalars(select(Nursery).order_by(Nursery.id)).all()


@pytest.fixture
def communities(demo):
    return db.session.scalars(select(Community).order_by(Community.id)).all()


def test_counts_meet_the_minimums(demo):
    assert demo["streets"] == 12
    assert demo["communities"] >= 300
    assert demo["nurseries"] >= 150
    assert demo["users"] == len(DEMO_ACCOUNTS)
    assert db.session.scalar(select(func.count()).select_from(Street)) == demo["streets"]
    assert db.session.scalar(select(func.count()).select_from(Community)) == demo["communities"]
    assert db.session.scalar(select(func.count()).select_from(Nursery)) == demo["nurseries"]
    assert db.session.scalar(select(func.count()).select_from(User)) == demo["users"]
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


def test_offers_have_sane_places_and_prices(nurseries):
    offers = [o for n in nurseries for o in n.offers]
    for n in nurseries:
        assert n.offers, n.name
        for o in n.offers:
            assert 0 <= o.taken <= o.capacity <= n.capacity
            assert o.price_unit == DEFAULT_PRICE_UNIT[o.care_type]
            assert o.price_yuan is not None and o.price_yuan > 0
            if o.care_type == "full_day" and o.class_type is None:
                low, high = (1200, 2000) if n.inclusive else (2500, 5000)
                assert low <= o.price_yuan <= high, (n.name, o.price_yuan)
    assert {o.care_type for o in offers} == set(CARE_TYPES)
    full = [o for o in offers if o.taken == o.capacity]
    assert full and len(full) < len(offers) / 3  # the "free places only" filter matters
    assert sum(o.class_type is None for o in offers) > 0.8 * len(offers)
    assert sum(o.care_type == "full_day" for o in offers) > 0.8 * len(nurseries)


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


def _snapshot(path, seed):
    app = _fresh_app(path)
    with app.app_context():
        cli.init_schema()
        load_demo(seed)
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
            select(
                Offer.nursery_id, Offer.care_type, Offer.price_yuan, Offer.capacity, Offer.taken
            ).order_by(Offer.id)
        ).all()
    _dispose(app)
    return (
        [tuple(r) for r in nurseries],
        [tuple(r) for r in communities],
        [tuple(r) for r in offers],
    )


def test_same_seed_gives_identical_data(tmp_path):
    first = _snapshot(tmp_path / "a.sqlite3", 2026)
    second = _snapshot(tmp_path / "b.sqlite3", 2026)
    assert first == second
    other = _snapshot(tmp_path / "c.sqlite3", 7)
    assert other[0] != first[0]


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
        assert authenticate("admin", "admin-demo-2026") is not None
