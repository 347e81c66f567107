"""PostGIS positions (issue 14): nurseries.geog, a geography point with a GiST index.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04

Written by hand and reviewed:
- Only on PostgreSQL whose server has the PostGIS extension available (Debian:
  postgresql-15-postgis-3); elsewhere (SQLite, PostgreSQL without PostGIS) it does nothing and
  the service keeps searching with its in-process index (SPATIAL_BACKEND=index).
- `CREATE EXTENSION postgis` needs a superuser: where the application's role may not create it,
  the migration logs a warning and adds nothing (the service runs on its index); a DBA creates
  the extension (docs/operations.md) and `flask --app app nurseries postgis` then adds the column.
- `geog` is a STORED generated column computed from `lon`/`lat` (WGS-84), so every writer (the
  ORM, the importer's COPY, hand-written SQL) keeps it right without a trigger; the models do
  not declare it (SQLite has no geography) and `flask db check` ignores it
  (maps.postgis.include_object).
- Existing rows get their value when the column is added (one table rewrite: seconds at 100k).
- Idempotent: a database that already has the column (create_schema applies this same
  function) is left as it is.
- Downgrade drops the index and the column, and leaves the extension (other databases objects
  may use it).
"""

import logging

import sqlalchemy as sa
from alembic import op

log = logging.getLogger("alembic.runtime.migration")

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def install(conn) -> bool:
    """Add the geography column and its index where PostGIS can be had; True if they exist."""
    if conn.dialect.name != "postgresql":
        return False
    installed, available = conn.execute(
        sa.text(
            "SELECT installed_version IS NOT NULL, true FROM pg_available_extensions"
            " WHERE name = 'postgis'"
        )
    ).first() or (False, False)
    if not available:
        return False
    if not installed:
        try:
            with conn.begin_nested():  # a savepoint: a refusal leaves the upgrade going
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS postgis"))
        except sa.exc.DBAPIError as exc:
            log.warning("PostGIS not installed (%s): positions stay out of the database", exc.orig)
            return False
    conn.execute(
        sa.text(
            "ALTER TABLE nurseries ADD COLUMN IF NOT EXISTS geog geography(Point, 4326) "
            "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography) STORED"
        )
    )
    conn.execute(
        sa.text("CREATE INDEX IF NOT EXISTS ix_nurseries_geog ON nurseries USING gist (geog)")
    )
    return True


def upgrade():
    install(op.get_bind())


def downgrade():
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_nurseries_geog"))
    conn.execute(sa.text("ALTER TABLE nurseries DROP COLUMN IF EXISTS geog"))
