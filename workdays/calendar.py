"""Working days on the Chinese calendar: public holidays and make-up working days (调休).

The holiday data comes from the maintained `chinese_calendar` package; for a year it does not
cover yet, Saturdays and Sundays are the only days off (upgrade the package when the State
Council publishes the next year's arrangement).
"""

from datetime import date, datetime, timedelta
from functools import lru_cache

import chinese_calendar


@lru_cache(maxsize=4096)  # deadlines walk day by day; the calendar of a day never changes
def is_working_day(day: date) -> bool:
    try:
        return chinese_calendar.is_workday(day)
    except NotImplementedError:
        return day.weekday() < 5


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment `days` working days after `start` (same time of day)."""
    current = start
    remaining = days
    while remaining > 0:
        current += timedelta(days=1)
        if is_working_day(current.date()):
            remaining -= 1
    return current
