"""Working days on the Chinese calendar: public holidays and make-up working days (调休).

The holiday data comes from the maintained `chinese_calendar` package. For a year it does not
cover yet (the State Council publishes each year's arrangement late in the year before),
Saturdays and Sundays are taken as the only days off — a guess, never silent: `is_known` tells
whether a day's calendar is published, and every deadline that depends on a guessed day is
shown as provisional (暂定) on the pages and in the APIs (`provisional`).
"""

import logging
from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar

log = logging.getLogger(__name__)


@lru_cache(maxsize=64)
def is_known(year: int) -> bool:
    """Whether the holiday arrangement of a year is published (in `chinese_calendar`)."""
    try:
        chinese_calendar.is_workday(date(year, 7, 1))
    except NotImplementedError:
        log.warning("no holiday arrangement for %s: weekends taken as the only days off", year)
        return False
    return True


@lru_cache(maxsize=4096)  # deadlines walk day by day; the calendar of a day never changes
def is_working_day(day: date) -> bool:
    if not is_known(day.year):
        return day.weekday() < 5  # a guess: see `provisional`
    return chinese_calendar.is_workday(day)


def provisional(start: datetime | date | None, end: datetime | date | None) -> bool:
    """Whether a deadline counted from `start` to `end` crossed a day of a year whose holidays
    are not published, so it may move when they are."""
    if start is None or end is None:
        return False
    return any(not is_known(year) for year in range(start.year, end.year + 1))


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment `days` working days after `start` (same time of day)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current.date()):
            remaining -= 1
    return current
