"""Families' use cases: children and consent, booking, cancelling, accepting offers; and the
expiry of overdue offers and requests (`expire_overdue`, run from cron and before pages show
bookings).

Each write use case checks its input first, then makes its changes inside `use_case()`, which
commits them (or rolls them back on any error) and delivers the notifications afterwards.
"""

import re
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

import audit
from database import use_case
from errors import Conflict, DomainError, NotFound
from extensions import db
from maps.domain import CARE_TYPES, age_band
from maps.models import Nursery, Offer
from notifications.services import notify
from ratings import services as rating_services

from .. import capacity, waitlist
from .. import slots as slot_keys
from ..models import Booking, BookingSlot, Child, NurseryConsent, Subsidy
from ..queries import own_booking, own_child
from ..rules import (
    ACTIVE,
    ENROLMENT_TYPES,
    Actor,
    Request,
    RuleError,
    care_dates,
    check_age,
    check_request,
    last_day_in_band,
    months_old,
    periods_overlap,
    slots_for,
    subsidy_class_type,
)
from ..waitlist import Settings, label

MAX_NAME = 64
MAX_NOTES = 500

# NUL and other C0 controls (tab and newlines are fine), as complaints.validation refuses them
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def _rule(exc: RuleError) -> DomainError:
    return DomainError(exc.code, exc.message, field=exc.field)


def register_child(
    parent_id: int,
    name,
    birth_date,
    guardian_consent,
    settings: Settings,
    health_notes=None,
    now: datetime | None = None,
) -> Child:
    """Register a child, only after the guardian consents to the stated rules."""
    now = _now(now)
    if guardian_consent is not True:
        raise DomainError(
            "consent_required",
            "须先阅读并同意《儿童个人信息保护规则》才能登记孩子信息",
            field="guardian_consent",
        )
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
        raise DomainError("invalid_name", f"请填写孩子姓名（不超过 {MAX_NAME} 个字）", field="name")
    if not isinstance(birth_date, date):
        raise DomainError("invalid_birth_date", "出生日期须为 YYYY-MM-DD 格式", field="birth_date")
    if birth_date > now.date():
        raise DomainError("invalid_birth_date", "出生日期不能晚于今天", field="birth_date")
    if months_old(birth_date, now.date()) >= 36:
        raise DomainError("too_old", "本平台服务 3 周岁以下婴幼儿", field="birth_date")
    if health_notes is not None and (
        not isinstance(health_notes, str) or len(health_notes) > MAX_NOTES
    ):
        raise DomainError(
            "invalid_notes", f"健康备注不能超过 {MAX_NOTES} 个字", field="health_notes"
        )
    for field, shown, text in (
        ("name", "孩子姓名", name),
        ("health_notes", "健康备注", health_notes),
    ):
        if text and CONTROL_CHARS.search(text):  # PostgreSQL refuses NUL; no one types these
            raise DomainError(
                "invalid_" + field, f"{shown}含有无法保存的控制字符，请删除后重试", field=field
            )
    with use_case(nurseries=()):  # changes no nursery's places
        child = Child(
            parent_id=parent_id,
            name=name.strip(),
            birth_date=birth_date,
            health_notes=(health_notes or "").strip() or None,
            consent_version=settings.rules_version,
            consent_at=now,
        )
        db.session.add(child)
        db.session.flush()
        # 监护人同意: which version of the rules, when, from where (the audit adds the address).
        audit.record(
            parent_id, "consent.registration", "child", child.id, settings.rules_version, at=now
        )
    return child


def delete_child(parent_id: int, child_id, settings: Settings, now: datetime | None = None) -> None:
    """Remove a child's name and notes and cancel every active booking of the child."""
    now = _now(now)
    with use_case():
        child = own_child(parent_id, child_id)
        for b in _active_bookings(child.id):
            waitlist.end(b, "cancelled", "家长删除了孩子信息", settings, now)
            notify(parent_id, f"{label(b)}已因删除孩子信息而取消。", "booking", b.id, now)
        child.name = None
        child.health_notes = None
        child.deleted_at = now
        rating_services.forget_family(child_ids=[child.id])  # a comment may name the child
        audit.record(parent_id, "child.deleted", "child", child.id, at=now)


def _active_bookings(child_id: int) -> list[Booking]:
    return list(
        db.session.scalars(
            select(Booking)
            .where(Booking.child_id == child_id, Booking.status.in_(ACTIVE))
            .options(selectinload(Booking.slots))
        )
    )


def _choose_offer(nursery: Nursery, care_type: str, child: Child, start: date) -> Offer:
    """The offer a place comes from: the one whose class admits the child's age.

    Every place belongs to a class; places on file "for every age" (from before classes were
    required) or in a class the nursery has not registered cannot be booked."""
    offers = [o for o in nursery.offers if o.care_type == care_type]
    if not offers:
        raise DomainError(
            "care_type_not_offered",
            f"该机构不提供{CARE_TYPES.get(care_type, care_type)}",
            field="care_type",
        )
    registered = {c.class_type for c in nursery.classes}
    in_class = [o for o in offers if o.class_type in registered]
    if not in_class:
        raise Conflict(
            "no_class",
            f"该机构的{CARE_TYPES[care_type]}托位尚未登记到班级，暂不能网上预约，请联系机构",
            field="care_type",
        )
    months = months_old(child.birth_date, start)
    for offer in in_class:
        low, high = age_band(nursery.kind, offer.class_type, ())
        if low <= months < high:
            return offer
    check_age(child.birth_date, start)  # too young or too old for any nursery says so
    raise DomainError(
        "age_outside_class", "该机构此类托位的班级不招收您孩子这个月龄", field="care_type"
    )


def _band(nursery: Nursery, offer: Offer) -> tuple[int, int]:
    return age_band(nursery.kind, offer.class_type, [c.class_type for c in nursery.classes])


def _check_no_overlap(child_id: int, req: Request, nursery_id: int) -> None:
    """Refuse care that overlaps care the child already has or waits for."""
    for b in _active_bookings(child_id):
        same_place = (
            req.care_type in ENROLMENT_TYPES
            and b.nursery_id == nursery_id
            and b.care_type == req.care_type
            and (req.care_type == "full_day" or b.session == req.session)
        )
        if same_place:
            # An enrolment holds its place for its whole period whatever the dates, so a second
            # one at the same nursery would hold a second place for the same child.
            raise Conflict(
                "double_booking", "孩子在该机构已有同类入托预约，如需更改日期请先取消原预约"
            )
        same_period = periods_overlap(req.start_date, req.end_date, b.start_date, b.end_date)
        if not same_period:
            continue
        if b.nursery_id == nursery_id and b.care_type == req.care_type:
            raise Conflict("double_booking", "孩子在该机构已有时间重叠的同类预约")
        enrolments = req.care_type in ENROLMENT_TYPES and b.care_type in ENROLMENT_TYPES
        if enrolments and b.status == "confirmed":
            both_half = req.care_type == b.care_type == "half_day"
            if not both_half or req.session == b.session:
                raise Conflict("already_enrolled", "孩子在这段时间已有确认的入托，不能重复入托")
        dated = req.care_type not in ENROLMENT_TYPES and b.care_type not in ENROLMENT_TYPES
        if dated and _dated_overlap(req, b):
            raise Conflict("double_booking", "孩子在这段时间已有其他计时托或临时托预约")


def _dated_overlap(req: Request, b: Booking) -> bool:
    days = set(care_dates(req))
    theirs = {slot_keys.day_of(s) for s in b.slot_keys()}
    if req.care_type == "hourly" and b.care_type == "hourly":
        return bool(set(slots_for(req)) & set(b.slot_keys()))
    return bool(days & theirs)


def _subsidy(nursery: Nursery, offer: Offer, child: Child, start: date) -> int | None:
    """The operating subsidy (运营补贴) the nursery receives for this child per year (荣昌 item
    11: paid to filed inclusive nurseries, not to the family): enrolments only."""
    if not nursery.inclusive or offer.care_type not in ENROLMENT_TYPES:
        return None
    rates = dict(db.session.execute(select(Subsidy.class_type, Subsidy.yuan_per_year)).all())
    class_type = subsidy_class_type(offer.class_type, months_old(child.birth_date, start), rates)
    return rates.get(class_type)


def book(
    parent_id: int,
    child_id,
    nursery_id,
    req: Request,
    share_consent,
    settings: Settings,
    now: datetime | None = None,
) -> tuple[Booking, int | None]:
    """Book a place: held at once when free, else join the waitlist. Returns (booking, position)."""
    if share_consent is not True:
        raise DomainError(
            "share_consent_required",
            "须同意将孩子信息提供给该托育机构，才能预约",
            field="share_consent",
        )
    if req.care_type not in CARE_TYPES:
        raise DomainError(
            "invalid_care_type",
            "托育类型须为 full_day、half_day、hourly 或 temporary",
            field="care_type",
        )
    with use_case(nurseries=[nursery_id]):  # an id that names no nursery locks nothing
        now = _now(now)  # read after the write lock, so queue times follow the order of commits
        child = own_child(parent_id, child_id)
        nursery = _filed_nursery(nursery_id)
        _check_not_suspended(nursery)
        waitlist.expire_due(settings, now, nursery.id)
        offer, req = _checked(req, child, nursery, settings, now)
        _check_no_overlap(child.id, req, nursery.id)
        _record_consent(child, nursery, settings, now)
        booking = _new_booking(parent_id, child, nursery, offer, req, now)
        _take_or_queue(booking, offer, settings, now)
    position = waitlist.positions([booking]).get(booking.id)
    return booking, position


def _check_not_suspended(nursery: Nursery) -> None:
    """A nursery ordered to suspend (停业整顿, issue 12) takes no new bookings until the
    department verifies the rectification; bookings already made stay as they are."""
    from inspections.queries import suspended

    if suspended(nursery.id):
        raise DomainError(
            "nursery_suspended",
            "该机构正在停业整顿，整改复查合格前暂停接受预约",
            status=409,
        )


def _filed_nursery(nursery_id) -> Nursery:
    nursery = (
        db.session.scalar(
            select(Nursery)
            .where(Nursery.id == nursery_id, Nursery.filing_no.is_not(None))
            .options(selectinload(Nursery.offers), selectinload(Nursery.classes))
        )
        if isinstance(nursery_id, int)
        else None
    )
    if nursery is None:
        raise NotFound("nursery_not_found", "未找到该托育机构（或尚未备案）")
    return nursery


def _checked(
    req: Request, child: Child, nursery: Nursery, settings: Settings, now: datetime
) -> tuple[Offer, Request]:
    """The offer the place comes from and the request as booked (an open-ended enrolment gets
    its end date), after every rule on dates, hours, sessions and ages."""
    try:
        check_request(
            req,
            now.date(),
            settings.horizon_days,
            settings.temporary_max_days,
            nursery.opens_at,
            nursery.closes_at,
        )
        offer = _choose_offer(nursery, req.care_type, child, req.start_date)
        if req.care_type == "half_day" and req.session not in offer.session_list():
            raise RuleError("session_not_offered", "该机构的半日托不开放这个时段", "session")
        band = _band(nursery, offer)
        if req.care_type in ENROLMENT_TYPES and req.end_date is None:
            # An open-ended enrolment lasts while the child fits the class's age band.
            req = Request(**{**req.__dict__, "end_date": last_day_in_band(child.birth_date, band)})
            if req.end_date < req.start_date:
                raise RuleError("age_outside_class", "孩子在开始日期已超出该班级的年龄范围")
        for day in care_dates(req):
            check_age(child.birth_date, day, band)
    except RuleError as exc:
        raise _rule(exc) from None
    return offer, req


def _record_consent(child: Child, nursery: Nursery, settings: Settings, now: datetime) -> None:
    """The guardian's consent to share the child's data with this nursery, once per nursery."""
    consent = db.session.scalar(
        select(NurseryConsent).where(
            NurseryConsent.child_id == child.id, NurseryConsent.nursery_id == nursery.id
        )
    )
    if consent is None:
        db.session.add(
            NurseryConsent(
                child_id=child.id,
                nursery_id=nursery.id,
                rules_version=settings.rules_version,
                given_at=now,
            )
        )
        audit.record(
            child.parent_id,
            "consent.nursery",
            "child",
            child.id,
            f"nursery={nursery.id} rules={settings.rules_version}",
            at=now,
        )


def _new_booking(
    parent_id: int, child: Child, nursery: Nursery, offer: Offer, req: Request, now: datetime
) -> Booking:
    """The booking, waitlisted until it takes its places, with the slots it needs."""
    booking = Booking(
        child_id=child.id,
        parent_id=parent_id,
        nursery_id=nursery.id,
        offer_id=offer.id,
        care_type=req.care_type,
        status="waitlisted",
        start_date=req.start_date,
        end_date=req.end_date,
        session=req.session,
        start_hour=req.start_hour,
        end_hour=req.end_hour,
        price_yuan=offer.price_yuan,
        price_unit=offer.price_unit,
        subsidy_yuan_per_year=_subsidy(nursery, offer, child, req.start_date),
        created_at=now,
        updated_at=now,
        queued_at=now,
        slots=[BookingSlot(slot=k, offer_id=offer.id) for k in slots_for(req)],
    )
    db.session.add(booking)
    db.session.flush()
    return booking


def _take_or_queue(booking: Booking, offer: Offer, settings: Settings, now: datetime) -> None:
    """Hold the places if they are free and nobody waits for them; else stay in the queue."""
    keys = booking.slot_keys()
    queue_ahead = db.session.scalar(
        select(BookingSlot.booking_id)
        .join(Booking, Booking.id == BookingSlot.booking_id)
        .where(
            BookingSlot.offer_id == offer.id,
            BookingSlot.slot.in_(keys),
            Booking.status == "waitlisted",
            Booking.id != booking.id,
        )
        .limit(1)
    )
    if queue_ahead is None and capacity.try_take(offer, keys, now.date()):
        waitlist.hold(booking, settings, now)
        booking.queued_at = None
        text = (
            f"{label(booking)}已提交，托位已为您保留，等待机构确认。"
            if booking.status == "pending"
            else f"{label(booking)}已确认。"
        )
    else:
        text = f"{label(booking)}暂无空位，已加入候补。有空位时会通知您。"
    notify(booking.parent_id, text, "booking", booking.id, now)
    if booking.status == "pending":
        _notify_staff(
            booking.nursery_id,
            f"有新的{CARE_TYPES[booking.care_type]}预约（编号 {booking.id}）待确认。",
            booking.id,
            now,
        )


def _notify_staff(nursery_id: int, text: str, booking_id: int, now: datetime) -> None:
    from accounts.models import User

    for user_id in db.session.scalars(
        select(User.id).where(User.nursery_id == nursery_id, User.role == "nursery_staff")
    ):
        notify(user_id, text, "booking", booking_id, now)


def expire_overdue(settings: Settings, now: datetime | None = None) -> int:
    """Expire unanswered requests and lapsed offers, offering the places on; returns how many.

    The use case `flask --app app bookings expire` runs from cron, and pages run (through
    `refresh`) before they show bookings. It takes the nurseries one at a time, each in a use
    case of its own that locks only that nursery.
    """
    now = _now(now)
    expired = 0
    for nursery_id in waitlist.nurseries_due(now):
        with use_case(nurseries=[nursery_id]):
            expired += waitlist.expire_due(settings, now, nursery_id)
    return expired


def refresh(settings: Settings, now: datetime | None = None) -> int:
    """`expire_overdue`, but only when something is due: a page calls it before showing bookings,
    so the common case costs one read and takes no write lock."""
    now = _now(now)
    if not waitlist.anything_due(now):
        return 0
    return expire_overdue(settings, now)


def cancel(
    parent_id: int, booking_id: int, settings: Settings, now: datetime | None = None
) -> Booking:
    """A family cancels; a held place goes to the next family in the queue."""
    now = _now(now)
    nursery_id = own_booking(parent_id, booking_id).nursery_id  # a booking never moves
    with use_case(nurseries=[nursery_id]):
        waitlist.expire_due(settings, now, nursery_id)
        booking = own_booking(parent_id, booking_id)
        if not booking.can_cancel(Actor.parent(parent_id)):
            raise Conflict("not_cancellable", f"该预约当前状态为“{booking.status_label}”，不能取消")
        waitlist.end(booking, "cancelled", "家长取消", settings, now)
        notify(parent_id, f"{label(booking)}已取消。", "booking", booking.id, now)
    return booking


def accept(
    parent_id: int, booking_id: int, settings: Settings, now: datetime | None = None
) -> Booking:
    """Accept an offered place before it expires.

    An offer whose hold has run out is refused with `offer_expired`; its expiry (the place goes
    to the next family) is a use case of its own that runs first, so it is kept although the
    accept fails.
    """
    now = _now(now)
    family = Actor.parent(parent_id)
    found = own_booking(parent_id, booking_id)
    nursery_id = found.nursery_id
    if found.offer_lapsed(now):
        expire_overdue(settings, now)
        raise Conflict("offer_expired", "递补保留期已过，名额已递补给下一位家庭")
    with use_case(nurseries=[nursery_id]):
        booking = own_booking(parent_id, booking_id)
        if not booking.can_accept(family, now):
            raise Conflict(
                "not_offered", f"该预约当前状态为“{booking.status_label}”，没有可接受的递补名额"
            )
        waitlist.hold(booking, settings, now)
        notify(parent_id, f"您已接受{label(booking)}的递补名额。", "booking", booking.id, now)
        if booking.status == "pending":
            _notify_staff(
                booking.nursery_id,
                f"预约（编号 {booking.id}）已接受递补，待确认。",
                booking.id,
                now,
            )
    return booking
