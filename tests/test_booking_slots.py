"""The slot keys of the place counters: built and read in one module, round trip exact."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from booking import slots
from booking.rules import Request, slots_for
from maps.domain import CLASS_TYPES, age_band, class_type_for_age

DAY = date(2026, 12, 3)

SLOT = st.one_of(
    st.just(slots.Slot("enrol")),
    st.sampled_from(list(slots.SESSIONS)).map(lambda s: slots.Slot("session", session=s)),
    st.dates().map(lambda d: slots.Slot("day", day=d)),
    st.builds(lambda d, h: slots.Slot("hour", day=d, hour=h), st.dates(), st.integers(0, 23)),
)


def test_the_keys_are_the_documented_strings():
    assert slots.enrolment() == "enrol"
    assert slots.session("am") == "am" and slots.session("pm") == "pm"
    assert slots.day(DAY) == "2026-12-03"
    assert slots.hour(DAY, 9) == "2026-12-03T09"
    assert slots.hours(DAY, 9, 12) == ["2026-12-03T09", "2026-12-03T10", "2026-12-03T11"]


@given(SLOT)
def test_every_slot_round_trips_through_its_key(slot):
    key = slots.key(slot)
    assert slots.parse(key) == slot
    assert slots.key(slots.parse(key)) == key
    assert slots.is_standing(key) is (slot.kind in ("enrol", "session"))
    assert slots.day_of(key) == slot.day


@given(st.dates(), st.integers(0, 23))
def test_a_days_keys_sort_inside_its_day_range_and_after_earlier_days(on, h):
    low, high = slots.day_range(on)
    assert low <= slots.day(on) <= slots.hour(on, h) <= high
    if on > date.min:
        before = on - timedelta(days=1)
        assert slots.hour(before, 23) < low and slots.day(before) < low
    if on < date.max:
        assert slots.day(on + timedelta(days=1)) > high


@pytest.mark.parametrize(
    "bad", ["", "enrolled", "AM", "2026-12-3", "2026-13-01", "2026-12-03T", "2026-12-03T9",
            "2026-12-03T24", "2026-12-03Tab", "2026-12-03T09:00", "2026-W49-4"],
)  # fmt: skip
def test_strings_that_are_not_slot_keys_are_refused(bad):
    with pytest.raises(ValueError):
        slots.parse(bad)


def test_building_refuses_what_is_not_a_session_or_an_hour():
    for bad in (lambda: slots.session("noon"), lambda: slots.hour(DAY, 24)):
        with pytest.raises(ValueError):
            bad()


def test_a_requests_slots_are_built_by_the_slot_module():
    assert slots_for(Request("full_day", DAY)) == ["enrol"]
    assert slots_for(Request("half_day", DAY, session="pm")) == ["pm"]
    hourly = Request("hourly", DAY, start_hour=8, end_hour=10)
    assert slots_for(hourly) == ["2026-12-03T08", "2026-12-03T09"]
    temporary = Request("temporary", DAY, end_date=DAY + timedelta(days=1))
    assert slots_for(temporary) == ["2026-12-03", "2026-12-04"]


def test_counters_that_still_matter_are_standing_ones_and_those_from_today_on():
    assert slots.is_current("enrol", DAY) and slots.is_current("pm", DAY)
    assert slots.is_current(slots.day(DAY), DAY) and slots.is_current(slots.hour(DAY, 0), DAY)
    yesterday = DAY - timedelta(days=1)
    assert not slots.is_current(slots.day(yesterday), DAY)
    assert not slots.is_current(slots.hour(yesterday, 23), DAY)


def test_free_places_of_an_offer_today():
    taken = {
        "enrol": 3,
        "am": 5,
        "pm": 2,
        slots.day(DAY): 4,
        slots.hour(DAY, 9): 1,
        slots.hour(DAY, 10): 4,
        slots.hour(DAY + timedelta(days=1), 9): 5,  # tomorrow does not count today
    }
    assert slots.free_places("full_day", 5, ["am", "pm"], taken, DAY) == 2
    assert slots.free_places("half_day", 5, ["am", "pm"], taken, DAY) == 3  # the freer session
    assert slots.free_places("half_day", 5, ["am"], taken, DAY) == 0
    assert slots.free_places("hourly", 5, [], taken, DAY) == 1  # its busiest hour decides
    assert slots.free_places("temporary", 5, [], taken, DAY) == 1
    assert slots.free_places("full_day", 5, [], {}, DAY) == 5  # no counter yet: all free
    assert slots.free(2, 3) == 0  # never below zero (capacity lowered under what was held)


@pytest.mark.parametrize(
    ("months", "class_type"),
    [(0, "infant"), (6, "infant"), (11, "infant"), (12, "toddler"), (23, "toddler"),
     (24, "older"), (35, "older"), (40, "older")],
)  # fmt: skip
def test_one_mapping_from_age_to_class_type(months, class_type):
    assert class_type_for_age(months) == class_type
    std = CLASS_TYPES[class_type]
    if 6 <= months < 36:
        assert std.min_months <= months < std.max_months


def test_the_age_band_of_a_place():
    assert age_band("private", "toddler", ["older"]) == (12, 24)  # its class type decides
    assert age_band("private", None, ["toddler", "older"]) == (12, 36)
    assert age_band("private", None, []) == (6, 36)  # no classes on file: the kind's ages
    assert age_band("kindergarten_class", None, []) == (24, 36)
    assert age_band("kindergarten_class", "mixed", []) == (24, 36)
