"""Walking edges' direction and level (issue 15): walk_edges.oneway and walk_edges.ground.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04

Written by hand and reviewed:
- `oneway` (escalators walk u → v only) defaults to false and `ground` (street level, which
  snapping prefers over a tunnel or bridge) to true: a network loaded before this revision
  reads as it did (every edge two-way, at street level) until it is loaded again.
- Batch mode on SQLite (ALTER TABLE ADD COLUMN with a server default is plain there too).
- A database created from the models and stamped already has both: left as it is.
- Downgrade drops both columns; a loaded network loses its escalators' direction and levels.
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    have = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("walk_edges")}
    with op.batch_alter_table("walk_edges") as batch:
        if "oneway" not in have:
            batch.add_column(
                sa.Column("oneway", sa.Boolean(), nullable=False, server_default=sa.false())
            )
        if "ground" not in have:
            batch.add_column(
                sa.Column("ground", sa.Boolean(), nullable=False, server_default=sa.true())
            )


def downgrade():
    with op.batch_alter_table("walk_edges") as batch:
        batch.drop_column("ground")
        batch.drop_column("oneway")
