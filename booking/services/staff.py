"""Nursery staff's use cases: confirm or decline, run the waitlist, classes, offers and prices.

Each write use case checks its input first, then makes its changes inside `use_case()`, which
commits them (or rolls them back on any error) and delivers the notifications afterwards.
"""

from datetime import datetime, time
from decimal import Decimal, InvalidOperation

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

import audit
from database import lock_nurseries, use_case
from errors import Conflict, DomainError, NotFound
from extensions import db
from maps.domain import (
    CARE_TYPES,
    CLASS_TYPES,
    DEFAULT_PRICE_UNIT,
    PRICE_UNITS,
)
from maps.models import Nursery, NurseryClass, Offer, bump_registry_version, price_rules
from maps.pricing import PriceRuleError, check_price
from maps.standards import ClassSpec, OfferSpec, breaches_of_change, class_specs, offer_specs
from notifications.services import notify

from .. import capacity, waitlist
from ..models import Booking, Child
from ..queries import staff_booking
from ..rules import ENROLMENT_TYPES, Actor, periods_overlap
from ..slots import OFFER_SESSIONS
from ..waitlist import Settings, label

MAX_REASON = 200


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def _reason(reason, required: bool) -> str | None:
    if reason is None or (isinstance(reason, str) and not reason.strip()):
        if required:
            raise DomainError("reason_required", "请填写原因（会告知家长）", field="reason")
        return None
    if not isinstance(reason, str) or len(reason.strip()) > MAX_REASON:
        raise DomainError("invalid_reason", f"原因不能超过 {MAX_REASON} 个字", field="reason")
    return reason.strip()


def confirm(staff_id: int, nursery_id: int, booking_id, settings: Settings, now=None) -> Booking:
    """Confirm a pending enrolment; the child's other waiting enrolment requests are withdrawn."""
    now = _now(now)
    with use_case(nurseries=[nursery_id, *_other_enrolment_nurseries(nursery_id, booking_id)]):
        waitlist.expire_due(settings, now, nursery_id)
        booking = staff_booking(nursery_id, booking_id)
        if not booking.can_confirm(Actor.staff(staff_id, nursery_id)):
            raise Conflict("not_pending", f"该预约当前状态为“{booking.status_label}”，不能确认")
        booking.confirm(now)
        audit.record(staff_id, "booking.confirm", "booking", booking.id, at=now)
        notify(
            booking.parent_id,
            f"{label(booking)}已由机构确认，欢迎入托！",
            "booking",
            booking.id,
            now,
        )
        if booking.is_enrolment:
            _withdraw_other_enrolments(booking, settings, now)
    return booking


def _other_enrolments(child_id: int, booking_id: int):
    return (
        Booking.child_id == child_id,
        Booking.id != booking_id,
        Booking.status.in_(("pending", "offered", "waitlisted")),
        Booking.care_type.in_(ENROLMENT_TYPES),
    )


def _other_enrolment_nurseries(nursery_id: int, booking_id) -> list[int]:
    """The nurseries where a confirmation may withdraw the child's other requests (a read
    before the use case, so that it locks them all at once, in order)."""
    booking = staff_booking(nursery_id, booking_id)
    return list(
        db.session.scalars(
            select(Booking.nursery_id)
            .where(*_other_enrolments(booking.child_id, booking.id))
            .distinct()
        )
    )


def _withdraw_other_enrolments(booking: Booking, settings: Settings, now) -> None:
    """The child's other waiting, offered or pending enrolments for an overlapping period give
    their places to other families."""
    others = list(
        db.session.scalars(
            select(Booking)
            .where(*_other_enrolments(booking.child_id, booking.id))
            .options(selectinload(Booking.slots))
        )
    )
    lock_nurseries(o.nursery_id for o in others)  # a request made since the read above
    for other in others:
        if periods_overlap(booking.start_date, booking.end_date, other.start_date, other.end_date):
            # The other nursery sees this reason: it must not learn where the child enrolled.
            waitlist.end(other, "cancelled", "已在其他机构确认入托，自动撤回", settings, now)
            notify(
                other.parent_id,
                f"孩子已确认入托，{label(other)}已自动撤回，名额让给其他家庭。",
                "booking",
                other.id,
                now,
            )


def decline(
    staff_id: int, nursery_id: int, booking_id, reason, settings: Settings, now=None
) -> Booking:
    """Decline a pending request with a reason the family sees; the place goes to the next one."""
    now = _now(now)
    staff_booking(nursery_id, booking_id)  # another nursery's: 404 before its input is judged
    reason = _reason(reason, required=True)
    with use_case(nurseries=[nursery_id]):
        waitlist.expire_due(settings, now, nursery_id)
        booking = staff_booking(nursery_id, booking_id)
        if not booking.can_decline(Actor.staff(staff_id, nursery_id)):
            raise Conflict("not_pending", f"该预约当前状态为“{booking.status_label}”，不能婉拒")
        waitlist.end(booking, "declined", reason, settings, now)
        audit.record(staff_id, "booking.decline", "booking", booking.id, reason, at=now)
        notify(
            booking.parent_id,
            f"很抱歉，{label(booking)}未被接受。原因：{reason}",
            "booking",
            booking.id,
            now,
        )
    return booking


def move_to_front(
    staff_id: int, nursery_id: int, booking_id, reason, settings: Settings, now=None
) -> Booking:
    """Move a waiting family to the front of its queue, with a recorded, audited reason."""
    now = _now(now)
    staff_booking(nursery_id, booking_id)  # another nursery's: 404 before its input is judged
    reason = _reason(reason, required=True)
    with use_case(nurseries=[nursery_id]):
        booking = staff_booking(nursery_id, booking_id)
        if not booking.can_move_to_front(Actor.staff(staff_id, nursery_id)):
            raise Conflict("not_waitlisted", "只能调整候补中的预约")
        top = db.session.scalar(
            select(func.max(Booking.priority)).where(
                Booking.offer_id == booking.offer_id, Booking.status == "waitlisted"
            )
        )
        booking.move_to_front((top or 0) + 1, now)
        audit.record(staff_id, "waitlist.move_to_front", "booking", booking.id, reason, at=now)
        waitlist.offer_next(booking.offer, settings, now)
    return booking


def _one_of(value, allowed) -> bool:
    """Whether a submitted value is one of the allowed codes (a list or number never is)."""
    return isinstance(value, str) and value in allowed


def _price(value) -> Decimal:
    try:
        price = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DomainError("invalid_price", "价格须为数字（元）", field="price_yuan") from None
    if not price.is_finite() or price < 0 or price > 100_000:
        raise DomainError("invalid_price", "价格须在 0 到 100000 元之间", field="price_yuan")
    return price.quantize(Decimal("0.01"))


def set_offer(
    staff_id: int,
    nursery_id: int,
    care_type,
    capacity_value,
    price_yuan,
    settings: Settings,
    class_type=None,
    price_unit=None,
    sessions=None,
    now=None,
) -> Offer:
    """Create or change an offer: places, price (within the nursery's price regime), unit and
    (half day) sessions."""
    now = _now(now)
    if care_type not in CARE_TYPES:
        raise DomainError(
            "invalid_care_type",
            "托育类型须为 full_day、half_day、hourly 或 temporary",
            field="care_type",
        )
    if class_type is not None and not _one_of(class_type, CLASS_TYPES):
        raise DomainError(
            "invalid_class_type", "班级类型须为 infant、toddler、older 或 mixed", field="class_type"
        )
    if (
        isinstance(capacity_value, bool)
        or not isinstance(capacity_value, int)
        or not 0 <= capacity_value <= 1000
    ):
        raise DomainError("invalid_capacity", "托位数须为 0 到 1000 的整数", field="capacity")
    price = _price(price_yuan)
    if price_unit is not None and not _one_of(price_unit, PRICE_UNITS):
        raise DomainError(
            "invalid_price_unit", "计价单位须为 month、session、hour 或 day", field="price_unit"
        )
    if sessions is not None and (care_type != "half_day" or not _one_of(sessions, OFFER_SESSIONS)):
        raise DomainError("invalid_sessions", "半日托时段须为 am、pm 或 am,pm", field="sessions")
    if class_type is None and capacity_value > 0:
        # Places "for every age" belong to no class; such an offer on file may only be closed.
        raise DomainError(
            "no_class", "请选择托位所属的班级：每个托位须属于一个班级", field="class_type"
        )
    with use_case(nurseries=[nursery_id]):
        nursery = db.session.scalar(
            select(Nursery)
            .where(Nursery.id == nursery_id)
            .options(selectinload(Nursery.offers), selectinload(Nursery.classes))
        )
        offer = next(
            (o for o in nursery.offers if o.care_type == care_type and o.class_type == class_type),
            None,
        )
        unit = price_unit or (offer.price_unit if offer else _default_unit(care_type))
        _refuse_price(nursery, care_type, class_type, price, unit)
        if capacity_value > (offer.capacity if offer else 0):  # fewer places never break a limit
            planned = offer_specs(o for o in nursery.offers if o is not offer)
            planned.append(OfferSpec(care_type, class_type, capacity_value))
            _refuse_breaches(nursery.kind, class_specs(nursery.classes), planned, {class_type})
        if offer is None:
            offer = Offer(
                nursery_id=nursery.id,
                care_type=care_type,
                class_type=class_type,
                price_yuan=price,
                price_unit=price_unit or _default_unit(care_type),
                capacity=capacity_value,
                sessions=sessions,
            )
            db.session.add(offer)
        else:
            if sessions and offer.care_type == "half_day":
                dropped = set(offer.session_list()) - set(sessions.split(","))
                busy = [
                    s
                    for s, free in capacity.free_in(offer, sorted(dropped)).items()
                    if free < offer.capacity
                ]
                if busy:
                    raise Conflict(
                        "session_in_use",
                        "该时段还有家庭的预约占用托位，不能停开（请先处理这些预约）",
                        field="sessions",
                    )
            held = capacity.set_capacity(offer, capacity_value, now.date())
            if held is not None:
                raise Conflict(
                    "capacity_below_held",
                    f"已有 {held} 个托位被占用（含待确认和递补保留），托位数不能低于 {held}",
                    field="capacity",
                )
            offer.price_yuan = price
            if price_unit:
                offer.price_unit = price_unit
            if sessions:
                offer.sessions = sessions
        db.session.flush()
        audit.record(
            staff_id,
            "offer.set",
            "offer",
            offer.id,
            f"{care_type} capacity={capacity_value} price={price}",
            at=now,
        )
        waitlist.offer_next_in_class(offer, settings, now)
        bump_registry_version()
    return offer


def _default_unit(care_type: str) -> str:
    return DEFAULT_PRICE_UNIT[care_type]


def _refuse_price(nursery: Nursery, care_type: str, class_type, price: Decimal, unit: str) -> None:
    """Refuse a price outside the nursery's regime (荣昌/大足 item 9): above the 普惠 cap,
    outside the guided range, or in another unit than the district's rule (maps/pricing.py)."""
    try:
        check_price(
            price_rules(), nursery.kind, nursery.inclusive, care_type, class_type, price, unit
        )
    except PriceRuleError as exc:
        raise DomainError(exc.code, exc.message, field=exc.field) from None


# Refusals that depend on the nursery's other data are conflicts; a class's own limits are not.
_CONFLICTS = {"capacity_exceeds_class", "no_class"}
_FIELDS = {"no_class": "class_type", "age_outside_class": "class_type"}


def _refuse_breaches(kind: str, classes, offers, class_types) -> None:
    """Refuse a change that would leave a breach of the national limits in these class types
    (maps/standards.py), with every such breach's numbers in the message."""
    found = breaches_of_change(kind, classes, offers, class_types)
    if found:
        first = found[0]
        raise DomainError(
            first.code,
            "；".join(dict.fromkeys(b.message for b in found)),
            status=409 if first.code in _CONFLICTS else 400,
            field=_FIELDS.get(first.code, "capacity"),
        )


def _own_class(nursery: Nursery, class_id) -> NurseryClass:
    cls = next((c for c in nursery.classes if c.id == class_id), None)
    if cls is None:
        raise NotFound("class_not_found", "未找到该班级")
    return cls


def _refile_capacity(nursery: Nursery) -> None:
    """The filed 托位数 follows the classes: the sum of their places."""
    db.session.flush()
    nursery.capacity = (
        db.session.scalar(
            select(func.sum(NurseryClass.capacity)).where(NurseryClass.nursery_id == nursery.id)
        )
        or 0
    )


def _nursery_with_rows(nursery_id: int) -> Nursery:
    return db.session.scalar(
        select(Nursery)
        .where(Nursery.id == nursery_id)
        .options(selectinload(Nursery.offers), selectinload(Nursery.classes))
    )


def save_class(
    staff_id: int,
    nursery_id: int,
    class_type,
    name,
    carers,
    capacity_value,
    class_id=None,
    now=None,
) -> NurseryClass:
    """Add or change a class, refusing one the national limits forbid: more places than the
    class maximum or carers × ratio, an age a kindergarten may not take, a second group at a
    family point, or fewer places than the class's offers put in the room at once."""
    now = _now(now)
    if not _one_of(class_type, CLASS_TYPES):
        raise DomainError("invalid_class_type", "请选择班级类型", field="class_type")
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > 64:
        raise DomainError("invalid_name", "请填写班级名称（不超过 64 个字）", field="name")
    for field, value in (("carers", carers), ("capacity", capacity_value)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
            raise DomainError(
                "invalid_number", "保育人员数和托位数须为 0 到 100 的整数", field=field
            )
    with use_case(nurseries=[nursery_id]):
        nursery = _nursery_with_rows(nursery_id)
        cls = None if class_id is None else _own_class(nursery, class_id)
        others = [c for c in nursery.classes if c is not cls]
        planned = class_specs(others) + [ClassSpec(class_type, capacity_value, carers, name)]
        changed = {class_type} | ({cls.class_type} if cls else set())
        _refuse_breaches(nursery.kind, planned, offer_specs(nursery.offers), changed)
        if cls is None:
            cls = NurseryClass(nursery_id=nursery_id)
            nursery.classes.append(cls)
        cls.class_type, cls.name, cls.carers, cls.capacity = (
            class_type,
            name.strip(),
            carers,
            capacity_value,
        )
        _refile_capacity(nursery)
        audit.record(
            staff_id,
            "class.save",
            "class",
            cls.id,
            f"{class_type} {carers}/{capacity_value}",
            at=now,
        )
        bump_registry_version()
    return cls


def delete_class(staff_id: int, nursery_id: int, class_id, now=None) -> None:
    """Remove a class, unless its type's offers would then put more children in the room than
    the remaining classes hold (close or lower those offers first)."""
    now = _now(now)
    with use_case(nurseries=[nursery_id]):
        nursery = _nursery_with_rows(nursery_id)
        cls = _own_class(nursery, class_id)
        others = [c for c in nursery.classes if c is not cls]
        _refuse_breaches(
            nursery.kind, class_specs(others), offer_specs(nursery.offers), {cls.class_type}
        )
        nursery.classes.remove(cls)
        _refile_capacity(nursery)
        audit.record(staff_id, "class.delete", "class", class_id, cls.class_type, at=now)
        bump_registry_version()


def set_hours(staff_id: int, nursery_id: int, opens_at: time, closes_at: time, now=None) -> None:
    """Change opening hours (hourly care is booked within them)."""
    if not isinstance(opens_at, time) or not isinstance(closes_at, time) or closes_at <= opens_at:
        raise DomainError("invalid_hours", "关门时间须晚于开门时间", field="closes_at")
    with use_case(nurseries=[nursery_id]):
        nursery = db.session.get(Nursery, nursery_id)
        nursery.opens_at, nursery.closes_at = opens_at, closes_at
        audit.record(
            staff_id,
            "nursery.hours",
            "nursery",
            nursery_id,
            f"{opens_at:%H:%M}-{closes_at:%H:%M}",
            at=_now(now),
        )
        bump_registry_version()


def record_health_notes_viewed(
    staff_id: int, nursery_id: int, child_ids, where: str, now: datetime | None = None
) -> int:
    """Log that a member of staff was shown children's health notes (健康备注查阅记录): one
    audit entry per child whose notes were on the page or in the answer, with the client
    address. Returns how many were logged; children without notes are not."""
    now = _now(now)
    ids = sorted({i for i in child_ids if isinstance(i, int)})
    if not ids:
        return 0
    with use_case(nurseries=()):  # changes no nursery's places
        shown = list(
            db.session.scalars(
                select(Child.id).where(Child.id.in_(ids), Child.health_notes.is_not(None))
            )
        )
        for child_id in shown:
            audit.record(
                staff_id,
                "child.health_notes_viewed",
                "child",
                child_id,
                f"nursery={nursery_id} {where}",
                at=now,
            )
    return len(shown)
