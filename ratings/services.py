"""The rating use cases: a family rates or edits, the district admin moderates a comment, the
nursery replies once; and the unlinking a family's data deletion asks for.

Each validates first, then makes its changes in one `use_case()`, keeping the nursery's
`RatingSummary` in step in the same transaction (the search and the page read the summary).
"""

from datetime import date, datetime

from sqlalchemy import delete, func, or_, select

import audit
from accounts.models import User
from booking.queries import own_child
from database import use_case
from errors import Conflict, DomainError, NotFound
from extensions import db
from maps.models import Nursery

from . import queries
from .models import Rating, RatingRevision, RatingSummary
from .rules import (
    ASPECTS,
    check_comment,
    check_hide_reason,
    check_reply,
    check_stars,
    term_of,
)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def _add_to_summary(nursery_id: int, old: dict | None, new: dict | None) -> None:
    """Move the nursery's sums from `old` stars to `new` (None: no rating before / after) and
    give the summary the next revision, so every process's search scores notice."""
    row = db.session.get(RatingSummary, nursery_id)
    if row is None:
        row = RatingSummary(nursery_id=nursery_id, count=0, revision=0, **dict.fromkeys(ASPECTS, 0))
        db.session.add(row)
    row.count = (row.count or 0) + (new is not None) - (old is not None)
    for a in ASPECTS:
        setattr(row, a, (getattr(row, a) or 0) + (new or {}).get(a, 0) - (old or {}).get(a, 0))
    db.session.flush()
    latest = db.session.scalar(select(func.max(RatingSummary.revision))) or 0
    row.revision = latest + 1


def check_input(stars: dict, comment) -> tuple[dict, str | None]:
    """The stars and the comment as a rating would store them, or the 400 refusing them."""
    return check_stars(stars), check_comment(comment)


def rate(
    parent_id: int,
    nursery_id: int,
    child_id,
    stars: dict,
    comment=None,
    today: date | None = None,
    now: datetime | None = None,
) -> Rating:
    """A parent rates a nursery for one child: stars on the five aspects and an optional
    comment (held for moderation). Only after a confirmed booking of that child at that
    nursery has begun; once per child, nursery and term."""
    now = _now(now)
    today = today or now.date()
    stars = check_stars(stars)
    comment = check_comment(comment)
    term = term_of(today)
    with use_case():
        nursery = db.session.get(Nursery, nursery_id) if isinstance(nursery_id, int) else None
        if nursery is None or nursery.filing_no is None:
            raise NotFound("nursery_not_found", "未找到该托育机构（或尚未备案）")
        child = own_child(parent_id, child_id)
        if queries.eligible_booking(parent_id, child.id, nursery.id, today) is None:
            raise DomainError(
                "no_eligible_booking",
                "只有孩子在该机构的预约已确认并已开始入托后，才能评价该机构",
                status=403,
            )
        if queries.rating_for_term(child.id, nursery.id, term.key) is not None:
            raise Conflict(
                "already_rated",
                f"您已在{term.label}为这个孩子评价过该机构，每学期只能评价一次，可以修改原评价",
            )
        rating = Rating(
            nursery_id=nursery.id,
            parent_id=parent_id,
            child_id=child.id,
            term=term.key,
            comment=comment,
            comment_status="pending" if comment else None,
            created_at=now,
            updated_at=now,
            **stars,
        )
        db.session.add(rating)
        db.session.flush()
        _add_to_summary(nursery.id, None, stars)
        audit.record(
            parent_id, "rating.created", "rating", rating.id, f"nursery={nursery.id}", at=now
        )
    return rating


def edit(
    parent_id: int, rating_id, stars: dict, comment=None, now: datetime | None = None
) -> Rating:
    """The family changes its rating. The version it replaces is kept (`RatingRevision`); a
    changed comment goes back to moderation (its earlier approval covered other words)."""
    now = _now(now)
    stars = check_stars(stars)
    comment = check_comment(comment)
    with use_case():
        rating = queries.own_rating(parent_id, rating_id)
        old = rating.stars()
        if old == stars and rating.comment == comment:
            return rating  # nothing changed: no new version
        rating.revisions.append(
            RatingRevision(
                comment=rating.comment,
                comment_status=rating.comment_status,
                valid_from=rating.updated_at,
                replaced_at=now,
                **old,
            )
        )
        for a, v in stars.items():
            setattr(rating, a, v)
        if comment != rating.comment:
            rating.comment = comment
            rating.comment_status = "pending" if comment else None
            rating.hide_reason = rating.hide_note = None
            rating.moderated_by = rating.moderated_at = None
        rating.updated_at = now
        if old != stars:
            _add_to_summary(rating.nursery_id, old, stars)
        audit.record(parent_id, "rating.edited", "rating", rating.id, at=now)
    return rating


def moderate(
    admin_id: int, rating_id, action: str, reason=None, note=None, now: datetime | None = None
) -> Rating:
    """The district admin approves a comment (it becomes public) or hides it with a reason
    (abusive or identifying content); the stars count either way."""
    now = _now(now)
    if action not in ("approve", "hide"):
        raise DomainError("invalid_action", "请选择“公开”或“隐藏”", field="action")
    if action == "hide":
        reason, note = check_hide_reason(reason, note)
    with use_case():
        admin = db.session.get(User, admin_id)
        if admin is None or admin.role != "admin":
            raise DomainError("not_admin", "只有管理员可以审核评价", status=403)
        rating = db.session.get(Rating, rating_id) if isinstance(rating_id, int) else None
        if rating is None or rating.comment_status is None:
            raise NotFound("rating_not_found", "未找到待审核的评价内容")
        if action == "approve":
            if rating.comment_status == "approved":
                raise Conflict("already_approved", "该评价内容已经公开")
            rating.comment_status = "approved"
            rating.hide_reason = rating.hide_note = None
        else:
            if rating.comment_status == "hidden":
                raise Conflict("already_hidden", "该评价内容已经隐藏")
            rating.comment_status = "hidden"
            rating.hide_reason, rating.hide_note = reason, note
        rating.moderated_by, rating.moderated_at = admin.id, now
        audit.record(
            admin.id,
            f"rating.{action}",
            "rating",
            rating.id,
            reason if action == "hide" else None,
            at=now,
        )
    return rating


def reply(staff_id: int, rating_id, text, now: datetime | None = None) -> Rating:
    """The nursery answers a rating publicly, once; shown under the approved comment."""
    now = _now(now)
    text = check_reply(text)
    with use_case():
        staff = db.session.get(User, staff_id)
        if staff is None or staff.role != "nursery_staff" or staff.nursery_id is None:
            raise DomainError("not_staff", "只有托育机构的工作人员可以回复评价", status=403)
        rating = queries.nursery_rating(staff.nursery_id, rating_id)
        if rating.reply is not None:
            raise Conflict("already_replied", "机构对每条评价只能回复一次，已回复过")
        if rating.comment_status != "approved":
            raise Conflict("comment_not_public", "只能回复已公开的评价内容")
        rating.reply, rating.replied_by, rating.replied_at = text, staff.id, now
        audit.record(staff.id, "rating.replied", "rating", rating.id, at=now)
    return rating


def forget_family(parent_id: int | None = None, child_ids=()) -> int:
    """Inside a deletion use case (booking.services.privacy / family.delete_child): unlink the
    ratings of these children (or of this parent) from the family, delete their comments,
    replies and earlier versions; the stars stay in the nursery's figures. Returns how many."""
    where = []
    child_ids = [c for c in child_ids if c is not None]
    if child_ids:
        where.append(Rating.child_id.in_(child_ids))
    if parent_id is not None:
        where.append(Rating.parent_id == parent_id)
    if not where:
        return 0
    ratings = list(db.session.scalars(select(Rating).where(or_(*where))))
    if not ratings:
        return 0
    db.session.execute(
        delete(RatingRevision).where(RatingRevision.rating_id.in_([r.id for r in ratings]))
    )
    for r in ratings:
        r.parent_id = r.child_id = None
        # A comment (and the reply to it) may name the child or the family: deleted with it.
        r.comment = r.comment_status = r.hide_reason = r.hide_note = None
        r.reply = r.replied_by = r.replied_at = None
    return len(ratings)


def recount() -> int:
    """Rebuild every nursery's summary from the ratings (`flask ratings recount`), for a
    database written around the service; returns how many nurseries have ratings."""
    with use_case():
        rows = db.session.execute(
            select(
                Rating.nursery_id,
                func.count(),
                *[func.sum(getattr(Rating, a)) for a in ASPECTS],
            ).group_by(Rating.nursery_id)
        ).all()
        latest = db.session.scalar(select(func.max(RatingSummary.revision))) or 0
        db.session.execute(delete(RatingSummary))
        for nursery_id, count, *sums in rows:
            db.session.add(
                RatingSummary(
                    nursery_id=nursery_id,
                    count=count,
                    revision=latest + 1,
                    **dict(zip(ASPECTS, (int(s) for s in sums), strict=True)),
                )
            )
    return len(rows)
