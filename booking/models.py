"""Children, consents, bookings and the counters that hold places.

`Booking` carries its state machine: which transitions are allowed, for whom (`can_cancel`,
`can_accept`, `can_confirm`, `can_decline`, `can_move_to_front`), and the transitions themselves
(`hold`, `offer_place`, `confirm`, `close`, `move_to_front`). Services ask and perform them, views
and templates ask them; nothing here commits (the use case does, see `database.use_case`).
"""

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    and_,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from extensions import db
from maps.models import Nursery, Offer, PlaceCounter  # noqa: F401  (re-exported)
from workdays import calendar

from .rules import ACTIVE, ENDED, ENROLMENT_TYPES, HELD, STATUS_LABELS


class InvalidTransition(ValueError):
    """A transition the booking's status does not allow (a bug: services ask `can_…` first)."""


class Child(db.Model):
    """A child registered by a guardian, after the guardian's consent to the stated rules."""

    __tablename__ = "children"
    id: Mapped[int] = mapped_column(primary_key=True)
    # None once anonymised (匿名化: the account was deleted or the retention period ran out)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
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
    # None once anonymised: the booking stays in the nursery's figures, linked to no person
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
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
    # The operating subsidy (运营补贴, 荣昌 item 11) the NURSERY receives for this child per year,
    # recorded at booking; not a benefit the family receives, and not taken off `price_yuan`
    # (what the family pays). The name is kept for the API's compatibility.
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
    def respond_by_provisional(self) -> bool:
        """Whether the nursery's answer deadline was counted over a year whose holiday
        arrangement is not loaded (暂定): counted again when it is loaded
        (`waitlist.recount_respond_by`)."""
        return (
            self.status == "pending"
            and self.respond_by is not None
            and calendar.provisional(self.updated_at, self.respond_by)
        )

    @property
    def holds_place(self) -> bool:
        """Pending, confirmed or offered: a place is held in every slot of the booking."""
        return self.status in HELD

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def is_enrolment(self) -> bool:
        return self.care_type in ENROLMENT_TYPES

    def slot_keys(self) -> list[str]:
        return [s.slot for s in self.slots]

    # --- who may do what ------------------------------------------------------------------
    # `user` is anything with `id`, `role` and `nursery_id`: a logged-in User, or the
    # `booking.rules.Actor` a service builds from the ids it is given.

    def is_family_of(self, user) -> bool:
        """The parent who made the booking."""
        return user is not None and user.role == "parent" and user.id == self.parent_id

    def is_staff_of(self, user) -> bool:
        """Staff of the nursery the booking is at."""
        return (
            user is not None
            and user.role == "nursery_staff"
            and user.nursery_id is not None
            and user.nursery_id == self.nursery_id
        )

    def can_cancel(self, user) -> bool:
        """The family may cancel (or leave the waitlist, or turn down an offer) while active."""
        return self.is_family_of(user) and self.is_active

    def offer_lapsed(self, now: datetime) -> bool:
        """An offered place whose hold has run out (it expires at the next expiry run)."""
        return (
            self.status == "offered"
            and self.offer_expires_at is not None
            and self.offer_expires_at <= now
        )

    def can_accept(self, user, now: datetime) -> bool:
        """The family may accept an offered place until its hold runs out."""
        return self.is_family_of(user) and self.status == "offered" and not self.offer_lapsed(now)

    def can_confirm(self, user) -> bool:
        """The nursery may confirm a pending request."""
        return self.is_staff_of(user) and self.status == "pending"

    def can_decline(self, user) -> bool:
        """The nursery may decline a pending request (with a reason the family sees)."""
        return self.is_staff_of(user) and self.status == "pending"

    def can_move_to_front(self, user) -> bool:
        """The nursery may move a waiting family to the front of its queue (with a reason)."""
        return self.is_staff_of(user) and self.status == "waitlisted"

    def is_due(self, now: datetime) -> bool:
        """Past a deadline: an offer not accepted in time, a request not answered in time."""
        return self.offer_lapsed(now) or (
            self.status == "pending" and self.respond_by is not None and self.respond_by <= now
        )

    @classmethod
    def due(cls, now: datetime) -> ColumnElement[bool]:
        """`is_due` as a query condition."""
        return or_(
            and_(cls.status == "offered", cls.offer_expires_at <= now),
            and_(cls.status == "pending", cls.respond_by <= now),
        )

    # --- transitions (the caller releases or takes places and notifies) --------------------

    def _require(self, statuses: tuple[str, ...], transition: str) -> None:
        if self.status not in statuses:
            raise InvalidTransition(f"booking {self.id}: cannot {transition} from {self.status}")

    def hold(self, now: datetime, respond_by: datetime | None) -> None:
        """The booking now holds its places: pending (the nursery answers by `respond_by`) for
        enrolments, confirmed at once for hourly and temporary care."""
        self._require(("waitlisted", "offered"), "hold")
        if self.is_enrolment:
            self.status = "pending"
            self.respond_by = respond_by
        else:
            self.status = "confirmed"
        self.offer_expires_at = None
        self.updated_at = now

    def offer_place(self, now: datetime, expires_at: datetime) -> None:
        """A place freed up for a waiting family: held for it until `expires_at`."""
        self._require(("waitlisted",), "offer a place")
        self.status = "offered"
        self.offer_expires_at = expires_at
        self.updated_at = now

    def confirm(self, now: datetime) -> None:
        """The nursery confirms a pending request."""
        self._require(("pending",), "confirm")
        self.status, self.respond_by, self.updated_at = "confirmed", None, now

    def close(self, status: str, reason: str | None, now: datetime) -> bool:
        """End an active booking (declined, cancelled or expired); returns whether it held places,
        which the caller gives back."""
        if status not in ENDED:
            raise InvalidTransition(f"booking {self.id}: {status} is not an end")
        self._require(ACTIVE, status)
        held = self.holds_place
        self.status = status
        self.status_reason = reason
        self.offer_expires_at = None
        self.respond_by = None
        self.updated_at = now
        return held

    def move_to_front(self, priority: int, now: datetime) -> None:
        """Put a waiting booking ahead of its queue (`priority`: above the queue's highest)."""
        self._require(("waitlisted",), "move to the front")
        self.priority = priority
        self.updated_at = now


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
    """The district's operating subsidy (运营补贴) paid to a filed inclusive nursery per child per
    year, by class type (data; 荣昌 item 11: 托大班 700, 托小班 800, 乳儿班 900 元). The nursery
    receives it; families pay the offer's price and receive nothing from it."""

    __tablename__ = "subsidies"
    id: Mapped[int] = mapped_column(primary_key=True)
    class_type: Mapped[str] = mapped_column(String(16), unique=True)
    yuan_per_year: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(100))
