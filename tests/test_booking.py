"""Booking use cases on SQLite and PostgreSQL: every transition, capacity, waitlist and offers."""

from datetime import date, time, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import User
from audit import AuditEntry
from booking.models import Booking, Child, NurseryConsent, Subsidy
from booking.rules import Request
from booking.services import family, staff
from booking.waitlist import Settings
from errors import DomainError
from extensions import db
from maps.models import Offer, PlaceCounter
from notifications.models import Notification, OutboxMessage
from tests.booking_helpers import NOW, TODAY, birth_for, make_bookable_nursery

SETTINGS = Settings()
START = TODAY + timedelta(days=7)


@pytest.fixture
def world(app):
    """A nursery with 2 places per care type, a staff member and three parents with a child each."""
    with app.app_context():
        nursery_id = make_bookable_nursery(capacity=2)
        users = [User(username=f"p{i}", password_hash="x", role="parent") for i in range(3)]
        staff_user = User(
            username="staff", password_hash="x", role="nursery_staff", nursery_id=nursery_id
        )
        db.session.add_all([*users, staff_user])
        db.session.commit()
        kids = [
            family.register_child(u.id, f"孩子{i}", birth_for(20), True, SETTINGS, now=NOW).id
            for i, u in enumerate(users)
        ]
        ctx = app.app_context()
        ctx.push()
        yield {
            "nursery": nursery_id,
            "parents": [u.id for u in users],
            "kids": kids,
            "staff": staff_user.id,
        }
        ctx.pop()


def add_family(w):
    """One more parent with a 20-month-old child."""
    parent = User(username=f"p{len(w['parents'])}", password_hash="x", role="parent")
    db.session.add(parent)
    db.session.commit()
    w["parents"].append(parent.id)
    w["kids"].append(
        family.register_child(parent.id, "孩子", birth_for(20), True, SETTINGS, now=NOW).id
    )


def book(w, i, care_type="full_day", now=NOW, nursery=None, **kw):
    req = Request(care_type=care_type, start_date=kw.pop("start_date", START), **kw)
    booking, position = family.book(
        w["parents"][i], w["kids"][i], nursery or w["nursery"], req, True, SETTINGS, now=now
    )
    return booking.id, booking.status, position


def status(booking_id):
    db.session.expire_all()
    return db.session.get(Booking, booking_id).status


def taken(nursery_id, care_type, slot):
    return (
        db.session.scalar(
            select(PlaceCounter.taken)
            .join(Offer, Offer.id == PlaceCounter.offer_id)
            .where(
                Offer.nursery_id == nursery_id,
                Offer.care_type == care_type,
                PlaceCounter.slot == slot,
            )
        )
        or 0
    )


def inbox(user_id):
    return [
        n.text
        for n in db.session.scalars(
            select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        )
    ]


def test_a_child_needs_guardian_consent_and_records_its_version(world):
    with pytest.raises(DomainError) as caught:
        family.register_child(world["parents"][0], "小明", birth_for(10), False, SETTINGS)
    assert caught.value.code == "consent_required"
    child = db.session.get(Child, world["kids"][0])
    assert (child.consent_version, child.consent_at) == ("2026-11", NOW)


def test_booking_a_free_full_day_place_holds_it_pending_the_nursery(world):
    bid, state, position = book(world, 0)
    assert (state, position) == ("pending", None)
    b = db.session.get(Booking, bid)
    assert b.respond_by.date() == date(2026, 11, 26)  # three working days after Monday
    assert taken(world["nursery"], "full_day", "enrol") == 1
    assert db.session.scalar(select(func.count(NurseryConsent.id))) == 1
    assert "等待机构确认" in inbox(world["parents"][0])[-1]
    assert "待确认" in inbox(world["staff"])[-1]


def test_booking_is_waitlisted_when_the_last_place_is_taken(world):
    book(world, 0)
    book(world, 1)
    bid, state, position = book(world, 2)
    assert (state, position) == ("waitlisted", 1)
    assert taken(world["nursery"], "full_day", "enrol") == 2
    assert "候补" in inbox(world["parents"][2])[-1]


def test_a_cancellation_offers_the_place_to_the_first_waiting_family(world):
    first, _, _ = book(world, 0)
    book(world, 1)
    waiting, _, _ = book(world, 2)
    family.cancel(world["parents"][0], first, SETTINGS, now=NOW)
    assert status(first) == "cancelled" and status(waiting) == "offered"
    offered = db.session.get(Booking, waiting)
    assert offered.offer_expires_at == NOW + timedelta(hours=48)
    assert taken(world["nursery"], "full_day", "enrol") == 2
    assert "有空位了" in inbox(world["parents"][2])[-1]
    accepted = family.accept(world["parents"][2], waiting, SETTINGS, now=NOW + timedelta(hours=1))
    assert accepted.status == "pending"


def test_an_offer_not_accepted_in_time_expires_and_goes_to_the_next_family(world):
    add_family(world)
    first, _, _ = book(world, 0)
    book(world, 1)
    second_in_line, _, _ = book(world, 2)
    third_in_line, _, p3 = book(world, 3)
    assert p3 == 2
    family.cancel(world["parents"][0], first, SETTINGS, now=NOW)
    late = NOW + timedelta(hours=49)
    with pytest.raises(DomainError) as caught:
        family.accept(world["parents"][2], second_in_line, SETTINGS, now=late)
    assert caught.value.code == "offer_expired" and caught.value.status == 409
    assert status(second_in_line) == "expired" and status(third_in_line) == "offered"
    assert taken(world["nursery"], "full_day", "enrol") == 2


def test_unanswered_requests_expire_and_free_the_place(world):
    first, _, _ = book(world, 0)
    book(world, 1)
    waiting, _, _ = book(world, 2)
    assert family.expire_overdue(SETTINGS, now=NOW + timedelta(days=2)) == 0
    assert family.expire_overdue(SETTINGS, now=NOW + timedelta(days=4)) == 2
    assert status(first) == "expired" and status(waiting) == "offered"
    assert "未按时确认" in inbox(world["parents"][0])[-1]


def test_nursery_confirms_and_the_childs_other_waiting_requests_are_withdrawn(world, app):
    other_nursery = make_bookable_nursery(capacity=1)
    elsewhere, _, _ = book(world, 0, nursery=other_nursery)
    waiting_elsewhere, state, _ = book(world, 1, nursery=other_nursery)
    assert state == "waitlisted"
    here, _, _ = book(world, 0)
    # Child 0 waits at the other nursery too (pending there); confirming here withdraws it.
    staff.confirm(world["staff"], world["nursery"], here, SETTINGS, now=NOW)
    assert status(here) == "confirmed"
    assert status(elsewhere) == "cancelled"
    assert status(waiting_elsewhere) == "offered"  # the withdrawn place went to the next family
    assert "自动撤回" in inbox(world["parents"][0])[-1]


def test_nursery_declines_with_a_reason_the_family_sees(world):
    bid, _, _ = book(world, 0)
    with pytest.raises(DomainError) as caught:
        staff.decline(world["staff"], world["nursery"], bid, " ", SETTINGS, now=NOW)
    assert caught.value.code == "reason_required"
    staff.decline(
        world["staff"], world["nursery"], bid, "该班已满，建议选择托大班", SETTINGS, now=NOW
    )
    assert status(bid) == "declined"
    assert "该班已满" in inbox(world["parents"][0])[-1]
    assert taken(world["nursery"], "full_day", "enrol") == 0
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "booking.decline"))
    assert entry.reason == "该班已满，建议选择托大班" and entry.actor_id == world["staff"]


def test_staff_cannot_touch_another_nurserys_bookings(world):
    other = make_bookable_nursery()
    bid, _, _ = book(world, 0)
    with pytest.raises(DomainError) as caught:
        staff.confirm(world["staff"], other, bid, SETTINGS, now=NOW)
    assert caught.value.status == 404


def test_hourly_care_is_confirmed_when_every_hour_is_free_and_is_all_or_nothing(world):
    a, state, _ = book(world, 0, "hourly", start_hour=9, end_hour=11)
    assert state == "confirmed"
    book(world, 1, "hourly", start_hour=10, end_hour=11)
    day = START.isoformat()
    assert [taken(world["nursery"], "hourly", f"{day}T{h:02d}") for h in (9, 10, 11)] == [1, 2, 0]
    c, state, position = book(world, 2, "hourly", start_hour=8, end_hour=12)
    assert (state, position) == ("waitlisted", 1)
    # The free hours 08, 09 and 11 were not taken by the refused request.
    assert [taken(world["nursery"], "hourly", f"{day}T{h:02d}") for h in (8, 9, 10, 11)] == [
        0,
        1,
        2,
        0,
    ]
    family.cancel(world["parents"][0], a, SETTINGS, now=NOW)
    assert status(c) == "offered"
    assert [taken(world["nursery"], "hourly", f"{day}T{h:02d}") for h in (8, 9, 10, 11)] == [
        1,
        1,
        2,
        1,
    ]


def test_temporary_care_takes_every_day_or_none(world):
    book(world, 0, "temporary", end_date=START + timedelta(days=1))
    book(world, 1, "temporary", start_date=START + timedelta(days=1))
    _, state, _ = book(world, 2, "temporary", end_date=START + timedelta(days=2))
    assert state == "waitlisted"
    days = [(START + timedelta(days=i)).isoformat() for i in range(3)]
    assert [taken(world["nursery"], "temporary", d) for d in days] == [1, 2, 0]


def test_half_day_sessions_have_their_own_places(world):
    book(world, 0, "half_day", session="am")
    book(world, 1, "half_day", session="am")
    _, state_pm, _ = book(world, 2, "half_day", session="pm")
    assert state_pm == "pending"
    assert taken(world["nursery"], "half_day", "am") == 2
    assert taken(world["nursery"], "half_day", "pm") == 1


@pytest.mark.parametrize(
    ("kw", "code"),
    [
        ({"start_date": TODAY - timedelta(days=1)}, "date_in_past"),
        ({"start_date": TODAY + timedelta(days=91)}, "beyond_horizon"),
        ({"end_date": START - timedelta(days=1)}, "end_before_start"),
        ({"care_type": "half_day"}, "invalid_session"),
        ({"care_type": "full_day", "session": "am"}, "invalid_session"),
        ({"care_type": "hourly", "start_hour": 7, "end_hour": 9}, "outside_opening_hours"),
        ({"care_type": "hourly", "start_hour": 16, "end_hour": 18}, "outside_opening_hours"),
        ({"care_type": "hourly", "start_hour": 10, "end_hour": 10}, "invalid_time"),
        ({"care_type": "temporary", "end_date": START + timedelta(days=15)}, "too_many_days"),
        ({"care_type": "overnight"}, "invalid_care_type"),
    ],
)
def test_impossible_requests_are_refused_and_nothing_is_written(world, kw, code):
    kw = dict(kw)  # parametrize shares the dict between the two databases
    care_type = kw.pop("care_type", "full_day")
    with pytest.raises(DomainError) as caught:
        book(world, 0, care_type, **kw)
    assert caught.value.code == code and caught.value.status == 400
    db.session.rollback()
    assert db.session.scalar(select(func.count(Booking.id))) == 0
    assert db.session.scalar(select(func.count(PlaceCounter.id))) == 0


def test_age_is_checked_on_every_care_date(world, app):
    parent = world["parents"][0]
    baby = family.register_child(parent, "小宝", birth_for(5), True, SETTINGS, now=NOW).id
    nearly_three = family.register_child(
        parent, "大宝", birth_for(35) - timedelta(days=15), True, SETTINGS, now=NOW
    ).id
    too_young = Request("temporary", START)
    with pytest.raises(DomainError) as caught:
        family.book(parent, baby, world["nursery"], too_young, True, SETTINGS, now=NOW)
    assert caught.value.code == "too_young"
    long_stay = Request("temporary", TODAY + timedelta(days=1), TODAY + timedelta(days=14))
    with pytest.raises(DomainError) as caught:
        family.book(parent, nearly_three, world["nursery"], long_stay, True, SETTINGS, now=NOW)
    assert caught.value.code == "too_old" and "满 3 周岁" in caught.value.message


def test_a_kindergarten_class_takes_only_children_from_24_months(world):
    kg = make_bookable_nursery(kind="kindergarten_class")
    with pytest.raises(DomainError) as caught:
        book(world, 0, nursery=kg)  # the child is 20 months old
    assert caught.value.code == "age_outside_class"


def test_someone_elses_child_or_an_unknown_nursery_is_not_found(world):
    req = Request("full_day", START)
    for child, nursery, code in (
        (world["kids"][1], world["nursery"], "child_not_found"),
        (world["kids"][0], 99999, "nursery_not_found"),
    ):
        with pytest.raises(DomainError) as caught:
            family.book(world["parents"][0], child, nursery, req, True, SETTINGS, now=NOW)
        assert (caught.value.code, caught.value.status) == (code, 404)


def test_sharing_needs_the_guardians_consent_naming_the_nursery(world):
    with pytest.raises(DomainError) as caught:
        family.book(
            world["parents"][0],
            world["kids"][0],
            world["nursery"],
            Request("full_day", START),
            False,
            SETTINGS,
            now=NOW,
        )
    assert caught.value.code == "share_consent_required"


def test_a_care_type_the_nursery_does_not_offer_is_refused(world):
    only_full = make_bookable_nursery(offers=[("full_day", "month", "1500")])
    with pytest.raises(DomainError) as caught:
        book(world, 0, "hourly", nursery=only_full, start_hour=9, end_hour=10)
    assert caught.value.code == "care_type_not_offered"


def test_the_same_child_cannot_be_booked_twice_for_overlapping_care(world):
    book(world, 0)
    with pytest.raises(DomainError) as caught:
        book(world, 0, start_date=START + timedelta(days=3))
    assert (caught.value.code, caught.value.status) == ("double_booking", 409)
    book(world, 0, "hourly", start_hour=9, end_hour=10)
    with pytest.raises(DomainError) as caught:
        book(world, 0, "temporary")
    assert caught.value.code == "double_booking"


def test_cancelling_twice_is_refused(world):
    bid, _, _ = book(world, 0)
    family.cancel(world["parents"][0], bid, SETTINGS, now=NOW)
    with pytest.raises(DomainError) as caught:
        family.cancel(world["parents"][0], bid, SETTINGS, now=NOW)
    assert (caught.value.code, caught.value.status) == ("not_cancellable", 409)
    assert taken(world["nursery"], "full_day", "enrol") == 0


def test_lowering_capacity_below_what_is_held_is_refused_and_raising_offers_places(world):
    book(world, 0)
    book(world, 1)
    waiting, _, _ = book(world, 2)
    with pytest.raises(DomainError) as caught:
        staff.set_offer(
            world["staff"], world["nursery"], "full_day", 1, "1800", SETTINGS, "toddler", now=NOW
        )
    assert caught.value.code == "capacity_below_held" and "2" in caught.value.message
    db.session.rollback()
    toddler_full_day = (Offer.care_type == "full_day", Offer.class_type == "toddler")
    assert db.session.scalar(select(Offer.capacity).where(*toddler_full_day)) == 2
    staff.set_offer(
        world["staff"], world["nursery"], "full_day", 3, "1900", SETTINGS, "toddler", now=NOW
    )
    assert status(waiting) == "offered"


def test_moving_a_family_up_needs_a_reason_and_is_audited(world):
    add_family(world)
    first, _, _ = book(world, 0)
    book(world, 1)
    a, _, pa = book(world, 2)
    b, _, pb = book(world, 3)
    assert (pa, pb) == (1, 2)
    with pytest.raises(DomainError):
        staff.move_to_front(world["staff"], world["nursery"], b, "", SETTINGS, now=NOW)
    staff.move_to_front(
        world["staff"], world["nursery"], b, "兄姐在本园（同胞优先）", SETTINGS, now=NOW
    )
    family.cancel(world["parents"][0], first, SETTINGS, now=NOW)
    assert status(b) == "offered" and status(a) == "waitlisted"
    entry = db.session.scalar(
        select(AuditEntry).where(AuditEntry.action == "waitlist.move_to_front")
    )
    assert entry.reason == "兄姐在本园（同胞优先）"


def test_deleting_a_child_removes_names_and_cancels_bookings(world):
    first, _, _ = book(world, 0)
    book(world, 1)
    waiting, _, _ = book(world, 2)
    family.delete_child(world["parents"][0], world["kids"][0], SETTINGS, now=NOW)
    child = db.session.get(Child, world["kids"][0])
    assert child.name is None and child.health_notes is None and child.deleted_at == NOW
    assert status(first) == "cancelled" and status(waiting) == "offered"


def test_inclusive_nurseries_show_the_district_subsidy(world):
    db.session.add(Subsidy(class_type="toddler", yuan_per_year=800, source="荣昌"))
    db.session.commit()
    inclusive = make_bookable_nursery(inclusive=True)
    bid, _, _ = book(world, 0, nursery=inclusive)
    b = db.session.get(Booking, bid)
    assert (b.subsidy_yuan_per_year, float(b.price_yuan), b.price_unit) == (800, 1800.0, "month")
    private, _, _ = book(world, 1)
    assert db.session.get(Booking, private).subsidy_yuan_per_year is None


def test_notifications_are_delivered_after_commit_without_child_data_in_logs(world, caplog):
    caplog.set_level("INFO")
    book(world, 0)
    assert (
        db.session.scalar(
            select(func.count(OutboxMessage.id)).where(OutboxMessage.sent_at.is_(None))
        )
        == 0
    )
    assert "孩子0" not in caplog.text and "delivered" in caplog.text


def test_opening_hours_bound_hourly_care(world):
    staff.set_hours(world["staff"], world["nursery"], time(9, 0), time(12, 0))
    with pytest.raises(DomainError):
        book(world, 0, "hourly", start_hour=8, end_hour=10)
    _, state, _ = book(world, 0, "hourly", start_hour=9, end_hour=12)
    assert state == "confirmed"


def test_the_expire_command_offers_lapsed_places_on(world, app):
    from datetime import datetime

    today = datetime.now().replace(microsecond=0)
    first, _, _ = book(
        world, 0, now=today - timedelta(days=10), start_date=today.date() + timedelta(days=3)
    )
    book(world, 1, now=today - timedelta(days=10), start_date=today.date() + timedelta(days=3))
    waiting, _, _ = book(
        world, 2, now=today - timedelta(days=10), start_date=today.date() + timedelta(days=3)
    )
    result = app.test_cli_runner().invoke(args=["bookings", "expire"])
    assert result.exit_code == 0 and "已处理 2 个" in result.output
    assert status(first) == "expired" and status(waiting) == "offered"


def test_past_days_do_not_stop_a_nursery_lowering_dated_capacity(world):
    past = NOW - timedelta(days=10)
    last_week = TODAY - timedelta(days=5)
    book(world, 0, "temporary", now=past, start_date=last_week)
    book(world, 1, "temporary", now=past, start_date=last_week)
    offer = staff.set_offer(
        world["staff"], world["nursery"], "temporary", 1, "200", SETTINGS, "toddler", now=NOW
    )
    assert offer.capacity == 1
    # The past day's counter keeps its history; today's and later follow the new capacity.
    assert taken(world["nursery"], "temporary", last_week.isoformat()) == 2


def test_a_half_day_session_with_held_places_cannot_be_closed(world):
    book(world, 0, "half_day", session="pm")
    with pytest.raises(DomainError) as caught:
        staff.set_offer(
            world["staff"],
            world["nursery"],
            "half_day",
            2,
            "1000",
            SETTINGS,
            "toddler",
            sessions="am",
            now=NOW,
        )
    assert caught.value.code == "session_in_use"
    db.session.rollback()
    staff.set_offer(
        world["staff"],
        world["nursery"],
        "half_day",
        2,
        "1000",
        SETTINGS,
        "toddler",
        sessions="pm",
        now=NOW,
    )
    with pytest.raises(DomainError) as caught:
        book(world, 1, "half_day", session="am")
    assert caught.value.code == "session_not_offered"


def test_a_child_gets_one_enrolment_place_per_nursery_whatever_the_dates(world):
    book(world, 0)  # open-ended from START
    with pytest.raises(DomainError) as caught:
        book(world, 0, start_date=START - timedelta(days=3), end_date=START - timedelta(days=1))
    assert caught.value.code == "double_booking"
    _, state, _ = book(world, 0, "half_day", session="am")  # another care type is another place
    assert state == "pending"
