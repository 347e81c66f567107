"""The booking state machine on the model: who may do what in which status, and the transitions.

Plain objects, no database: `Booking` answers from its own fields and the actor's id, role and
nursery (a logged-in `User` or the `Actor` a service builds from ids).
"""

from datetime import date, datetime, timedelta

import pytest

from booking.models import Booking, InvalidTransition
from booking.rules import ACTIVE, ENDED, HELD, STATUSES, Actor
from booking.views.staff import STATUS_ORDER

NOW = datetime(2026, 11, 23, 9, 0)
OWNER, STRANGER, STAFF_ID = 11, 12, 21
NURSERY, OTHER_NURSERY = 5, 6
OWNER_PARENT = Actor.parent(OWNER)
OTHER_PARENT = Actor.parent(STRANGER)
OWN_STAFF = Actor.staff(STAFF_ID, NURSERY)
OTHER_STAFF = Actor.staff(STAFF_ID + 1, OTHER_NURSERY)
# A staff account whose id happens to equal the parent's must not pass as the family.
STAFF_WITH_PARENTS_ID = Actor(OWNER, "nursery_staff", NURSERY)
ADMIN = Actor(99, "admin")


def booking(status: str, care_type: str = "full_day", **kw) -> Booking:
    fields = {
        "id": 1,
        "parent_id": OWNER,
        "nursery_id": NURSERY,
        "child_id": 3,
        "offer_id": 4,
        "care_type": care_type,
        "status": status,
        "start_date": date(2026, 12, 1),
        "priority": 0,
        "created_at": NOW,
        "updated_at": NOW,
    }
    if status == "offered":
        fields["offer_expires_at"] = NOW + timedelta(hours=48)
    if status == "pending":
        fields["respond_by"] = NOW + timedelta(days=3)
    return Booking(**{**fields, **kw})


def test_the_status_sets_cover_every_status_once():
    assert set(ACTIVE) | set(ENDED) == set(STATUSES)
    assert not set(ACTIVE) & set(ENDED)
    assert set(HELD) < set(ACTIVE)
    assert sorted(STATUS_ORDER) == sorted(STATUSES)  # the portal lists every status


@pytest.mark.parametrize("status", STATUSES)
def test_only_the_owning_parent_may_cancel_and_only_while_active(status):
    b = booking(status)
    assert b.can_cancel(OWNER_PARENT) is (status in ACTIVE)
    for someone_else in (OTHER_PARENT, OWN_STAFF, OTHER_STAFF, STAFF_WITH_PARENTS_ID, ADMIN, None):
        assert b.can_cancel(someone_else) is False


@pytest.mark.parametrize("status", STATUSES)
def test_only_the_owning_parent_may_accept_and_only_an_offer_still_held(status):
    b = booking(status)
    assert b.can_accept(OWNER_PARENT, NOW) is (status == "offered")
    for someone_else in (OTHER_PARENT, OWN_STAFF, STAFF_WITH_PARENTS_ID, ADMIN, None):
        assert b.can_accept(someone_else, NOW) is False


def test_an_offer_can_be_accepted_until_its_hold_runs_out():
    b = booking("offered")
    deadline = b.offer_expires_at
    assert b.can_accept(OWNER_PARENT, deadline - timedelta(seconds=1))
    assert not b.offer_lapsed(deadline - timedelta(seconds=1))
    assert not b.can_accept(OWNER_PARENT, deadline)  # the deadline itself is too late
    assert b.offer_lapsed(deadline) and b.is_due(deadline)


@pytest.mark.parametrize("status", STATUSES)
def test_only_the_nurserys_own_staff_may_confirm_or_decline_a_pending_request(status):
    b = booking(status)
    assert b.can_confirm(OWN_STAFF) is (status == "pending")
    assert b.can_decline(OWN_STAFF) is (status == "pending")
    for someone_else in (OTHER_STAFF, OWNER_PARENT, OTHER_PARENT, ADMIN, None):
        assert b.can_confirm(someone_else) is False
        assert b.can_decline(someone_else) is False


@pytest.mark.parametrize("status", STATUSES)
def test_only_the_nurserys_own_staff_may_move_a_waiting_family_up(status):
    b = booking(status)
    assert b.can_move_to_front(OWN_STAFF) is (status == "waitlisted")
    for someone_else in (OTHER_STAFF, OWNER_PARENT, ADMIN, None):
        assert b.can_move_to_front(someone_else) is False


def test_staff_not_bound_to_a_nursery_may_do_nothing():
    b = booking("pending")
    assert not b.can_confirm(Actor(STAFF_ID, "nursery_staff", None))


@pytest.mark.parametrize("status", STATUSES)
def test_a_booking_is_due_only_past_its_own_deadline(status):
    b = booking(status)
    assert not b.is_due(NOW)
    assert b.is_due(NOW + timedelta(days=30)) is (status in ("offered", "pending"))


@pytest.mark.parametrize(
    ("care_type", "after"), [("full_day", "pending"), ("half_day", "pending"),
                             ("hourly", "confirmed"), ("temporary", "confirmed")],
)  # fmt: skip
@pytest.mark.parametrize("before", ["waitlisted", "offered"])
def test_holding_places_makes_enrolments_pending_and_other_care_confirmed(care_type, after, before):
    b = booking(before, care_type)
    respond_by = NOW + timedelta(days=3)
    b.hold(NOW, respond_by)
    assert b.status == after and b.holds_place and b.offer_expires_at is None
    assert b.respond_by == (respond_by if after == "pending" else None)


def test_offering_confirming_and_moving_up_follow_the_diagram():
    b = booking("waitlisted")
    b.move_to_front(3, NOW)
    assert b.priority == 3
    b.offer_place(NOW, NOW + timedelta(hours=48))
    assert b.status == "offered" and b.offer_expires_at == NOW + timedelta(hours=48)
    b.hold(NOW, NOW + timedelta(days=3))
    b.confirm(NOW)
    assert b.status == "confirmed" and b.respond_by is None


@pytest.mark.parametrize("status", ACTIVE)
@pytest.mark.parametrize("end", ENDED)
def test_closing_an_active_booking_says_whether_it_held_places(status, end):
    b = booking(status)
    assert b.close(end, "原因", NOW) is (status in HELD)
    assert (b.status, b.status_reason) == (end, "原因")
    assert b.offer_expires_at is None and b.respond_by is None and not b.is_active


@pytest.mark.parametrize("status", ENDED)
def test_an_ended_booking_cannot_change_again(status):
    b = booking(status)
    for transition in (
        lambda: b.close("cancelled", None, NOW),
        lambda: b.hold(NOW, None),
        lambda: b.confirm(NOW),
        lambda: b.offer_place(NOW, NOW),
        lambda: b.move_to_front(1, NOW),
    ):
        with pytest.raises(InvalidTransition):
            transition()
    assert b.status == status


@pytest.mark.parametrize(
    ("status", "transition"),
    [
        ("confirmed", lambda b: b.confirm(NOW)),
        ("waitlisted", lambda b: b.confirm(NOW)),
        ("pending", lambda b: b.hold(NOW, None)),
        ("offered", lambda b: b.offer_place(NOW, NOW)),
        ("pending", lambda b: b.move_to_front(1, NOW)),
        ("pending", lambda b: b.close("confirmed", None, NOW)),  # not an end
    ],
)
def test_transitions_the_diagram_does_not_have_are_refused(status, transition):
    b = booking(status)
    with pytest.raises(InvalidTransition):
        transition(b)
    assert b.status == status


def test_a_logged_in_user_answers_like_an_actor():
    from accounts.models import User

    parent = User(id=OWNER, username="p", password_hash="x", role="parent")
    staff = User(id=STAFF_ID, username="s", password_hash="x", role="nursery_staff")
    staff.nursery_id = NURSERY
    assert booking("confirmed").can_cancel(parent)
    assert booking("pending").can_confirm(staff)
