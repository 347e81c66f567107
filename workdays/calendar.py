"""Working days on the Chinese calendar: public holidays and make-up working days (调休).

Each year's arrangement (国务院办公厅关于 YYYY 年部分节假日安排的通知) is data, one small JSON
document a year:

    {"year": 2026, "source": "国务院办公厅关于2026年部分节假日安排的通知",
     "holidays": [{"date": "2026-01-01", "name": "元旦"}, …],   # every day off of a holiday
     "workdays": ["2026-01-04", …]}                             # make-up working days (周末上班)

The shipped files (`holidays/<year>.json`, generated from `chinese_calendar` by
`flask --app app calendar export-shipped`) cover the years published when the code was
released; an admin imports later years (or corrections), which override them
(`workdays.models.HolidayYear`, read by `workdays.store`). This module stays plain — no Flask,
no database: the store installs itself as the source of the arrangements (`use_source`), and
without it (plain tests, scripts) the shipped files alone apply.

A day of a year without an arrangement is counted with Saturdays and Sundays as the only days
off — a guess, never silent: `is_known` says whether a year is loaded, and every deadline counted
over a guessed year is shown as provisional (暂定) on the pages and in the APIs (`provisional`)
until the year is loaded, when it is counted again.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

log = logging.getLogger(__name__)

SHIPPED_DIR = Path(__file__).with_name("holidays")
FIRST_YEAR, LAST_YEAR = 2000, 2100
MAX_SOURCE, MAX_NAME = 200, 40
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
KEYS = {"year", "source", "holidays", "workdays", "note"}


@dataclass(frozen=True)
class Arrangement:
    """One year's holiday arrangement."""

    year: int
    source: str
    holidays: Mapping[date, str]  # every day off of a holiday → the holiday's name
    workdays: frozenset[date]  # make-up working days, on a Saturday or Sunday

    def to_dict(self) -> dict:
        return {
            "year": self.year,
            "source": self.source,
            "holidays": [
                {"date": d.isoformat(), "name": n} for d, n in sorted(self.holidays.items())
            ],
            "workdays": [d.isoformat() for d in sorted(self.workdays)],
        }


def _day(value, year: int, where: str) -> date:
    if not isinstance(value, str) or not ISO_DATE.match(value):
        raise ValueError(f"{where}：日期“{value}”须写成 YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{where}：“{value}”不是有效日期") from None
    if day.year != year:
        raise ValueError(f"{where}：{value} 不在 {year} 年内")
    return day


def arrangement_from_dict(data) -> Arrangement:
    """A year's arrangement, validated; ValueError (Chinese) names what is wrong: the year
    (2000–2100), every date inside it, no date listed twice, no holiday on a listed working
    day, make-up working days only on a Saturday or Sunday."""
    if not isinstance(data, dict):
        raise ValueError("节假日安排须为 JSON 对象（year、source、holidays、workdays）")
    unknown = set(data) - KEYS
    if unknown:
        raise ValueError(f"节假日安排：未知字段 {'、'.join(sorted(unknown))}")
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int) or not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(f"节假日安排：year 须为 {FIRST_YEAR}–{LAST_YEAR} 之间的年份")
    source = data.get("source")
    if not isinstance(source, str) or not source.strip() or len(source.strip()) > MAX_SOURCE:
        raise ValueError(f"{year} 年节假日安排：source 须写明依据的通知（1–{MAX_SOURCE} 字）")
    raw_holidays, raw_workdays = data.get("holidays"), data.get("workdays", [])
    if not isinstance(raw_holidays, list) or not raw_holidays:
        raise ValueError(f"{year} 年节假日安排：holidays 须为非空列表")
    if not isinstance(raw_workdays, list):
        raise ValueError(f"{year} 年节假日安排：workdays 须为日期列表")
    holidays: dict[date, str] = {}
    for i, entry in enumerate(raw_holidays, 1):
        where = f"{year} 年节假日安排 holidays 第 {i} 项"
        if not isinstance(entry, dict) or set(entry) - {"date", "name"}:
            raise ValueError(f'{where}：须为 {{"date": "YYYY-MM-DD", "name": "节日名称"}}')
        day = _day(entry.get("date"), year, where)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME:
            raise ValueError(f"{where}：name 须为节日名称（1–{MAX_NAME} 字）")
        if day in holidays:
            raise ValueError(f"{where}：{day} 重复")
        holidays[day] = name.strip()
    workdays: set[date] = set()
    for i, value in enumerate(raw_workdays, 1):
        where = f"{year} 年节假日安排 workdays 第 {i} 项"
        day = _day(value, year, where)
        if day in workdays:
            raise ValueError(f"{where}：{day} 重复")
        if day.weekday() < 5:
            raise ValueError(f"{where}：{day} 不是周六或周日（调休上班日只能在周末）")
        if day in holidays:
            raise ValueError(f"{where}：{day} 同时列为节假日（{holidays[day]}）")
        workdays.add(day)
    return Arrangement(year, source.strip(), holidays, frozenset(workdays))


def file_text(data: dict) -> str:
    """An arrangement's file: one holiday a line, so a year reads (and diffs) like the notice."""

    def dump(value) -> str:
        return json.dumps(value, ensure_ascii=False)

    holidays = ",\n".join(f"    {dump(h)}" for h in data["holidays"])
    return (
        f'{{\n  "year": {data["year"]},\n  "source": {dump(data["source"])},\n'
        f'  "holidays": [\n{holidays}\n  ],\n  "workdays": {dump(data["workdays"])}\n}}\n'
    )


class Calendar:
    """The working days given the loaded arrangements (year → Arrangement)."""

    def __init__(self, arrangements: Mapping[int, Arrangement]):
        self.arrangements = dict(arrangements)
        self._off = {d for a in self.arrangements.values() for d in a.holidays}
        self._on = {d for a in self.arrangements.values() for d in a.workdays}
        self._warned: set[int] = set()

    def is_known(self, year: int) -> bool:
        """Whether the holiday arrangement of a year is loaded."""
        return year in self.arrangements

    def is_working_day(self, day: date) -> bool:
        if day in self._on:
            return True
        if day in self._off:
            return False
        if day.year not in self.arrangements and day.year not in self._warned:
            self._warned.add(day.year)
            log.warning(
                "no holiday arrangement for %s: weekends taken as the only days off", day.year
            )
        return day.weekday() < 5  # outside an arrangement (or a year without one: a guess)

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """The moment `days` working days after `start` (same time of day)."""
        current, remaining = start, days
        while remaining > 0:
            current += timedelta(days=1)
            if self.is_working_day(current.date()):
                remaining -= 1
        return current

    def provisional(self, start: datetime | date | None, end: datetime | date | None) -> bool:
        """Whether working days counted from `start` to `end` crossed a year without an
        arrangement, so the result may move when it is loaded."""
        if start is None or end is None:
            return False
        return any(not self.is_known(y) for y in range(start.year, end.year + 1))


@lru_cache(maxsize=1)
def shipped() -> dict[int, Arrangement]:
    """The arrangements shipped with the code (holidays/<year>.json)."""
    found = {}
    for path in sorted(SHIPPED_DIR.glob("*.json")):
        arrangement = arrangement_from_dict(json.loads(path.read_text(encoding="utf-8")))
        if path.stem != str(arrangement.year):
            raise ValueError(f"{path.name}: holds the arrangement of {arrangement.year}")
        found[arrangement.year] = arrangement
    return found


@lru_cache(maxsize=1)
def shipped_calendar() -> Calendar:
    return Calendar(shipped())


_source: Callable[[], Calendar] | None = None


def use_source(source: Callable[[], Calendar] | None) -> None:
    """Where the calendar in force comes from (workdays.store: shipped + imported years);
    None: the shipped files only."""
    global _source
    _source = source


def current() -> Calendar:
    return _source() if _source is not None else shipped_calendar()


# The calendar in force, as functions (what deadlines and bookings call).


def is_known(year: int) -> bool:
    return current().is_known(year)


def is_working_day(day: date) -> bool:
    return current().is_working_day(day)


def provisional(start: datetime | date | None, end: datetime | date | None) -> bool:
    return current().provisional(start, end)


def add_working_days(start: datetime, days: int) -> datetime:
    """The moment `days` working days after `start` (same time of day)."""
    return current().add_working_days(start, days)
