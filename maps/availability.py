"""Free places as a parent sees them today, from the place counters the booking service keeps."""

from collections import defaultdict
from datetime import date

from sqlalchemy import select

from extensions import db

from .models import Offer, PlaceCounter


def today_slots(today: date) -> list[str]:
    day = today.isoformat()
    return ["enrol", "am", "pm", day] + [f"{day}T{h:02d}" for h in range(24)]


def _offer_free(
    care_type: str, capacity: int, sessions: list[str], taken: dict[str, int], today: date
) -> int:
    """Free places of one offer: enrolments now, half days in the freer session, hourly care in
    today's freest hour, temporary care today."""
    day = today.isoformat()
    if care_type == "full_day":
        return capacity - taken.get("enrol", 0)
    if care_type == "half_day":
        return max(capacity - taken.get(s, 0) for s in sessions)
    if care_type == "hourly":
        hours = [v for k, v in taken.items() if k.startswith(day + "T")]
        return capacity - min(hours, default=0) if len(hours) >= 24 else capacity
    return capacity - taken.get(day, 0)


def free_by_offer(offers, today: date) -> dict[int, int]:
    """Free places today of each offer."""
    offers = list(offers)
    taken: dict[int, dict[str, int]] = defaultdict(dict)
    for offer_id, slot, count in db.session.execute(
        select(PlaceCounter.offer_id, PlaceCounter.slot, PlaceCounter.taken).where(
            PlaceCounter.offer_id.in_([o.id for o in offers]),
            PlaceCounter.slot.in_(today_slots(today)),
        )
    ):
        taken[offer_id][slot] = count
    return {
        o.id: max(
            _offer_free(
                o.care_type, o.capacity, (o.sessions or "am,pm").split(","), taken[o.id], today
            ),
            0,
        )
        for o in offers
    }


def free_places(nursery_ids, today: date) -> dict[int, dict[str, int]]:
    """Free places per care type for each nursery (offers of every class type added up)."""
    ids = [int(i) for i in nursery_ids]
    result: dict[int, dict[str, int]] = {i: {} for i in ids}
    if not ids:
        return result
    offers = db.session.execute(
        select(Offer.id, Offer.nursery_id, Offer.care_type, Offer.capacity, Offer.sessions)
        .where(Offer.nursery_id.in_(ids))
        .order_by(Offer.id)
    ).all()
    free = free_by_offer(offers, today)
    for offer in offers:
        places = result[offer.nursery_id]
        places[offer.care_type] = places.get(offer.care_type, 0) + free[offer.id]
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
