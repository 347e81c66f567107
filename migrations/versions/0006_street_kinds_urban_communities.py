"""镇街 kinds and 城镇 / 农村 communities, for the indicators as the seeds define them (issue 16).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03

Written by hand and reviewed:
- `streets.kind` (subdistrict 街道 / town 镇 / township 乡): 荣昌's 街道普惠性托育机构覆盖率
  counts 街道 only, 绍兴's 乡镇（街道）覆盖率 all three. Existing rows take their kind from the
  name's ending (…镇 → town, …乡 → township, else subdistrict), as new rows do; a check keeps the
  column to the three codes. SQLite copies the table in batch mode (rows kept).
- `communities.urban` (城镇 true / 农村 false): 绍兴's 城镇5分钟社区生活圈 indicator counts 城镇
  communities. Existing rows take true (server default): the registries so far list 城镇
  communities; an admin marks rural ones (`flask communities set-urban`) or re-imports.
- A database created from the models and stamped by `init-db` already has both: left as it is.
- Downgrade drops both columns; the older release counts every 镇街 as a 街道 and every community.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    inspector = sa.inspect(op.get_bind())
    streets = {c["name"] for c in inspector.get_columns("streets")}
    if "kind" not in streets:
        with op.batch_alter_table("streets") as batch:
            batch.add_column(
                sa.Column(
                    "kind", sa.String(length=16), nullable=False, server_default="subdistrict"
                )
            )
            batch.create_check_constraint(
                "ck_street_kind", "kind IN ('subdistrict', 'town', 'township')"
            )
        op.execute("UPDATE streets SET kind = 'town' WHERE name LIKE '%镇'")
        op.execute("UPDATE streets SET kind = 'township' WHERE name LIKE '%乡'")
    communities = {c["name"] for c in inspector.get_columns("communities")}
    if "urban" not in communities:
        with op.batch_alter_table("communities") as batch:
            batch.add_column(
                sa.Column("urban", sa.Boolean(), nullable=False, server_default=sa.true())
            )


def downgrade():
    with op.batch_alter_table("communities") as batch:
        batch.drop_column("urban")
    with op.batch_alter_table("streets") as batch:
        batch.drop_constraint("ck_street_kind", type_="check")
        batch.drop_column("kind")
