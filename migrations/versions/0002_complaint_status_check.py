"""Complaint statuses as a CHECK constraint, including 不予受理 (issue 13).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Written by hand (Alembic's autogenerate does not compare CHECK constraints) and reviewed:
- `complaints.status` was free text; the service now also writes `not_accepted` (不予受理), and
  the database refuses any status the service does not know, as `bookings.status` already does.
- The list is frozen here, not imported from the models: this migration must build the same
  constraint whatever later releases add (a new status is a migration of its own).
- SQLite cannot add a constraint to a table, so batch mode copies the table; the rows are kept.
  An existing row with an unknown status stops the upgrade (nothing is changed), rather than
  being dropped or rewritten: a person must look at it.
- A database that already has the constraint (one whose tables were created from newer models and
  then stamped at 0001 by `init-db`) is left as it is.
- Downgrade drops the constraint; `not_accepted` rows stay (the older release shows them under
  their raw status).
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

STATUSES = (
    "submitted",
    "accepted",
    "awaiting_info",
    "reopened",
    "resolved",
    "closed",
    "duplicate",
    "not_accepted",
)
CONDITION = "status IN (" + ",".join(f"'{s}'" for s in STATUSES) + ")"


def upgrade():
    existing = sa.inspect(op.get_bind()).get_check_constraints("complaints")
    if any(c["name"] == "ck_complaint_status" for c in existing):
        return
    with op.batch_alter_table("complaints") as batch:
        batch.create_check_constraint("ck_complaint_status", CONDITION)


def downgrade():
    with op.batch_alter_table("complaints") as batch:
        batch.drop_constraint("ck_complaint_status", type_="check")
