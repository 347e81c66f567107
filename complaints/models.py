"""Complaints (投诉举报), the departments they are routed to, their timeline and photos.

The tracking code is a bearer secret: only its SHA-256 is stored, as with API tokens. The
complainant's identity (name, phone, email) lives only on the complaint row and is read by
`services.contact_for` alone, which audits every read.
"""

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db

# status → label shown to the public and handlers
STATUSES = {
    "submitted": "待受理",
    "accepted": "办理中",
    "awaiting_info": "待补充材料",
    "reopened": "复查中",
    "resolved": "已办结",
    "closed": "已关闭",
    "duplicate": "已合并办理",
}
OPEN_STATUSES = ("submitted", "accepted", "awaiting_info", "reopened")
RATINGS = {"satisfied": "满意", "basically": "基本满意", "dissatisfied": "不满意"}
ROLES = {"lead": "牵头", "co": "协办", "informed": "知会"}


class Complaint(db.Model):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="web")  # web | open311
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    category_chosen: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))  # the one routing used
    description: Mapped[str] = mapped_column(Text)
    nursery_id: Mapped[int | None] = mapped_column(ForeignKey("nurseries.id"), index=True)
    site_name: Mapped[str | None] = mapped_column(String(100))  # an unregistered site
    site_address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)  # WGS-84
    lon: Mapped[float | None] = mapped_column(Float)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    lead_department: Mapped[str] = mapped_column(String(32), index=True)
    pending_transfer_to: Mapped[str | None] = mapped_column(String(32), index=True)
    transfer_reason: Mapped[str | None] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    accept_by: Mapped[datetime] = mapped_column(DateTime)
    conclude_by: Mapped[datetime] = mapped_column(DateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    extended_days: Mapped[int | None] = mapped_column(Integer)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)  # public
    rating: Mapped[str | None] = mapped_column(String(16))
    rated_at: Mapped[datetime | None] = mapped_column(DateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    routing_reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings
    complainant_name: Mapped[str | None] = mapped_column(String(32))
    complainant_phone: Mapped[str | None] = mapped_column(String(20))
    complainant_email: Mapped[str | None] = mapped_column(String(100))

    departments: Mapped[list["ComplaintDepartment"]] = relationship(
        cascade="all, delete-orphan", order_by="ComplaintDepartment.id"
    )
    events: Mapped[list["ComplaintEvent"]] = relationship(
        cascade="all, delete-orphan", order_by="ComplaintEvent.id"
    )
    photos: Mapped[list["ComplaintPhoto"]] = relationship(
        cascade="all, delete-orphan", order_by="ComplaintPhoto.id"
    )
    nursery = relationship("Nursery")
    street = relationship("Street")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]

    @property
    def anonymous(self) -> bool:
        return not (self.complainant_name or self.complainant_phone or self.complainant_email)

    def role_of(self, department: str) -> str | None:
        for d in self.departments:
            if d.department == department:
                return d.role
        return None

    def next_deadline(self) -> datetime | None:
        """What the case waits for next: acceptance, then conclusion; none once finished."""
        if self.status == "submitted":
            return self.accept_by
        if self.is_open:
            return self.conclude_by
        return None

    def overdue(self, now: datetime) -> bool:
        deadline = self.next_deadline()
        return deadline is not None and deadline < now


class ComplaintDepartment(db.Model):
    """A department a complaint is routed to, as lead, co-handler or informed (知会)."""

    __tablename__ = "complaint_departments"
    __table_args__ = (UniqueConstraint("complaint_id", "department"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    department: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | co | informed


class ComplaintEvent(db.Model):
    """One line of a case's timeline; `public` lines show on the tracking page."""

    __tablename__ = "complaint_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)


class ComplaintPhoto(db.Model):
    """A photo re-encoded from its pixels only (no EXIF, no GPS), served to routed handlers."""

    __tablename__ = "complaint_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RulesVersion(db.Model):
    """A saved version of the routing rules (the JSON an admin edits); the newest applies."""

    __tablename__ = "complaint_rules_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    saved_at: Mapped[datetime] = mapped_column(DateTime)
    saved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[str] = mapped_column(Text)
