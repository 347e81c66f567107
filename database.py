"""The database beyond the ORM: the one transaction helper, raw reads, the schema's migrations.

`use_case()` is the only place in the service that commits or rolls back. A write use case is
validated first, then runs its changes inside `with use_case():` — begun as a writer, committed
when the body finishes, rolled back on any exception, and its notifications delivered after the
commit. Reads never open one.
"""

import functools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import insert as sa_insert
from sqlalchemy import inspect, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from extensions import db

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# Any fixed number: the key of the PostgreSQL advisory lock on the whole service. A use case
# that names no scope takes it exclusively; a nursery-scoped one takes it shared, plus its
# nurseries' own locks, so two nurseries' use cases never wait for each other.
WRITE_LOCK_KEY = 0x7475_7979  # "tuyy"
NURSERY_LOCKS = 0x7475_6E79  # "tuny": the namespace of the per-nursery (two-key) locks
_ACTIVE = "use_case_active"  # session.info flag: a use case is open on this session
_LOCKED = "nurseries_locked"  # session.info: ids of the nurseries locked, or _ALL
_ALL = "all"  # the use case holds the service lock exclusively: every nursery is its own
OUTBOX_QUEUED = "outbox_queued"  # session.info flag: the use case queued a message to deliver
SERVICE = None  # `use_case(nurseries=SERVICE)`: the whole service, one writer at a time


class LockWaits:
    """How often a use case found a lock taken and had to wait (PostgreSQL), per process.

    Tests and benchmarks read it to show that nursery A's traffic never waits for nursery B's,
    by counting waits rather than timing them."""

    service = 0
    nursery = 0

    @classmethod
    def reset(cls) -> None:
        cls.service = cls.nursery = 0


def _lock(session, exclusive: bool, keys: dict, counter: str) -> None:
    """Take an advisory transaction lock, counting a wait when it is already held."""
    mode = "" if exclusive else "_shared"
    args = ", ".join(f":{k}" for k in keys)
    if not session.execute(text(f"SELECT pg_try_advisory_xact_lock{mode}({args})"), keys).scalar():
        setattr(LockWaits, counter, getattr(LockWaits, counter) + 1)
        session.execute(text(f"SELECT pg_advisory_xact_lock{mode}({args})"), keys)


def begin_write(nurseries=SERVICE) -> None:
    """Start the current use case's transaction as a writer.

    SQLite: the transaction begins IMMEDIATE, taking the database's write lock at once (a deferred
    one that read first can fail to upgrade under concurrency); a read-only transaction already
    open (e.g. from loading the logged-in user) is ended first. Writers run one at a time.
    PostgreSQL: advisory locks order the writers that could touch the same rows, so the waitlist
    logic (release, offer on, expire) never runs twice over the same rows and queue times follow
    commit order; readers are never blocked. `nurseries=SERVICE` (None) takes the service lock
    exclusively: one such use case at a time, alone. A list of nursery ids takes the service lock
    shared and then each nursery's lock, in ascending order (no deadlocks): use cases at
    different nurseries run side by side. Places are still taken by conditional updates, which
    hold even for code that forgot to lock.
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
        _lock(session, nurseries is SERVICE, {"key": WRITE_LOCK_KEY}, "service")
    session.info[_LOCKED] = _ALL if nurseries is SERVICE else set()
    if nurseries is not SERVICE:
        lock_nurseries(nurseries)
    if dialect == "postgresql":
        session.expire_all()  # anything loaded before the lock is re-read after it


def lock_nurseries(ids) -> None:
    """Inside a nursery-scoped use case, also lock these nurseries (in ascending order).

    For a use case that learns of another nursery on the way (confirming an enrolment withdraws
    the child's requests elsewhere). Ids lower than one already held could deadlock with a use
    case locking the other way round; PostgreSQL then aborts one of the two, so callers lock
    everything they know of at the start and use this only for what they could not know."""
    session = db.session()
    held = session.info.get(_LOCKED)
    if held == _ALL:
        return  # the exclusive service lock already covers every nursery
    if held is None:
        raise RuntimeError("lock_nurseries outside a use case")
    # An id outside PostgreSQL's integer range names no nursery (the use case will say so).
    new = sorted({i for i in ids if isinstance(i, int) and 0 < i < 2**31} - held)
    if session.get_bind().dialect.name == "postgresql":
        for nursery_id in new:
            _lock(session, True, {"space": NURSERY_LOCKS, "id": nursery_id}, "nursery")
    session.info[_LOCKED] = held | set(new)


def holds_nursery(nursery_id: int) -> bool:
    """Whether the open use case may change this nursery's places (it holds its lock, or the
    whole service's)."""
    held = db.session().info.get(_LOCKED)  # set while a use case is open, and only then
    return held == _ALL or (held is not None and nursery_id in held)


@contextmanager
def use_case(deliver: bool = True, nurseries=SERVICE) -> Iterator[None]:
    """Run the body as one write transaction: commit at the end, roll back on any exception.

    `nurseries`: the ids of the nurseries whose places, queues or offers the use case changes
    (it then runs beside use cases at other nurseries), `()` for a use case that changes no
    nursery's places (delivering the outbox), or SERVICE (the default) for one that must run
    alone (registry imports, complaints, accounts, a family's use cases spanning nurseries).

    A use case called from inside another joins it (the outer one commits; it must have locked
    enough). After the commit the outbox is drained when the use case queued a message
    (`notifications.services.notify`), unless `deliver` is False (the drain itself, bulk
    loads); a failed delivery never fails the use case: the messages stay queued for the next
    drain (`flask --app app bookings expire` drains too).
    """
    session = db.session()
    if session.info.get(_ACTIVE):
        if nurseries is not SERVICE:
            lock_nurseries(nurseries)
        elif session.info.get(_LOCKED) != _ALL:
            raise RuntimeError("a use case of the whole service cannot join a nursery's")
        yield
        return
    session.info[_ACTIVE] = True
    try:
        begin_write(nurseries)  # inside the try: a failed BEGIN IMMEDIATE (busy) is rolled back
        yield
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(OUTBOX_QUEUED, None)
        raise
    finally:
        session.info.pop(_ACTIVE, None)
        session.info.pop(_LOCKED, None)
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
    dialect = db.engine.dialect
    try:
        conn = db.engine.raw_connection()
    except dialect.loaded_dbapi.Error as exc:  # the driver's own: as SQLAlchemy's elsewhere
        raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error) from exc
    try:
        if dialect.name == "postgresql":
            sql = sql.replace("?", "%s")
        cursor = conn.cursor()
        cursor.execute(sql, tuple(params))
        rows = cursor.fetchall()
        cursor.close()
        return rows
    except dialect.loaded_dbapi.Error as exc:
        conn.invalidate()  # a broken connection must not go back to the pool
        raise DBAPIError.instance(sql, params, exc, dialect.loaded_dbapi.Error) from exc
    finally:
        conn.close()  # back to the pool, which rolls back any transaction the driver opened


def bulk_insert(model, rows: list[dict], return_ids: bool = False) -> list[int] | None:
    """Insert many rows of a model's table inside the running use case, fast: PostgreSQL's COPY
    (ids reserved from the table's sequence first when asked for), elsewhere one executemany
    with RETURNING. Columns a row leaves out take their scalar Python default, or the server's
    default when they have one (then they are left out of the COPY)."""
    if not rows:
        return [] if return_ids else None
    session = db.session()
    table = model.__table__
    if session.get_bind().dialect.name != "postgresql":
        statement = sa_insert(model)
        if return_ids:
            statement = statement.returning(table.c.id, sort_by_parameter_order=True)
            return list(session.scalars(statement, rows))
        session.execute(statement, rows)
        return None
    ids = None
    if return_ids:
        sequence = session.execute(
            text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}
        ).scalar_one()
        ids = list(
            session.execute(
                text("SELECT nextval(CAST(:s AS regclass)) FROM generate_series(1, :n)"),
                {"s": sequence, "n": len(rows)},
            ).scalars()
        )
    columns, fill = [], {}
    for column in table.columns:
        if column.name == "id" and ids is not None:
            columns.append(column)
        elif column.name == "id" or (column.name not in rows[0] and column.server_default):
            continue
        else:
            columns.append(column)
            default = column.default
            fill[column.name] = default.arg if default is not None and default.is_scalar else None
    names = ", ".join(f'"{c.name}"' for c in columns)
    driver = session.connection().connection.driver_connection
    with (
        driver.cursor() as cursor,
        cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy,
    ):
        for i, row in enumerate(rows):
            copy.write_row(
                [ids[i] if c.name == "id" else row.get(c.name, fill[c.name]) for c in columns]
            )
    return ids


def import_models() -> None:
    """Import every model module, so the metadata (and Alembic's autogenerate) sees all tables."""
    import accounts.models  # noqa: F401
    import audit.models  # noqa: F401
    import booking.models  # noqa: F401
    import complaints.models  # noqa: F401
    import filing.models  # noqa: F401
    import idempotency.models  # noqa: F401
    import inspections.models  # noqa: F401
    import maps.models  # noqa: F401
    import notifications.models  # noqa: F401
    import planning.models  # noqa: F401
    import policies.models  # noqa: F401
    import ratings.models  # noqa: F401
    import workdays.models  # noqa: F401


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

    from maps.postgis import include_object

    import_models()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": include_object})
        return compare_metadata(context, db.metadata)


@functools.cache
def scripts():
    """The migrations' script directory, read once per process (parsing every revision file
    for each new test database was an eighth of the suite's time)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(MIGRATIONS))


def head_revision() -> str:
    """The newest migration in `migrations/versions`."""
    return scripts().get_current_head()


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


def create_schema(stamp: bool = True) -> None:
    """Create the newest schema straight from the models (tests and benchmarks: no migration
    history to keep) and stamp it at the newest migration, which is what it is: `make
    check-migrations` in CI proves the migrations build the same. `stamp=False` leaves it
    unversioned, like databases made before migrations."""
    import_models()
    db.create_all()
    postgis_positions()
    if stamp:
        _stamp_head()
    _ensure_fixed_rows()


def postgis_positions() -> bool:
    """What the models cannot declare: nurseries.geog where PostGIS can be had, by the very
    function migration 0016 runs (one definition of it); True when the column is there. For
    create_schema, and for `flask nurseries postgis` once a DBA has created the extension."""
    from maps.postgis import geography_present, reset

    if db.engine.dialect.name != "postgresql":
        return False
    with db.engine.begin() as conn:
        if geography_present(conn):
            return True
        done = scripts().get_revision("0016").module.install(conn)
    reset()  # this process asked before: ask again
    return done


def _stamp_head() -> None:
    from alembic.migration import MigrationContext

    with db.engine.begin() as conn:
        MigrationContext.configure(conn).stamp(scripts(), "heads")
