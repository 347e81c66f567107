"""The trained complaint classifier: model versions, category corrections, 待分类 (issue 13).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03

Written by hand and reviewed:
- `complaints.awaiting_category`: a case filed without a category whose text the classifier was
  unsure of waits for a person (待分类). Existing rows were routed by the keyword rules and have a
  category, so they take false (server default; SQLite copies the table in batch mode, rows kept).
- `complaint_classifier_versions`: every trained model (its arrays as an npz blob, never a
  pickle) and its figures; the newest applies, none → the shipped file.
- `complaint_category_corrections`: a handler's corrected category for a case, a label to train
  on. It keeps no text: training reads the case's description, so the label is deleted with the
  case (ON DELETE CASCADE).
- A database whose tables were created from these models and then stamped at 0001 by `init-db`
  already has the column and tables: what exists is left as it is (as in 0002).
- Downgrade drops the two tables and the column (the corrections and trained versions are lost;
  the older release routes by keywords and never reads them).
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade():
    inspector = sa.inspect(op.get_bind())
    columns = {c["name"] for c in inspector.get_columns("complaints")}
    if "awaiting_category" not in columns:
        with op.batch_alter_table("complaints") as batch:
            batch.add_column(
                sa.Column(
                    "awaiting_category", sa.Boolean(), nullable=False, server_default=sa.false()
                )
            )
    if inspector.has_table("complaint_classifier_versions"):
        return  # both tables came with the models (see above)
    op.create_table(
        "complaint_classifier_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("saved_at", sa.DateTime(), nullable=False),
        sa.Column("saved_by", sa.Integer(), nullable=True),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("info", sa.Text(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["saved_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "complaint_category_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("previous", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("corrected_at", sa.DateTime(), nullable=False),
        sa.Column("corrected_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["complaint_id"], ["complaints.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["corrected_by"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("complaint_category_corrections") as batch:
        batch.create_index(
            batch.f("ix_complaint_category_corrections_complaint_id"),
            ["complaint_id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("complaint_category_corrections") as batch:
        batch.drop_index(batch.f("ix_complaint_category_corrections_complaint_id"))
    op.drop_table("complaint_category_corrections")
    op.drop_table("complaint_classifier_versions")
    with op.batch_alter_table("complaints") as batch:
        batch.drop_column("awaiting_category")
