"""What the schemathesis modules share: an app on a throwaway SQLite file built at import time
(`schema.parametrize()` needs the schema then), the checks, and the fuzzing settings."""

import atexit
import shutil
import tempfile
from collections.abc import Callable
from datetime import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from app import create_app
from extensions import db
from tests.conftest import _reset_caches

MAX_EXAMPLES = 30
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
fuzz_settings = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def seeded_nursery(n: int, lat, lon, kind, inclusive, filed, street, capacity):
    """The n-th seeded nursery (filed ones carry a filing number, so they are public)."""
    from maps.models import Nursery

    return Nursery(
        name=f"测试托育园{n}",
        address=f"测试路{n}号",
        kind=kind,
        inclusive=inclusive,
        filing_no=f"测备〔2024〕{n:03d}号" if filed else None,
        lat=lat,
        lon=lon,
        street=street,
        opens_at=time(7, 30),
        closes_at=time(17, 30),
        capacity=capacity,
    )


def build_app(name: str, seed: Callable[[], None]):
    """The app on a new SQLite file (removed at exit), its schema created and `seed` run."""
    from database import create_schema

    tmp = Path(tempfile.mkdtemp(prefix=f"tuoyu-{name}-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite:///" + str(tmp / f"{name}.sqlite3"),
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "test-secret",
            "MAP_TILE_URL": "",
            "DEMO_NOTICE": "",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with application.app_context():
        create_schema()
        _reset_caches()
        seed()
        db.session.remove()
    _reset_caches()
    return application


def module_app_fixture(application):
    """An autouse module fixture: caches and the rate limiter are process-wide, so point them
    at the module's app for its tests, and let go of its database afterwards."""

    @pytest.fixture(scope="module", autouse=True)
    def _schema_app():
        from extensions import limiter

        limiter.init_app(application)  # another test may have left the limiter enabled
        _reset_caches()
        yield application
        with application.app_context():
            db.session.remove()
            db.engine.dispose()
        _reset_caches()

    return _schema_app
