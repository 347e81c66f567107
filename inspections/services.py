"""Inspection use cases: record, follow up, close (rectified, verified), and a complaint's
verdict. Each validates its input first, then makes its change in one `use_case()` with an
event row and an audit entry, so a refusal stores nothing.

Only handler accounts bound to a department write (parents, nurseries, the admin and anonymous
visitors never do); the department is always the handler's own. A street handler (镇街) writes
only for nurseries in their own street (属地). Follow-ups and closing belong to the department
that recorded the inspection.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

import audit
from accounts.models import HandlerStreet, User
from complaints.models import Complaint
from database import use_case
from errors import DomainError, NotFound
from extensions import db
from maps.models import Nursery

from . import rules
from .models import ComplaintVerdict, Inspection

STREET = "street"


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def check_writer(user: User | None) -> str:
    """The department of a handler who may record inspections; 403 for everyone else."""
    if user is None or getattr(user, "role", None) != "handler" or not user.department_code:
        raise DomainError("not_department", "只有监管部门的承办账号可以录入和跟进检查", status=403)
    return user.department_code


def _street_of(user: User) -> int | None:
    row = db.session.get(HandlerStreet, user.id)
    return row.street_id if row else None


def _filed_nursery(nursery_id) -> Nursery:
    valid = isinstance(nursery_id, int) and not isinstance(nursery_id, bool)
    nursery = db.session.get(Nursery, nursery_id) if valid and 0 < nursery_id < 2**31 else None
    if nursery is None or nursery.filing_no is None:
        raise NotFound("nursery_not_found", "未找到该托育机构（或尚未备案）")
    return nursery


def _check_area(user: User, nursery: Nursery) -> None:
    if user.department_code == STREET and (
        nursery.street_id is None or nursery.street_id != _street_of(user)
    ):
        raise DomainError("outside_street", "镇街只能检查本镇街（属地）的托育机构", status=403)


def record(
    user: User,
    nursery_id,
    kind,
    inspected_on,
    findings,
    result,
    rectify_by=None,
    now: datetime | None = None,
) -> Inspection:
    now = _now(now)
    department = check_writer(user)
    kind = rules.check_choice(kind, rules.KINDS, "kind", "检查类别")
    day = rules.check_inspected_on(
        rules.parse_date(inspected_on, "inspected_on", "检查日期"), now.date()
    )
    findings = rules.clean_text(findings, "findings", "检查发现", rules.MAX_FINDINGS)
    result = rules.check_choice(result, rules.RESULTS, "result", "检查结论")
    deadline = rules.check_result(
        result, day, rules.parse_date(rectify_by, "rectify_by", "整改期限", required=False)
    )
    with use_case():
        nursery = _filed_nursery(nursery_id)
        _check_area(user, nursery)
        inspection = Inspection(
            nursery_id=nursery.id,
            department=department,
            kind=kind,
            inspected_on=day,
            findings=findings,
            result=result,
            rectify_by=deadline,
            status="passed" if result == "pass" else "open",
            recorded_by=user.id,
            recorded_at=now,
            updated_at=now,
        )
        db.session.add(inspection)
        inspection.add_event("recorded", now, user.id, department, rules.RESULTS[result])
        db.session.flush()
        audit.record(
            user.id,
            "inspection_recorded",
            "inspection",
            inspection.id,
            f"nursery #{nursery.id} {kind} {result}",
            at=now,
        )
    return inspection


def _own(user: User, inspection_id) -> Inspection:
    """The inspection, for a handler of the department that recorded it (others: 403; an
    unknown id: 404)."""
    department = check_writer(user)
    valid = isinstance(inspection_id, int) and not isinstance(inspection_id, bool)
    inspection = (
        db.session.get(Inspection, inspection_id) if valid and 0 < inspection_id < 2**31 else None
    )
    if inspection is None:
        raise NotFound("inspection_not_found", "未找到该检查记录")
    if inspection.department != department:
        raise DomainError("other_department", "只有录入该检查的部门可以跟进或复查", status=403)
    _check_area(user, inspection.nursery)
    return inspection


def follow_up(user: User, inspection_id, note, now: datetime | None = None) -> Inspection:
    now = _now(now)
    check_writer(user)
    note = rules.clean_text(note, "note", "跟进情况", rules.MAX_NOTE)
    with use_case():
        inspection = _own(user, inspection_id)
        if not inspection.is_open:
            raise DomainError(
                "not_open", f"该检查{inspection.status_label}，不能再添加跟进", status=409
            )
        inspection.add_event("follow_up", now, user.id, inspection.department, note)
        audit.record(user.id, "inspection_follow_up", "inspection", inspection.id, at=now)
    return inspection


def close(user: User, inspection_id, closed_on, note, now: datetime | None = None) -> Inspection:
    """整改完成，复查合格: the department verified the rectification (a suspension is lifted)."""
    now = _now(now)
    check_writer(user)
    day = rules.parse_date(closed_on, "closed_on", "复查日期")
    note = rules.clean_text(note, "note", "复查情况", rules.MAX_NOTE)
    with use_case():
        inspection = _own(user, inspection_id)
        if not inspection.is_open:
            raise DomainError("not_open", f"该检查{inspection.status_label}，无需复查", status=409)
        rules.check_closed_on(day, inspection.inspected_on, now.date())
        inspection.status, inspection.closed_on = "closed", day
        inspection.add_event("closed", now, user.id, inspection.department, note)
        audit.record(
            user.id, "inspection_closed", "inspection", inspection.id, f"closed on {day}", at=now
        )
    return inspection


def record_verdict(user: User, complaint_id, verdict, outcome, now=None) -> ComplaintVerdict:
    """The lead department's verdict on a concluded complaint about a filed nursery: 查实,
    部分查实 or 查无实据, and for a substantiated one what followed. Recorded again, it replaces
    the earlier one (the audit log keeps both)."""
    now = _now(now)
    department = check_writer(user)
    verdict = rules.check_choice(verdict, rules.VERDICTS, "verdict", "核查结论")
    if verdict in rules.SUBSTANTIATED:
        outcome = rules.check_choice(outcome, rules.OUTCOMES, "outcome", "处理结果")
    elif outcome:
        raise DomainError("outcome_not_needed", "查无实据时不填写处理结果", field="outcome")
    else:
        outcome = None
    with use_case():
        from complaints.queries import role_of

        valid = isinstance(complaint_id, int) and not isinstance(complaint_id, bool)
        c = db.session.get(Complaint, complaint_id) if valid and 0 < complaint_id < 2**31 else None
        if c is None or role_of(user, c) is None:
            raise NotFound("complaint_not_found", "未找到该案件")
        if role_of(user, c) != "lead":
            raise DomainError("not_lead", "只有牵头部门可以记录核查结论", status=403)
        if c.nursery_id is None or c.status not in ("resolved", "closed"):
            raise DomainError(
                "not_concluded",
                "只有已办结的、针对已登记机构的投诉举报才能记录核查结论",
                status=409,
            )
        row = db.session.scalar(
            select(ComplaintVerdict).where(ComplaintVerdict.complaint_id == c.id)
        )
        if row is None:
            row = ComplaintVerdict(complaint_id=c.id)
            db.session.add(row)
        row.verdict, row.outcome, row.department = verdict, outcome, department
        row.recorded_by, row.recorded_at = user.id, now
        reason = f"{verdict} {outcome or ''}".strip()
        audit.record(user.id, "complaint_verdict", "complaint", c.id, reason, at=now)
    return row
