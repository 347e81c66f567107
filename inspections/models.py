"""Inspections of filed nurseries by the departments (多部门监督检查), their timeline, and the
verdicts (查实 or not) the lead department records on complaints about a nursery.

An inspection is written by a handler of one department (its `department` is the handler's own,
never chosen), and followed to closure by handlers of the same department. Every step is a row of
`inspection_events` and an audit entry. Models never commit.
"""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

from .rules import EVENTS, KINDS, OUTCOMES, RESULTS, STATUSES, VERDICTS


def _in(column: str, values) -> str:
    return f"{column} IN (" + ",".join(f"'{v}'" for v in values) + ")"


class Inspection(db.Model):
    __tablename__ = "inspections"
    __table_args__ = (
        CheckConstraint(_in("kind", KINDS), name="ck_inspection_kind"),
        CheckConstraint(_in("result", RESULTS), name="ck_inspection_result"),
        CheckConstraint(_in("status", STATUSES), name="ck_inspection_status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    nursery_id: Mapped[int] = mapped_column(
        ForeignKey("nurseries.id", ondelete="CASCADE"), index=True
    )
    department: Mapped[str] = mapped_column(String(32), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    inspected_on: Mapped[date] = mapped_column(Date)
    findings: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(String(16))
    rectify_by: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))
    closed_on: Mapped[date | None] = mapped_column(Date)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    events: Mapped[list["InspectionEvent"]] = relationship(
        cascade="all, delete-orphan", order_by="InspectionEvent.id"
    )
    nursery = relationship("Nursery")

    @property
    def kind_label(self) -> str:
        return KINDS[self.kind]

    @property
    def result_label(self) -> str:
        return RESULTS[self.result]

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def add_event(self, kind: str, at: datetime, actor: int | None, department: str, text=None):
        self.events.append(
            InspectionEvent(at=at, actor_id=actor, department=department, kind=kind, text=text)
        )
        self.updated_at = at


class InspectionEvent(db.Model):
    """One step of an inspection: recorded, a follow-up note, closed (rectified, verified)."""

    __tablename__ = "inspection_events"
    __table_args__ = (CheckConstraint(_in("kind", EVENTS), name="ck_inspection_event_kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspections.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    department: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str | None] = mapped_column(Text)

    @property
    def label(self) -> str:
        return EVENTS[self.kind]


class ComplaintVerdict(db.Model):
    """Whether a complaint about a nursery was substantiated (查实), and what followed: the
    public count on the nursery page. No text: the public never reads a complaint."""

    __tablename__ = "complaint_verdicts"
    __table_args__ = (
        CheckConstraint(_in("verdict", VERDICTS), name="ck_complaint_verdict"),
        CheckConstraint(
            "outcome IS NULL OR " + _in("outcome", OUTCOMES), name="ck_complaint_verdict_outcome"
        ),
        UniqueConstraint("complaint_id", name="uq_complaint_verdicts_complaint_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    verdict: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(32))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime)
