"""Ratings, their edit history and the per-nursery summary the search reads.

A rating belongs to one child at one nursery in one term (`uq_rating_child_term`); the parent
and child links are emptied when the family's data is deleted (the stars stay in the figures).
`RatingSummary` keeps each nursery's count and star sums, changed in the same use case as the
ratings, so neither the nursery page nor the search adds up every rating per request.
"""

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .rules import ASPECTS, COMMENT_STATES, averages_from_sums, overall


def _stars_check(table: str) -> CheckConstraint:
    cols = " AND ".join(f"{a} BETWEEN 1 AND 5" for a in ASPECTS)
    return CheckConstraint(cols, name=f"ck_{table}_stars")


class Rating(db.Model):
    """家庭评价: a family's stars on five aspects and an optional comment, for one child at one
    nursery in one term."""

    __tablename__ = "ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    nursery_id: Mapped[int] = mapped_column(ForeignKey("nurseries.id"), index=True)
    # Both None once the family's data is deleted: the stars then lead to no one.
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id"))
    term: Mapped[str] = mapped_column(String(16))  # rules.Term.key, e.g. "2026-autumn"
    safety: Mapped[int] = mapped_column(SmallInteger)
    care: Mapped[int] = mapped_column(SmallInteger)
    food: Mapped[int] = mapped_column(SmallInteger)
    communication: Mapped[int] = mapped_column(SmallInteger)
    value: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    comment_status: Mapped[str | None] = mapped_column(String(16))  # None: no comment
    hide_reason: Mapped[str | None] = mapped_column(String(16))
    hide_note: Mapped[str | None] = mapped_column(String(200))
    moderated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    moderated_at: Mapped[datetime | None] = mapped_column(DateTime)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    replied_at: Mapped[datetime | None] = mapped_column(DateTime)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    revisions: Mapped[list["RatingRevision"]] = relationship(
        cascade="all, delete-orphan", order_by="RatingRevision.id", passive_deletes=True
    )

    __table_args__ = (
        # One rating per child per nursery per term (issue 12: ratings cannot be repeated).
        UniqueConstraint("child_id", "nursery_id", "term", name="uq_rating_child_term"),
        _stars_check("ratings"),
        CheckConstraint(
            "comment_status IS NULL OR comment_status IN ("
            + ", ".join(f"'{s}'" for s in COMMENT_STATES)
            + ")",
            name="ck_ratings_comment_status",
        ),
    )

    def stars(self) -> dict[str, int]:
        return {a: getattr(self, a) for a in ASPECTS}

    @property
    def average(self) -> float:
        return sum(self.stars().values()) / len(ASPECTS)

    @property
    def public_comment(self) -> str | None:
        """The comment as the public and the nursery may read it: only once approved."""
        return self.comment if self.comment_status == "approved" else None


class RatingRevision(db.Model):
    """A rating as it was before an edit (the history the issue asks edits to keep)."""

    __tablename__ = "rating_revisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    rating_id: Mapped[int] = mapped_column(ForeignKey("ratings.id", ondelete="CASCADE"), index=True)
    safety: Mapped[int] = mapped_column(SmallInteger)
    care: Mapped[int] = mapped_column(SmallInteger)
    food: Mapped[int] = mapped_column(SmallInteger)
    communication: Mapped[int] = mapped_column(SmallInteger)
    value: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    comment_status: Mapped[str | None] = mapped_column(String(16))
    valid_from: Mapped[datetime] = mapped_column(DateTime)  # when this version was written
    replaced_at: Mapped[datetime] = mapped_column(DateTime)  # when the edit replaced it

    __table_args__ = (_stars_check("rating_revisions"),)

    def stars(self) -> dict[str, int]:
        return {a: getattr(self, a) for a in ASPECTS}


class RatingSummary(db.Model):
    """One nursery's ratings in sums: kept by the rating use cases, read by the pages and the
    search. `revision` grows with every change anywhere (the search's cache key)."""

    __tablename__ = "rating_summaries"
    nursery_id: Mapped[int] = mapped_column(
        ForeignKey("nurseries.id", ondelete="CASCADE"), primary_key=True
    )
    count: Mapped[int] = mapped_column(Integer, default=0)
    safety: Mapped[int] = mapped_column(Integer, default=0)  # sums of stars
    care: Mapped[int] = mapped_column(Integer, default=0)
    food: Mapped[int] = mapped_column(Integer, default=0)
    communication: Mapped[int] = mapped_column(Integer, default=0)
    value: Mapped[int] = mapped_column(Integer, default=0)
    revision: Mapped[int] = mapped_column(Integer, default=0, index=True)

    def sums(self) -> dict[str, int]:
        return {a: getattr(self, a) or 0 for a in ASPECTS}

    def averages(self) -> dict[str, float | None]:
        return averages_from_sums(self.count or 0, self.sums())

    @property
    def overall(self) -> float | None:
        return overall(self.averages())
