"""PostGIS and the in-process index give the same answers (SPATIAL_BACKEND, maps/postgis.py).

Random registries around Chongqing (kinds, 普惠, classes, care types, held places, ratings) are
searched with both backends on the same PostgreSQL database: the same nurseries in the same
order, and distances within 1 m (a nursery within 1 m of a circle's edge may fall on either
side). The circles and the planners' coverage agree the same way.
"""

import random

import numpy as np
import pytest
import sqlalchemy as sa
from conftest import _app_on, service_missing

from extensions import db

pytestmark = pytest.mark.postgres

CENTRE = (29.56, 106.55)
CARE = ("full_day", "half_day", "hourly", "temporary")
CLASS_TYPES = ("infant", "toddler", "older")
KINDS = ("public", "private", "kindergarten_class", "community", "family", "employer")
TOLERANCE_M = 1.0


@pytest.fixture
def app(postgres_url):
    """PostgreSQL with PostGIS only (conftest's make_nursery writes through this app)."""
    from maps.postgis import geography_present

    for application in _app_on(postgres_url, empty_first=True):
        with application.app_context(), db.engine.connect() as conn:
            if not geography_present(conn):
                service_missing("PostGIS is not installed on the PostgreSQL server")
        yield application


@pytest.fixture
def pg_app(app):
    return app


def _random_registry(make_nursery, rng: random.Random, n: int) -> None:
    for _ in range(n):
        care = {
            ct: (cap, rng.randint(0, cap))
            for ct in rng.sample(CARE, rng.randint(1, 3))
            for cap in [rng.randint(1, 12)]
        }
        make_nursery(
            lat=CENTRE[0] + rng.uniform(-0.05, 0.05),
            lon=CENTRE[1] + rng.uniform(-0.05, 0.05),
            kind=rng.choice(KINDS),
            inclusive=rng.random() < 0.4,
            care=care,
            class_types=tuple(rng.sample(CLASS_TYPES, rng.randint(0, 2))),
            filed=rng.random() < 0.9,
        )


def _random_ratings(app, rng: random.Random) -> None:
    """Rating summaries for a third of the nurseries (whole stars, so averages can tie)."""
    with app.app_context():
        ids = db.session.scalars(sa.text("SELECT id FROM nurseries ORDER BY id")).all()
        for revision, nursery_id in enumerate(rng.sample(ids, len(ids) // 3), start=1):
            count = rng.randint(1, 4)
            stars = {a: count * rng.randint(1, 5) for a in ("safety", "care", "food")}
            db.session.execute(
                sa.text(
                    "INSERT INTO rating_summaries (nursery_id, count, safety, care, food,"
                    " communication, value, revision)"
                    " VALUES (:n, :c, :safety, :care, :food, :c * 3, :c * 4, :r)"
                ),
                {"n": nursery_id, "c": count, "r": revision, **stars},
            )
        db.session.commit()


def _search(app, backend: str, query: str) -> dict:
    app.config["SPATIAL_BACKEND"] = backend
    with app.test_client() as client:
        answer = client.get(f"/api/v1/nurseries?{query}")
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _agree(index: dict, postgis: dict, radius: float | None) -> None:
    """The same count and page, allowing only for nurseries within 1 m of the circle's edge
    (the pages' distances come from pyproj on both backends: equal ids mean equal figures)."""
    a, b = index["results"], postgis["results"]
    edge = [x for x in a + b if radius is not None and abs(x["distance_m"] - radius) < TOLERANCE_M]
    assert abs(index["count"] - postgis["count"]) <= len(edge)
    if not edge:
        assert [x["id"] for x in a] == [y["id"] for y in b]


def _queries(rng: random.Random, count: int):
    for _ in range(count):
        lat = CENTRE[0] + rng.uniform(-0.06, 0.06)
        lon = CENTRE[1] + rng.uniform(-0.06, 0.06)
        radius = rng.choice([None, 300.0, 1000.0, rng.uniform(200, 4000)])
        parts = [f"lat={lat:.7f}", f"lon={lon:.7f}", f"limit={rng.choice([5, 20, 50])}"]
        if radius is not None:
            parts.append(f"within={radius:.3f}")
        if rng.random() < 0.3:
            parts.append(f"care_type={rng.choice(CARE)}")
        if rng.random() < 0.3:
            parts.append(f"age_months={rng.randint(0, 35)}")
        if rng.random() < 0.2:
            parts.append("inclusive=1")
        if rng.random() < 0.2:
            parts.append("free_only=1")
        if rng.random() < 0.2:
            parts.append(f"min_rating={rng.choice([2, 3, 3.5, 4])}")
        if rng.random() < 0.25:
            parts.append("sort=rating")
        if rng.random() < 0.2:
            parts.append(f"offset={rng.randint(0, 10)}")
        yield "&".join(parts), radius


@pytest.mark.parametrize("seed", [1, 2])
def test_search_agrees_with_the_index_on_random_registries(pg_app, make_nursery, seed):
    rng = random.Random(seed)
    _random_registry(make_nursery, rng, 160)
    _random_ratings(pg_app, rng)
    for query, radius in _queries(rng, 60):
        index, postgis = _search(pg_app, "index", query), _search(pg_app, "postgis", query)
        assert postgis["results"] or not index["results"], query
        _agree(index, postgis, radius)


def test_the_backend_is_really_postgis(pg_app, make_nursery):
    """The database answers: a nursery written by plain SQL (no registry version bump, so the
    index never sees it) is found by PostGIS only."""
    make_nursery(lat=CENTRE[0], lon=CENTRE[1])
    query = f"lat={CENTRE[0]}&lon={CENTRE[1]}&within=2000"
    assert _search(pg_app, "index", query)["count"] == 1
    with pg_app.app_context():
        db.session.execute(
            sa.text(
                "INSERT INTO nurseries (name, address, kind, inclusive, filing_no, demonstration,"
                " lat, lon, source_coordsys, opens_at, closes_at, capacity, updated_at)"
                " VALUES ('旁路园', '旁路1号', 'private', false, 'SQL-1', false, :lat, :lon,"
                " 'wgs84', '07:30', '17:30', 0, now())"
            ),
            {"lat": CENTRE[0] + 0.001, "lon": CENTRE[1]},
        )
        db.session.commit()
    assert _search(pg_app, "index", query)["count"] == 1
    found = _search(pg_app, "postgis", query)
    assert found["count"] == 2
    assert {x["name"] for x in found["results"]} == {"测试托育园1", "旁路园"}


def test_circles_agree(pg_app, make_nursery):
    rng = random.Random(7)
    _random_registry(make_nursery, rng, 120)
    for _ in range(40):
        lat = CENTRE[0] + rng.uniform(-0.05, 0.05)
        lon = CENTRE[1] + rng.uniform(-0.05, 0.05)
        answers = {}
        for backend in ("index", "postgis"):
            pg_app.config["SPATIAL_BACKEND"] = backend
            with pg_app.test_client() as client:
                answer = client.get(f"/api/v1/circles?lat={lat}&lon={lon}")
            assert answer.status_code == 200
            answers[backend] = answer.get_json()
        for key, radius in (("within_5min", 300.0), ("within_15min", 1000.0)):
            a = {x["id"]: x["distance_m"] for x in answers["index"][key]}
            b = {x["id"]: x["distance_m"] for x in answers["postgis"][key]}
            for only in a.keys() ^ b.keys():
                assert abs({**a, **b}[only] - radius) < TOLERANCE_M
            assert all(abs(a[i] - b[i]) <= TOLERANCE_M for i in a.keys() & b.keys())


def test_coverage_distances_agree(pg_app, make_nursery):
    from maps import postgis
    from planning.coverage import SiteTree

    rng = random.Random(11)
    _random_registry(make_nursery, rng, 120)
    with pg_app.app_context():
        sites = db.session.execute(
            sa.text("SELECT lat, lon FROM nurseries WHERE filing_no IS NOT NULL")
        ).all()
        lats = np.array([CENTRE[0] + rng.uniform(-0.07, 0.07) for _ in range(500)])
        lons = np.array([CENTRE[1] + rng.uniform(-0.07, 0.07) for _ in range(500)])
        tree, _ = SiteTree([s[0] for s in sites], [s[1] for s in sites]).nearest_m(
            lats, lons, 1000.0
        )
        in_db = postgis.nearest_m(lats, lons, 1000.0)
    assert np.isfinite(tree).sum() > 100  # the comparison covers both answers
    both = np.isfinite(tree) & np.isfinite(in_db)
    assert np.abs(tree[both] - in_db[both]).max() <= TOLERANCE_M
    edge = np.isfinite(tree) ^ np.isfinite(in_db)
    assert np.all(np.abs(np.where(np.isfinite(tree), tree, in_db)[edge] - 1000.0) < TOLERANCE_M)


def test_planning_reads_coverage_from_postgis_when_asked(pg_app, make_nursery):
    from planning import indicators

    make_nursery(lat=CENTRE[0], lon=CENTRE[1])
    with pg_app.app_context():
        pg_app.config["SPATIAL_BACKEND"] = "postgis"
        assert indicators.load().in_database
        pg_app.config["SPATIAL_BACKEND"] = "index"
        assert not indicators.load().in_database


def test_readyz_reports_the_backend(pg_app):
    pg_app.config["SPATIAL_BACKEND"] = "postgis"
    with pg_app.test_client() as client:
        answer = client.get("/readyz")
    assert answer.status_code == 200
    assert answer.get_json()["spatial_backend"] == "postgis"


def test_readyz_fails_when_postgis_is_asked_for_but_missing(sqlite_app):
    """SQLite has no geography: searches fall back to the index, and /readyz says why."""
    sqlite_app.config["SPATIAL_BACKEND"] = "postgis"
    with sqlite_app.test_client() as client:
        ready = client.get("/readyz")
        search = client.get("/api/v1/nurseries?lat=29.56&lon=106.55")
    assert ready.status_code == 503
    assert "PostGIS" in ready.get_json()["checks"]["spatial_backend"]
    assert search.status_code == 200


def test_an_unknown_backend_is_refused_at_start(monkeypatch, tmp_path):
    import config

    monkeypatch.setenv("SPATIAL_BACKEND", "oracle")
    with pytest.raises(ValueError, match="SPATIAL_BACKEND"):
        config.from_environment(str(tmp_path))


def test_a_role_that_cannot_create_postgis_still_upgrades_then_adds_it_later(postgres_url):
    """docs/operations.md: init-db as the application's own role (no superuser) reaches head
    without PostGIS; once a DBA creates the extension, `flask nurseries postgis` adds the
    column, and the search can use it."""
    from conftest import PG_URL, _make_app, new_postgres_database

    role = "tuoyu_app_test"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        conn.exec_driver_sql(f"CREATE ROLE {role} LOGIN")
    try:
        with new_postgres_database("tuoyu_role") as url:
            database_name = sa.engine.make_url(url).database
            with admin.connect() as conn:
                conn.exec_driver_sql(f'ALTER DATABASE "{database_name}" OWNER TO {role}')
            as_role = sa.engine.make_url(url).set(username=role).render_as_string(False)
            app = _make_app(as_role)
            with app.app_context():
                import database
                from maps import postgis

                database.upgrade_schema()
                assert database.schema_revision() == database.head_revision()
                with db.engine.connect() as conn:
                    assert not postgis.geography_present(conn)
                result = app.test_cli_runner().invoke(args=["nurseries", "postgis"])
                assert result.exit_code != 0 and "CREATE EXTENSION postgis" in result.output
                superuser = sa.create_engine(url)
                with superuser.begin() as conn:
                    conn.exec_driver_sql("CREATE EXTENSION postgis")
                superuser.dispose()
                result = app.test_cli_runner().invoke(args=["nurseries", "postgis"])
                assert result.exit_code == 0, result.output
                with db.engine.connect() as conn:
                    assert postgis.geography_present(conn)
                assert database.schema_drift() == []
                db.session.remove()
                db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP ROLE IF EXISTS {role}")
        admin.dispose()
