"""Races for places: N families asking at once for K free places hold exactly K.

Three layers, on SQLite and on PostgreSQL:

1. threads calling ``family.book`` at the same moment (a barrier), each in its own app context
   and therefore its own session and connection: a full-day place, overlapping hourly windows
   (all-or-nothing over several slots), and bookings that all find the same overdue request;
2. a control showing that this race test is able to fail: the same threads with the capacity check
   replaced by a read-then-write take overbook on PostgreSQL;
3. nurseries side by side (PostgreSQL): families booking at two nurseries at once, each exact;
   a use case held open at one nursery while another thread books at the other (it waits for no
   lock, ``database.LockWaits``) or at the same one (it waits); the expiry job committing one
   nursery's expiries while it waits for the next;
4. several gunicorn workers over HTTP (``slow``): the real server, the real API, N concurrent
   POST /api/v1/bookings, then the database checked.

Concurrency bugs these tests found (and that were fixed) are recognised by their exact symptom
and named in the failure message, after every capacity invariant of the test has been asserted.
"""

import random
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

import database
from accounts.models import User
from booking import capacity
from booking.models import Booking, Child
from booking.rules import Request
from booking.services import family
from booking.waitlist import Settings, positions
from extensions import db
from maps.models import Offer, PlaceCounter
from notifications.models import Notification, OutboxMessage
from tests.booking_helpers import NOW, TODAY, birth_for, make_bookable_nursery
from tests.conftest import service_missing

N = 40  # families asking at once
K = 5  # free places
SETTINGS = Settings()
START = TODAY + timedelta(days=7)

KNOWN_BUGS = {
    "outbox_locked": (
        "SQLite: drain_outbox() runs after the use case's commit in a DEFERRED transaction "
        "(SELECT, then UPDATE outbox), whose upgrade to a writer fails with 'database is locked' "
        "when another writer committed meanwhile; the booking is committed but the call raises "
        "(HTTP 500)"
    ),
    "duplicate_delivery": (
        "concurrent drain_outbox() calls deliver the same message several times (PostgreSQL: "
        "they select the same unsent rows, no FOR UPDATE SKIP LOCKED; SQLite: a drain that "
        "fails to commit has already sent)"
    ),
    "told_position": (
        "the waitlist position returned by book() can repeat (the queue itself ends consistent): "
        "queued_at is read before the write lock is held, and on PostgreSQL the bookings of one "
        "queue are not serialised, so one with a lower id can commit after one that was already "
        "told its position"
    ),
    "double_expiry": (
        "PostgreSQL: concurrent expire_due() calls (every book() and cancel() starts with one) "
        "expire the same overdue booking several times, each releasing its place and offering "
        "it to another family: more places held than capacity"
    ),
}


def report_known(found: set[str]) -> None:
    """Call last: fail naming the known bugs whose symptoms came back."""
    if found:
        pytest.fail(
            "concurrency bug(s) are back: " + " | ".join(KNOWN_BUGS[k] for k in sorted(found))
        )


def split_errors(errors: list[str]) -> tuple[set[str], list[str]]:
    """(known bugs seen, other errors)."""
    outbox = [e for e in errors if "database is locked" in e and "UPDATE outbox" in e]
    others = [e for e in errors if e not in outbox]
    return ({"outbox_locked"} if outbox else set()), others


class CountingSender:
    """Counts each delivery, to find messages delivered more than once."""

    def __init__(self):
        self.sent: Counter = Counter()
        self._lock = threading.Lock()

    def send(self, user_id: int, channel: str, text: str) -> None:
        with self._lock:
            self.sent[(user_id, channel, text)] += 1


def families(n: int) -> list[tuple[int, int]]:
    """n parents with a 20-month-old child each, written straight to the DB: (parent, child)."""
    tag = random.randrange(10**6)
    users = [User(username=f"race{tag}-{i}", password_hash="x", role="parent") for i in range(n)]
    db.session.add_all(users)
    db.session.flush()
    kids = [
        Child(
            parent_id=u.id,
            name=f"孩子{i}",
            birth_date=birth_for(20),
            consent_version=SETTINGS.rules_version,
            consent_at=NOW,
        )
        for i, u in enumerate(users)
    ]
    db.session.add_all(kids)
    db.session.commit()
    return [(u.id, k.id) for u, k in zip(users, kids, strict=True)]


def race(app, calls: list) -> tuple[list, list[str]]:
    """Run every call in its own thread and app context, all released at once by a barrier.

    Returns the results in call order (None where the call raised) and the errors as text.
    """
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list[str] = []

    def run(i: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=60)
                results[i] = calls[i]()
            except Exception as exc:  # noqa: BLE001 - every failure is reported by the test
                errors.append(f"{i}: {exc.__class__.__name__}: {exc}")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(len(calls))]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=180)
    assert not any(th.is_alive() for th in threads), "a booking thread hung"
    return results, errors


def booker(parent: int, child: int, nursery: int, req: Request):
    def call():
        booking, position = family.book(parent, child, nursery, req, True, SETTINGS, now=NOW)
        return booking.id, booking.status, position

    return call


def full_day_race(app, places: int = K, n: int = N):
    """n families book a full-day place at a nursery with `places` places, all at once."""
    with app.app_context():
        nursery = make_bookable_nursery(capacity=places, offers=[("full_day", "month", "1800")])
        fams = families(n)
    req = Request(care_type="full_day", start_date=START)
    results, errors = race(app, [booker(p, c, nursery, req) for p, c in fams])
    return nursery, results, errors


def held_and_counter(nursery: int) -> tuple[Counter, int]:
    """Bookings per status at a nursery, and the places its full-day counter says are taken."""
    db.session.expire_all()
    statuses = Counter(
        dict(
            db.session.execute(
                select(Booking.status, func.count())
                .where(Booking.nursery_id == nursery)
                .group_by(Booking.status)
            ).all()
        )
    )
    taken = db.session.scalar(
        select(PlaceCounter.taken)
        .join(Offer, Offer.id == PlaceCounter.offer_id)
        .where(Offer.nursery_id == nursery, PlaceCounter.slot == "enrol")
    )
    return statuses, taken


def queue_positions(nursery: int) -> list[int]:
    waiting = list(
        db.session.scalars(
            select(Booking).where(Booking.nursery_id == nursery, Booking.status == "waitlisted")
        )
    )
    return sorted(positions(waiting).values())


# --- 1. threads ---------------------------------------------------------------------------


def test_n_threads_for_k_places_hold_exactly_k(app):
    """N families book K full-day places at once: exactly K held, N-K queued 1..N-K, no error,
    and every family told what the database holds."""
    sender = CountingSender()
    app.extensions["notification_sender"] = sender
    nursery, results, errors = full_day_race(app)
    known, others = split_errors(errors)
    assert others == []
    # The database: exactly K held, the rest waiting in a queue numbered 1..N-K.
    with app.app_context():
        statuses, taken = held_and_counter(nursery)
        assert statuses == {"pending": K, "waitlisted": N - K}
        assert taken == K
        assert queue_positions(nursery) == list(range(1, N - K + 1))
        notes = db.session.scalar(select(func.count()).select_from(Notification))
    # What the families were told agrees with it.
    answered = [r for r in results if r is not None]
    said = Counter(status for _, status, _ in answered)
    assert said["pending"] + said["waitlisted"] == len(answered) == N - len(errors)
    assert said["pending"] <= K and said["waitlisted"] <= N - K
    assert all(pos is None for _, s, pos in answered if s == "pending")
    told = sorted(pos for _, s, pos in answered if s == "waitlisted")
    assert all(1 <= pos <= N - K for pos in told)
    if not errors and told != list(range(1, N - K + 1)):
        known.add("told_position")
    # Every notification delivered, and once.
    assert len(sender.sent) <= notes
    if sender.sent and max(sender.sent.values()) > 1:
        known.add("duplicate_delivery")
    if not errors:
        assert said == {"pending": K, "waitlisted": N - K}
        assert len(sender.sent) == notes
    report_known(known)


def test_overlapping_hourly_windows_stay_within_capacity_and_all_or_nothing(app):
    """Families book 1–4 hour windows on one day at once; every hour's counter stays ≤ capacity
    and equals the number of confirmed bookings covering that hour, so no booking ever holds only
    part of its hours (a partial take would leave a counter above that number)."""
    cap, n = 3, 30
    rnd = random.Random(20261123)
    with app.app_context():
        nursery = make_bookable_nursery(capacity=cap, offers=[("hourly", "hour", "40")])
        fams = families(n)
    windows = []
    for _ in range(n):
        length = rnd.randint(1, 4)
        start = rnd.randint(8, 17 - length)
        windows.append((start, start + length))
    calls = [
        booker(p, c, nursery, Request("hourly", START, start_hour=a, end_hour=b))
        for (p, c), (a, b) in zip(fams, windows, strict=True)
    ]
    _results, errors = race(app, calls)
    known, others = split_errors(errors)
    assert others == []
    with app.app_context():
        taken = dict(
            db.session.execute(
                select(PlaceCounter.slot, PlaceCounter.taken)
                .join(Offer, Offer.id == PlaceCounter.offer_id)
                .where(Offer.nursery_id == nursery)
            ).all()
        )
        bookings = list(db.session.scalars(select(Booking).where(Booking.nursery_id == nursery)))
        assert len(bookings) == n
        assert {b.status for b in bookings} <= {"confirmed", "waitlisted"}
        held: Counter = Counter()
        for b in bookings:
            hours = [f"{START.isoformat()}T{h:02d}" for h in range(b.start_hour, b.end_hour)]
            assert b.slot_keys() == hours
            if b.status == "confirmed":
                held.update(hours)
    assert held, "nobody got a place: the race did not exercise taking"
    assert sum(held.values()) < sum(b - a for a, b in windows), "no contention: widen the windows"
    for slot, count in taken.items():
        assert count <= cap, slot
        assert count == held[slot], f"{slot}: counter {count}, confirmed bookings {held[slot]}"
    assert set(held) <= set(taken)
    report_known(known)


def test_bookings_that_find_the_same_overdue_request_expire_it_once(app):
    """K places all held; the nursery never answered the first request. M families book at once,
    and each booking first expires overdue requests: the overdue one must expire once, its place
    go to exactly one family, and the places held never exceed K."""
    m = 20
    req = Request(care_type="full_day", start_date=START)
    with app.app_context():
        nursery = make_bookable_nursery(capacity=K, offers=[("full_day", "month", "1800")])
        fams = families(K + m)
        held = [booker(p, c, nursery, req)()[0] for p, c in fams[:K]]
        db.session.remove()  # the bookings above ran in this context's session
        overdue = held[0]
        db.session.execute(
            update(Booking).where(Booking.id == overdue).values(respond_by=NOW - timedelta(hours=1))
        )
        db.session.commit()
    _results, errors = race(app, [booker(p, c, nursery, req) for p, c in fams[K:]])
    known, others = split_errors(errors)
    assert others == []
    with app.app_context():
        statuses, taken = held_and_counter(nursery)
        expiries = db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.subject_id == overdue, Notification.text.contains("未按时确认"))
        )
        assert db.session.get(Booking, overdue).status == "expired"
    if expiries > 1:
        known.add("double_expiry")
        report_known(known)
    assert expiries == 1
    holding = statuses["pending"] + statuses["confirmed"] + statuses["offered"]
    assert holding == taken == K
    assert statuses == {"pending": K, "expired": 1, "waitlisted": m - 1}
    report_known(known)


# --- 2. the control: the same race without the conditional take ---------------------------


def racy_try_take(offer: Offer, slots: list[str], today=None) -> bool:
    """The check-then-act the real take must never be: read the counter, think, write read + 1.

    Writing ``read + 1`` (never ``taken + 1``) keeps the counter within its CHECK constraint, so
    the constraint cannot stop the overbooking: a lost update leaves the counter at most at
    capacity while more bookings than that believe they hold a place.
    """
    (slot,) = slots
    row = db.session.execute(
        select(PlaceCounter.id, PlaceCounter.taken, PlaceCounter.capacity).where(
            PlaceCounter.offer_id == offer.id, PlaceCounter.slot == slot
        )
    ).one()
    time.sleep(0.05)  # everybody who read the same value is now inside the critical section
    if row.taken >= row.capacity:
        return False
    db.session.execute(
        update(PlaceCounter)
        .where(PlaceCounter.id == row.id)
        .values(taken=row.taken + 1)
        .execution_options(synchronize_session=False)
    )
    return True


def control_race(app, monkeypatch):
    """The thread race with the racy take; the counter row exists beforehand so that every
    thread reads it at the same moment. Returns (held bookings, counter, errors)."""
    monkeypatch.setattr(capacity, "try_take", racy_try_take)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # Also lift the advisory locks that every use case takes on entering `use_case()` (the
        # nursery's, one booking at a time), leaving the take as the only guard.
        monkeypatch.setattr(database, "begin_write", lambda *args: None)
    with app.app_context():
        nursery = make_bookable_nursery(capacity=K, offers=[("full_day", "month", "1800")])
        offer_id = db.session.scalar(  # the 20-month-old children's class
            select(Offer.id).where(Offer.nursery_id == nursery, Offer.class_type == "toddler")
        )
        db.session.add(PlaceCounter(offer_id=offer_id, slot="enrol", capacity=K, taken=0))
        db.session.commit()
        fams = families(N)
    req = Request(care_type="full_day", start_date=START)
    _results, errors = race(app, [booker(p, c, nursery, req) for p, c in fams])
    with app.app_context():
        statuses, taken = held_and_counter(nursery)
    return statuses["pending"], taken, errors


@pytest.mark.postgres
@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_control_a_read_then_write_take_overbooks_on_postgresql(app, monkeypatch):
    """Proves the race test above can fail, so its passing means something.

    Replace only the take (capacity.try_take) by a read-then-write with a sleep in between, keep
    everything else, and run the same N threads against K places on PostgreSQL (READ COMMITTED):
    threads read the same ``taken``, each writes ``read + 1`` after the previous writer's row lock
    is released, and more than K bookings end up ``pending`` while the counter still says ≤ K.
    The same harness that counts exactly K with the conditional UPDATE counts more here.
    """
    overbooked = []
    for _attempt in range(3):
        held, taken, errors = control_race(app, monkeypatch)
        assert split_errors(errors)[1] == []
        assert taken <= K  # the counter's CHECK constraint never saw anything wrong
        overbooked.append(held)
        if held > K:
            break
    assert max(overbooked) > K, f"the racy take never overbooked: held {overbooked}"


@pytest.mark.parametrize("app", ["sqlite"], indirect=True)
def test_control_on_sqlite_write_transactions_run_one_at_a_time(app, monkeypatch):
    """The companion on SQLite, and why the control runs on PostgreSQL.

    There ``use_case()`` (its ``begin_write()``) starts every booking with BEGIN IMMEDIATE, so
    write transactions run one after another and even the racy read-then-write take holds
    exactly K. On SQLite it is the lock mode, not the conditional UPDATE, that keeps places
    exact; on PostgreSQL it is the conditional UPDATE (the control above). Forcing DEFERRED
    instead would not overbook either: the booking's INSERT takes the write lock before the
    take, and the losers fail to upgrade their read snapshot ("database is locked") rather than
    overbook.
    """
    held, taken, errors = control_race(app, monkeypatch)
    known, others = split_errors(errors)
    assert others == []
    assert (held, taken) == (K, K)
    report_known(known)


# --- 3. nurseries side by side (PostgreSQL) ---------------------------------------------
#
# A use case locks only its nursery (`database.use_case(nurseries=[…])`: the service's lock
# shared, the nursery's exclusively). Shown by `LockWaits`, which counts each time a use case
# found a lock taken and had to wait, never by timing: a use case held open at one nursery, then
# what another thread does meanwhile. Timeouts only keep a broken run from hanging.

WAIT = 60  # seconds: only so that a broken run fails instead of hanging


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting: {what}"
        time.sleep(0.01)


class HeldUseCase:
    """``with use_case(nurseries=…)`` entered in a thread of its own (its locks taken), then
    waiting, with the transaction open, until the ``with`` block of the test ends."""

    def __init__(self, app, nurseries: list[int]):
        self.entered, self.release = threading.Event(), threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, args=(app, nurseries), daemon=True)

    def _run(self, app, nurseries) -> None:
        with app.app_context():
            try:
                with database.use_case(nurseries=nurseries):
                    self.entered.set()
                    if not self.release.wait(timeout=4 * WAIT):
                        raise TimeoutError("the held use case was never released")
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.errors.append(f"{exc.__class__.__name__}: {exc}")
            finally:
                db.session.remove()

    def __enter__(self) -> "HeldUseCase":
        self.thread.start()
        assert self.entered.wait(WAIT), f"the held use case never got its locks: {self.errors}"
        return self

    def __exit__(self, *exc_info) -> None:
        self.release.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive(), "the held use case did not end"
        assert self.errors == []


class InThread:
    """A call run in a thread of its own (own app context, session and connection). Records
    its result or error, and whether `watch` (a held use case's release) was set by the time
    the call returned."""

    def __init__(self, app, call, watch: threading.Event):
        self.done = threading.Event()
        self.result = self.error = None
        self.after_release = None
        self._app, self._call, self._watch = app, call, watch
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with self._app.app_context():
            try:
                self.result = self._call()
            except Exception as exc:  # noqa: BLE001 - reported by the test
                self.error = f"{exc.__class__.__name__}: {exc}"
            finally:
                self.after_release = self._watch.is_set()
                db.session.remove()
                self.done.set()

    def finish(self):
        assert self.done.wait(WAIT), "the call never returned"
        assert self.error is None, self.error
        return self.result


def lock_waits() -> tuple[int, int]:
    """(nursery, service): the lock waits counted in this process since the last reset."""
    return database.LockWaits.nursery, database.LockWaits.service


def status_of(booking_id: int) -> str:
    return db.session.scalar(select(Booking.status).where(Booking.id == booking_id))


def unsent_to(user_id: int) -> int:
    """How many of the messages to a user (there must be some) still wait in the outbox."""
    sent, unsent = (
        db.session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(Notification, Notification.id == OutboxMessage.notification_id)
            .where(Notification.user_id == user_id, cond)
        )
        for cond in (OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at.is_(None))
    )
    assert sent + unsent > 0, f"no message to user {user_id} at all"
    return unsent


@pytest.mark.postgres
@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_two_nurseries_booked_at_once_are_each_exact(app):
    """Families book at nursery A and at nursery B at the same moment, interleaved: each
    nursery holds exactly its places, the first bookings to commit; the rest wait in commit
    order, each told the position it ends at."""
    n = 20
    with app.app_context():
        nurseries = [
            make_bookable_nursery(capacity=K, offers=[("full_day", "month", "1800")])
            for _ in range(2)
        ]
        fams = families(2 * n)
    req = Request(care_type="full_day", start_date=START)
    calls = [booker(p, c, nurseries[i % 2], req) for i, (p, c) in enumerate(fams)]
    random.Random(20261124).shuffle(calls)  # A's and B's families interleaved
    results, errors = race(app, calls)
    known, others = split_errors(errors)
    assert others == []
    assert not known
    told = {r[0]: r for r in results}
    with app.app_context():
        for nursery in nurseries:
            statuses, taken = held_and_counter(nursery)
            assert statuses == {"pending": K, "waitlisted": n - K}, f"nursery {nursery}"
            assert taken == K, f"nursery {nursery}"
            bookings = list(
                db.session.scalars(
                    select(Booking).where(Booking.nursery_id == nursery).order_by(Booking.id)
                )
            )
            # Ids are drawn inside the nursery's lock: id order is commit order.
            assert [b.status for b in bookings] == ["pending"] * K + ["waitlisted"] * (n - K)
            final = positions(bookings)
            assert sorted(final.values()) == list(range(1, n - K + 1))
            for b in bookings:
                assert told[b.id][1] == b.status
                assert told[b.id][2] == final.get(b.id), f"booking {b.id}: told another position"


@pytest.mark.postgres
@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_a_use_case_at_one_nursery_never_waits_for_another_nurserys(app):
    """With a use case held open at nursery A, a booking at B completes (its messages
    delivered too) and waits for no lock; the control: a booking at A from another thread finds
    A's lock taken, and only finishes once A's use case is released."""
    with app.app_context():
        a, b = (
            make_bookable_nursery(capacity=K, offers=[("full_day", "month", "1800")])
            for _ in range(2)
        )
        (pa, ca), (pb, cb) = families(2)
    req = Request(care_type="full_day", start_date=START)
    database.LockWaits.reset()
    with HeldUseCase(app, [a]) as held_a:
        at_b = InThread(app, booker(pb, cb, b, req), watch=held_a.release)
        wait_until(lambda: lock_waits() != (0, 0) or at_b.done.is_set(), "the booking at B")
        # It returned while A is still held, without ever finding a lock taken ...
        assert lock_waits() == (0, 0)
        _, status, _ = at_b.finish()
        assert status == "pending"
        assert at_b.after_release is False
        # ... and its messages were delivered after its commit.
        with app.app_context():
            assert unsent_to(pb) == 0
            db.session.remove()
        # The control: at A itself, the booking finds A's lock taken and waits.
        at_a = InThread(app, booker(pa, ca, a, req), watch=held_a.release)
        wait_until(lambda: lock_waits() != (0, 0) or at_a.done.is_set(), "the booking at A")
        assert not at_a.done.is_set(), f"booked at A while A was held: {at_a.result}"
        assert lock_waits() == (1, 0)  # A's own lock, not the service's
    _, status, _ = at_a.finish()
    assert status == "pending"
    assert at_a.after_release is True  # it finished only once A's use case was released


@pytest.mark.postgres
@pytest.mark.parametrize("app", ["postgresql"], indirect=True)
def test_the_expiry_job_takes_the_nurseries_one_at_a_time(app):
    """Overdue requests at nurseries A and B (A the lower id). With B held open by another
    thread, ``expire_overdue`` commits A's expiries (seen from another session: A's request
    expired, its place offered to the next family) and waits for B's lock; once B is released,
    B's expire too."""
    req = Request(care_type="full_day", start_date=START)
    with app.app_context():
        a, b = (
            make_bookable_nursery(capacity=1, offers=[("full_day", "month", "1800")])
            for _ in range(2)
        )
        assert a < b
        fams = iter(families(4))
        first, second = {}, {}
        for nursery in (a, b):
            first[nursery] = booker(*next(fams), nursery, req)()[0]  # holds the one place
            second[nursery] = booker(*next(fams), nursery, req)()[0]  # waits for it
        db.session.remove()
        db.session.execute(
            update(Booking)
            .where(Booking.id.in_(first.values()))
            .values(respond_by=NOW - timedelta(hours=1))
        )
        db.session.commit()
        assert [status_of(first[a]), status_of(second[a])] == ["pending", "waitlisted"]
    database.LockWaits.reset()
    with HeldUseCase(app, [b]) as held_b:
        expiry = InThread(
            app, lambda: family.expire_overdue(SETTINGS, now=NOW), watch=held_b.release
        )
        wait_until(lambda: lock_waits() != (0, 0) or expiry.done.is_set(), "the expiry")
        assert not expiry.done.is_set(), "the expiry did not wait for the held nursery"
        assert lock_waits() == (1, 0)  # B's lock, not the service's
        with app.app_context():  # another session: what is committed
            assert status_of(first[a]) == "expired"
            assert status_of(second[a]) == "offered"
            assert status_of(first[b]) == "pending"
            assert status_of(second[b]) == "waitlisted"
            db.session.remove()
    assert expiry.finish() == 2
    assert expiry.after_release is True
    with app.app_context():
        assert status_of(first[b]) == "expired"
        assert status_of(second[b]) == "offered"


# --- 4. several gunicorn workers over HTTP -------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_gunicorn_workers_over_http_hold_exactly_k(backend, tmp_path):
    from bench import _server as srv

    try:
        with srv.database(backend) as db_url:
            http_race(srv, db_url, tmp_path)
    except srv.Unavailable as exc:
        service_missing(str(exc))


def http_race(srv, db_url: str, tmp_path) -> None:
    env = srv.server_env(db_url)
    srv.init_db(env)
    (seed,) = srv.seed_nurseries(db_url, nurseries=1, places=K, families=N)
    with srv.gunicorn(env, workers=4, log_dir=tmp_path) as server:
        headers = srv.get_tokens(server.port, seed.usernames)
        replies = srv.post_all(server.port, srv.booking_jobs(seed, headers), threads=N)
        log = server.log()
    facts = srv.db_figures(db_url, seed.nursery_id)
    ok = [r.body for r in replies if 200 <= r.status < 300]
    bad = [(r.status, r.body, r.error) for r in replies if not 200 <= r.status < 300]
    known = set()
    if bad:
        # The known SQLite bug: a 500 per failed drain_outbox() after a committed booking.
        failures = log.count("Exception on /api/v1/bookings")
        outbox = log.count("[SQL: UPDATE outbox")
        if {s for s, _, _ in bad} == {500} and len(bad) == failures == outbox:
            known.add("outbox_locked")
        else:
            pytest.fail(f"non-2xx answers: {bad[:5]}\n" + "\n".join(srv.server_errors(log)[:30]))
    else:
        assert srv.server_errors(log) == []
    # The database: exactly K held, the rest queued 1..N-K, whatever the answers said.
    assert facts["statuses"] == {"pending": K, "waitlisted": N - K}
    assert facts["counters"] == {"enrol": (K, K)}
    assert facts["positions"] == list(range(1, N - K + 1))
    said = Counter(b["status"] for b in ok)
    assert said["pending"] <= K and said["waitlisted"] <= N - K
    assert said["pending"] + said["waitlisted"] == len(ok)
    told = sorted(b["waitlist_position"] for b in ok if b["status"] == "waitlisted")
    assert all(1 <= pos <= N - K for pos in told)
    if not bad:
        assert said == {"pending": K, "waitlisted": N - K}
        if told != list(range(1, N - K + 1)):
            known.add("told_position")
    report_known(known)
