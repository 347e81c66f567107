"""Backups (issue 14, docs/operations.md): a PostgreSQL database dumped with `pg_dump -Fc` and
restored with `pg_restore` into an empty database is the same service — every table's rows,
the schema at the newest migration, tracking codes that still open their cases, sequences
that go on without colliding."""

import shutil
import subprocess
from datetime import date

import pytest
import sqlalchemy as sa

import database
from app import create_app
from extensions import db
from tests.conftest import new_postgres_database, service_missing

pytestmark = pytest.mark.postgres


def _libpq(url: str) -> str:
    """The URL as pg_dump and pg_restore read it (no SQLAlchemy driver name)."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(False)


def _counts() -> dict[str, int]:
    with db.engine.connect() as conn:
        return {
            t: conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one()  # noqa: S608
            for t in sa.inspect(conn).get_table_names()
        }


def _app(url: str):
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "backup"})


def test_a_dump_restores_into_an_empty_database_as_the_same_service(tmp_path):
    if not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        service_missing("pg_dump/pg_restore are not installed")
    from accounts.services import create_user
    from booking.rules import Request
    from booking.services import family
    from booking.waitlist import Settings
    from complaints.queries import by_code
    from complaints.services import filing
    from tests.booking_helpers import birth_for, make_bookable_nursery

    dump = tmp_path / "tuoyu.dump"
    with (
        new_postgres_database("tuoyu_backup") as source,
        new_postgres_database("tuoyu_restore") as target,
    ):
        app = _app(source)
        with app.app_context():
            database.upgrade_schema()
            nursery = make_bookable_nursery()
            parent = create_user("parent", "backup-parent", "secret-pass-1").id
            settings = Settings.from_config(app.config)
            child = family.register_child(parent, "小雨", birth_for(20), True, settings).id
            req = Request(care_type="full_day", start_date=date.today())
            family.book(parent, child, nursery, req, True, settings)
            _, code = filing.file_complaint(
                filing.Filing(category="fees", description="乱收费，没有收据", nursery_id=nursery)
            )
            before = _counts()
            db.session.remove()
            db.engine.dispose()
        subprocess.run(
            ["pg_dump", "-Fc", "--no-owner", "-f", str(dump), _libpq(source)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "-d", _libpq(target), str(dump)],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        restored = _app(target)
        with restored.app_context():
            assert _counts() == before and before["bookings"] == 1
            assert database.schema_revision() == database.head_revision()
            assert database.schema_drift() == []
            assert by_code(code).description == "乱收费，没有收据"
            again = create_user("parent", "after-restore", "secret-pass-1").id
            assert again > parent  # the sequences came back with the rows
            db.session.remove()
            db.engine.dispose()
