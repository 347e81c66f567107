"""Deadline reminders (issue 14): the reminders `flask complaints remind` has sent.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03

Written by hand and reviewed:
- New table `complaint_deadline_reminders`: one row per case, deadline (accept / conclude), due
  time and stage (soon / overdue), unique, written with the messages in one transaction so a
  reminder is never sent twice, however many hosts run the cron job. Deleted with its case.
- Open cases filed before it have no reminders yet: the first run after the upgrade reminds
  those due within a working day or overdue (once).
- A database created from the models and stamped already has the table: left as it is.
- Downgrade drops the table; reminders already sent may then be sent again once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    if "complaint_deadline_reminders" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "complaint_deadline_reminders",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "complaint_id",
            sa.Integer(),
            sa.ForeignKey("complaints.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("deadline", sa.String(length=16), nullable=False),
        sa.Column("due", sa.DateTime(), nullable=False),
        sa.Column("stage", sa.String(length=8), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.UniqueConstraint(
            "complaint_id", "deadline", "due", "stage", name="uq_deadline_reminder"
        ),
    )
    op.create_index(
        "ix_complaint_deadline_reminders_complaint_id",
        "complaint_deadline_reminders",
        ["complaint_id"],
    )


def downgrade():
    op.drop_index(
        "ix_complaint_deadline_reminders_complaint_id", table_name="complaint_deadline_reminders"
    )
    op.drop_table("complaint_deadline_reminders")
