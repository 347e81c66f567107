"""The nursery's staff list (issue 12): carers and health workers with their certificates.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03

Written by hand and reviewed:
- New table `nursery_staff` (name, role 保育师/育婴员/保健员, certificate number or NULL),
  filled by the online filing's review (an approved filing or change replaces the list) and
  read by the planner's certificate rate (持证率). Existing nurseries start with no staff
  list: their rate is "not reported", never 0 %.
- A database created from the models and stamped by `init-db` already has it: left as it is.
- Downgrade drops the table (the staff lists are lost; the filings that carried them keep
  their copies).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade():
    if "nursery_staff" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "nursery_staff",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "nursery_id",
            sa.Integer(),
            sa.ForeignKey("nurseries.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("certificate_no", sa.String(length=64), nullable=True),
        sa.CheckConstraint(
            "role IN ('caregiver', 'infant_carer', 'health_worker')", name="ck_staff_role"
        ),
    )
    op.create_index("ix_nursery_staff_nursery_id", "nursery_staff", ["nursery_id"])


def downgrade():
    op.drop_index("ix_nursery_staff_nursery_id", table_name="nursery_staff")
    op.drop_table("nursery_staff")
