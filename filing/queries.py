"""Read models of filing: who sees which application, the review queue with days left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from errors import NotFound
from extensions import db
from maps.models import Street
from workdays.calendar import is_working_day

from .models import FilingApplication, FilingAttachment


def _not_found():
    return NotFound("application_not_found", "未找到该备案申请")


def visible_to(user) -> list:
    """The conditions under which `user` sees an application (empty: none).

    An operator sees the applications they made; nursery staff those of their nursery (its
    first filing included); the admin every one."""
    if user.role == "admin":
        return [True]
    if user.role == "operator":
        return [FilingApplication.applicant_id == user.id]
    if user.role == "nursery_staff" and user.nursery_id:
        return [FilingApplication.nursery_id == user.nursery_id]
    return []


def applications_of(user) -> list[FilingApplication]:
    where = visible_to(user)
    if not where or user.role == "admin":
        return []
    return list(
        db.session.scalars(
            select(FilingApplication)
            .where(*where)
            .order_by(FilingApplication.created_at.desc(), FilingApplication.id.desc())
        )
    )


def application_for(user, application_id: int) -> FilingApplication:
    """The application if `user` may see it; otherwise it does not exist for them (404)."""
    where = visible_to(user)
    if not where:
        raise _not_found()
    found = db.session.scalar(
        select(FilingApplication)
        .where(FilingApplication.id == application_id, *where)
        .options(
            selectinload(FilingApplication.events), selectinload(FilingApplication.attachments)
        )
    )
    if found is None:
        raise _not_found()
    return found


def attachment_for(user, application_id: int, attachment_id: int) -> FilingAttachment:
    application = application_for(user, application_id)
    found = next((a for a in application.attachments if a.id == attachment_id), None)
    if found is None:
        raise NotFound("attachment_not_found", "未找到该附件")
    return found


def working_days_left(due: datetime | None, today: date | None = None) -> int | None:
    """Working days from today to the deadline (0: due today; negative: overdue)."""
    if due is None:
        return None
    today = today or date.today()
    day, count, step = today, 0, 1 if due.date() >= today else -1
    while day != due.date():
        day += timedelta(days=step)
        if is_working_day(day):
            count += step
    return count


@dataclass(frozen=True)
class QueueRow:
    application: FilingApplication
    days_left: int | None


def queue(status: str = "submitted") -> list[QueueRow]:
    """Applications in a status, the nearest deadline first (then the oldest)."""
    rows = db.session.scalars(
        select(FilingApplication)
        .where(FilingApplication.status == status)
        .order_by(FilingApplication.due_at, FilingApplication.submitted_at, FilingApplication.id)
    )
    return [QueueRow(a, working_days_left(a.due_at)) for a in rows]


def streets() -> list[Street]:
    return list(db.session.scalars(select(Street).order_by(Street.name)))


def street_name(street_id: int | None) -> str | None:
    street = db.session.get(Street, street_id) if street_id else None
    return street.name if street else None
