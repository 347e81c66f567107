"""Inspection reads: the department's list, an inspection page, a nursery's history for
handlers (inspections of every department; complaints in full only where the handler's
department is routed to them, else counts), the public summary and the nursery's own view.
Reads never write.

Least privilege: the public summary carries no findings text, no complaint text and nothing
about a complainant; the nursery reads its own inspections only; another nursery's inspection
does not exist for it (404).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from accounts.models import HandlerStreet, User
from accounts.roles import DEPARTMENTS
from complaints.models import STATUSES as COMPLAINT_STATUSES
from complaints.models import Complaint
from errors import NotFound
from extensions import db
from maps.models import Nursery

from . import rules
from .models import ComplaintVerdict, Inspection

LIST_LIMIT = 300


def department_name(code: str | None) -> str:
    return DEPARTMENTS.get(code, code or "")


def _valid_id(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**31


def filed_nursery(nursery_id) -> Nursery:
    nursery = db.session.get(Nursery, nursery_id) if _valid_id(nursery_id) else None
    if nursery is None or nursery.filing_no is None:
        raise NotFound("nursery_not_found", "未找到该托育机构（或尚未备案）")
    return nursery


def row(i: Inspection, today: date) -> dict:
    """An inspection as the handlers' and the nursery's pages show it."""
    return {
        "id": i.id,
        "nursery_id": i.nursery_id,
        "nursery": i.nursery.name if i.nursery else "",
        "department": i.department,
        "department_name": department_name(i.department),
        "kind": i.kind,
        "kind_label": i.kind_label,
        "inspected_on": i.inspected_on,
        "result": i.result,
        "result_label": i.result_label,
        "rectify_by": i.rectify_by,
        "status": i.status,
        "status_label": i.status_label,
        "closed_on": i.closed_on,
        "overdue": rules.overdue(i.status, i.rectify_by, today),
        "days_left": (i.rectify_by - today).days if i.is_open and i.rectify_by else None,
    }


def _sorted(items: list[Inspection], today: date) -> list[Inspection]:
    """Open rectifications first (overdue, then the nearest deadline), then the rest newest
    first."""

    def key(i: Inspection):
        if i.is_open:
            return (
                0,
                0 if rules.overdue(i.status, i.rectify_by, today) else 1,
                (i.rectify_by or date.max).toordinal(),
                -i.id,
            )
        return (1, 0, -i.inspected_on.toordinal(), -i.id)

    return sorted(items, key=key)


def street_of(user: User) -> int | None:
    r = db.session.get(HandlerStreet, user.id)
    return r.street_id if r else None


def department_list(user: User, today: date | None = None) -> list[dict]:
    """The handler's department's inspections (a street handler: their street's), open
    rectifications first."""
    today = today or date.today()
    query = (
        select(Inspection)
        .where(Inspection.department == user.department_code)
        .options(selectinload(Inspection.nursery))
    )
    if user.department_code == "street":
        query = query.join(Nursery, Nursery.id == Inspection.nursery_id).where(
            Nursery.street_id == street_of(user)
        )
    items = list(db.session.scalars(query))
    return [row(i, today) for i in _sorted(items, today)]


def inspection(inspection_id) -> Inspection:
    """Any inspection, for handlers (every department reads every department's results)."""
    i = db.session.get(Inspection, inspection_id) if _valid_id(inspection_id) else None
    if i is None:
        raise NotFound("inspection_not_found", "未找到该检查记录")
    return i


def can_edit(user: User, i: Inspection) -> bool:
    """Whether this handler may follow up or close it: same department (a street: own street)."""
    if user.role != "handler" or user.department_code != i.department or not i.is_open:
        return False
    return user.department_code != "street" or (
        i.nursery is not None and i.nursery.street_id == street_of(user)
    )


def timeline(i: Inspection) -> list[dict]:
    return [
        {
            "at": e.at,
            "label": e.label,
            "kind": e.kind,
            "department": department_name(e.department),
            "text": e.text,
        }
        for e in i.events
    ]


def filed_nurseries(q: str = "", limit: int = 50) -> list[Nursery]:
    """Filed nurseries for the record form's list (a name or address fragment filters)."""
    query = select(Nursery).where(Nursery.filing_no.is_not(None)).order_by(Nursery.name)
    if q:
        query = query.where(Nursery.name.contains(q, autoescape=True))
    return list(db.session.scalars(query.limit(limit)))


def nursery_inspections(nursery_id: int, today: date | None = None) -> list[dict]:
    today = today or date.today()
    items = list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.nursery_id == nursery_id)
            .options(selectinload(Inspection.nursery))
        )
    )
    return [row(i, today) for i in _sorted(items, today)]


def for_nursery_staff(nursery_id: int, inspection_id) -> Inspection:
    """An inspection of the nursery's own; any other does not exist for it (404)."""
    i = db.session.get(Inspection, inspection_id) if _valid_id(inspection_id) else None
    if i is None or i.nursery_id != nursery_id:
        raise NotFound("inspection_not_found", "未找到该检查记录")
    return i


def _verdicts(ids: list[int]) -> dict[int, ComplaintVerdict]:
    if not ids:
        return {}
    rows = db.session.scalars(
        select(ComplaintVerdict).where(ComplaintVerdict.complaint_id.in_(ids))
    )
    return {v.complaint_id: v for v in rows}


def complaint_history(user: User, nursery_id: int) -> dict:
    """The nursery's complaints for a handler: those routed to their department (as the handling
    pages show them: role, status, category) in full, every other one only in counts by
    category, status and verdict."""
    from complaints import queries as complaint_queries
    from complaints import rulebook

    rules_now = rulebook.current_rules()

    def category(code: str) -> str:
        cat = rules_now.categories.get(code)
        return cat.label if cat else code

    complaints = list(
        db.session.scalars(
            select(Complaint)
            .where(Complaint.nursery_id == nursery_id)
            .options(selectinload(Complaint.departments))
            .order_by(Complaint.filed_at.desc(), Complaint.id.desc())
        )
    )
    verdicts = _verdicts([c.id for c in complaints])
    mine, others = [], []
    for c in complaints:
        role = complaint_queries.role_of(user, c)
        (mine if role is not None else others).append((c, role))
    routed = [
        {
            "id": c.id,
            "filed_at": c.filed_at,
            "category": category(c.category),
            "status": c.status,
            "status_label": c.status_label,
            "role": role,
            "lead": role == "lead",
            "lead_name": department_name(c.lead_department),
            "verdict": verdicts.get(c.id),
            "can_verdict": role == "lead" and c.status in ("resolved", "closed"),
        }
        for c, role in mine
    ]
    counts = {
        "category": Counter(category(c.category) for c, _ in others),
        "status": Counter(COMPLAINT_STATUSES[c.status] for c, _ in others),
        "verdict": Counter(
            rules.VERDICTS[verdicts[c.id].verdict] if c.id in verdicts else "未记录核查结论"
            for c, _ in others
        ),
    }
    return {"routed": routed, "others": len(others), "counts": counts}


def substantiated_counts(nursery_id: int) -> dict:
    """Complaints about the nursery found substantiated (查实 or 部分查实), by what followed."""
    outcomes = db.session.execute(
        select(ComplaintVerdict.verdict, ComplaintVerdict.outcome)
        .join(Complaint, Complaint.id == ComplaintVerdict.complaint_id)
        .where(
            Complaint.nursery_id == nursery_id,
            ComplaintVerdict.verdict.in_(rules.SUBSTANTIATED),
        )
    ).all()
    by_outcome = Counter(rules.OUTCOMES.get(o, "其他") for _v, o in outcomes)
    return {
        "count": len(outcomes),
        "outcomes": [{"outcome": k, "count": n} for k, n in sorted(by_outcome.items())],
    }


def suspended(nursery_id: int) -> bool:
    """Ordered to suspend (停业整顿) and not yet verified rectified."""
    return (
        db.session.scalar(
            select(Inspection.id)
            .where(
                Inspection.nursery_id == nursery_id,
                Inspection.result == "suspend",
                Inspection.status == "open",
            )
            .limit(1)
        )
        is not None
    )


def public_summary(nursery_id: int, today: date | None = None) -> dict:
    """What the public sees: per kind the latest inspection's date, department, result and
    rectification status (never its findings); whether the nursery is suspended; the count of
    substantiated complaints with their outcomes (never a complaint's text or a complainant)."""
    today = today or date.today()
    items = db.session.scalars(
        select(Inspection)
        .where(Inspection.nursery_id == nursery_id)
        .order_by(Inspection.inspected_on.desc(), Inspection.id.desc())
    )
    latest: dict[str, Inspection] = {}
    for i in items:
        latest.setdefault(i.kind, i)
    return {
        "latest": [
            {
                "kind": k,
                "kind_label": label,
                "inspected_on": latest[k].inspected_on.isoformat(),
                "department": department_name(latest[k].department),
                "result": latest[k].result,
                "result_label": latest[k].result_label,
                "rectify_by": latest[k].rectify_by.isoformat() if latest[k].rectify_by else None,
                "status": latest[k].status,
                "status_label": latest[k].status_label,
                "closed_on": latest[k].closed_on.isoformat() if latest[k].closed_on else None,
                "overdue": rules.overdue(latest[k].status, latest[k].rectify_by, today),
            }
            for k, label in rules.KINDS.items()
            if k in latest
        ],
        "suspended": suspended(nursery_id),
        "substantiated_complaints": substantiated_counts(nursery_id),
    }


def overdue_rectifications(today: date | None = None) -> list[dict]:
    """Every open rectification past its deadline (the CLI's report)."""
    today = today or date.today()
    items = db.session.scalars(
        select(Inspection)
        .where(Inspection.status == "open", Inspection.rectify_by < today)
        .options(selectinload(Inspection.nursery))
        .order_by(Inspection.rectify_by, Inspection.id)
    )
    return [row(i, today) for i in items]
