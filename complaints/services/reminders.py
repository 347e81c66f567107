"""Deadline reminders (`flask --app app complaints remind`, from cron): the lead department's
handlers hear of a case whose running deadline (acceptance, or conclusion) falls within the
next working day, and again once it has passed.

Safe to run on several hosts at once or twice over: each reminder is a row unique per case,
deadline, due time and stage, written in the same use case as the messages (the service's
exclusive lock on PostgreSQL; SQLite's one writer), so a second run finds it and sends nothing.
The message names the case by number, category and deadline only — never the complainant or
the text (it may travel by SMS).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from accounts.models import HandlerStreet, User
from database import use_case
from extensions import db
from notifications.services import notify
from workdays import store as workdays

from .. import rulebook
from ..models import Complaint, DeadlineReminder
from ..routing import STREET

# A case waiting for the complainant's information is not reminded: its clock is theirs.
REMINDED = ("submitted", "accepted", "reopened")
VERB = {"accept": "受理", "conclude": "办结"}


def _recipients(c: Complaint) -> list[int]:
    """The active handler accounts of the case's lead department (a street's: that street's)."""
    query = select(User.id).where(
        User.role == "handler", User.active.is_(True), User.department_code == c.lead_department
    )
    if c.lead_department == STREET:
        query = query.join(HandlerStreet, HandlerStreet.user_id == User.id).where(
            HandlerStreet.street_id == c.street_id
        )
    return list(db.session.scalars(query.order_by(User.id)))


def _text(c: Complaint, deadline: str, due: datetime, stage: str) -> str:
    category = rulebook.current_rules().categories.get(c.category)
    label = category.label if category is not None else c.category
    when = f"{due:%Y-%m-%d %H:%M}"
    if stage == "overdue":
        return f"投诉举报 #{c.id}（{label}）已超过{VERB[deadline]}期限（{when}），请尽快处理。"
    return f"投诉举报 #{c.id}（{label}）应于 {when} 前{VERB[deadline]}，剩余不足 1 个工作日。"


def send_deadline_reminders(now: datetime | None = None) -> int:
    """Remind the lead departments of the deadlines due within a working day or passed; returns
    how many reminders (cases × stages) were sent now."""
    now = (now or datetime.now()).replace(microsecond=0)
    horizon = workdays.current().add_working_days(now, 1)
    sent = 0
    with use_case():
        cases = db.session.scalars(
            select(Complaint)
            .where(
                Complaint.status.in_(REMINDED),
                or_(
                    (Complaint.status == "submitted") & (Complaint.accept_by <= horizon),
                    (Complaint.status != "submitted") & (Complaint.conclude_by <= horizon),
                ),
            )
            .order_by(Complaint.id)
        ).all()
        for c in cases:
            deadline = c.deadline_kind()
            due = c.accept_by if deadline == "accept" else c.conclude_by
            stage = "overdue" if due <= now else "soon"
            key = dict(complaint_id=c.id, deadline=deadline, due=due, stage=stage)
            if db.session.scalar(select(DeadlineReminder.id).filter_by(**key)) is not None:
                continue
            db.session.add(DeadlineReminder(**key, sent_at=now))
            for user_id in _recipients(c):
                notify(user_id, _text(c, deadline, due, stage), "complaint", c.id, now)
            sent += 1
    return sent
