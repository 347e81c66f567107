"""Complaint reads: look-ups by tracking code, who sees a case in which role, the handlers'
queue, duplicate suggestions and statistics. Reads never write.

Access follows routing: a handler sees a case only when their department is routed to it (lead,
co-handler, informed, or asked to take it over by a transfer) and, for the street department,
only cases in their own street (属地); anyone else gets a 404, as if it did not exist.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from accounts.models import HandlerStreet, User
from errors import NotFound
from extensions import db
from maps.models import Nursery

from .codes import code_hash, normalise_code
from .models import (
    OPEN_STATUSES,
    RATINGS,
    Complaint,
    ComplaintDepartment,
    ComplaintPhoto,
)
from .routing import STREET

DUPLICATE_WINDOW = timedelta(days=30)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


# --- the complainant, by code -------------------------------------------------------------------


def by_code(raw_code) -> Complaint:
    """The complaint a tracking code opens (raw or formatted, any case); 400 when malformed,
    404 when unknown."""
    code = normalise_code(raw_code)
    complaint = db.session.scalar(select(Complaint).where(Complaint.code_hash == code_hash(code)))
    if complaint is None:
        raise NotFound("code_not_found", "未找到该查询码对应的投诉举报，请核对后重试")
    return complaint


# --- the public form: choosing the nursery -----------------------------------------------------


def _nursery_rows(where, limit: int) -> list[dict]:
    rows = db.session.execute(
        select(Nursery.id, Nursery.name, Nursery.address)
        .where(Nursery.filing_no.is_not(None), where)
        .order_by(func.length(Nursery.name), Nursery.id)
        .limit(limit)
    ).all()
    return [{"id": i, "name": n, "address": a, "distance_m": None} for i, n, a in rows]


def filed_nurseries_matching(q: str, limit: int) -> list[dict]:
    """Filed nurseries whose name or address contains `q`, shortest names first."""
    where = or_(
        Nursery.name.contains(q, autoescape=True), Nursery.address.contains(q, autoescape=True)
    )
    return _nursery_rows(where, limit)


def filed_nursery(nursery_id: int) -> list[dict]:
    """The filed nursery of that id, as the one row of a list (empty when there is none)."""
    return _nursery_rows(Nursery.id == nursery_id, 1)


# --- handlers: access ---------------------------------------------------------------------------


def street_of(user: User) -> int | None:
    """The street a street handler is bound to (None for others, or when unbound)."""
    row = db.session.get(HandlerStreet, user.id)
    return row.street_id if row else None


def _in_area(user: User, c: Complaint) -> bool:
    return user.department_code != STREET or (
        c.street_id is not None and c.street_id == street_of(user)
    )


def role_of(user: User, c: Complaint) -> str | None:
    """lead | co | informed | transfer (asked to take the case over) | None."""
    if user is None or user.role != "handler" or not user.department_code:
        return None
    if not _in_area(user, c):
        return None
    role = c.role_of(user.department_code)
    if role is None and c.pending_transfer_to == user.department_code:
        role = "transfer"
    return role


def allowed_actions(user: User, c: Complaint) -> set[str]:
    """What this handler may do with the case now (Complaint.allowed_actions of their role)."""
    return c.allowed_actions(role_of(user, c))


def case_for(user: User, complaint_id) -> Complaint:
    """The case, when the handler's department is routed to it; anyone else gets a 404."""
    valid = isinstance(complaint_id, int) and not isinstance(complaint_id, bool)
    c = db.session.get(Complaint, complaint_id) if valid and 0 < complaint_id < 2**31 else None
    if c is None or role_of(user, c) is None:
        raise NotFound("complaint_not_found", "未找到该案件")
    return c


def photo_for(user: User, complaint_id, photo_id) -> ComplaintPhoto:
    c = case_for(user, complaint_id)
    for p in c.photos:
        if p.id == photo_id:
            return p
    raise NotFound("photo_not_found", "未找到该照片")


def duplicate_candidates(user: User, c: Complaint, now: datetime | None = None) -> list[Complaint]:
    """Open cases about the same nursery and category from the last 30 days that this handler
    can see: what "mark as duplicate" suggests."""
    if c.nursery_id is None:
        return []
    now = _now(now)
    rows = db.session.scalars(
        select(Complaint)
        .where(
            Complaint.id != c.id,
            Complaint.nursery_id == c.nursery_id,
            Complaint.category == c.category,
            Complaint.status.in_(OPEN_STATUSES),
            Complaint.filed_at >= now - DUPLICATE_WINDOW,
        )
        .order_by(Complaint.filed_at)
    ).all()
    return [o for o in rows if role_of(user, o) is not None]


# --- handlers: queue and statistics -------------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # a status, "open" (default) or "all"
    role: str | None = None  # lead | co | informed | transfer
    urgent: bool = False
    overdue: bool = False
    awaiting: bool = False  # 待分类 only
    category: str | None = None
    filed_from: datetime | None = None  # filed within [filed_from, filed_to] (both inclusive)
    filed_to: datetime | None = None


def _visible(user: User):
    """Complaints the handler's department is routed to or asked to take over."""
    dept = user.department_code
    routed = select(ComplaintDepartment.complaint_id).where(ComplaintDepartment.department == dept)
    query = select(Complaint).where(
        or_(Complaint.id.in_(routed), Complaint.pending_transfer_to == dept)
    )
    if dept == STREET:
        query = query.where(Complaint.street_id == street_of(user))
    return query


def public_listing(
    filed_from: datetime | None,
    filed_to: datetime | None,
    ids: set[int] | None,
    categories: set[str],
    open_or_closed: set[str],
    limit: int,
) -> list[Complaint]:
    """Every department's cases for the public Open311 listing, newest first: filed within the
    window and of these categories and states ("open", "closed"; none given: all), or
    (GeoReport) the ids asked for, whatever else is given."""
    query = select(Complaint).order_by(Complaint.filed_at.desc(), Complaint.id.desc())
    if ids is not None:
        query = query.where(Complaint.id.in_(sorted(ids)))
    else:
        query = query.where(Complaint.filed_at.between(filed_from, filed_to))
        if categories:
            query = query.where(Complaint.category.in_(sorted(categories)))
        if open_or_closed == {"open"}:
            query = query.where(Complaint.status.in_(OPEN_STATUSES))
        elif open_or_closed == {"closed"}:
            query = query.where(Complaint.status.not_in(OPEN_STATUSES))
    return list(db.session.scalars(query.limit(limit)))


def queue(
    user: User, filt: QueueFilter, now: datetime | None = None, with_events: bool = False
) -> list[tuple]:
    """(complaint, role, overdue) for the handler's department, sorted by urgency then deadline:
    urgent first, then the earliest next deadline; finished cases last, newest first.

    The cases' departments (for the role) are loaded with them, and their timelines too with
    `with_events`, in one query each rather than one per case."""
    now = _now(now)
    query = _visible(user).options(selectinload(Complaint.departments))
    if with_events:
        query = query.options(selectinload(Complaint.events))
    if filt.filed_from is not None:
        query = query.where(Complaint.filed_at >= filt.filed_from)
    if filt.filed_to is not None:
        query = query.where(Complaint.filed_at <= filt.filed_to)
    if filt.status in (None, "open"):
        query = query.where(Complaint.status.in_(OPEN_STATUSES))
    elif filt.status != "all":
        query = query.where(Complaint.status == filt.status)
    if filt.urgent:
        query = query.where(Complaint.urgent.is_(True))
    if filt.awaiting:
        query = query.where(Complaint.awaiting_category.is_(True))
    if filt.category:
        query = query.where(Complaint.category == filt.category)
    rows = []
    for c in db.session.scalars(query):
        role = role_of(user, c)
        if role is None or (filt.role and role != filt.role):  # as case_for: no role, no case
            continue
        late = c.overdue(now)
        if filt.overdue and not late:
            continue
        rows.append((c, role, late))

    def key(row):
        c = row[0]
        deadline = c.next_deadline()
        if deadline is None:
            return (1, 0, -c.updated_at.timestamp(), c.id)
        return (0, not c.urgent, deadline.timestamp(), c.id)

    rows.sort(key=key)
    return rows


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def stats(department: str, now: datetime | None = None, street_id: int | None = None) -> dict:
    """Figures for the cases a department leads: open, overdue, median hours to accept,
    median days to resolve, and the ratings. A street's figures cover its own street only."""
    now = _now(now)
    query = select(Complaint).where(Complaint.lead_department == department)
    if department == STREET:
        query = query.where(Complaint.street_id == street_id)
    cases = db.session.scalars(query).all()
    ratings = {r: 0 for r in RATINGS}
    for c in cases:
        if c.rating:
            ratings[c.rating] += 1
    rated = sum(ratings.values())
    return {
        "total": len(cases),
        "open": sum(c.is_open for c in cases),
        "overdue": sum(c.overdue(now) for c in cases),
        "urgent_open": sum(c.is_open and c.urgent for c in cases),
        "median_hours_to_accept": _median(
            [(c.accepted_at - c.filed_at).total_seconds() / 3600 for c in cases if c.accepted_at]
        ),
        "median_days_to_resolve": _median(
            [(c.resolved_at - c.filed_at).total_seconds() / 86400 for c in cases if c.resolved_at]
        ),
        "ratings": ratings,
        "rated": rated,
        "satisfaction": ((ratings["satisfied"] + ratings["basically"]) / rated if rated else None),
    }


def stats_for(user: User, now: datetime | None = None) -> dict:
    """stats() for the handler's department (and street)."""
    return stats(user.department_code, now, street_of(user))
