"""Deadline regimes as data and the holiday calendar as data (issue 13).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

Written by hand and reviewed:
- `complaints.deadline_regime`: the code of the deadline regime (complaints/regimes.py) a case
  was filed under. Existing rows keep NULL, read as `legacy_working_days` (15/60/+30/30 working
  days): the rule their deadlines were counted by, so no stored deadline changes meaning.
- `holiday_years`: a year's holiday arrangement an admin imported (the validated JSON, its
  source, who and when, and a revision the workers cache the calendar under). Empty at first:
  the shipped files (workdays/holidays/*.json) apply until an import overrides them.
- A database created from the models and stamped at 0001 by `init-db` already has both: what
  exists is left as it is (as in 0002 and 0003).
- Downgrade drops the table and the column; the older release counts every case in working
  days, as the legacy regime does, and reads the calendar from chinese_calendar.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("complaints")}
    if "deadline_regime" not in columns:
        with op.batch_alter_table("complaints") as batch:
            batch.add_column(sa.Column("deadline_regime", sa.String(length=32), nullable=True))
    if inspector.has_table("holiday_years"):
        return
    op.create_table(
        "holiday_years",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("imported_at", sa.DateTime(), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["imported_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("year"),
    )


def downgrade():
    op.drop_table("holiday_years")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("deadline_regime")
