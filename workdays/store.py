"""Which holiday arrangements apply (a read): the shipped files, overridden and extended by the
years an admin imported (`HolidayYear`). Cached per database and import revision like
complaints.rulebook, so every worker sees an import on its next request; within a request the
database is asked once. `install()` (create_app) makes this the source of workdays.calendar.
"""

from __future__ import annotations

import json
import logging
from datetime import date

from flask import g, has_app_context, has_request_context
from sqlalchemy import func, select

from accounts.models import User
from extensions import db

from . import calendar
from .models import HolidayYear

log = logging.getLogger(__name__)

_cache: dict[str, tuple[tuple, calendar.Calendar]] = {}  # database URL → (revision key, calendar)


def install() -> None:
    calendar.use_source(current)


def current() -> calendar.Calendar:
    """The calendar in force: the shipped years, with the imported ones over them. Outside an
    app (plain tests, scripts) the shipped years alone."""
    if not has_app_context():
        return calendar.shipped_calendar()
    if has_request_context() and "workday_calendar" in g:
        return g.workday_calendar
    key = tuple(
        db.session.execute(
            select(func.coalesce(func.max(HolidayYear.revision), 0), func.count(HolidayYear.year))
        ).one()
    )
    url = str(db.engine.url)
    cached = _cache.get(url)
    if cached is None or cached[0] != key:
        cached = (key, calendar.Calendar({**calendar.shipped(), **_imported()}))
        _cache[url] = cached
    if has_request_context():
        g.workday_calendar = cached[1]
    return cached[1]


def _imported() -> dict[int, calendar.Arrangement]:
    found = {}
    for row in db.session.scalars(select(HolidayYear)):
        try:
            found[row.year] = calendar.arrangement_from_dict(json.loads(row.data))
        except ValueError:  # validated on import: only a row edited by hand gets here
            log.exception("holiday arrangement of %s on file is invalid: ignored", row.year)
    return found


def forget_request_copy() -> None:
    """After an import: the request reads the calendar again (and sees its own import)."""
    if has_request_context():
        g.pop("workday_calendar", None)


def years() -> list[dict]:
    """Every loaded year, newest first: its source and whether it is shipped or imported (and
    by whom, when)."""
    rows = {
        row.year: (row, who)
        for row, who in db.session.execute(
            select(HolidayYear, User.username).outerjoin(User, User.id == HolidayYear.imported_by)
        )
    }
    shipped = calendar.shipped()
    listed = []
    for year in sorted(set(shipped) | set(rows), reverse=True):
        row, who = rows.get(year, (None, None))
        arrangement = current().arrangements[year]
        listed.append(
            {
                "year": year,
                "source": arrangement.source,
                "origin": "imported" if row else "shipped",
                "overrides_shipped": bool(row) and year in shipped,
                "imported_at": row.imported_at if row else None,
                "imported_by": who,
                "holidays": len(arrangement.holidays),
                "workdays": len(arrangement.workdays),
            }
        )
    return listed


def missing(today: date | None = None) -> list[int]:
    """This year and next, if their arrangement is not loaded: deadlines over them are guesses."""
    today = today or date.today()
    cal = current()
    return [y for y in (today.year, today.year + 1) if not cal.is_known(y)]


def arrangement_json(year: int) -> dict | None:
    """A loaded year's arrangement as its file (to download, check, or edit into next year's)."""
    found = current().arrangements.get(year)
    return found.to_dict() if found else None


def reset() -> None:
    _cache.clear()
