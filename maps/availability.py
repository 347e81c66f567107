"""Free places as a parent sees them today, from the place counters the booking service keeps."""

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from booking import slots
from database import raw_read
from extensions import db

from .models import Offer

# Today's slots: enrolment and session counters, today's date and today's hours (the slot keys'
# day range covers both without listing 24 hours). The standing keys are constants, not input.
_TODAY_SLOTS = (
    f"(c.slot IN ({', '.join(repr(k) for k in slots.STANDING)}) OR c.slot BETWEEN ? AND ?)"
)


def _today_range(today: date) -> list[str]:
    return list(slots.day_range(today))


def _marks(values) -> str:
    return ",".join("?" * len(values))


def _free(care_type, capacity, sessions, taken, today) -> int:
    sessions = (sessions or slots.DEFAULT_OFFER_SESSIONS).split(",")
    return slots.free_places(care_type, capacity, sessions, taken, today)


def free_by_offer(offers, today: date) -> dict[int, int]:
    """Free places today of each offer (Offer objects or rows with the same attributes)."""
    offers = list(offers)
    if not offers:
        return {}
    ids = [o.id for o in offers]
    taken: dict[int, dict[str, int]] = defaultdict(dict)
    for offer_id, slot, count in raw_read(
        # only placeholders and a constant are formatted in; the ids are bound parameters
        f"SELECT c.offer_id, c.slot, c.taken FROM place_counters c"  # nosec B608
        f" WHERE c.offer_id IN ({_marks(ids)}) AND {_TODAY_SLOTS}",
        [*ids, *_today_range(today)],
    ):
        taken[offer_id][slot] = count
    return {o.id: _free(o.care_type, o.capacity, o.sessions, taken[o.id], today) for o in offers}


def free_places(nursery_ids, today: date) -> dict[int, dict[str, int]]:
    """Free places per care type for each nursery (offers of every class type added up).

    On the search page's hot path: one plain query on a driver connection.
    """
    ids = [int(i) for i in nursery_ids]
    result: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return result
    offers: dict[int, tuple] = {}
    taken: dict[int, dict[str, int]] = defaultdict(dict)
    for offer_id, nursery_id, care_type, capacity, sessions, slot, count in raw_read(
        "SELECT o.id, o.nursery_id, o.care_type, o.capacity, o.sessions, c.slot, c.taken"  # nosec B608
        f" FROM offers o LEFT JOIN place_counters c ON c.offer_id = o.id AND {_TODAY_SLOTS}"
        f" WHERE o.nursery_id IN ({_marks(ids)})",
        [*_today_range(today), *ids],
    ):
        offers[offer_id] = (nursery_id, care_type, capacity, sessions)
        if slot is not None:
            taken[offer_id][slot] = count
    for offer_id in sorted(offers):
        nursery_id, care_type, capacity, sessions = offers[offer_id]
        places = result[nursery_id]
        free = _free(care_type, capacity, sessions, taken[offer_id], today)
        places[care_type] = places.get(care_type, 0) + free
    return result


def nurseries_with_free_places(care_type: str | None, today: date) -> list[int]:
    """Ids of nurseries with a free place today (of the care type, if given)."""
    ids = db.session.scalars(select(Offer.nursery_id).where(Offer.capacity > 0).distinct())
    places = free_places(list(ids), today)
    return [
        nid
        for nid, by_type in places.items()
        if any(n > 0 for ct, n in by_type.items() if care_type in (None, ct))
    ]
