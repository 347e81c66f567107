"""A per-user session version, so logout and password change end older sessions (issue 11).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03

Written by hand and reviewed:
- `users.session_version` (integer, not null, server default 0). Flask-Login's id in the
  session and remember cookies becomes "<user id>:<session version>"; logout and a password
  change bump the version, so a copied cookie of an ended session is no longer accepted.
- Existing rows take 0. Sessions issued before this release carry the bare user id, which the
  new loader refuses: everyone logs in once more after the upgrade (intended).
- A database created from the models and stamped by `init-db` already has the column: left as it
  is. SQLite adds the column in batch mode (rows kept).
- Downgrade drops the column; the older release then reads bare ids again (every session issued
  by this release is refused there, so users log in once more).
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("users")}
    if "session_version" not in columns:
        with op.batch_alter_table("users") as batch:
            batch.add_column(
                sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
            )


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_column("session_version")
