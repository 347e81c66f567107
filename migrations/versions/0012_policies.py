"""Policy look-up (issue 12, 托育政策查询): the policies families search and the helper reads.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03

Written by hand and reviewed:
- New table `policies`: one row per policy (title, category, summary, text, who it concerns —
  child's age in months, number of children, inclusive nursery, region —, the amount rule as
  JSON text, source document and date, effective dates, hidden, last change and who made it).
  `code` is unique: the file import (`flask --app app policies import`) matches on it.
- It starts empty: the shipped `policies/policies.json` is loaded by the import or the demo.
- A database created from the models and stamped by `init-db` already has it: left as it is.
- Downgrade drops the table (the policies are lost; export them first).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

CATEGORIES = ("subsidy", "price", "tax", "housing_fund", "leave", "other")


def upgrade():
    if "policies" in sa.inspect(op.get_bind()).get_table_names():
        return
    op.create_table(
        "policies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("code", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("summary", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("region", sa.String(length=100), nullable=False),
        sa.Column("min_age_months", sa.Integer(), nullable=True),
        sa.Column("max_age_months", sa.Integer(), nullable=True),
        sa.Column("min_children", sa.Integer(), nullable=True),
        sa.Column("inclusive_required", sa.Boolean(), nullable=False),
        sa.Column("amount_rule", sa.Text(), nullable=False),
        sa.Column("source_title", sa.String(length=200), nullable=False),
        sa.Column("source_date", sa.Date(), nullable=True),
        sa.Column("effective_from", sa.Date(), nullable=True),
        sa.Column("effective_to", sa.Date(), nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column(
            "updated_by",
            sa.Integer(),
            sa.ForeignKey("users.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.CheckConstraint(
            "category IN (" + ", ".join(f"'{c}'" for c in CATEGORIES) + ")",
            name="ck_policy_category",
        ),
        sa.UniqueConstraint("code"),
    )


def downgrade():
    op.drop_table("policies")
