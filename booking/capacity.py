"""Taking and releasing places: one conditional UPDATE per slot, then the class's limit, inside
the caller's transaction.

Role: domain logic on the session inside a use case (it never commits).

`UPDATE place_counters SET taken = taken + 1 WHERE … AND taken < capacity` either takes a place or
changes nothing, so two transactions can never both take the last one of an offer: on PostgreSQL
the second waits for the first's row lock and re-checks the condition; on SQLite write
transactions begin IMMEDIATE and run one at a time.

An offer's places belong to a class, and every care type of a class has children in the room at
once, so a take also checks that the class's children present at any moment (`slots.
peak_presence`, over all its offers' counters) stay within the class's places. That check reads
other offers' counters, so it needs the nursery's write lock (`database.use_case(nurseries=…)`):
takes at one nursery run one at a time, takes at different nurseries side by side.
"""

from datetime import date

from sqlalchemy import func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from database import holds_nursery
from extensions import db
from maps.models import Offer, PlaceCounter
from maps.standards import class_places, class_specs

from . import slots as slot_keys


class NoPlace(Exception):
    """A slot had no free place; the savepoint around the attempt is rolled back."""


def _ensure_counters(offer: Offer, slots: list[str]) -> None:
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(
        insert(PlaceCounter)
        .values(
            [
                {"offer_id": offer.id, "slot": s, "capacity": offer.capacity, "taken": 0}
                for s in slots
            ]
        )
        .on_conflict_do_nothing(index_elements=["offer_id", "slot"])
    )


def try_take(offer: Offer, slots: list[str], today: date) -> bool:
    """Take one place in every slot, or none at all (all-or-nothing via a savepoint): the
    offer's own places and, at every moment, the class's."""
    if not holds_nursery(offer.nursery_id):
        raise RuntimeError("places are taken inside a use case that locks the nursery")
    if offer.class_type is None:
        return False  # places on file from before classes were required belong to no class
    ordered = sorted(set(slots))  # one lock order for every transaction: no deadlocks
    _ensure_counters(offer, ordered)
    try:
        with db.session.begin_nested():
            for slot in ordered:
                result = db.session.execute(
                    update(PlaceCounter)
                    .where(
                        PlaceCounter.offer_id == offer.id,
                        PlaceCounter.slot == slot,
                        PlaceCounter.taken < PlaceCounter.capacity,
                    )
                    .values(taken=PlaceCounter.taken + 1)
                    .execution_options(synchronize_session=False)
                )
                if result.rowcount != 1:
                    raise NoPlace(slot)
            places = places_of_class(offer)
            if offered_in_class(offer) > places and class_presence(offer, ordered, today) > places:
                raise NoPlace("class")
    except NoPlace:
        return False
    return True


def places_of_class(offer: Offer) -> int:
    """The places of the class an offer's places belong to (0 when the nursery lacks it)."""
    nursery = offer.nursery  # loaded with its classes and offers by the use case, after its lock
    return class_places(nursery.kind, class_specs(nursery.classes)).get(offer.class_type, 0)


def offered_in_class(offer: Offer) -> int:
    """The places all offers of the offer's class type hold together. When that is within the
    class's places (lawful data: set_offer refuses more) no moment can have more children than
    places, each offer's counters being within its own capacity, so the presence query is
    skipped; it only decides on data on file from before the limits were enforced."""
    return sum(o.capacity for o in offer.nursery.offers if o.class_type == offer.class_type)


def class_presence(offer: Offer, slots: list[str], today: date) -> int:
    """The most children present at one moment in the offer's class, over the days these slots
    touch (every current day for an enrolment or session, which is present on all of them)."""
    if any(slot_keys.is_standing(s) for s in slots):
        scope = _current(today)
    else:
        days = {slot_keys.day_of(s) for s in slots}
        scope = or_(
            PlaceCounter.slot.in_(slot_keys.STANDING),
            *(PlaceCounter.slot.between(*slot_keys.day_range(d)) for d in sorted(days)),
        )
    rows = db.session.execute(
        select(PlaceCounter.slot, func.sum(PlaceCounter.taken))
        .join(Offer, Offer.id == PlaceCounter.offer_id)
        .where(
            Offer.nursery_id == offer.nursery_id,
            Offer.class_type == offer.class_type,
            scope,
        )
        .group_by(PlaceCounter.slot)
    )
    return slot_keys.peak_presence({slot: int(n or 0) for slot, n in rows})


def release(offer_id: int, slots: list[str]) -> None:
    """Give back one place in each slot."""
    db.session.execute(
        update(PlaceCounter)
        .where(PlaceCounter.offer_id == offer_id, PlaceCounter.slot.in_(sorted(set(slots))))
        .values(taken=PlaceCounter.taken - 1)
        .execution_options(synchronize_session=False)
    )


def free_in(offer: Offer, slots: list[str]) -> dict[str, int]:
    """Free places per slot (a slot nobody has taken yet has the offer's full capacity)."""
    rows = {
        slot: slot_keys.free(cap, taken)
        for slot, cap, taken in db.session.execute(
            select(PlaceCounter.slot, PlaceCounter.capacity, PlaceCounter.taken).where(
                PlaceCounter.offer_id == offer.id, PlaceCounter.slot.in_(slots)
            )
        )
    }
    return {s: rows.get(s, offer.capacity) for s in slots}


def _current(today: date):
    """Counters that still matter: enrolment and session slots, and dated slots from today on."""
    return or_(PlaceCounter.slot.in_(slot_keys.STANDING), PlaceCounter.slot >= slot_keys.day(today))


def most_taken(offer_id: int, today: date) -> int:
    """The most places held in any one current slot of an offer."""
    return db.session.scalar(
        select(func.coalesce(func.max(PlaceCounter.taken), 0)).where(
            PlaceCounter.offer_id == offer_id, _current(today)
        )
    )


def set_capacity(offer: Offer, capacity: int, today: date) -> int | None:
    """Change an offer's places. If a slot holds more than that, change nothing and return
    the most places held in one slot."""
    # Lock every counter of the offer first, so no booking takes a place between check and write
    # (SQLite needs no lock: its write transactions already run one at a time).
    db.session.execute(
        select(PlaceCounter.id).where(PlaceCounter.offer_id == offer.id).with_for_update()
    )
    held = most_taken(offer.id, today)
    if held > capacity:
        return held
    # Counters of past days keep the capacity they had (they are history).
    db.session.execute(
        update(PlaceCounter)
        .where(PlaceCounter.offer_id == offer.id, _current(today))
        .values(capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    offer.capacity = capacity
    return None
