"""Inspections of nurseries by the departments (issue 12, 多部门监督检查) and complaint verdicts.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03

Written by hand and reviewed:
- New table `inspections`: one inspection of a filed nursery by one department (the recording
  handler's own): kind (fire, food, health, safety, building), date, findings, result (pass,
  rectify, suspend), the rectification deadline and its status (passed / open / closed) with
  the date it was verified. CHECK constraints hold the vocabularies (inspections/rules.py).
- New table `inspection_events`: every step (recorded, follow-up, closed), timestamped.
- New table `complaint_verdicts`: whether a concluded complaint about a nursery was found
  substantiated (查实) and what followed — the count the public nursery page shows. It holds no
  text; it goes with its complaint (ON DELETE CASCADE).
- Nothing existing changes; a database created from the models and stamped already has the
  tables: each is created only when missing.
- Downgrade drops the three tables (the inspection records are lost).
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def _in(column, values):
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


KINDS = ("fire", "food", "health", "safety", "building")
RESULTS = ("pass", "rectify", "suspend")
STATUSES = ("passed", "open", "closed")
EVENTS = ("recorded", "follow_up", "closed")
VERDICTS = ("substantiated", "partly", "unsubstantiated")
OUTCOMES = ("rectified", "penalised", "warned", "referred")


def upgrade():
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "inspections" not in tables:
        op.create_table(
            "inspections",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "nursery_id",
                sa.Integer(),
                sa.ForeignKey("nurseries.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("department", sa.String(length=32), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("inspected_on", sa.Date(), nullable=False),
            sa.Column("findings", sa.Text(), nullable=False),
            sa.Column("result", sa.String(length=16), nullable=False),
            sa.Column("rectify_by", sa.Date(), nullable=True),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("closed_on", sa.Date(), nullable=True),
            sa.Column(
                "recorded_by",
                sa.Integer(),
                sa.ForeignKey("users.id", ondelete="SET NULL"),
                nullable=True,
            ),
            sa.Column("recorded_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.CheckConstraint(_in("kind", KINDS), name="ck_inspection_kind"),
            sa.CheckConstraint(_in("result", RESULTS), name="ck_inspection_result"),
            sa.CheckConstraint(_in("status", STATUSES), name="ck_inspection_status"),
        )
        op.create_index("ix_inspections_nursery_id", "inspections", ["nursery_id"])
        op.create_index("ix_inspections_department", "inspections", ["department"])
    if "inspection_events" not in tables:
        op.create_table(
            "inspection_events",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "inspection_id",
                sa.Integer(),
                sa.ForeignKey("inspections.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("at", sa.DateTime(), nullable=False),
            sa.Column(
                "actor_id",
                sa.Integer(),
                sa.ForeignKey("users.id", ondelete="SET NULL"),
                nullable=True,
            ),
            sa.Column("department", sa.String(length=32), nullable=False),
            sa.Column("kind", sa.String(length=16), nullable=False),
            sa.Column("text", sa.Text(), nullable=True),
            sa.CheckConstraint(_in("kind", EVENTS), name="ck_inspection_event_kind"),
        )
        op.create_index(
            "ix_inspection_events_inspection_id", "inspection_events", ["inspection_id"]
        )
    if "complaint_verdicts" not in tables:
        op.create_table(
            "complaint_verdicts",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "complaint_id",
                sa.Integer(),
                sa.ForeignKey("complaints.id", ondelete="CASCADE"),
                nullable=False,
            ),
            sa.Column("verdict", sa.String(length=16), nullable=False),
            sa.Column("outcome", sa.String(length=16), nullable=True),
            sa.Column("department", sa.String(length=32), nullable=False),
            sa.Column(
                "recorded_by",
                sa.Integer(),
                sa.ForeignKey("users.id", ondelete="SET NULL"),
                nullable=True,
            ),
            sa.Column("recorded_at", sa.DateTime(), nullable=False),
            sa.CheckConstraint(_in("verdict", VERDICTS), name="ck_complaint_verdict"),
            sa.CheckConstraint(
                "outcome IS NULL OR " + _in("outcome", OUTCOMES),
                name="ck_complaint_verdict_outcome",
            ),
            sa.UniqueConstraint("complaint_id", name="uq_complaint_verdicts_complaint_id"),
        )


def downgrade():
    op.drop_table("complaint_verdicts")
    op.drop_index("ix_inspection_events_inspection_id", table_name="inspection_events")
    op.drop_table("inspection_events")
    op.drop_index("ix_inspections_department", table_name="inspections")
    op.drop_index("ix_inspections_nursery_id", table_name="inspections")
    op.drop_table("inspections")
