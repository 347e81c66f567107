"""Free places as a parent sees them today, from the place counters the booking service keeps."""

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from extensions import db, raw_read

from .models import Offer


def today_slots(today: date) -> list[str]:
    day = today.isoformat()
    return ["enrol", "am", "pm", day] + [f"{day}T{h:02d}" for h in range(24)]


def _offer_free(
    care_type: str, capacity: int, sessions: list[str], taken: dict[str, int], today: date
) -> int:
    """Free places of one offer: enrolments now, half days in the freer session, hourly care in
    every hour of today (its busiest hour decides), temporary care today."""
    day = today.isoformat()
    if care_type == "full_day":
        return capacity - taken.get("enrol", 0)
    if care_type == "half_day":
        return max(capacity - taken.get(s, 0) for s in sessions)
    if care_type == "hourly":
        return capacity - max((v for k, v in taken.items() if k.startswith(day + "T")), default=0)
    return capacity - taken.get(day, 0)


def _taken_today(offer_ids: list[int], today: date) -> dict[int, dict[str, int]]:
    slots = today_slots(today)
    rows = raw_read(
        f"SELECT offer_id, slot, taken FROM place_counters WHERE offer_id IN ({_marks(offer_ids)})"
        f" AND slot IN ({_marks(slots)})",
        [*offer_ids, *slots],
    )
    taken: dict[int, dict[str, int]] = defaultdict(dict)
    for offer_id, slot, count in rows:
        taken[offer_id][slot] = count
    return taken


def _marks(values) -> str:
    return ",".join("?" * len(values))


def _free(care_type, capacity, sessions, taken, today) -> int:
    return max(_offer_free(care_type, capacity, (sessions or "am,pm").split(","), taken, today), 0)


def free_by_offer(offers, today: date) -> dict[int, int]:
    """Free places today of each offer (Offer objects or rows with the same attributes)."""
    offers = list(offers)
    if not offers:
        return {}
    taken = _taken_today([o.id for o in offers], today)
    return {o.id: _free(o.care_type, o.capacity, o.sessions, taken[o.id], today) for o in offers}


def free_places(nursery_ids, today: date) -> dict[int, dict[str, int]]:
    """Free places per care type for each nursery (offers of every class type added up).

    On the search page's hot path: two plain queries on a driver connection.
    """
    ids = [int(i) for i in nursery_ids]
    result: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return result
    offers = raw_read(
        "SELECT id, nursery_id, care_type, capacity, sessions FROM offers"
        f" WHERE nursery_id IN ({_marks(ids)}) ORDER BY id",
        ids,
    )
    taken = _taken_today([o[0] for o in offers], today)
    for offer_id, nursery_id, care_type, capacity, sessions in offers:
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
