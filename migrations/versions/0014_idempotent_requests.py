"""Idempotent writes (issue 14): the answers to requests sent with an Idempotency-Key.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03

Written by hand and reviewed:
- New table `idempotent_requests`: an HMAC of the caller's scope and key (never the key), the
  request's fingerprint, the status and the answer encrypted with a key derived from the
  Idempotency-Key; written in the same transaction as the booking or complaint it answers.
  Purged after IDEMPOTENCY_HOURS by `flask --app app privacy purge`.
- Nothing existing changes. A database created from the models and stamped already has the
  table: left as it is.
- Downgrade drops the table: retries sent after it are treated as new requests.
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade():
    if "idempotent_requests" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "idempotent_requests",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key_digest", sa.String(length=64), nullable=False, unique=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("answer", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_idempotent_requests_created_at", "idempotent_requests", ["created_at"])


def downgrade():
    op.drop_index("ix_idempotent_requests_created_at", table_name="idempotent_requests")
    op.drop_table("idempotent_requests")
