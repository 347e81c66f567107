"""Read models: a family's own children and bookings, a nursery's own, waitlists and occupancy
(托位使用率), free places per session.

Reads never write: a page that wants current states runs the expiry use case first
(`booking.services.family.refresh`), then reads here.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from accounts.models import User
from audit import AuditEntry
from errors import NotFound
from extensions import db
from maps.domain import CARE_TYPES, CLASS_TYPES, class_age_range, class_capacity_limit
from maps.models import Nursery, NurseryClass, Offer, PlaceCounter
from maps.queries import price_regime

from . import slots as slot_keys
from . import waitlist
from .models import Booking, Child, Subsidy
from .rules import ENROLMENT_TYPES, HELD, IN_CARE, SESSIONS, STATUS_LABELS, months_old


def own_child(parent_id: int, child_id, include_deleted: bool = False) -> Child:
    """The parent's own child; anyone else's child does not exist for them."""
    child = db.session.get(Child, child_id) if isinstance(child_id, int) else None
    if child is None or child.parent_id != parent_id or (child.deleted_at and not include_deleted):
        raise NotFound("child_not_found", "未找到该孩子的信息")
    return child


def own_booking(parent_id: int, booking_id: int) -> Booking:
    """One of the parent's own bookings; anyone else's does not exist for them."""
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.parent_id != parent_id:
        raise NotFound("booking_not_found", "未找到该预约")
    return booking


def staff_booking(nursery_id: int, booking_id) -> Booking:
    """A booking at the staff member's own nursery; any other does not exist for them."""
    booking = db.session.get(Booking, booking_id) if isinstance(booking_id, int) else None
    if booking is None or booking.nursery_id != nursery_id:
        raise NotFound("booking_not_found", "未找到该预约")
    return booking


def staff_nursery(nursery_id: int) -> Nursery:
    """The staff member's own nursery, with its classes and offers."""
    return db.session.scalar(
        select(Nursery)
        .where(Nursery.id == nursery_id)
        .options(selectinload(Nursery.classes), selectinload(Nursery.offers))
    )


def class_dict(c: NurseryClass, kind: str) -> dict:
    """A class as the portal and the nursery API show it: its places against the lawful limit
    (the class maximum and carers × ratio) and the ages it admits."""
    low, high = class_age_range(kind, c.class_type)
    return {
        "id": c.id,
        "class_type": c.class_type,
        "label": c.label,
        "name": c.name,
        "carers": c.carers,
        "capacity": c.capacity,
        "limit": class_capacity_limit(kind, c.class_type, c.carers),
        "min_age_months": low,
        "max_age_months": high,
    }


def parent_bookings(parent_id: int) -> tuple[list[Booking], dict[int, int]]:
    """The parent's bookings, newest first, with waitlist positions."""
    rows = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.parent_id == parent_id)
            .order_by(Booking.id.desc())
            .options(
                selectinload(Booking.nursery),
                selectinload(Booking.child),
                selectinload(Booking.slots),
            )
        )
    )
    return rows, waitlist.positions(rows)


def nursery_bookings(nursery_id: int, statuses=None) -> tuple[list[Booking], dict[int, int]]:
    """The nursery's bookings in queue order (optionally of some statuses), with positions."""
    query = (
        select(Booking)
        .where(Booking.nursery_id == nursery_id)
        .order_by(Booking.priority.desc(), Booking.queued_at, Booking.id)
        .options(
            selectinload(Booking.child), selectinload(Booking.slots), selectinload(Booking.offer)
        )
    )
    if statuses:
        query = query.where(Booking.status.in_(statuses))
    rows = list(db.session.scalars(query))
    return rows, waitlist.positions(rows)


def children_of(parent_id: int) -> list[Child]:
    return list(
        db.session.scalars(
            select(Child)
            .where(Child.parent_id == parent_id, Child.deleted_at.is_(None))
            .order_by(Child.id)
        )
    )


def _when(b: Booking) -> str:
    if b.care_type == "hourly":
        return f"{b.start_date:%Y-%m-%d} {b.start_hour:02d}:00–{b.end_hour:02d}:00"
    if b.care_type == "temporary":
        end = b.end_date or b.start_date
        return f"{b.start_date:%Y-%m-%d}" + (f" 至 {end:%Y-%m-%d}" if end != b.start_date else "")
    session = f"（{SESSIONS[b.session]}）" if b.session in SESSIONS else ""
    return (
        f"{b.start_date:%Y-%m-%d} 起"
        + (f"至 {b.end_date:%Y-%m-%d}" if b.end_date else "")
        + session
    )


def booking_dict(b: Booking, position: int | None) -> dict:
    """A booking as its family sees it."""
    return {
        "id": b.id,
        "status": b.status,
        "status_label": STATUS_LABELS[b.status],
        "waitlist_position": position,
        "child_id": b.child_id,
        "nursery_id": b.nursery_id,
        "nursery_name": b.nursery.name,
        "care_type": b.care_type,
        "care_type_label": CARE_TYPES[b.care_type],
        "start_date": b.start_date.isoformat(),
        "end_date": b.end_date.isoformat() if b.end_date else None,
        "session": b.session,
        "start_time": f"{b.start_hour:02d}:00" if b.start_hour is not None else None,
        "end_time": f"{b.end_hour:02d}:00" if b.end_hour is not None else None,
        "when": _when(b),
        "price_yuan": float(b.price_yuan) if b.price_yuan is not None else None,
        "price_unit": b.price_unit,
        **price_regime(b.nursery.kind, b.nursery.inclusive),
        # Both: the operating subsidy the nursery receives (运营补贴), not the family's.
        "subsidy_yuan_per_year": b.subsidy_yuan_per_year,
        "operating_subsidy_yuan_per_year": b.subsidy_yuan_per_year,
        "offer_expires_at": b.offer_expires_at.isoformat() if b.offer_expires_at else None,
        "respond_by": b.respond_by.isoformat() if b.respond_by else None,
        "respond_by_provisional": b.respond_by_provisional,
        "reason": b.status_reason,
        "created_at": b.created_at.isoformat(),
    }


def staff_booking_dict(b: Booking, position: int | None, today: date) -> dict:
    """A booking as the nursery sees it: the child's data, shared under the family's consent."""
    child = b.child
    data = booking_dict(b, position)
    data.pop("nursery_name")
    data["child"] = {
        "name": child.name,
        "birth_date": child.birth_date.isoformat(),
        "age_months": months_old(child.birth_date, today),
        "health_notes": child.health_notes,
    }
    data["priority"] = b.priority
    return data


@dataclass
class OccupancyRow:
    care_type: str
    class_type: str | None
    slot_label: str
    capacity: int
    held: int

    @property
    def rate(self) -> float:
        return self.held / self.capacity if self.capacity else 0.0

    def as_dict(self) -> dict:
        return {
            "care_type": self.care_type,
            "class_type": self.class_type,
            "slot": self.slot_label,
            "capacity": self.capacity,
            "held": self.held,
            "rate": round(self.rate, 3),
        }


def children_in_care(today: date, nursery_id: int | None = None) -> dict[int, int]:
    """在托儿童 per nursery on `today` (rules.IN_CARE): children with a confirmed full- or
    half-day enrolment that has begun and not ended, each child once per nursery. The one
    definition behind 托位使用率 and 入托率, for the planner and the nursery alike."""
    query = (
        select(Booking.nursery_id, func.count(func.distinct(Booking.child_id)))
        .where(
            Booking.care_type.in_(ENROLMENT_TYPES),
            Booking.status.in_(IN_CARE),
            Booking.start_date <= today,
            or_(Booking.end_date.is_(None), Booking.end_date >= today),
        )
        .group_by(Booking.nursery_id)
    )
    if nursery_id is not None:
        query = query.where(Booking.nursery_id == nursery_id)
    return {nid: int(n) for nid, n in db.session.execute(query)}


def occupancy(nursery_id: int, today: date, weeks: int = 4) -> dict:
    """Places held ÷ places per care type and class, today and for each of the coming weeks.

    Enrolments count on the days they cover; hourly care by its busiest hour of the day;
    temporary care by day. A week's figure is the average of its days.
    """
    nursery = db.session.get(Nursery, nursery_id)
    offers = list(db.session.scalars(select(Offer).where(Offer.nursery_id == nursery_id)))
    enrolments = list(
        db.session.scalars(
            select(Booking).where(
                Booking.nursery_id == nursery_id,
                Booking.status.in_(HELD),
                Booking.care_type.in_(ENROLMENT_TYPES),
            )
        )
    )
    counters = defaultdict(dict)
    for offer_id, slot, taken in db.session.execute(
        select(PlaceCounter.offer_id, PlaceCounter.slot, PlaceCounter.taken).where(
            PlaceCounter.offer_id.in_([o.id for o in offers])
        )
    ):
        counters[offer_id][slot] = taken

    def held_on(offer: Offer, day: date, session: str | None = None) -> int:
        if offer.care_type in ENROLMENT_TYPES:
            return sum(
                1
                for b in enrolments
                if b.offer_id == offer.id
                and (session is None or b.session == session)
                and b.start_date <= day
                and (b.end_date is None or day <= b.end_date)
            )
        if offer.care_type == "temporary":
            return counters[offer.id].get(slot_keys.day(day), 0)
        return max(slot_keys.hours_taken(counters[offer.id], day), default=0)

    rows = []
    for offer in offers:
        sessions = offer.session_list() if offer.care_type == "half_day" else [None]
        for session in sessions:
            label = SESSIONS.get(session or "", "")
            days = [today + timedelta(days=i) for i in range(7 * weeks)]
            per_day = [held_on(offer, d, session) for d in days]
            weekly = [sum(per_day[i * 7 : (i + 1) * 7]) / 7 for i in range(weeks)]
            rows.append(
                {
                    **OccupancyRow(
                        offer.care_type, offer.class_type, label, offer.capacity, per_day[0]
                    ).as_dict(),
                    "care_type_label": CARE_TYPES[offer.care_type],
                    "class_label": CLASS_TYPES[offer.class_type].label
                    if offer.class_type
                    else "未指明班级",
                    "weeks": [
                        {
                            "from": days[i * 7].isoformat(),
                            "held": round(w, 1),
                            "rate": round(w / offer.capacity, 3) if offer.capacity else 0.0,
                        }
                        for i, w in enumerate(weekly)
                    ],
                }
            )
    total_capacity = sum(r["capacity"] for r in rows)
    total_held = sum(r["held"] for r in rows)
    in_care = children_in_care(today, nursery.id).get(nursery.id, 0)
    places = nursery.capacity or 0
    return {
        "nursery_id": nursery.id,
        "date": today.isoformat(),
        # 托位使用率 as the district counts it: children in care ÷ the filed 托位数
        "rate": round(in_care / places, 3) if places else 0.0,
        "in_care": in_care,
        "places": places,
        # places held (pending, confirmed, offered) ÷ places offered, over every care type
        "held_rate": round(total_held / total_capacity, 3) if total_capacity else 0.0,
        "rows": rows,
    }


def session_free(nursery: Nursery) -> dict[tuple[str | None, str], int]:
    """Free half-day places per (class type, session): the booking page shows each session's."""
    offers = {o.id: o for o in nursery.offers if o.care_type == "half_day"}
    taken = {
        (offer_id, slot): n
        for offer_id, slot, n in db.session.execute(
            select(PlaceCounter.offer_id, PlaceCounter.slot, PlaceCounter.taken).where(
                PlaceCounter.offer_id.in_(list(offers)), PlaceCounter.slot.in_(list(SESSIONS))
            )
        )
    }
    return {
        (o.class_type, s): slot_keys.free(o.capacity, taken.get((o.id, s), 0))
        for o in offers.values()
        for s in o.session_list()
    }


def subsidies() -> list[dict]:
    """The district's operating subsidies to inclusive nurseries (运营补贴, per child per year)
    by class type, in the order of the class standards."""
    rows = db.session.scalars(select(Subsidy)).all()
    order = list(CLASS_TYPES)
    return [
        {"label": CLASS_TYPES[s.class_type].label, "yuan": s.yuan_per_year, "source": s.source}
        for s in sorted(
            rows, key=lambda s: order.index(s.class_type) if s.class_type in order else 9
        )
        if s.class_type in CLASS_TYPES
    ]


def subsidy_rows() -> list[tuple[str, int, str]]:
    """The operating subsidies in force as (class type, yuan per child per year, source)."""
    return [(s.class_type, s.yuan_per_year, s.source) for s in db.session.scalars(select(Subsidy))]


def status_counts(nursery_id: int) -> dict[str, int]:
    """How many of the nursery's bookings are in each status."""
    return dict(
        db.session.execute(
            select(Booking.status, func.count(Booking.id))
            .where(Booking.nursery_id == nursery_id)
            .group_by(Booking.status)
        ).all()
    )


def move_reasons(booking_ids: list[int]) -> dict[int, list[dict]]:
    """Why each booking was moved to the front of its queue, when and by whom (audit log)."""
    if not booking_ids:
        return {}
    entries = db.session.execute(
        select(AuditEntry, User.username, User.name)
        .outerjoin(User, User.id == AuditEntry.actor_id)
        .where(
            AuditEntry.action == "waitlist.move_to_front",
            AuditEntry.subject_type == "booking",
            AuditEntry.subject_id.in_(booking_ids),
        )
        .order_by(AuditEntry.at, AuditEntry.id)
    ).all()
    result: dict[int, list[dict]] = {}
    for entry, username, name in entries:
        result.setdefault(entry.subject_id, []).append(
            {"reason": entry.reason, "at": entry.at, "by": name or username or "—"}
        )
    return result
