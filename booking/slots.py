"""Slot keys and free places: the one home of the place counters' encoding. Plain rules, no
Flask, no database.

A place counter (`place_counters.slot`, `booking_slots.slot`) is keyed by a short string:

- ``enrol`` — a full-day enrolment, held for the enrolment's whole period;
- ``am`` / ``pm`` — a half-day session, held likewise;
- ``YYYY-MM-DD`` — temporary care on one day;
- ``YYYY-MM-DDTHH`` — hourly care in the hour starting at HH.

Keys sort as text in date order, and a day's hour keys sort between the day's own key and
`day_key + "T99"`, which the SQL range queries rely on. Build keys with `enrolment`, `session`,
`day` and `hour`, read them with `parse` (or `day_of`), and never split them by hand.
"""

from dataclasses import dataclass
from datetime import date

ENROL = "enrol"
SESSIONS = {"am": "上午", "pm": "下午"}  # half-day sessions and their labels
STANDING = (ENROL, *SESSIONS)  # keys without a date: held for an enrolment's whole period
OFFER_SESSIONS = ("am", "pm", "am,pm")  # what a half-day offer may open (Offer.sessions)
DEFAULT_OFFER_SESSIONS = "am,pm"
_HOUR_SEP = "T"
_LAST_HOUR = "T99"  # sorts after every hour key of the same day


@dataclass(frozen=True)
class Slot:
    """A parsed slot key: `kind` is "enrol", "session", "day" or "hour"."""

    kind: str
    session: str | None = None
    day: date | None = None
    hour: int | None = None


def enrolment() -> str:
    """The key of a full-day enrolment place."""
    return ENROL


def session(name: str) -> str:
    """The key of a half-day session place ('am' or 'pm')."""
    if name not in SESSIONS:
        raise ValueError(f"not a half-day session: {name!r}")
    return name


def day(on: date) -> str:
    """The key of temporary care on a day."""
    return on.isoformat()


def hour(on: date, start_hour: int) -> str:
    """The key of hourly care in the hour starting at `start_hour` on a day."""
    if not 0 <= start_hour <= 23:
        raise ValueError(f"not an hour of the day: {start_hour!r}")
    return f"{on.isoformat()}{_HOUR_SEP}{start_hour:02d}"


def hours(on: date, start_hour: int, end_hour: int) -> list[str]:
    """The keys of hourly care from `start_hour` to `end_hour` (exclusive) on a day."""
    return [hour(on, h) for h in range(start_hour, end_hour)]


def parse(key: str) -> Slot:
    """Read a slot key; a string that is not one raises ValueError."""
    if key == ENROL:
        return Slot("enrol")
    if key in SESSIONS:
        return Slot("session", session=key)
    text, sep, hh = key.partition(_HOUR_SEP)
    on = date.fromisoformat(text) if len(text) == 10 else None
    if on is None or day(on) != text:  # only YYYY-MM-DD (fromisoformat also reads 2026-W49-4)
        raise ValueError(f"not a slot key: {key!r}")
    if not sep:
        return Slot("day", day=on)
    if len(hh) != 2 or not hh.isdigit() or int(hh) > 23:
        raise ValueError(f"not a slot key: {key!r}")
    return Slot("hour", day=on, hour=int(hh))


def key(slot: Slot) -> str:
    """The key of a parsed slot (the inverse of `parse`)."""
    if slot.kind == "enrol":
        return enrolment()
    if slot.kind == "session":
        return session(slot.session)
    if slot.kind == "day":
        return day(slot.day)
    if slot.kind == "hour":
        return hour(slot.day, slot.hour)
    raise ValueError(f"not a slot kind: {slot.kind!r}")


def is_standing(key: str) -> bool:
    """True for enrolment and session keys (no date)."""
    return key in STANDING


def day_of(key: str) -> date | None:
    """The date of a dated key (temporary or hourly care); None for enrolment and sessions."""
    return None if is_standing(key) else parse(key).day


def is_current(key: str, today: date) -> bool:
    """Whether a counter still matters: enrolments and sessions, and dated slots from today on."""
    return is_standing(key) or key >= day(today)


def day_range(on: date) -> tuple[str, str]:
    """The keys from a day's own (temporary) key to after its last hour, for `BETWEEN`."""
    return day(on), day(on) + _LAST_HOUR


def hours_taken(taken: dict[str, int], on: date) -> list[int]:
    """Places taken in each hour of a day that has a counter, from counters by key."""
    prefix = day(on) + _HOUR_SEP
    return [n for k, n in taken.items() if k.startswith(prefix)]


def free(capacity: int, taken: int) -> int:
    """Free places of one counter (never below zero)."""
    return max(capacity - taken, 0)


def free_places(
    care_type: str, capacity: int, sessions: list[str], taken: dict[str, int], today: date
) -> int:
    """Free places of one offer as a parent sees them today, from its counters by key.

    Enrolments now; half days in the freer session; hourly care in every hour of today (its
    busiest hour decides); temporary care today.
    """
    if care_type == "full_day":
        return free(capacity, taken.get(ENROL, 0))
    if care_type == "half_day":
        return max(free(capacity, taken.get(s, 0)) for s in sessions)
    if care_type == "hourly":
        return free(capacity, max(hours_taken(taken, today), default=0))
    return free(capacity, taken.get(day(today), 0))


NOON = 12  # hourly care in hours from NOON on shares the afternoon with the pm session


def half_of_hour(start_hour: int) -> str:
    """The half-day session ('am' or 'pm') whose children are present in this hour."""
    return "am" if start_hour < NOON else "pm"


def peak_presence(taken: dict[str, int]) -> int:
    """The most children present at one moment, from a class's counters by key (summed over
    all its offers).

    At every moment a class has its full-day enrolments, the half-day session of that half of
    the day, the hourly bookings of that hour and that day's temporary children; enrolments and
    sessions (undated) are present on every day. Days without dated counters have only those.
    """
    standing = {s: taken.get(ENROL, 0) + taken.get(s, 0) for s in SESSIONS}
    peak = max(standing.values())
    whole_day: dict[date, int] = {}
    busiest: dict[tuple[date, str], int] = {}  # (day, half) → most hourly children in one hour
    for k, n in taken.items():
        if is_standing(k) or not n:
            continue
        s = parse(k)
        if s.kind == "day":
            whole_day[s.day] = whole_day.get(s.day, 0) + n
        else:
            at = (s.day, half_of_hour(s.hour))
            busiest[at] = max(busiest.get(at, 0), n)
    for on in set(whole_day) | {d for d, _ in busiest}:
        for half in SESSIONS:
            present = standing[half] + whole_day.get(on, 0) + busiest.get((on, half), 0)
            peak = max(peak, present)
    return peak
