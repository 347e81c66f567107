"""The database beyond the ORM: the one transaction helper, raw reads, the schema's migrations.

`use_case()` is the only place in the service that commits or rolls back. A write use case is
validated first, then runs its changes inside `with use_case():` — begun as a writer, committed
when the body finishes, rolled back on any exception, and its notifications delivered after the
commit. Reads never open one.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect, text
from sqlalchemy.exc import SQLAlchemyError

from extensions import db

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any fixed number: the key of the PostgreSQL advisory lock that write use cases take.
WRITE_LOCK_KEY = 0x7475_7979  # "tuyy"
_ACTIVE = "use_case_active"  # session.info flag: a use case is open on this session
OUTBOX_QUEUED = "outbox_queued"  # session.info flag: the use case queued a message to deliver


def begin_write() -> None:
    """Start the current use case's transaction as a writer: write use cases run one at a time.

    SQLite: the transaction begins IMMEDIATE, taking the database's write lock at once (a deferred
    one that read first can fail to upgrade under concurrency); a read-only transaction already
    open (e.g. from loading the logged-in user) is ended first.
    PostgreSQL: a transaction-scoped advisory lock gives the same one-at-a-time order, so the
    waitlist logic (release, offer on, expire) never runs twice over the same rows and queue
    times follow commit order; readers are never blocked. Places are still taken by conditional
    updates, which hold even for code that forgot to call this.
    """
    session = db.session()  # the request's Session behind the scoped proxy
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a use case must begin before any change is made")
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        if session.in_transaction():
            session.rollback()
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    elif dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
        session.expire_all()  # anything loaded before the lock is re-read after it


@contextmanager
def use_case(deliver: bool = True) -> Iterator[None]:
    """Run the body as one write transaction: commit at the end, roll back on any exception.

    A use case called from inside another joins it (the outer one commits). After the commit the
    outbox is drained when the use case queued a message (`notifications.services.notify`),
    unless `deliver` is False (the drain itself, bulk loads); a failed delivery never fails the
    use case: the messages stay queued for the next drain (`flask --app app bookings expire`
    drains too).
    """
    session = db.session()
    if session.info.get(_ACTIVE):
        yield
        return
    session.info[_ACTIVE] = True
    try:
        begin_write()  # inside the try: a failed BEGIN IMMEDIATE (busy) is rolled back too
        yield
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(OUTBOX_QUEUED, None)
        raise
    finally:
        session.info.pop(_ACTIVE, None)
    if deliver and session.info.pop(OUTBOX_QUEUED, False):
        _deliver()


def _deliver() -> None:
    from notifications.services import drain_outbox

    try:
        drain_outbox()
    except SQLAlchemyError:
        log.exception("outbox drain failed; messages stay queued")


def raw_read(sql: str, params: tuple | list = ()) -> list[tuple]:
    """Run a read-only query on a pooled driver connection, bypassing the ORM session.

    Only for the hottest read paths (the search endpoint, the cached graphs' version checks),
    where SQLAlchemy's per-statement overhead costs more than the query. Parameters are marked
    in sqlite3's qmark style and rewritten to psycopg's `%s`, so the SQL itself may contain
    neither a literal question mark nor a percent sign (refused rather than misread).
    """
    if "%" in sql or sql.count("?") != len(params):
        raise ValueError("raw_read: one ? per parameter, and no literal ? or % in the SQL")
    conn = db.engine.raw_connection()
    try:
        if db.engine.dialect.name == "postgresql":
            sql = sql.replace("?", "%s")
        cursor = conn.cursor()
        cursor.execute(sql, tuple(params))
        rows = cursor.fetchall()
        cursor.close()
        return rows
    finally:
        conn.close()  # back to the pool, which rolls back any transaction the driver opened


def import_models() -> None:
    """Import every model module, so the metadata (and Alembic's autogenerate) sees all tables."""
    import accounts.models  # noqa: F401
    import audit.models  # noqa: F401
    import booking.models  # noqa: F401
    import complaints.models  # noqa: F401
    import maps.models  # noqa: F401
    import notifications.models  # noqa: F401
    import planning.models  # noqa: F401


BASELINE = "0001"  # the schema every database created before migrations has


def upgrade_schema() -> None:
    """Bring the database to the newest migration, then make sure its fixed rows exist.

    A database from before migrations (the tables, no alembic_version) is stamped at the
    baseline first, so its data is kept and only the later migrations run.
    """
    from flask_migrate import stamp, upgrade

    import_models()
    tables = set(inspect(db.engine).get_table_names())
    if "alembic_version" not in tables and "nurseries" in tables:
        log.warning("database from before migrations: stamping it at the baseline %s", BASELINE)
        stamp(directory=str(MIGRATIONS), revision=BASELINE)
    upgrade(directory=str(MIGRATIONS))
    _ensure_fixed_rows()


def schema_drift() -> list:
    """Differences between the models and the database's schema (empty when they agree): what
    `flask --app app db check` reports, for tests and /readyz-style checks."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import_models()
    with db.engine.connect() as conn:
        return compare_metadata(MigrationContext.configure(conn), db.metadata)


def schema_revision() -> str | None:
    """The migration the database is at (None before the first)."""
    from alembic.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _ensure_fixed_rows() -> None:
    from maps.models import RegistryVersion

    with use_case(deliver=False):
        if db.session.get(RegistryVersion, 1) is None:
            db.session.add(RegistryVersion(id=1, version=0))


def create_schema() -> None:
    """Create the newest schema straight from the models (tests and benchmarks: no migration
    history to keep); `flask --app app db check` in CI proves the migrations build the same."""
    import_models()
    db.create_all()
    _ensure_fixed_rows()
