"""`make check-migrations`: `flask db check` on brand-new databases.

Upgrades a new SQLite database (and, when TEST_POSTGRES_URL is set, a new PostgreSQL database on
that server) with `flask init-db`, then runs `flask db check`, which fails when the models and
the migrations disagree. Exits non-zero on the first failure.
"""

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa

FLASK = str(Path(sys.executable).with_name("flask"))


def check(url: str, label: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "app"}
    for args in (["init-db"], ["db", "check"]):
        done = subprocess.run([FLASK, *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            sys.exit(f"{label}: flask {' '.join(args)} failed\n{done.stdout}{done.stderr}")
    print(f"{label}: migrations at head, no drift between models and migrations")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        check(f"sqlite:///{tmp}/check.sqlite3", "SQLite")
    pg_url = os.environ.get("TEST_POSTGRES_URL")
    if not pg_url:
        print("PostgreSQL: skipped (TEST_POSTGRES_URL is not set)")
        return
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    name = f"tuoyu_migcheck_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        url = sa.engine.make_url(pg_url).set(database=name)
        check(url.render_as_string(hide_password=False), "PostgreSQL")
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
