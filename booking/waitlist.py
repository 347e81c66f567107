"""Waitlists and offers: releasing places, offering them to the next family, expiry, positions.

Role: domain logic that works on the session inside the caller's use case (it never commits);
the booking's own transitions are `Booking` methods, this module decides who gets a place.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import aliased, selectinload

from extensions import db
from maps.domain import CARE_TYPES
from maps.models import Offer
from notifications.services import notify
from workdays.calendar import add_working_days

from . import capacity
from .models import Booking, BookingSlot


@dataclass(frozen=True)
class Settings:
    """Booking settings from configuration."""

    horizon_days: int = 90
    temporary_max_days: int = 15
    response_working_days: int = 3
    offer_hold_hours: int = 48
    rules_version: str = "2026-11"

    @classmethod
    def from_config(cls, config) -> "Settings":
        return cls(
            config["BOOKING_HORIZON_DAYS"],
            config["TEMPORARY_MAX_DAYS"],
            config["NURSERY_RESPONSE_WORKING_DAYS"],
            config["OFFER_HOLD_HOURS"],
            config["CONSENT_RULES_VERSION"],
        )


def label(b: Booking) -> str:
    """How a booking is named in messages: nursery and care type, never the child's name."""
    return f"{b.nursery.name}的{CARE_TYPES[b.care_type]}预约（编号 {b.id}）"


def hold(b: Booking, settings: Settings, now: datetime) -> None:
    """The booking now holds its places: pending for enrolments (the nursery answers within
    the working days of the settings), confirmed otherwise."""
    respond_by = add_working_days(now, settings.response_working_days) if b.is_enrolment else None
    b.hold(now, respond_by)


def recount_respond_by(b: Booking, working_days: int) -> bool:
    """A pending request's answer deadline counted again on the calendar in force (a year's
    holiday arrangement was loaded), from when it took its places — its last change, as only
    confirming or ending it changes a pending booking. Returns whether it moved."""
    if b.status != "pending" or b.respond_by is None:
        return False
    respond_by = add_working_days(b.updated_at, working_days)
    moved, b.respond_by = respond_by != b.respond_by, respond_by
    return moved


def end(b: Booking, status: str, reason: str | None, settings: Settings, now: datetime) -> None:
    """Close a booking; if it held places, give them back and offer them to the next family."""
    if b.close(status, reason, now):
        capacity.release(b.offer_id, b.slot_keys())
        db.session.flush()
        offer_next_in_class(b.offer, settings, now)


def offer_next_in_class(offer: Offer, settings: Settings, now: datetime) -> list[Booking]:
    """Offer places freed in an offer's class: first to its own queue, then to the queues of the
    class's other care types (their children share the room, so a freed hour of hourly care can
    be the moment a waiting enrolment lacked)."""
    offered = offer_next(offer, settings, now)
    for peer in offer.nursery.offers:  # in id order
        if peer.class_type == offer.class_type and peer is not offer:
            offered += offer_next(peer, settings, now)
    return offered


def offer_next(offer: Offer, settings: Settings, now: datetime) -> list[Booking]:
    """Offer free places to waiting families in queue order.

    A family later in the queue never gets a slot that an earlier family is still waiting for.
    """
    waiting = db.session.scalars(
        select(Booking)
        .where(Booking.offer_id == offer.id, Booking.status == "waitlisted")
        .order_by(Booking.priority.desc(), Booking.queued_at, Booking.id)
        .options(selectinload(Booking.slots))
    ).all()
    if not waiting:
        return []
    offered, blocked = [], set()
    today = now.date()
    for b in waiting:
        keys = set(b.slot_keys())
        if b.start_date < today and not b.is_enrolment:
            # Dated care whose day has passed can no longer be offered.
            b.close("expired", "候补期间预约日期已过", now)
            notify(b.parent_id, f"{label(b)}在候补期间已过预约日期，已自动结束。", "booking", b.id)
            continue
        if keys & blocked:
            blocked |= keys
            continue
        if capacity.try_take(offer, list(keys), today):
            b.offer_place(now, now + timedelta(hours=settings.offer_hold_hours))
            offered.append(b)
            notify(
                b.parent_id,
                f"好消息：{label(b)}有空位了，已为您保留至 {b.offer_expires_at:%m月%d日 %H:%M}，"
                "请在此之前确认接受。",
                "booking",
                b.id,
            )
        else:
            blocked |= keys
    return offered


def anything_due(now: datetime) -> bool:
    """Whether any offer or request is past its deadline (a read: one indexed look-up)."""
    return db.session.scalar(select(Booking.id).where(Booking.due(now)).limit(1)) is not None


def nurseries_due(now: datetime) -> list[int]:
    """The nurseries with an offer or request past its deadline, in id order (a read)."""
    return list(
        db.session.scalars(
            select(Booking.nursery_id)
            .where(Booking.due(now))
            .distinct()
            .order_by(Booking.nursery_id)
        )
    )


def expire_due(settings: Settings, now: datetime, nursery_id: int) -> int:
    """Expire one nursery's offers and unanswered requests past their deadline, inside the
    caller's use case (which holds the nursery's lock)."""
    due = db.session.scalars(
        select(Booking)
        .where(Booking.due(now), Booking.nursery_id == nursery_id)
        .order_by(Booking.id)
        .options(selectinload(Booking.slots))
    ).all()
    for b in due:
        if b.status == "offered":
            reason, text = (
                "未在保留期内接受递补",
                f"{label(b)}的递补保留期已过，名额已递补给下一位。",
            )
        else:
            reason, text = (
                "机构未在规定时间内确认",
                f"{label(b)}机构未按时确认，预约已过期，托位已释放。",
            )
        notify(b.parent_id, text, "booking", b.id)
        end(b, "expired", reason, settings, now)
    return len(due)


def positions(bookings: list[Booking]) -> dict[int, int]:
    """Waitlist position (1 = next in line) of each waitlisted booking among those it shares a
    slot with."""
    waiting = [b for b in bookings if b.status == "waitlisted"]
    if not waiting:
        return {}
    mine, other = aliased(BookingSlot), aliased(BookingSlot)
    ahead = aliased(Booking)
    result = {}
    for b in waiting:
        earlier = or_(
            ahead.priority > b.priority,
            and_(ahead.priority == b.priority, ahead.queued_at < b.queued_at),
            and_(ahead.priority == b.priority, ahead.queued_at == b.queued_at, ahead.id < b.id),
        )
        count = db.session.scalar(
            select(func.count(func.distinct(ahead.id)))
            .select_from(mine)
            .join(other, and_(other.offer_id == mine.offer_id, other.slot == mine.slot))
            .join(ahead, ahead.id == other.booking_id)
            .where(mine.booking_id == b.id, ahead.status == "waitlisted", earlier)
        )
        result[b.id] = count + 1
    return result
