"""Booking rules as plain functions: statuses, ages, the places a request needs, overlaps.

No Flask, no database. Which status may change to which, and for whom, is on the model
(`booking.models.Booking.can_cancel`, …); the statuses themselves are named here.
"""

import json
from dataclasses import dataclass
from datetime import date, time, timedelta

from maps.domain import CLASS_TYPES, MAX_AGE_MONTHS, MIN_AGE_MONTHS, class_type_for_age

from . import slots as slot_keys
from .slots import SESSIONS  # noqa: F401  (re-exported: the half-day sessions and their labels)

ENROLMENT_TYPES = ("full_day", "half_day")
STATUS_LABELS = {
    "pending": "待机构确认",
    "confirmed": "已确认",
    "waitlisted": "候补中",
    "offered": "递补待接受",
    "declined": "机构已婉拒",
    "cancelled": "已取消",
    "expired": "已过期",
}
STATUSES = tuple(STATUS_LABELS)
HELD = ("pending", "confirmed", "offered")  # a place is held in every slot of the booking
# 在托: a child is in care at a nursery on a day when a confirmed full- or half-day enrolment
# there has begun and not ended. 托位使用率 and 入托率 count these children, on the planner's
# dashboard and the nursery's alike (pending and offered requests hold a place, not a child).
IN_CARE = ("confirmed",)
ACTIVE = ("pending", "confirmed", "offered", "waitlisted")  # may still be cancelled
ENDED = ("declined", "cancelled", "expired")


@dataclass(frozen=True)
class Actor:
    """Who performs a use case, as the booking state machine asks it: a logged-in `User` answers
    the same three attributes, so views pass `current_user` and services build an Actor from ids."""

    id: int
    role: str
    nursery_id: int | None = None

    @classmethod
    def parent(cls, user_id: int) -> "Actor":
        return cls(user_id, "parent")

    @classmethod
    def staff(cls, user_id: int, nursery_id: int) -> "Actor":
        return cls(user_id, "nursery_staff", nursery_id)


class RuleError(ValueError):
    """A request the rules refuse: a code and a Chinese message."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field


def months_old(birth: date, on: date) -> int:
    """Whole months of age on a date (a month is complete on the same day of a later month)."""
    months = (on.year - birth.year) * 12 + on.month - birth.month
    if on.day < birth.day:
        months -= 1
    return months


def third_birthday(birth: date) -> date:
    try:
        return birth.replace(year=birth.year + 3)
    except ValueError:  # born on 29 February
        return date(birth.year + 3, 3, 1)


def check_age(birth: date, on: date, band: tuple[int, int] | None = None) -> None:
    """Refuse a care date the child is too young or too old for (overall and for the class)."""
    months = months_old(birth, on)
    if months < MIN_AGE_MONTHS:
        raise RuleError("too_young", f"{on:%Y-%m-%d} 时孩子未满 {MIN_AGE_MONTHS} 个月，不能入托")
    if on >= third_birthday(birth) or months >= MAX_AGE_MONTHS:
        raise RuleError("too_old", f"{on:%Y-%m-%d} 时孩子已满 3 周岁，不在托育服务范围内")
    if band is not None and not band[0] <= months < band[1]:
        raise RuleError(
            "age_outside_class",
            f"{on:%Y-%m-%d} 时孩子 {months} 个月，不在该托位所属班级的年龄范围"
            f"（{band[0]}–{band[1]} 个月）内",
        )


def last_day_in_band(birth: date, band: tuple[int, int]) -> date:
    """The last day the child is still inside an age band [min, max) months."""
    upper = add_months(birth, band[1])
    return min(upper, third_birthday(birth)) - timedelta(days=1)


def add_months(day: date, months: int) -> date:
    year, month = divmod(day.month - 1 + months, 12)
    year, month = day.year + year, month + 1
    for d in (day.day, 30, 29, 28):
        try:
            return date(year, month, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class Request:
    """What a parent asks for, after parsing."""

    care_type: str
    start_date: date
    end_date: date | None = None
    session: str | None = None  # half_day: am | pm
    start_hour: int | None = None  # hourly: [start_hour, end_hour)
    end_hour: int | None = None


def check_request(
    req: Request,
    today: date,
    horizon_days: int,
    max_temporary_days: int,
    opens_at: time,
    closes_at: time,
) -> None:
    """Refuse impossible dates, windows and sessions."""
    if req.start_date < today:
        raise RuleError("date_in_past", "开始日期不能早于今天", "start_date")
    if req.start_date > today + timedelta(days=horizon_days):
        raise RuleError(
            "beyond_horizon", f"只能预约今后 {horizon_days} 天内开始的托育", "start_date"
        )
    if req.end_date is not None and req.end_date < req.start_date:
        raise RuleError("end_before_start", "结束日期不能早于开始日期", "end_date")
    if req.care_type == "half_day":
        if req.session not in SESSIONS:
            raise RuleError("invalid_session", "半日托须选择上午（am）或下午（pm）", "session")
    elif req.session is not None:
        raise RuleError("invalid_session", "只有半日托需要选择时段", "session")
    if req.care_type == "hourly":
        if req.start_hour is None or req.end_hour is None:
            raise RuleError("invalid_time", "计时托须填写开始和结束时间（整点）", "start_time")
        if req.end_hour <= req.start_hour:
            raise RuleError("invalid_time", "结束时间须晚于开始时间", "end_time")
        if req.start_hour < _ceil_hour(opens_at) or req.end_hour > closes_at.hour:
            raise RuleError(
                "outside_opening_hours",
                f"计时托须在开放时间 {opens_at:%H:%M}–{closes_at:%H:%M} 内的整点时段",
                "start_time",
            )
        if req.end_date not in (None, req.start_date):
            raise RuleError("invalid_time", "计时托只能预约同一天内的时段", "end_date")
    if req.care_type == "temporary":
        days = ((req.end_date or req.start_date) - req.start_date).days + 1
        if days > max_temporary_days:
            raise RuleError(
                "too_many_days", f"临时托一次最多预约 {max_temporary_days} 天", "end_date"
            )


def _ceil_hour(t: time) -> int:
    return t.hour + (1 if t.minute or t.second else 0)


def parse_hour(text, field: str) -> int:
    """'09:00' → 9; half hours and other formats are refused."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise RuleError("invalid_time", "时间须为 HH:00 格式的整点", field)
    hh, mm = text[:2], text[3:]
    if not (hh.isdigit() and mm.isdigit()) or int(hh) > 24:
        raise RuleError("invalid_time", "时间须为 HH:00 格式的整点", field)
    if mm != "00":
        raise RuleError("not_whole_hour", "计时托按整点预约，不能预约半小时", field)
    return int(hh)


def care_dates(req: Request) -> list[date]:
    """The dates whose ages must be checked (enrolments: first and last day)."""
    end = req.end_date or req.start_date
    if req.care_type == "temporary":
        return [req.start_date + timedelta(days=i) for i in range((end - req.start_date).days + 1)]
    if req.care_type == "hourly":
        return [req.start_date]
    return [req.start_date] if req.end_date is None else [req.start_date, req.end_date]


def slots_for(req: Request) -> list[str]:
    """The counters a request takes a place in.

    Enrolments hold one place for their whole period (full day: 'enrol'; half day: its
    session); hourly care one per hour of the date; temporary care one per day.
    """
    if req.care_type == "full_day":
        return [slot_keys.enrolment()]
    if req.care_type == "half_day":
        return [slot_keys.session(req.session)]
    if req.care_type == "hourly":
        return slot_keys.hours(req.start_date, req.start_hour, req.end_hour)
    return [slot_keys.day(d) for d in care_dates(req)]


def periods_overlap(a_start: date, a_end: date | None, b_start: date, b_end: date | None) -> bool:
    far = date.max
    return a_start <= (b_end or far) and b_start <= (a_end or far)


# 荣昌 item 11 pays the operating subsidy (运营补贴) to the nursery by these three class types.
SUBSIDY_CLASS_TYPES = ("infant", "toddler", "older")
MAX_SUBSIDY_SOURCE = 100


def subsidy_class_type(
    offer_class_type: str | None, months: int, rated=SUBSIDY_CLASS_TYPES
) -> str | None:
    """The class type whose operating-subsidy rate applies to a place: its class's, if the
    district rates it; else — a 混合班 without a rate of its own (荣昌 gives none), or a place
    for every age — the class of the child's age. None if that has no rate either."""
    if offer_class_type in rated:
        return offer_class_type
    by_age = class_type_for_age(months)
    return by_age if by_age in rated else None


def parse_subsidies(data: bytes) -> list[tuple[str, int, str]]:
    """(class type, yuan per child per year, source) from a JSON file
    `{"subsidies": [{"class_type", "yuan_per_year", "source"}, …]}`; refuses it whole."""
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise RuleError("invalid_subsidies", "运营补贴文件须为 UTF-8 编码的 JSON") from None
    items = doc.get("subsidies") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise RuleError("invalid_subsidies", "运营补贴文件须含 subsidies 列表")
    rows, errors = [], []
    for number, item in enumerate(items, start=1):
        item = item if isinstance(item, dict) else {}
        class_type, yuan, source = (item.get(k) for k in ("class_type", "yuan_per_year", "source"))
        if class_type not in CLASS_TYPES:
            errors.append(f"第 {number} 条：class_type 须为 {'、'.join(CLASS_TYPES)} 之一")
        elif any(r[0] == class_type for r in rows):
            errors.append(f"第 {number} 条：{class_type} 重复")
        elif isinstance(yuan, bool) or not isinstance(yuan, int) or not 0 <= yuan <= 100_000:
            errors.append(f"第 {number} 条：yuan_per_year 须为 0 到 100000 的整数")
        elif not isinstance(source, str) or not 0 < len(source.strip()) <= MAX_SUBSIDY_SOURCE:
            errors.append(f"第 {number} 条：source 须填写（不超过 {MAX_SUBSIDY_SOURCE} 字）")
        else:
            rows.append((class_type, yuan, source.strip()))
    if errors:
        raise RuleError("invalid_subsidies", "；".join(errors[:5]))
    return rows


def dump_subsidies(rows) -> str:
    """(class type, yuan, source) rows as the JSON file `parse_subsidies` reads."""
    order = list(CLASS_TYPES)
    items = [
        {"class_type": c, "yuan_per_year": y, "source": s}
        for c, y, s in sorted(rows, key=lambda r: order.index(r[0]))
    ]
    return json.dumps({"subsidies": items}, ensure_ascii=False, indent=2) + "\n"
