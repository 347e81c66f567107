"""Walking edges' cost each way (issue 15, slopes from an elevation model):
walk_edges.cost_back_m and walk_network.dem_source.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04

Written by hand and reviewed:
- `cost_back_m` is what an edge costs walked v → u (uphill one way where a DEM gave heights).
  A network loaded before this revision is flat: the column is added empty, filled with
  `cost_m`, then made NOT NULL with its check (never shorter than the edge), so it reads as it
  did until it is loaded again.
- `walk_network.dem_source` (nullable) names the elevation model used; none before.
- Batch mode on SQLite (the NOT NULL and the check need the table rebuilt there).
- A database created from the models and stamped already has both: left as it is.
- Downgrade drops both; a loaded network loses its uphill costs (v → u walks at cost_m).
"""

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade():
    inspector = sa.inspect(op.get_bind())
    if "cost_back_m" not in {c["name"] for c in inspector.get_columns("walk_edges")}:
        with op.batch_alter_table("walk_edges") as batch:
            batch.add_column(sa.Column("cost_back_m", sa.Float(), nullable=True))
        op.execute("UPDATE walk_edges SET cost_back_m = cost_m")
        with op.batch_alter_table("walk_edges") as batch:
            batch.alter_column("cost_back_m", existing_type=sa.Float(), nullable=False)
            batch.create_check_constraint("ck_walk_edges_cost_back", "cost_back_m >= length_m")
    if "dem_source" not in {c["name"] for c in inspector.get_columns("walk_network")}:
        with op.batch_alter_table("walk_network") as batch:
            batch.add_column(sa.Column("dem_source", sa.String(255), nullable=True))


def downgrade():
    with op.batch_alter_table("walk_network") as batch:
        batch.drop_column("dem_source")
    with op.batch_alter_table("walk_edges") as batch:
        batch.drop_constraint("ck_walk_edges_cost_back", type_="check")
        batch.drop_column("cost_back_m")
