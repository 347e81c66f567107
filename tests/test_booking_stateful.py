"""A hypothesis state machine drives the booking services and checks the database after every step.

The world: one or two nurseries, each offer (care type × class) with 1–3 places and each class
with 1–12 places and 0–3 carers on file, six families (one has two children) whose children are
near the age limits (6 months, the class boundaries at 12 and 24 months, the third birthday),
and a staff member per nursery. The world is written straight to the database and is often
unlawful: a class's offers together may put more children in the room than it has places (there
the class limit binds, not the offers' own places), a class may have more places on file than
its carers may look after (its places count as carers × ratio), and one care type is on file
without a class (it cannot be booked). Random sequences of the use cases run against it: book,
cancel, decline, confirm, accept an offer, change an offer's capacity, and time passing
(``expire_overdue``, the use case cron runs). A simulated clock only moves forward and is passed
to every call.

Invariants, checked in the database after every step:

1. Every place counter's ``taken`` is the number of bookings holding a place (pending, confirmed,
   offered) in that offer and slot, ``taken`` ≤ ``capacity``, and ``capacity`` is the offer's
   (for counters of past dates: the one they had, which a later change leaves alone).
2. Waitlist order: a waiting booking W is never ahead (priority, queued_at, id) of a booking H
   that got its place from the waitlist and shares a slot of the same offer with W; and a booking
   that got its place at once was booked before every waiting booking sharing a slot with it.
3. No child holds or waits for the same slot of the same offer twice.
4. Every held booking's child is eligible (6 months to 3 years, and the offer's age band) on
   every care date.
5. In every class (nursery × class type), at every hour of every day from today on, the
   children present (counted from the held bookings' care types, sessions, dates and hours,
   not from the counters) are at most the class's places (from its NurseryClass rows).

A refusal (``DomainError``) is fine when its code is in the rule's allow-list; some refusals are
predicted exactly (an expired offer, capacity below what is held, a care type not offered or on
file without a class, and which limit refuses a new capacity: class size, carers × ratio, or
the class's offers together above its places).

The machine runs on SQLite (each example on a fresh copy of an empty database file) and on
PostgreSQL (the test database of ``tests/conftest.py``, emptied per example; skipped when the server
is missing, failed with REQUIRE_SERVICES=1). Controls: with ``try_take``'s ``taken < capacity``
condition removed (and the schema's CHECK constraint too), invariant 1 reports the overbooking;
with the CHECK constraint in place, the database refuses it. With the class check of
``try_take`` lifted (only each offer's own places count), invariant 5 reports two children in a
class of one place, and Hypothesis finds such a sequence of use cases by itself.

``--hypothesis-show-statistics`` shows how often each outcome (refusal codes, waitlisting, offers,
acceptances, expiries, full classes) was reached.
"""

import os
import shutil
import tempfile
from collections import Counter, defaultdict
from datetime import date, time, timedelta
from decimal import Decimal

import hypothesis
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, target
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import and_, func, or_, select, update

from accounts.models import User
from booking import capacity
from booking.models import Booking, BookingSlot, Child
from booking.rules import (
    ACTIVE,
    ENROLMENT_TYPES,
    HELD,
    Request,
    RuleError,
    add_months,
    check_age,
    periods_overlap,
)
from booking.services import family as family_services
from booking.services import staff
from booking.waitlist import Settings
from database import create_schema
from errors import DomainError
from extensions import db
from maps.domain import CLASS_TYPES, DEFAULT_PRICE_UNIT, class_age_range
from maps.models import Nursery, NurseryClass, Offer, PlaceCounter, bump_registry_version
from tests.booking_helpers import NOW
from tests.conftest import _empty_postgres, _make_app, _reset_caches

SETTINGS = Settings()
TODAY = NOW.date()
OPENS, CLOSES = 8, 17  # both nurseries are open 08:00–17:00


def born(months: int, days: int) -> date:
    """A birth date making the child `months` old `days` days after TODAY (negative: ago)."""
    return add_months(TODAY, -months) + timedelta(days=days)


# (family, birth date): ages at the limits of 6 months–3 years and of the class bands.
CHILDREN = [
    (0, born(6, 5)),  # 6 months in 5 days: too young until then
    (1, born(12, 4)),  # infant → toddler in 4 days
    (2, born(18, 0)),
    (3, born(24, 6)),  # toddler → older in 6 days
    (4, born(30, 0)),
    (5, born(36, 8)),  # third birthday in 8 days: too old from then
    (0, born(24, -2)),  # family 0's second child, just 24 months
]
FAMILIES = 1 + max(f for f, _ in CHILDREN)

# kind, class types, offers (care type, class type, half-day sessions). Every care type of a
# class has children in the room at once. The classes' places (1–12) and carers (0–3) are drawn,
# so the world often holds data the rules would no longer accept, written straight to the
# database as data from before them: a class whose offers together put more children in the room
# than it has places (there the class limit binds, not the offers' own places), a class with more
# places than its carers may look after (its places are capped at carers × ratio: none without
# carers), and temporary care on file without a class (it cannot be booked: ``no_class``).
NURSERIES = [
    (
        "private",
        ["toddler", "older"],
        [
            ("full_day", "toddler", None),
            ("full_day", "older", None),
            ("half_day", "toddler", "am,pm"),
            ("half_day", "older", "am,pm"),
            ("hourly", "toddler", None),
            ("hourly", "older", None),
            ("temporary", "toddler", None),
            ("temporary", "older", None),
        ],
    ),
    (
        "public",
        ["infant", "toddler"],
        [
            ("full_day", "infant", None),
            ("full_day", "toddler", None),
            ("half_day", "infant", "am"),  # no afternoon session, no hourly care
            ("half_day", "toddler", "am"),
            ("temporary", None, None),  # places "for every age", from before classes
        ],
    ),
]
PLACES_DRAWN = sum(len(offers) for _, _, offers in NURSERIES)
CLASSES_DRAWN = sum(len(classes) for _, classes, _ in NURSERIES)
PLACES = st.just(1) | st.integers(1, 3)  # an offer's places: 1 two times in three
CLASS_PLACES = st.integers(1, 4) | st.integers(5, 12)  # a class's places, as on file
CARERS = st.just(3) | st.integers(0, 3)  # 3 (lawful for up to 9 infants) five times in eight
CLASS_ROWS = st.tuples(CLASS_PLACES, CARERS)
NOON = 12  # hours before it share the room with the am session, hours from it with the pm one
HOURS = range(24)


def class_places(class_type: str, capacity: int, carers: int) -> int:
    """A class's places as the law counts them: what is on file, at most the class type's
    maximum and carers × its ratio (unlawful data never widens the limit)."""
    std = CLASS_TYPES[class_type]
    assert std.children_per_carer is not None, "the world has no mixed classes"
    return min(capacity, std.max_children, carers * std.children_per_carer)


# Requests, relative to the clock's date: a start 0–20 days ahead; enrolments open-ended or ending
# 0–30 days after their start; an hourly window of 1–3 whole hours within opening hours; temporary
# care for 1–4 days. Half the time, dated care starts in 1 or 2 days and hourly care at 08:00 or
# 09:00, so that families compete for the same hours and days (and wait for some of a booking's
# slots while others are free: what the waitlist order is about).
START = st.integers(0, 20)
DATED_START = st.integers(1, 2) | st.integers(0, 20)
FIRST_HOUR = st.integers(OPENS, OPENS + 1) | st.integers(OPENS, CLOSES - 1)
END_AFTER = st.none() | st.integers(0, 30)
NURSERY = st.integers(0, 3).map(lambda i: int(i == 3))  # the second one (when there is) 1 in 4
WHO = {"family": st.integers(0, FAMILIES - 1), "second": st.booleans(), "which": NURSERY}


def to_request(spec: tuple, today: date) -> Request:
    care_type, start, *rest = spec
    start = today + timedelta(days=start)
    if care_type in ENROLMENT_TYPES:
        end_after, session = rest
        end = None if end_after is None else start + timedelta(days=end_after)
        return Request(care_type, start, end, session=session)
    if care_type == "hourly":
        first, hours = rest
        return Request("hourly", start, start_hour=first, end_hour=min(first + hours, CLOSES))
    (days,) = rest
    return Request("temporary", start, start + timedelta(days=days - 1))


TIME_STEPS = st.one_of(
    st.integers(1, 48).map(lambda h: timedelta(hours=h)),
    st.integers(1, 4).map(lambda d: timedelta(days=d)),
)
PICK = st.integers(0, 40)  # which of the candidate bookings (modulo their number)
REASONS = st.sampled_from(["班级已满", "孩子年龄与班级不符", "资料不全，请补充后再预约"])

BOOK_REFUSALS = {
    "too_young",
    "too_old",
    "age_outside_class",
    "double_booking",
    "already_enrolled",
    "session_not_offered",
    "care_type_not_offered",
    "no_class",
}
AGE_REFUSALS = {"too_young", "too_old", "age_outside_class"}  # the offer is chosen by age first
PREDICTED = {"care_type_not_offered", "no_class", "session_not_offered"}  # only when expected


def _note(text: str) -> None:
    """Count an outcome for --hypothesis-show-statistics (not when a control drives the machine)."""
    if currently_in_test_context():
        event(text)


# Backends. The machine's examples share one app per backend, each example starting from an empty
# database: on SQLite a fresh copy of an empty-schema file (in memory under /dev/shm where there
# is one, so commits need no disk flush), on PostgreSQL the emptied test database.


def _scratch_dir() -> str:
    shm = "/dev/shm"
    return tempfile.mkdtemp(prefix="tuoyu-stateful-", dir=shm if os.path.isdir(shm) else None)


def _new_sqlite_app():
    """An app on a new SQLite file with the schema as the models define it now."""
    folder = _scratch_dir()
    app = _make_app(f"sqlite:///{folder}/test.sqlite3")
    with app.app_context():
        create_schema()
    return app, folder


def _shared_sqlite():
    app, folder = _new_sqlite_app()
    path, template = f"{folder}/test.sqlite3", f"{folder}/empty.sqlite3"
    with app.app_context():
        db.engine.dispose()  # the last connection to close checkpoints the WAL into the file
    shutil.copyfile(path, template)

    def reset():
        db.session.remove()
        db.engine.dispose()
        for leftover in (f"{path}-wal", f"{path}-shm"):
            if os.path.exists(leftover):
                os.remove(leftover)
        shutil.copyfile(template, path)

    return app, reset, lambda: shutil.rmtree(folder, ignore_errors=True)


_POSTGRES: dict[str, str] = {}  # the database URL, set by the `stateful_postgres` fixture


def _shared_postgres():
    def reset():
        db.session.remove()
        _empty_postgres()
        create_schema()

    return _make_app(_POSTGRES["url"]), reset, lambda: None


_SHARED = {"sqlite": _shared_sqlite, "postgresql": _shared_postgres}
_APPS: dict[str, tuple] = {}  # backend → (app, reset, cleanup)


def _example_app(backend: str):
    """(app, cleanup after the example) with an empty database."""
    if backend == "sqlite-new":  # for the controls, which change the schema
        app, folder = _new_sqlite_app()

        def cleanup():
            db.session.remove()
            db.engine.dispose()
            shutil.rmtree(folder, ignore_errors=True)

        return app, cleanup
    if backend not in _APPS:
        _APPS[backend] = _SHARED[backend]()
    app, reset, _ = _APPS[backend]
    with app.app_context():
        reset()
    return app, db.session.remove


@pytest.fixture(scope="module", autouse=True)
def _shared_apps():
    yield
    for app, _, cleanup in _APPS.values():
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        cleanup()
    _APPS.clear()


@pytest.fixture
def stateful_postgres(postgres_url):
    """The session's PostgreSQL test database (skips, or fails in CI, when it is unreachable)."""
    _POSTGRES["url"] = postgres_url
    yield
    _POSTGRES.pop("url", None)


class BookingMachine(RuleBasedStateMachine):
    backend = "sqlite"

    def __init__(self):
        super().__init__()
        self.app, self._cleanup = _example_app(self.backend)
        self._ctx = self.app.app_context()
        self._ctx.push()
        _reset_caches()
        self.now = NOW
        self.parents: list[int] = []
        self.kids: list[list[int]] = []  # per family
        self.nurseries: list[int] = []
        self.staff: dict[int, int] = {}  # nursery → staff user
        # nursery → care type → (half-day sessions, whether an offer of it has a class)
        self.offered: dict[int, dict[str, tuple[str, bool]]] = {}
        self.bands: dict[int, tuple[int, int]] = {}  # offer → age band
        self.queued: set[int] = set()  # bookings that joined the waitlist when booked
        self.statuses: dict[int, str] = {}  # active bookings, read after every step
        self.ever_offered: set[int] = set()  # bookings seen offered a place from the waitlist
        self.most_behind = self.most_held_back = 0  # see _steer

    def teardown(self):
        if currently_in_test_context():
            # Steer generation towards long queues and many offers, where order matters.
            target(self.most_behind, label="families waiting for a free slot behind others")
            target(self.most_held_back, label="families with free places waiting behind others")
            target(len(self.ever_offered), label="bookings offered a place from the waitlist")
        try:
            db.session.rollback()
            self._cleanup()
        finally:
            self._ctx.pop()
            _reset_caches()

    # The world.

    @initialize(
        n_nurseries=st.integers(1, 2),
        places=st.lists(PLACES, min_size=PLACES_DRAWN, max_size=PLACES_DRAWN),
        class_rows=st.lists(CLASS_ROWS, min_size=CLASSES_DRAWN, max_size=CLASSES_DRAWN),
    )
    def build_world(self, n_nurseries, places, class_rows):
        """The nurseries, written straight to the database (not through ``staff.set_offer``,
        which refuses offers that put more children in a class than it has places)."""
        places, class_rows = iter(places), iter(class_rows)
        for i, (kind, classes, offers) in enumerate(NURSERIES[:n_nurseries]):
            nursery = Nursery(
                name=f"状态机托育园{i}",
                address=f"测试路{i}号",
                kind=kind,
                inclusive=False,
                filing_no=f"测备-状态机-{i}",
                lat=29.6,
                lon=106.52,
                opens_at=time(OPENS),
                closes_at=time(CLOSES),
                capacity=0,
            )
            for class_type in classes:
                size, carers = next(class_rows)
                nursery.classes.append(
                    NurseryClass(
                        class_type=class_type, name=class_type, carers=carers, capacity=size
                    )
                )
            nursery.capacity = sum(c.capacity for c in nursery.classes)
            for care_type, class_type, sessions in offers:
                nursery.offers.append(
                    Offer(
                        care_type=care_type,
                        class_type=class_type,
                        sessions=sessions,
                        price_yuan=Decimal("100"),
                        price_unit=DEFAULT_PRICE_UNIT[care_type],
                        capacity=next(places),
                    )
                )
            db.session.add(nursery)
            db.session.flush()
            user = User(
                username=f"staff{i}", password_hash="x", role="nursery_staff", nursery_id=nursery.id
            )
            db.session.add(user)
            db.session.flush()
            self.nurseries.append(nursery.id)
            self.staff[nursery.id] = user.id
            self.offered[nursery.id] = {}
            for offer in nursery.offers:
                _, classed = self.offered[nursery.id].get(offer.care_type, ("", False))
                self.offered[nursery.id][offer.care_type] = (
                    offer.sessions or "am,pm",
                    classed or offer.class_type is not None,
                )
                if offer.class_type is not None:
                    self.bands[offer.id] = class_age_range(kind, offer.class_type)
            if any(
                c.capacity > class_places(c.class_type, c.capacity, c.carers)
                for c in nursery.classes
            ):
                _note("world: a class with more places on file than the law allows")
            for class_type in classes:
                offered = sum(o.capacity for o in nursery.offers if o.class_type == class_type)
                if offered > self._class_places(nursery.id, class_type):
                    _note("world: a class whose offers exceed its places (the class limit binds)")
        parents = [User(username=f"parent{i}", password_hash="x", role="parent") for i in range(6)]
        db.session.add_all(parents)
        db.session.flush()
        kids = [
            Child(
                parent_id=parents[family].id,
                name=f"孩子{n}",
                birth_date=birth,
                consent_version=SETTINGS.rules_version,  # as register_child records it
                consent_at=self.now,
            )
            for n, (family, birth) in enumerate(CHILDREN)
        ]
        db.session.add_all(kids)
        bump_registry_version()
        db.session.commit()
        self.parents = [p.id for p in parents]
        self.kids = [[] for _ in range(FAMILIES)]
        for (family, _), child in zip(CHILDREN, kids, strict=True):
            self.kids[family].append(child.id)

    # Helpers.

    @staticmethod
    def _class_places(nursery_id: int, class_type: str) -> int:
        """A class type's places at a nursery, from its NurseryClass rows."""
        rows = db.session.execute(
            select(NurseryClass.class_type, NurseryClass.capacity, NurseryClass.carers).where(
                NurseryClass.nursery_id == nursery_id, NurseryClass.class_type == class_type
            )
        ).all()
        return sum(class_places(*row) for row in rows)

    def _ids(self, statuses) -> list[int]:
        """Bookings in these statuses, from the database."""
        return list(
            db.session.scalars(
                select(Booking.id).where(Booking.status.in_(statuses)).order_by(Booking.id)
            )
        )

    def _with(self, *statuses) -> list[int]:
        """Bookings in these statuses as of the last invariant check (run after every step)."""
        return [bid for bid, status in self.statuses.items() if status in statuses]

    def _pick(self, statuses, pick: int) -> int:
        ids = self._with(*statuses)
        return ids[pick % len(ids)]

    def _row(self, booking_id: int):
        return db.session.execute(
            select(
                Booking.id,
                Booking.parent_id,
                Booking.nursery_id,
                Booking.child_id,
                Booking.care_type,
                Booking.status,
                Booking.start_date,
                Booking.end_date,
                Booking.respond_by,
                Booking.offer_expires_at,
            ).where(Booking.id == booking_id)
        ).one()

    @staticmethod
    def _full_slots(booking_id: int) -> int:
        """How many of a booking's slots have no free place in its offer."""
        return db.session.scalar(
            select(func.count())
            .select_from(BookingSlot)
            .join(
                PlaceCounter,
                and_(
                    PlaceCounter.offer_id == BookingSlot.offer_id,
                    PlaceCounter.slot == BookingSlot.slot,
                ),
            )
            .where(
                BookingSlot.booking_id == booking_id,
                PlaceCounter.taken >= PlaceCounter.capacity,
            )
        )

    def _due(self, b) -> bool:
        """Could the expiry run at the start of a use case end this booking?"""
        return (
            (b.status == "offered" and b.offer_expires_at <= self.now)
            or (b.status == "pending" and b.respond_by <= self.now)
            or (
                b.status == "waitlisted"  # dated care whose day passed, if its queue moves
                and b.care_type not in ENROLMENT_TYPES
                and b.start_date < self.now.date()
            )
        )

    def _current(self, slot: str) -> bool:
        """Enrolment and session slots, and the slots of dates from today on."""
        return slot in ("enrol", "am", "pm") or slot[:10] >= self.now.date().isoformat()

    @staticmethod
    def _refused(exc: DomainError, allowed: set[str], what: str) -> None:
        db.session.rollback()
        _note(f"{what.split()[0]}: refused {exc.code}")  # see --hypothesis-show-statistics
        assert exc.code in allowed, f"{what}: unexpected refusal {exc.code}: {exc.message}"

    # Rules.

    # One rule per care type, so that about 4 steps in 10 are bookings.

    @rule(**WHO, start=START, end_after=END_AFTER)
    def book_full_day(self, family, second, which, start, end_after):
        self._book(family, second, which, ("full_day", start, end_after, None))

    @rule(**WHO, start=START, end_after=END_AFTER, session=st.sampled_from(["am", "pm"]))
    def book_half_day(self, family, second, which, start, end_after, session):
        self._book(family, second, which, ("half_day", start, end_after, session))

    @rule(**WHO, start=DATED_START, first=FIRST_HOUR, hours=st.integers(1, 3))
    def book_hourly(self, family, second, which, start, first, hours):
        self._book(family, second, which, ("hourly", start, first, hours))

    @rule(**WHO, start=DATED_START, days=st.integers(1, 4))
    def book_temporary(self, family, second, which, start, days):
        self._book(family, second, which, ("temporary", start, days))

    def _book(self, family, second, which, spec):
        """A family books for one of its children at one of the nurseries."""
        kids = self.kids[family]
        child = kids[int(second) % len(kids)]
        nursery = self.nurseries[which % len(self.nurseries)]
        req = to_request(spec, self.now.date())
        offered = self.offered[nursery]
        expected = None  # the refusal codes one of which must come
        if req.care_type not in offered:
            expected = {"care_type_not_offered"}
        elif not offered[req.care_type][1]:
            expected = {"no_class"}  # places on file without a class cannot be booked
        elif req.care_type == "half_day" and req.session not in offered["half_day"][0].split(","):
            expected = {"session_not_offered", *AGE_REFUSALS}
        try:
            booking, position = family_services.book(
                self.parents[family], child, nursery, req, True, SETTINGS, now=self.now
            )
        except DomainError as exc:
            self._refused(exc, BOOK_REFUSALS, f"book {req}")
            if expected or exc.code in PREDICTED:
                assert exc.code in (expected or ()), (
                    f"book {req}: refused {exc.code}, expected {expected}"
                )
            return
        assert expected is None, f"book {req}: accepted, expected refusal {expected}"
        _note(f"book: {req.care_type} {booking.status}")
        if booking.status == "waitlisted":
            assert position is not None and position >= 1
            self.queued.add(booking.id)
            if position == 1 and not self._full_slots(booking.id):
                _note("book: waitlisted by its class, its offer had room")
        else:
            assert position is None
            assert booking.status == (
                "pending" if req.care_type in ENROLMENT_TYPES else "confirmed"
            )

    # A family cancels one of its active bookings: one that holds a place, or one that waits.

    @precondition(lambda self: self._with(*HELD))
    @rule(pick=PICK)
    def cancel_held(self, pick):
        self._cancel(self._pick(HELD, pick))

    @precondition(lambda self: self._with("waitlisted"))
    @rule(pick=PICK)
    def cancel_waiting(self, pick):
        self._cancel(self._pick(["waitlisted"], pick))

    def _cancel(self, booking_id: int) -> None:
        b = self._row(booking_id)
        try:
            family_services.cancel(b.parent_id, b.id, SETTINGS, now=self.now)
        except DomainError as exc:
            self._refused(exc, {"not_cancellable"}, f"cancel {b}")
            assert self._due(b), f"cancel {b}: refused although the booking is active"
            return
        assert self._row(b.id).status == "cancelled"
        _note(f"cancel: {b.status}")

    @precondition(lambda self: self._with("pending"))
    @rule(pick=PICK, reason=REASONS)
    def decline(self, pick, reason):
        b = self._row(self._pick(["pending"], pick))
        try:
            staff.decline(
                self.staff[b.nursery_id], b.nursery_id, b.id, reason, SETTINGS, now=self.now
            )
        except DomainError as exc:
            self._refused(exc, {"not_pending"}, f"decline {b}")
            assert self._due(b), f"decline {b}: refused although the booking is pending"
            return
        assert self._row(b.id).status == "declined"
        _note("decline: declined")

    @precondition(lambda self: self._with("pending"))
    @rule(pick=PICK)
    def confirm(self, pick):
        b = self._row(self._pick(["pending"], pick))
        try:
            staff.confirm(self.staff[b.nursery_id], b.nursery_id, b.id, SETTINGS, now=self.now)
        except DomainError as exc:
            self._refused(exc, {"not_pending"}, f"confirm {b}")
            assert self._due(b), f"confirm {b}: refused although the booking is pending"
            return
        assert self._row(b.id).status == "confirmed"
        _note("confirm: confirmed")
        # The child's other enrolment requests for an overlapping period were withdrawn.
        others = db.session.execute(
            select(Booking.id, Booking.start_date, Booking.end_date).where(
                Booking.child_id == b.child_id,
                Booking.id != b.id,
                Booking.care_type.in_(ENROLMENT_TYPES),
                Booking.status.in_(("pending", "offered", "waitlisted")),
            )
        ).all()
        for other in others:
            assert not periods_overlap(
                b.start_date, b.end_date, other.start_date, other.end_date
            ), f"confirm {b}: overlapping request {other.id} of the same child still active"

    @precondition(lambda self: self._with("offered"))
    @rule(pick=PICK)
    def accept(self, pick):
        b = self._row(self._pick(["offered"], pick))
        expired = b.offer_expires_at <= self.now
        try:
            family_services.accept(b.parent_id, b.id, SETTINGS, now=self.now)
        except DomainError as exc:
            self._refused(exc, {"offer_expired"}, f"accept {b}")
            assert expired, f"accept {b}: refused before the offer expired"
            assert self._row(b.id).status == "expired"
            return
        assert not expired, f"accept {b}: an offer past its expiry was accepted"
        status = "pending" if b.care_type in ENROLMENT_TYPES else "confirmed"
        assert self._row(b.id).status == status
        _note("accept: accepted")

    @rule(step=TIME_STEPS)
    def time_passes(self, step):
        self.now += step
        expired = family_services.expire_overdue(SETTINGS, now=self.now)  # what cron runs
        _note(f"time passes: {'some' if expired else 'nothing'} expired")
        overdue = db.session.scalar(
            select(func.count(Booking.id)).where(
                or_(
                    and_(Booking.status == "offered", Booking.offer_expires_at <= self.now),
                    and_(Booking.status == "pending", Booking.respond_by <= self.now),
                )
            )
        )
        assert overdue == 0, f"{overdue} overdue bookings left after expire_overdue"

    @rule(which=st.integers(0, 1), pick=st.integers(0, 15), places=st.integers(0, 4))
    def change_capacity(self, which, pick, places):
        nursery = self.nurseries[which % len(self.nurseries)]
        offers = db.session.execute(
            select(Offer.id, Offer.care_type, Offer.class_type, Offer.capacity, Offer.price_yuan)
            .where(Offer.nursery_id == nursery)
            .order_by(Offer.id)
        ).all()
        offer = offers[pick % len(offers)]
        counters = db.session.execute(
            select(PlaceCounter.slot, PlaceCounter.taken).where(PlaceCounter.offer_id == offer.id)
        ).all()
        # Counters of past days are history: they neither limit nor follow a new capacity.
        held = max((t for slot, t in counters if self._current(slot)), default=0)
        expected = self._offer_refusal(nursery, offers, offer, places)
        try:
            staff.set_offer(
                self.staff[nursery],
                nursery,
                offer.care_type,
                places,
                str(offer.price_yuan),
                SETTINGS,
                class_type=offer.class_type,
                now=self.now,
            )
        except DomainError as exc:
            what = f"change_capacity {places} of {offer}"
            if expected:
                self._refused(exc, {expected}, what)
                return
            self._refused(exc, {"capacity_below_held"}, what)
            assert places < held, f"capacity {places} refused with only {held} held"
            return
        assert expected is None, f"capacity {places} of {offer} accepted, expected {expected}"
        assert places >= held, f"capacity {places} accepted below the {held} places held"
        _note("change capacity: changed")
        assert db.session.scalar(select(Offer.capacity).where(Offer.id == offer.id)) == places

    def _offer_refusal(self, nursery: int, offers, offer, places: int) -> str | None:
        """The refusal `set_offer` owes this change, by the national limits (maps/standards.py):
        places without a class; or, for more places than before, a breach of the class's own
        limits on file, else the class's offers together above its places."""
        if offer.class_type is None:
            return "no_class" if places > 0 else None
        if places <= offer.capacity:
            return None  # fewer places never break a limit, whatever is on file
        rows = db.session.execute(
            select(NurseryClass.capacity, NurseryClass.carers).where(
                NurseryClass.nursery_id == nursery, NurseryClass.class_type == offer.class_type
            )
        ).all()
        std = CLASS_TYPES[offer.class_type]
        if any(cap > std.max_children for cap, _ in rows):
            return "class_size_exceeded"
        if any(cap > carers * std.children_per_carer for cap, carers in rows):
            return "ratio_exceeded"
        together = places + sum(
            o.capacity for o in offers if o.class_type == offer.class_type and o.id != offer.id
        )
        if together > self._class_places(nursery, offer.class_type):
            return "capacity_exceeds_class"
        return None

    # Invariants: one read of the database after every step, then four checks.

    @invariant()
    def database_is_consistent(self):
        bookings = db.session.execute(
            select(
                Booking.id,
                Booking.status,
                Booking.offer_id,
                BookingSlot.offer_id.label("slot_offer_id"),
                BookingSlot.slot,
                Booking.child_id,
                Child.birth_date,
                Booking.care_type,
                Booking.start_date,
                Booking.end_date,
                Booking.priority,
                Booking.queued_at,
            )
            .join(BookingSlot, BookingSlot.booking_id == Booking.id)
            .join(Child, Child.id == Booking.child_id)
            .where(Booking.status.in_(ACTIVE))
            .order_by(Booking.id)
        ).all()
        counters = db.session.execute(
            select(
                PlaceCounter.offer_id,
                PlaceCounter.slot,
                PlaceCounter.taken,
                PlaceCounter.capacity,
                Offer.capacity.label("offer_capacity"),
            ).join(Offer, Offer.id == PlaceCounter.offer_id)
        ).all()
        held = db.session.execute(
            select(
                Booking.id,
                Booking.nursery_id,
                Offer.nursery_id.label("offer_nursery_id"),
                Offer.class_type,
                Booking.care_type,
                Booking.session,
                Booking.start_date,
                Booking.end_date,
                Booking.start_hour,
                Booking.end_hour,
            )
            .join(Offer, Offer.id == Booking.offer_id)
            .where(Booking.status.in_(HELD))
            .order_by(Booking.id)
        ).all()
        classes = db.session.execute(
            select(
                NurseryClass.nursery_id,
                NurseryClass.class_type,
                NurseryClass.capacity,
                NurseryClass.carers,
            )
        ).all()
        db.session.rollback()  # end the read transaction
        self.statuses = {b.id: b.status for b in bookings}  # for the rules' preconditions
        self._steer(bookings, counters)
        self.check_counters(bookings, counters)
        self.check_waitlist_order(bookings)
        self.check_no_child_twice_in_one_slot(bookings)
        self.check_held_children_are_age_eligible(bookings)
        self.check_class_presence(held, classes)

    def _steer(self, bookings, counters) -> None:
        """Record how interesting the queues got, for Hypothesis's targeted search (teardown).

        Queue order is put to the test when a family waits although each of its slots has a free
        place, because an earlier family waiting for one of them cannot have all of its own: the
        next place to free up on that offer must not go to the later family. Families waiting for
        some free slot behind an earlier one are a step on the way there.
        """
        offered = {b.id for b in bookings if b.status == "offered"}
        self.ever_offered |= offered
        full = {(c.offer_id, c.slot) for c in counters if c.taken >= c.capacity}
        waiting = defaultdict(set)
        for b in bookings:
            if b.status == "waitlisted":
                waiting[b.id].add((b.offer_id, b.slot))
        behind = {  # later families waiting for a free slot an earlier family also waits for
            later: theirs
            for first, slots in waiting.items()
            if slots & full
            for later, theirs in waiting.items()
            if later > first and theirs & (slots - full)
        }
        held_back = [later for later, theirs in behind.items() if not theirs & full]
        self.most_behind = max(self.most_behind, len(behind))
        self.most_held_back = max(self.most_held_back, len(held_back))
        if offered:
            _note("state: a family was offered a place from the waitlist")
        if behind:
            _note("state: a family waits for a free slot behind an earlier one")
        if held_back:
            _note("state: a family with every slot free waits behind an earlier one")

    def check_counters(self, bookings, counters) -> None:
        """(1) taken = places held, taken ≤ capacity, capacity = the offer's."""
        for b in bookings:
            assert b.slot_offer_id == b.offer_id, f"booking {b.id}: a slot of another offer"
        held = Counter((b.offer_id, b.slot) for b in bookings if b.status in HELD)
        for c in counters:
            where = f"offer {c.offer_id} slot {c.slot}"
            assert c.taken <= c.capacity, (
                f"overbooked: {where}: taken {c.taken} > capacity {c.capacity}"
            )
            assert c.taken == held[c.offer_id, c.slot], (
                f"{where}: taken {c.taken} but {held[c.offer_id, c.slot]} bookings hold a place"
            )
            if self._current(c.slot):  # a past day keeps the capacity it had
                assert c.capacity == c.offer_capacity, (
                    f"{where}: capacity {c.capacity}, the offer's {c.offer_capacity}"
                )
        uncounted = set(held) - {(c.offer_id, c.slot) for c in counters}
        assert not uncounted, f"places held without a counter: {sorted(uncounted)}"

    def check_waitlist_order(self, bookings) -> None:
        """(2) Nobody holds a place that a family ahead of them in the queue still waits for.

        The machine never moves a family up, so queue order (priority desc, queued_at, id) is
        booking order, and a booking's slots never change. offer_next skips a family sharing a
        slot with an earlier family still waiting (whatever the capacity), and book() holds a
        place at once only when nobody waits for any of its slots.
        """
        order, waiting, holding = {}, defaultdict(set), defaultdict(set)
        for b in bookings:
            order[b.id] = (-b.priority, b.queued_at, b.id)
            assert (b.queued_at is not None) == (b.id in self.queued), (
                f"booking {b.id}: queued_at {b.queued_at} but the machine saw it "
                f"{'join' if b.id in self.queued else 'skip'} the waitlist"
            )
            (waiting if b.status == "waitlisted" else holding)[b.offer_id, b.slot].add(b.id)
        for (offer_id, slot), waiters in waiting.items():
            for h in holding.get((offer_id, slot), ()):
                for w in waiters:
                    if h in self.queued:
                        assert order[w] > order[h], (
                            f"offer {offer_id} slot {slot}: booking {w} still waits although "
                            f"it is ahead of {h}, which was offered the place from the waitlist"
                        )
                    else:
                        assert w > h, (
                            f"offer {offer_id} slot {slot}: booking {h} took a place at once "
                            f"while {w} was already waiting for it"
                        )

    @staticmethod
    def check_no_child_twice_in_one_slot(bookings) -> None:
        """(3) At most one active booking per (child, offer, slot)."""
        ids = defaultdict(list)
        for b in bookings:
            ids[b.child_id, b.offer_id, b.slot].append(b.id)
        twice = {key: found for key, found in ids.items() if len(found) > 1}
        assert not twice, f"(child, offer, slot) with several active bookings: {twice}"

    def check_held_children_are_age_eligible(self, bookings) -> None:
        """(4) Every held booking's child is eligible on every care date."""
        for b in {b.id: b for b in bookings if b.status in HELD}.values():
            if b.care_type in ENROLMENT_TYPES:
                assert b.end_date is not None, f"booking {b.id}: an enrolment without an end"
                # Age only grows and the limits are an interval: first and last day cover all.
                days = [b.start_date, b.end_date]
            elif b.care_type == "temporary":
                span = (b.end_date - b.start_date).days + 1
                days = [b.start_date + timedelta(days=i) for i in range(span)]
            else:
                days = [b.start_date]
            assert b.offer_id in self.bands, f"booking {b.id} holds a place that has no class"
            for day in days:
                try:
                    check_age(b.birth_date, day, self.bands[b.offer_id])
                except RuleError as exc:
                    raise AssertionError(
                        f"booking {b.id} ({b.care_type}, born {b.birth_date}) holds a place on "
                        f"{day}: {exc.code} (band {self.bands[b.offer_id]})"
                    ) from None

    def check_class_presence(self, held, classes) -> None:
        """(5) In every class (nursery × class type), at every hour of every day, the children
        present are at most the class's places.

        Counted here from the bookings themselves, not from the place counters: a full-day
        enrolment is present all day on every day, a half-day one in its half of every day
        (am before NOON), hourly care in its hours of its date, temporary care all day on each
        of its dates. The days: every day from today on that a held dated booking touches, and
        one day that none touches (enrolments only). Past days are history: a new enrolment is
        checked against the days still to come only.
        """
        places: Counter = Counter()
        for c in classes:
            places[c.nursery_id, c.class_type] += class_places(c.class_type, c.capacity, c.carers)
        today = self.now.date()
        by_class = defaultdict(list)
        days = set()
        for b in held:
            assert b.nursery_id == b.offer_nursery_id, f"booking {b.id}: another nursery's offer"
            assert b.class_type is not None, f"booking {b.id} holds a place that has no class"
            by_class[b.nursery_id, b.class_type].append(b)
            if b.care_type == "hourly":
                days.add(b.start_date)
            elif b.care_type == "temporary":
                span = (b.end_date - b.start_date).days + 1
                days.update(b.start_date + timedelta(days=i) for i in range(span))
        days = {d for d in days if d >= today}
        quiet = max(days, default=today) + timedelta(days=1)  # no dated booking on this day
        for (nursery, class_type), members in by_class.items():
            # (day, hour) → children present; day None: every day (the enrolments).
            present: Counter = Counter()
            for b in members:
                if b.care_type == "full_day":
                    present.update((None, h) for h in HOURS)
                elif b.care_type == "half_day":
                    present.update((None, h) for h in HOURS if (h < NOON) == (b.session == "am"))
                elif b.care_type == "hourly":
                    present.update((b.start_date, h) for h in range(b.start_hour, b.end_hour))
                else:
                    span = (b.end_date - b.start_date).days + 1
                    on = (b.start_date + timedelta(days=i) for i in range(span))
                    present.update((d, h) for d in on if d in days for h in HOURS)
            moments = [(d, h) for d in sorted(days | {quiet}) for h in HOURS]
            day, hour = max(moments, key=lambda m: present[None, m[1]] + present[m])  # the first
            most = present[None, hour] + present[day, hour]
            limit = places[nursery, class_type]
            if most == limit:
                _note("state: a class is full at some moment")
            assert most <= limit, (
                f"class {class_type} at nursery {nursery}: {most} children present on {day} "
                f"at {hour:02d}:00, more than the class's places: {limit}"
            )


class SqliteBookingMachine(BookingMachine):
    backend = "sqlite"


class NewSchemaBookingMachine(BookingMachine):
    backend = "sqlite-new"  # a new file and schema per machine: for the controls


class PostgresBookingMachine(BookingMachine):
    backend = "postgresql"


def _settings(examples: int, steps: int) -> hypothesis.settings:
    return hypothesis.settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        # No "explain" phase: it traces every shrinking run, several times slower with this much
        # database work per step.
        phases=[phase for phase in hypothesis.Phase if phase != hypothesis.Phase.explain],
    )


# About 3 minutes on SQLite and 1 on PostgreSQL (on a busy 2-CPU machine: about 1.3 s and 2.3 s
# an example) while every invariant holds. Once a failure is found, shrinking it replays
# examples for up to Hypothesis's 5-minute shrinking limit (the shrunk example is saved in
# .hypothesis/ and replayed at once afterwards): hence the timeouts.


@pytest.mark.timeout(900)
class TestBookingMachineSqlite(SqliteBookingMachine.TestCase):
    settings = _settings(examples=150, steps=50)


@pytest.mark.postgres
@pytest.mark.timeout(600)
@pytest.mark.usefixtures("stateful_postgres")
class TestBookingMachinePostgres(PostgresBookingMachine.TestCase):
    settings = _settings(examples=30, steps=50)


# Control: the capacity invariant can fail.


def _try_take_without_capacity_check(offer, slots, today=None):
    """try_take with the `taken < capacity` condition removed: every take succeeds."""
    ordered = sorted(set(slots))
    capacity._ensure_counters(offer, ordered)
    for slot in ordered:
        db.session.execute(
            update(PlaceCounter)
            .where(PlaceCounter.offer_id == offer.id, PlaceCounter.slot == slot)
            .values(taken=PlaceCounter.taken + 1)
            .execution_options(synchronize_session=False)
        )
    return True


def _book_full_day(machine: BookingMachine, *families: int) -> None:
    for family in families:  # 24, 30 and almost 36 months a week on: all in the older class
        machine.book_full_day(family=family, second=False, which=0, start=7, end_after=None)


LAWFUL_CLASSES = [(15, 3), (20, 3), (9, 3), (15, 3)]  # (places, carers): every class lawful


def _one_place_everywhere(class_rows=LAWFUL_CLASSES) -> BookingMachine:
    machine = NewSchemaBookingMachine()
    machine.build_world(n_nurseries=1, places=[1] * PLACES_DRAWN, class_rows=class_rows)
    return machine


@pytest.mark.parametrize("bypass", [False, True], ids=["real-try_take", "no-capacity-check"])
def test_control_the_capacity_invariant_catches_an_overbooking(monkeypatch, bypass):
    # Without the schema's CHECK (taken <= capacity) the invariant is the only guard left.
    table = PlaceCounter.__table__
    check = {
        c
        for c in table.constraints
        if isinstance(c, sa.CheckConstraint) and "taken <= capacity" in str(c.sqltext)
    }
    assert len(check) == 1
    monkeypatch.setattr(table, "constraints", table.constraints - check)
    if bypass:
        monkeypatch.setattr(capacity, "try_take", _try_take_without_capacity_check)
    machine = _one_place_everywhere()
    try:
        _book_full_day(machine, 4, 3, 5)
        held, waiting = machine._ids(["pending"]), machine._ids(["waitlisted"])
        if not bypass:
            assert (len(held), len(waiting)) == (1, 2)
            machine.database_is_consistent()  # holds
        else:
            assert (len(held), len(waiting)) == (3, 0)  # three families in one place
            with pytest.raises(AssertionError, match=r"overbooked: .* taken 3 > capacity 1"):
                machine.database_is_consistent()
    finally:
        machine.teardown()


def test_control_the_schema_check_refuses_an_overbooking_too(monkeypatch):
    """With the schema intact, the database itself refuses the second take of one place."""
    monkeypatch.setattr(capacity, "try_take", _try_take_without_capacity_check)
    machine = _one_place_everywhere()
    try:
        _book_full_day(machine, 4)
        with pytest.raises(sa.exc.IntegrityError):
            _book_full_day(machine, 3)
    finally:
        machine.teardown()


# Controls: the class invariant can fail, and the machine finds the overbooking on its own.


def _without_class_check(monkeypatch) -> None:
    """try_take as it was before classes: the offer's own places only (its class's presence
    counted as nobody)."""
    monkeypatch.setattr(capacity, "class_presence", lambda offer, slots, today: 0)


@pytest.mark.parametrize("lifted", [False, True], ids=["real-try_take", "no-class-check"])
def test_control_the_class_invariant_catches_a_class_overbooking(monkeypatch, lifted):
    """An older class with 1 place on file, and its full-day and half-day offers 1 place each
    (unlawful, but on file): a full-day child and a morning child would be two in the room."""
    if lifted:
        _without_class_check(monkeypatch)
    machine = _one_place_everywhere(class_rows=[(15, 3), (1, 3)])
    try:
        _book_full_day(machine, 4)
        machine.book_half_day(
            family=3, second=False, which=0, start=7, end_after=None, session="am"
        )
        held, waiting = machine._ids(["pending"]), machine._ids(["waitlisted"])
        if not lifted:
            assert (len(held), len(waiting)) == (1, 1)  # the offer had room, the class had none
            machine.database_is_consistent()  # holds
        else:
            assert (len(held), len(waiting)) == (2, 0)
            with pytest.raises(AssertionError, match=r"class older .* 2 children present"):
                machine.database_is_consistent()
    finally:
        machine.teardown()


def test_control_without_the_class_check_the_machine_finds_a_class_overbooking(monkeypatch):
    """With only the per-offer check (the class check of try_take lifted), Hypothesis finds a
    sequence of use cases that puts more children in a class than it has places, and it is
    invariant (5) that reports it: every other invariant still holds."""
    _without_class_check(monkeypatch)
    search = hypothesis.settings(
        _settings(examples=200, steps=30),
        phases=[hypothesis.Phase.generate],  # the first failure is enough: no shrinking
        database=None,
        derandomize=True,
        report_multiple_bugs=False,
    )
    with pytest.raises(AssertionError, match=r"children present on .* the class's places: \d+"):
        run_state_machine_as_test(SqliteBookingMachine, settings=search)
