"""Flask extensions, created unbound and initialised in create_app()."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """SQLite: foreign keys on, WAL for concurrent readers, and transactions we begin ourselves."""
    if type(dbapi_connection).__module__.split(".")[0] not in ("sqlite3", "pysqlite2"):
        return
    # Let SQLAlchemy's "begin" event (below) issue BEGIN, so write use cases can ask for IMMEDIATE.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # Read through the OS page cache (shared by all workers) instead of copying pages into
    # each connection's small private cache.
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(conn):
    if conn.dialect.name == "sqlite":
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


# Any fixed number: the key of the PostgreSQL advisory lock that write use cases take.
WRITE_LOCK_KEY = 0x7475_7979  # "tuyy"


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
        raise RuntimeError("begin_write() must be called before any change in the use case")
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        if session.in_transaction():
            session.rollback()
        session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
    elif dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": WRITE_LOCK_KEY})
        session.expire_all()  # anything loaded before the lock is re-read after it


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
