"""Filing applications (备案申请), their timeline and their attachments.

An application is a new nursery's filing (kind `new`, by an operator account), or a change or
closure of a filed nursery (by its staff). Its content is the filed data it proposes; the
public record (`maps.models.Nursery`) changes only when the district health commission approves.
"""

import json
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from maps.standards import ClassSpec

from .rules import KIND_LABELS, OPEN, STATUS_LABELS, Content, StaffSpec


class FilingApplication(db.Model):
    __tablename__ = "filing_applications"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # rules.KINDS
    status: Mapped[str] = mapped_column(String(16), default="submitted")  # rules.STATUSES
    applicant_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # change / closure: the filed nursery; new: the nursery created on approval
    nursery_id: Mapped[int | None] = mapped_column(
        ForeignKey("nurseries.id", ondelete="SET NULL"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    kind_of_nursery: Mapped[str] = mapped_column(String(24))
    registration: Mapped[str] = mapped_column(String(24))
    registration_no: Mapped[str] = mapped_column(String(18))
    phone: Mapped[str | None] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(200))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    lat: Mapped[float] = mapped_column(Float)  # WGS-84
    lon: Mapped[float] = mapped_column(Float)
    source_coordsys: Mapped[str] = mapped_column(String(8), default="wgs84")
    # None only on a closure of a nursery filed before online filing (no areas on file)
    floor_area_m2: Mapped[float | None] = mapped_column(Float)
    outdoor_area_m2: Mapped[float | None] = mapped_column(Float)
    serves_meals: Mapped[bool] = mapped_column(Boolean, default=False)
    care_types: Mapped[str] = mapped_column(String(64))  # ";"-separated care types
    classes_json: Mapped[str] = mapped_column(Text)  # [{class_type, name, carers, capacity}]
    staff_json: Mapped[str] = mapped_column(Text)  # [{name, role, certificate_no}]
    reason: Mapped[str | None] = mapped_column(Text)  # closure: why the nursery closes
    submitted_at: Mapped[datetime] = mapped_column(DateTime)  # the latest (re)submission
    due_at: Mapped[datetime | None] = mapped_column(DateTime)  # review deadline; None when decided
    decided_at: Mapped[datetime | None] = mapped_column(DateTime)
    filing_no: Mapped[str | None] = mapped_column(String(64), index=True)  # issued or retired
    filing_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    events: Mapped[list["FilingEvent"]] = relationship(
        cascade="all, delete-orphan", order_by="FilingEvent.id"
    )
    attachments: Mapped[list["FilingAttachment"]] = relationship(
        cascade="all, delete-orphan", order_by="FilingAttachment.id"
    )
    nursery = relationship("Nursery")
    street = relationship("Street")
    applicant = relationship("User")

    __table_args__ = (
        CheckConstraint("kind IN ('new', 'change', 'closure')", name="ck_filing_kind"),
        CheckConstraint(
            "status IN ('submitted', 'returned', 'approved', 'refused')", name="ck_filing_status"
        ),
    )

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def can_review(self) -> bool:
        return self.status == "submitted"

    def can_correct(self) -> bool:
        return self.status == "returned"

    def classes(self) -> list[ClassSpec]:
        return [ClassSpec(**c) for c in json.loads(self.classes_json or "[]")]

    def staff(self) -> list[StaffSpec]:
        return [StaffSpec(**s) for s in json.loads(self.staff_json or "[]")]

    def content(self) -> Content:
        return Content(
            name=self.name,
            kind=self.kind_of_nursery,
            registration=self.registration,
            registration_no=self.registration_no,
            phone=self.phone,
            address=self.address,
            street_id=self.street_id,
            lat=self.lat,
            lon=self.lon,
            source_coordsys=self.source_coordsys,
            floor_area_m2=self.floor_area_m2,
            outdoor_area_m2=self.outdoor_area_m2,
            serves_meals=self.serves_meals,
            care_types=[c for c in (self.care_types or "").split(";") if c],
            classes=self.classes(),
            staff=self.staff(),
        )

    def set_content(self, c: Content) -> None:
        self.name, self.kind_of_nursery = c.name, c.kind
        self.registration, self.registration_no, self.phone = (
            c.registration,
            c.registration_no,
            c.phone,
        )
        self.address, self.street_id = c.address, c.street_id
        self.lat, self.lon, self.source_coordsys = c.lat, c.lon, c.source_coordsys
        self.floor_area_m2, self.outdoor_area_m2 = c.floor_area_m2, c.outdoor_area_m2
        self.serves_meals = c.serves_meals
        self.care_types = ";".join(c.care_types)
        self.classes_json = json.dumps(
            [
                {"class_type": k.class_type, "name": k.name, "carers": k.carers,
                 "capacity": k.capacity}
                for k in c.classes
            ],
            ensure_ascii=False,
        )  # fmt: skip
        self.staff_json = json.dumps(
            [{"name": s.name, "role": s.role, "certificate_no": s.certificate_no} for s in c.staff],
            ensure_ascii=False,
        )

    def latest_return(self) -> "FilingEvent | None":
        return next((e for e in reversed(self.events) if e.action == "returned"), None)


EVENT_LABELS = {
    "submitted": "提交申请",
    "returned": "退回补正",
    "resubmitted": "补正后重新提交",
    "approved": "审核通过",
    "refused": "不予备案",
}


class FilingEvent(db.Model):
    """One timestamped step: submitted, returned (reasons per section), resubmitted, approved,
    refused."""

    __tablename__ = "filing_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("filing_applications.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str | None] = mapped_column(Text)  # a refusal's reasons, an approval's number
    reasons_json: Mapped[str | None] = mapped_column(Text)  # returned: {section: reason}
    due_at: Mapped[datetime | None] = mapped_column(DateTime)  # the deadline this step set

    @property
    def label(self) -> str:
        return EVENT_LABELS.get(self.action, self.action)

    def reasons(self) -> dict[str, str]:
        return json.loads(self.reasons_json) if self.reasons_json else {}


class FilingAttachment(db.Model):
    """A document of an application; its bytes are served to the applicant and the admin only."""

    __tablename__ = "filing_attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("filing_applications.id", ondelete="CASCADE"), index=True
    )
    doc_type: Mapped[str] = mapped_column(String(24))  # rules.DOCUMENTS
    filename: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime)
