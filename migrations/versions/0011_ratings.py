"""Family ratings (issue 12, 家庭对托育机构评价): ratings, their edit history, per-nursery sums.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03

Written by hand and reviewed:
- `ratings`: one family's stars (1–5, CHECK) on five aspects and an optional comment, for one
  child at one nursery in one term; `uq_rating_child_term` (child_id, nursery_id, term) makes
  "once per child per nursery per term" hold in the database too. `parent_id` and `child_id`
  are nullable: deleting a family's data unlinks its ratings (the stars stay). The comment's
  moderation state is CHECKed (pending / approved / hidden, or NULL without a comment).
- `rating_revisions`: the version an edit replaced (ON DELETE CASCADE with its rating).
- `rating_summaries`: per nursery, the count and the sums of stars the search and the nursery
  page read; `revision` (indexed) grows with every change so each process's search cache can
  tell. Created empty: no rating exists before this revision.
- A database created from the models and stamped by `init-db` already has them: left as is.
- Downgrade drops the three tables (the ratings are lost).
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ASPECTS = ("safety", "care", "food", "communication", "value")


def _stars(table: str):
    return sa.CheckConstraint(
        " AND ".join(f"{a} BETWEEN 1 AND 5" for a in ASPECTS), name=f"ck_{table}_stars"
    )


def _star_columns():
    return [sa.Column(a, sa.SmallInteger(), nullable=False) for a in ASPECTS]


def upgrade():
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "ratings" not in tables:
        op.create_table(
            "ratings",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column("nursery_id", sa.Integer(), sa.ForeignKey("nurseries.id"), nullable=False),
            sa.Column("parent_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
            sa.Column("child_id", sa.Integer(), sa.ForeignKey("children.id"), nullable=True),
            sa.Column("term", sa.String(length=16), nullable=False),
            *_star_columns(),
            sa.Column("comment", sa.Text(), nullable=True),
            sa.Column("comment_status", sa.String(length=16), nullable=True),
            sa.Column("hide_reason", sa.String(length=16), nullable=True),
            sa.Column("hide_note", sa.String(length=200), nullable=True),
            sa.Column("moderated_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
            sa.Column("moderated_at", sa.DateTime(), nullable=True),
            sa.Column("reply", sa.Text(), nullable=True),
            sa.Column("replied_by", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
            sa.Column("replied_at", sa.DateTime(), nullable=True),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
            sa.UniqueConstraint("child_id", "nursery_id", "term", name="uq_rating_child_term"),
            _stars("ratings"),
            sa.CheckConstraint(
                "comment_status IS NULL OR comment_status IN ('pending', 'approved', 'hidden')",
                name="ck_ratings_comment_status",
            ),
        )
        op.create_index("ix_ratings_nursery_id", "ratings", ["nursery_id"])
        op.create_index("ix_ratings_parent_id", "ratings", ["parent_id"])
    if "rating_revisions" not in tables:
        op.create_table(
            "rating_revisions",
            sa.Column("id", sa.Integer(), primary_key=True),
            sa.Column(
                "rating_id",
                sa.Integer(),
                sa.ForeignKey("ratings.id", ondelete="CASCADE"),
                nullable=False,
            ),
            *_star_columns(),
            sa.Column("comment", sa.Text(), nullable=True),
            sa.Column("comment_status", sa.String(length=16), nullable=True),
            sa.Column("valid_from", sa.DateTime(), nullable=False),
            sa.Column("replaced_at", sa.DateTime(), nullable=False),
            _stars("rating_revisions"),
        )
        op.create_index("ix_rating_revisions_rating_id", "rating_revisions", ["rating_id"])
    if "rating_summaries" not in tables:
        op.create_table(
            "rating_summaries",
            sa.Column(
                "nursery_id",
                sa.Integer(),
                sa.ForeignKey("nurseries.id", ondelete="CASCADE"),
                primary_key=True,
            ),
            sa.Column("count", sa.Integer(), nullable=False),
            *[sa.Column(a, sa.Integer(), nullable=False) for a in ASPECTS],
            sa.Column("revision", sa.Integer(), nullable=False),
        )
        op.create_index("ix_rating_summaries_revision", "rating_summaries", ["revision"])


def downgrade():
    op.drop_index("ix_rating_summaries_revision", table_name="rating_summaries")
    op.drop_table("rating_summaries")
    op.drop_index("ix_rating_revisions_rating_id", table_name="rating_revisions")
    op.drop_table("rating_revisions")
    op.drop_index("ix_ratings_parent_id", table_name="ratings")
    op.drop_index("ix_ratings_nursery_id", table_name="ratings")
    op.drop_table("ratings")
