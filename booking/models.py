"""Children, consents, bookings and the counters that hold places."""

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from maps.models import Nursery, Offer, PlaceCounter  # noqa: F401  (re-exported)

from .rules import ACTIVE, HELD


class Child(db.Model):
    """A child registered by a guardian, after the guardian's consent to the stated rules."""

    __tablename__ = "children"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(64))  # None once deleted
    birth_date: Mapped[date] = mapped_column(Date)
    health_notes: Mapped[str | None] = mapped_column(Text)
    consent_version: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[datetime] = mapped_column(DateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime)


class NurseryConsent(db.Model):
    """A guardian's consent to share one child's data with one named nursery."""

    __tablename__ = "nursery_consents"
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    nursery_id: Mapped[int] = mapped_column(ForeignKey("nurseries.id"))
    rules_version: Mapped[str] = mapped_column(String(16))
    given_at: Mapped[datetime] = mapped_column(DateTime)
    __table_args__ = (UniqueConstraint("child_id", "nursery_id", name="uq_consent"),)


class Booking(db.Model):
    """入托预约: a request for a place of one care type at one nursery."""

    __tablename__ = "bookings"
    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    nursery_id: Mapped[int] = mapped_column(ForeignKey("nurseries.id"), index=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    care_type: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date | None] = mapped_column(Date)
    session: Mapped[str | None] = mapped_column(String(2))
    start_hour: Mapped[int | None] = mapped_column(Integer)
    end_hour: Mapped[int | None] = mapped_column(Integer)
    price_yuan: Mapped[float | None] = mapped_column(Numeric(10, 2))
    price_unit: Mapped[str | None] = mapped_column(String(8))
    subsidy_yuan_per_year: Mapped[int | None] = mapped_column(Integer)
    # Waitlist order: higher priority first (a nursery's recorded decision), then queue time.
    priority: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime)
    respond_by: Mapped[datetime | None] = mapped_column(DateTime)  # pending: nursery's deadline
    offer_expires_at: Mapped[datetime | None] = mapped_column(DateTime)
    status_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)

    child: Mapped[Child] = relationship()
    nursery: Mapped[Nursery] = relationship()
    offer: Mapped[Offer] = relationship()
    slots: Mapped[list["BookingSlot"]] = relationship(
        cascade="all, delete-orphan", order_by="BookingSlot.slot"
    )

    __table_args__ = (
        Index("ix_booking_queue", "offer_id", "status", "priority", "queued_at"),
        CheckConstraint(
            "status IN ('pending','confirmed','waitlisted','offered','declined','cancelled',"
            "'expired')",
            name="ck_booking_status",
        ),
    )

    @property
    def holds_place(self) -> bool:
        return self.status in HELD

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    def slot_keys(self) -> list[str]:
        return [s.slot for s in self.slots]


class BookingSlot(db.Model):
    """A slot a booking holds or waits for; lets a release free exactly what was taken."""

    __tablename__ = "booking_slots"
    booking_id: Mapped[int] = mapped_column(
        ForeignKey("bookings.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[str] = mapped_column(String(16), primary_key=True)
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"))
    __table_args__ = (Index("ix_booking_slot_offer", "offer_id", "slot"),)


class Subsidy(db.Model):
    """The district's yearly subsidy per child at an inclusive nursery, by class type (data)."""

    __tablename__ = "subsidies"
    id: Mapped[int] = mapped_column(primary_key=True)
    class_type: Mapped[str] = mapped_column(String(16), unique=True)
    yuan_per_year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(100))
