"""Reading ratings: who may rate what, a family's own ratings, the nursery page's section, the
nursery portal's list, the admin's queue and the search's per-nursery scores.

Nothing here names a family to anyone but the family itself: the public and the nursery see
stars, approved comments and the term ("家长 · 2026 秋季学期"), never a parent or a child.
"""

import threading
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, func, or_, select

from audit import AuditEntry
from booking.models import Booking, Child
from booking.queries import own_child
from database import raw_read
from errors import NotFound
from extensions import db
from maps.models import Nursery

from .models import Rating, RatingRevision, RatingSummary
from .rules import ASPECTS, COMMENT_STATES, HIDE_REASONS, term_label, term_of


def rateable_bookings(today: date):
    """The bookings that let a family rate their nursery (a query condition): confirmed and
    begun (an enrolment that has ended stays confirmed), or confirmed by the nursery (the audit
    log's `booking.confirm`), begun, and cancelled by the family on or after its start (a child
    taken out mid-way). Pending, waitlisted, offered, declined, expired, and bookings cancelled
    before they began, never count."""
    was_confirmed = (
        select(AuditEntry.id)
        .where(
            AuditEntry.action == "booking.confirm",
            AuditEntry.subject_type == "booking",
            AuditEntry.subject_id == Booking.id,
        )
        .exists()
    )
    return and_(
        Booking.start_date <= today,
        or_(
            Booking.status == "confirmed",
            and_(
                Booking.status == "cancelled",
                Booking.updated_at >= Booking.start_date,
                was_confirmed,
            ),
        ),
    )


def eligible_booking(parent_id: int, child_id: int, nursery_id: int, today: date):
    """The child's booking at the nursery that lets the family rate it (the earliest), or None."""
    return db.session.scalar(
        select(Booking)
        .where(
            Booking.parent_id == parent_id,
            Booking.child_id == child_id,
            Booking.nursery_id == nursery_id,
            rateable_bookings(today),
        )
        .order_by(Booking.start_date, Booking.id)
        .limit(1)
    )


def rating_for_term(child_id: int, nursery_id: int, term_key: str) -> Rating | None:
    return db.session.scalar(
        select(Rating).where(
            Rating.child_id == child_id, Rating.nursery_id == nursery_id, Rating.term == term_key
        )
    )


def own_rating(parent_id: int, rating_id) -> Rating:
    """One of the parent's own ratings; anyone else's does not exist for them (404)."""
    rating = db.session.get(Rating, rating_id) if isinstance(rating_id, int) else None
    if rating is None or rating.parent_id is None or rating.parent_id != parent_id:
        raise NotFound("rating_not_found", "未找到该评价")
    return rating


def nursery_rating(nursery_id: int, rating_id) -> Rating:
    """A rating of this nursery (for its staff); another nursery's does not exist (404)."""
    rating = db.session.get(Rating, rating_id) if isinstance(rating_id, int) else None
    if rating is None or rating.nursery_id != nursery_id:
        raise NotFound("rating_not_found", "未找到该评价")
    return rating


def rating_form_context(parent_id: int, nursery_id: int, child_id, today: date) -> dict:
    """What the rating page needs: the nursery, the family's children who may rate it (a
    started confirmed booking there), the child chosen (`child_id`, else the only one) and
    whether that child already has a rating this term (then the page offers to edit it)."""
    nursery = db.session.get(Nursery, nursery_id)
    if nursery is None or nursery.filing_no is None:
        raise NotFound("nursery_not_found", "未找到该托育机构（或尚未备案）")
    term = term_of(today)
    eligible = [
        c
        for c in db.session.scalars(
            select(Child)
            .where(Child.parent_id == parent_id, Child.deleted_at.is_(None))
            .order_by(Child.id)
        )
        if eligible_booking(parent_id, c.id, nursery_id, today) is not None
    ]
    child = None
    if child_id is not None:
        child = own_child(parent_id, child_id)  # someone else's child: 404
    elif len(eligible) == 1:
        child = eligible[0]
    return {
        "nursery": nursery,
        "children": eligible,
        "child": child,
        "term": term,
        "booking": eligible_booking(parent_id, child.id, nursery_id, today) if child else None,
        "existing": rating_for_term(child.id, nursery_id, term.key) if child else None,
    }


@dataclass
class Rateable:
    """A child and a nursery the family may rate (or has rated) this term."""

    child: Child
    nursery: Nursery
    rating: Rating | None


def family_overview(parent_id: int, today: date) -> tuple[list[Rateable], list[Rating]]:
    """For the parent's page: each (child, nursery) with a started confirmed booking, with this
    term's rating if any; and all the family's ratings, newest first."""
    term = term_of(today)
    rows = db.session.execute(
        select(Child, Nursery)
        .join(Booking, Booking.child_id == Child.id)
        .join(Nursery, Nursery.id == Booking.nursery_id)
        .where(
            Booking.parent_id == parent_id,
            Child.parent_id == parent_id,
            Child.deleted_at.is_(None),
            rateable_bookings(today),
        )
        .distinct()
        .order_by(Child.id, Nursery.id)
    ).all()
    ratings = list(
        db.session.scalars(
            select(Rating)
            .where(Rating.parent_id == parent_id)
            .order_by(Rating.created_at.desc(), Rating.id.desc())
        )
    )
    this_term = {(r.child_id, r.nursery_id): r for r in ratings if r.term == term.key}
    rateable = [Rateable(c, n, this_term.get((c.id, n.id))) for c, n in rows]
    return rateable, ratings


def nursery_names(ids) -> dict[int, str]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = db.session.execute(select(Nursery.id, Nursery.name).where(Nursery.id.in_(ids)))
    return dict(rows.all())


def summary(nursery_id: int) -> dict:
    """A nursery's averages per aspect and overall, and how many ratings (from the summary)."""
    row = db.session.get(RatingSummary, nursery_id)
    count = row.count if row else 0
    averages = row.averages() if row else dict.fromkeys(ASPECTS)
    return {
        "count": count,
        "overall": _round(row.overall) if row else None,
        "aspects": [
            {"aspect": a, "label": label, "average": _round(averages[a])}
            for a, label in ASPECTS.items()
        ],
    }


def _round(value):
    return round(value, 2) if value is not None else None


def _public_entry(r: Rating) -> dict:
    """A rating as the public and the nursery see it: no parent, no child, no exact date."""
    return {
        "id": r.id,
        "author": f"家长 · {term_label(r.term)}",
        "term": r.term,
        "stars": r.stars(),
        "average": round(r.average, 1),
        "comment": r.public_comment,
        "reply": r.reply if r.public_comment else None,
    }


def public_section(nursery_id: int, limit: int = 50) -> dict:
    """The nursery page's ratings: the summary and the approved comments with their replies."""
    rows = db.session.scalars(
        select(Rating)
        .where(Rating.nursery_id == nursery_id, Rating.comment_status == "approved")
        .order_by(Rating.updated_at.desc(), Rating.id.desc())
        .limit(limit)
    )
    entries = [_public_entry(r) for r in rows]
    return {"nursery_id": nursery_id, **summary(nursery_id), "comments": entries}


def nursery_portal(nursery_id: int) -> dict:
    """The nursery's own view: the summary and every rating's stars, with the comment only when
    approved (a pending or hidden comment is the district's to read), never who wrote it."""
    rows = db.session.scalars(
        select(Rating)
        .where(Rating.nursery_id == nursery_id)
        .order_by(Rating.updated_at.desc(), Rating.id.desc())
    )
    entries = []
    for r in rows:
        entry = _public_entry(r)
        entry["reply"] = r.reply
        entry["comment_waiting"] = r.comment_status == "pending"
        entry["can_reply"] = r.comment_status == "approved" and r.reply is None
        entries.append(entry)
    return {**summary(nursery_id), "ratings": entries}


def moderation_queue(status: str = "pending") -> list[tuple[Rating, str]]:
    """Comments in one moderation state, oldest first, with the nursery's name (the admin sees
    the comment, never the family: moderation judges the text, not its author)."""
    if status not in COMMENT_STATES:
        status = "pending"
    order = Rating.updated_at.asc() if status == "pending" else Rating.moderated_at.desc()
    return list(
        db.session.execute(
            select(Rating, Nursery.name)
            .join(Nursery, Nursery.id == Rating.nursery_id)
            .where(Rating.comment_status == status)
            .order_by(order, Rating.id)
            .limit(200)
        ).all()
    )


def queue_counts() -> dict[str, int]:
    rows = db.session.execute(
        select(Rating.comment_status, func.count())
        .where(Rating.comment_status.is_not(None))
        .group_by(Rating.comment_status)
    ).all()
    return {s: 0 for s in COMMENT_STATES} | dict(rows)


def history(rating: Rating) -> list[RatingRevision]:
    return list(rating.revisions)


def family_export(parent_id: int) -> list[dict]:
    """The family's ratings for its data export, each with its earlier versions."""
    ratings = db.session.scalars(
        select(Rating).where(Rating.parent_id == parent_id).order_by(Rating.id)
    )
    names = {}
    out = []
    for r in ratings:
        if r.nursery_id not in names:
            names.update(nursery_names([r.nursery_id]))
        out.append(
            {
                "id": r.id,
                "child_id": r.child_id,
                "nursery_id": r.nursery_id,
                "nursery_name": names.get(r.nursery_id),
                "term": r.term,
                "stars": r.stars(),
                "comment": r.comment,
                "comment_status": r.comment_status,
                "hide_reason": HIDE_REASONS.get(r.hide_reason) if r.hide_reason else None,
                "reply": r.reply,
                "created_at": r.created_at.isoformat(),
                "updated_at": r.updated_at.isoformat(),
                "history": [
                    {
                        "stars": v.stars(),
                        "comment": v.comment,
                        "comment_status": v.comment_status,
                        "valid_from": v.valid_from.isoformat(),
                        "replaced_at": v.replaced_at.isoformat(),
                    }
                    for v in r.revisions
                ],
            }
        )
    return out


# --- the search's scores ------------------------------------------------------------------------


@dataclass(frozen=True)
class Scores:
    """Every rated nursery's overall average and count, at one summary revision."""

    key: tuple
    by_nursery: dict[int, tuple[float, int]]  # id → (overall average, count)

    def rating(self, nursery_id: int) -> dict:
        """The `rating` object of a search result: {average, count} (average None unrated)."""
        found = self.by_nursery.get(nursery_id)
        if found is None:
            return {"average": None, "count": 0}
        return {"average": round(found[0], 2), "count": found[1]}


_lock = threading.Lock()
_scores: Scores | None = None


def _scores_key() -> tuple:
    # One indexed read per search (the highest revision), like the registry version.
    rows = raw_read("SELECT MAX(revision) FROM rating_summaries")
    return (str(db.engine.url), rows[0][0] if rows and rows[0][0] is not None else 0)


def search_scores() -> Scores:
    """This process's copy of the per-nursery scores, reloaded when any rating changed (the
    summaries' highest revision moved), so every worker sees a new rating on its next search."""
    global _scores
    key = _scores_key()
    current = _scores
    if current is not None and current.key == key:
        return current
    with _lock:
        if _scores is None or _scores.key != key:
            by_nursery = {
                s.nursery_id: (s.overall, s.count)
                for s in db.session.scalars(select(RatingSummary).where(RatingSummary.count > 0))
            }
            _scores = Scores(key, by_nursery)
        return _scores


def reset_scores() -> None:
    """Forget the cached scores (tests switch databases under one process)."""
    global _scores
    with _lock:
        _scores = None
