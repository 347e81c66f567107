"""Children's data (issue 11): the audit log's client address, anonymised children and bookings.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03

Written by hand and reviewed:
- `audit_log.ip` (来源地址): the client address of the request that wrote an entry; NULL for
  the command line and cron, and for every entry written before this release (their address was
  never recorded, so none is made up).
- `children.parent_id` and `bookings.parent_id` become nullable: deleting an account or the
  retention job (`flask privacy purge`) anonymises a child and its bookings, which stay in the
  nursery's figures (counts, dates, care types) linked to no person. Every existing row keeps its
  parent; nothing is rewritten. SQLite copies both tables in batch mode (rows, indexes and
  `ck_booking_status` kept; `migrations/env.py` turns foreign keys off for the copy and checks
  them before committing).
- A database created from the models and stamped by `init-db` already has all three: left as
  it is (each step checks first).
- Downgrade drops `audit_log.ip`; it makes the parent columns NOT NULL again only when no row is
  anonymised, and otherwise stops (an older release cannot hold an anonymised booking; a person
  decides whether to delete those rows).
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PARENT_TABLES = ("children", "bookings")


def _columns(inspector, table: str) -> dict:
    return {c["name"]: c for c in inspector.get_columns(table)}


def upgrade():
    inspector = sa.inspect(op.get_bind())
    if "ip" not in _columns(inspector, "audit_log"):
        with op.batch_alter_table("audit_log") as batch:
            batch.add_column(sa.Column("ip", sa.String(length=45), nullable=True))
    for table in PARENT_TABLES:
        if not _columns(inspector, table)["parent_id"]["nullable"]:
            with op.batch_alter_table(table) as batch:
                batch.alter_column("parent_id", existing_type=sa.Integer(), nullable=True)


def downgrade():
    bind = op.get_bind()
    for table in PARENT_TABLES:
        anonymised = bind.execute(
            sa.text(f"SELECT COUNT(*) FROM {table} WHERE parent_id IS NULL")  # noqa: S608
        ).scalar()
        if anonymised:
            raise RuntimeError(
                f"{table}: {anonymised} anonymised rows have no parent; the older schema "
                "cannot hold them (delete them first if that is what you want)"
            )
    for table in reversed(PARENT_TABLES):
        with op.batch_alter_table(table) as batch:
            batch.alter_column("parent_id", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_column("ip")
