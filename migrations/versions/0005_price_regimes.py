"""Price regimes as data: the district's guided prices and price caps (issue 16).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Written by hand and reviewed:
- `price_rules`: one row per regime (guided = 政府指导价 for 公办 and 公建民营, capped = 普惠限价
  for other inclusive nurseries), care type and class type (NULL: every class type without a
  row of its own), with the unit, the amount (a guided price's base, a cap's maximum), a guided
  price's float range (NULL floor: no lower bound) and the source text. Empty at first: no
  amount is invented for a real district; `flask --app app prices import` loads the figures
  (the shipped maps/price_rules.json is demo data) and `demo-data` loads the demo's.
- No offer is touched: prices on file are checked by `flask --app app prices check`, not
  rewritten. `bookings.subsidy_yuan_per_year` keeps its name and meaning (the operating subsidy
  the nursery receives, 运营补贴; only its documentation changed).
- A database created from the models and stamped at 0001 by `init-db` may already have the
  table: then it is left as it is (as in 0002–0004).
- Downgrade drops the table; the older release does not bound prices.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    if sa.inspect(op.get_bind()).has_table("price_rules"):
        return
    op.create_table(
        "price_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("regime", sa.String(length=8), nullable=False),
        sa.Column("care_type", sa.String(length=16), nullable=False),
        sa.Column("class_type", sa.String(length=16), nullable=True),
        sa.Column("price_unit", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Numeric(precision=10, scale=2), nullable=False),
        sa.Column("float_up_percent", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("float_down_percent", sa.Numeric(precision=6, scale=2), nullable=True),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.CheckConstraint("regime IN ('guided','capped')", name="ck_price_rule_regime"),
        sa.CheckConstraint("amount >= 0", name="ck_price_rule_amount"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("regime", "care_type", "class_type", name="uq_price_rule"),
    )


def downgrade():
    op.drop_table("price_rules")
