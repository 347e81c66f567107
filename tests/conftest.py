"""Shared fixtures: the app on SQLite and on PostgreSQL, clients, factories.

PostgreSQL tests need the server at TEST_POSTGRES_URL (default: the local `test` database).
Without it they are skipped with the reason shown; with REQUIRE_SERVICES=1 (CI) they fail.
"""

import os
import uuid
from contextlib import contextmanager
from datetime import date, time
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app import create_app
from extensions import db

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def service_missing(reason: str):
    """Skip with a visible reason on a developer's machine; fail where services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@contextmanager
def new_postgres_database(prefix: str = "tuoyu_test"):
    """Create a PostgreSQL database, yield its URL, drop it afterwards (skip if no server)."""
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            name = f"{prefix}_{uuid.uuid4().hex[:10]}"
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        admin.dispose()
        service_missing(f"PostgreSQL is not reachable at {PG_URL}: {exc.__class__.__name__}")
    url = sa.engine.make_url(PG_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    with new_postgres_database() as url:
        yield url


def _reset_caches():
    from complaints import modelbook, rulebook
    from maps import geocoding, postgis
    from maps import index as spatial
    from ratings import queries as rating_queries
    from workdays import store as workday_store

    spatial.reset()
    postgis.reset()
    geocoding.reset()
    rulebook.reset()  # tables are emptied between tests, and ids restart
    workday_store.reset()  # holiday years too (the revision restarts)
    modelbook.reset()
    rating_queries.reset_scores()  # the summaries' revision restarts with the tables


def _make_app(url: str):
    return create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "test-secret",
            "MAP_TILE_URL": "",
            "DEMO_NOTICE": "",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # scrypt is checked in test_accounts
        }
    )


_pg_schema_ready: set[str] = set()


def _empty_postgres():
    """Empty every table (much faster than dropping and creating the schema for each test)."""
    from database import create_schema

    url = str(db.engine.url)
    if url not in _pg_schema_ready:
        db.drop_all()
        create_schema()
        _pg_schema_ready.add(url)
    tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
    db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    db.session.commit()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def app(request, tmp_path):
    """The app with an empty schema, on each database backend."""

    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path / "test.sqlite3")
    else:
        url = request.getfixturevalue("postgres_url")
    yield from _app_on(url, empty_first=request.param == "postgresql")


@pytest.fixture
def sqlite_app(tmp_path):
    """The app on SQLite only, for tests of pure request handling."""
    yield from _app_on("sqlite:///" + str(tmp_path / "test.sqlite3"))


def _app_on(url: str, empty_first: bool = False):
    """An app on a database with an empty schema; disposed of afterwards."""
    from database import create_schema

    application = _make_app(url)
    with application.app_context():
        if empty_first:
            _empty_postgres()
        create_schema()
        _reset_caches()
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()
    _reset_caches()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield


@pytest.fixture
def make_nursery(app):
    """Factory: a nursery with one class and offers, committed; returns its id.

    `care` maps a care type to (capacity, places already held today); held places are written
    straight into the place counters, standing in for bookings made elsewhere.
    """
    from maps.models import Nursery, NurseryClass, Offer, PlaceCounter, bump_registry_version

    counter = iter(range(1, 10_000))

    def make(
        lat: float = 29.6,
        lon: float = 106.52,
        name: str | None = None,
        filed: bool = True,
        kind: str = "private",
        inclusive: bool = False,
        care: dict | None = None,
        class_types: tuple = ("toddler",),
        **fields,
    ) -> int:
        n = next(counter)
        care = care if care is not None else {"full_day": (20, 5)}
        with app.app_context():
            nursery = Nursery(
                name=name or f"测试托育园{n}",
                address=f"测试路{n}号",
                kind=kind,
                inclusive=inclusive,
                filing_no=f"测备〔2024〕{n:03d}号" if filed else None,
                lat=lat,
                lon=lon,
                opens_at=time(7, 30),
                closes_at=time(17, 30),
                capacity=sum(cap for cap, _ in care.values()),
                **fields,
            )
            for ct in class_types:
                nursery.classes.append(
                    NurseryClass(class_type=ct, name=f"{ct}班", carers=3, capacity=10)
                )
            offers = {}
            for care_type, (capacity, _) in care.items():
                offers[care_type] = Offer(
                    care_type=care_type,
                    price_yuan=Decimal("1800"),
                    price_unit="month",
                    capacity=capacity,
                )
                nursery.offers.append(offers[care_type])
            db.session.add(nursery)
            db.session.flush()
            day = date.today().isoformat()
            today = ["enrol", "am", "pm", day] + [f"{day}T{h:02d}" for h in range(24)]
            held_slots = {
                "full_day": ["enrol"],
                "half_day": ["am", "pm"],
                "temporary": [today[3]],
                "hourly": today[4:],
            }
            for care_type, (capacity, taken) in care.items():
                for slot in held_slots[care_type] if taken else []:
                    db.session.add(
                        PlaceCounter(
                            offer_id=offers[care_type].id, slot=slot, capacity=capacity, taken=taken
                        )
                    )
            bump_registry_version()
            db.session.commit()
            return nursery.id

    return make


@pytest.fixture
def make_user(app):
    """Factory: an account of any role; returns (username, password)."""
    from accounts.services import create_user

    def make(role="parent", username=None, password="secret-pass-1", **kwargs):
        username = username or f"{role}-{uuid.uuid4().hex[:6]}"
        with app.app_context():
            create_user(role, username, password, **kwargs)
        return username, password

    return make


@pytest.fixture
def street_nursery(app, make_nursery):
    """阳光托育园 in the street 云岭街道 (s1), with CSRF off for plain form posts; its id."""
    from extensions import db
    from maps.models import Street

    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        street = Street(code="s1", name="云岭街道")
        db.session.add(street)
        db.session.commit()
        street_id = street.id
    return make_nursery(name="阳光托育园", street_id=street_id)


@pytest.fixture
def rate_limited(sqlite_app):
    """Factory: switch the rate limiter on (in-memory counters) with the given limits, e.g.
    `rate_limited(COMPLAINT_LOOKUP_LIMIT="3 per minute")`; switched off again after the test."""
    from extensions import limiter

    def enable(**limits):
        sqlite_app.config.update(
            RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", **limits
        )
        limiter.init_app(sqlite_app)
        return sqlite_app

    yield enable
    sqlite_app.config.update(RATELIMIT_ENABLED=False)
    limiter.init_app(sqlite_app)


def remote_address() -> dict:
    """A fresh client address, so counters of other tests (or a shared Redis) never interfere."""
    n = uuid.uuid4().int
    return {"REMOTE_ADDR": f"10.{n % 250}.{(n >> 8) % 250}.{(n >> 16) % 250}"}


def login(client, who) -> None:
    """Log in through the login form; `who` is (username, password) as make_user returns it.
    The app must have CSRF switched off for the client (WTF_CSRF_ENABLED=False)."""
    username, password = who
    r = client.post("/login", data={"username": username, "password": password})
    assert r.status_code == 302, r.get_data(as_text=True)


def detached(app, model, pk):
    """A row read in its own app context and detached, to assert on after the request."""
    with app.app_context():
        row = db.session.get(model, pk)
        db.session.expunge(row)
        return row
