"""The admin's use case on the holiday calendar: import a year's arrangement (JSON), replacing
an imported or shipped one, and count again every deadline it changes: the open complaints
counted in working days over that year (their deadlines were provisional — 暂定 — if the year
was missing) and the nursery's answer deadline (`respond_by`) of pending enrolment requests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import func, or_, select

import audit
from booking.models import Booking
from booking.waitlist import recount_respond_by
from complaints.models import OPEN_STATUSES, Complaint
from database import use_case
from errors import DomainError, json_document
from extensions import db

from . import calendar, store
from .models import HolidayYear

MAX_FILE_BYTES = 64 * 1024  # a year is a few kilobytes


@dataclass(frozen=True)
class Imported:
    year: int
    replaced: str | None  # "imported" | "shipped" | None (a year not loaded before)
    complaints: int  # open complaints whose deadlines moved
    bookings: int  # pending requests whose answer deadline moved


def parse(raw: bytes | str) -> dict:
    """A file's JSON (size, UTF-8, syntax checked); DomainError 400 in Chinese otherwise."""
    return json_document(raw, "calendar_invalid", "节假日安排", MAX_FILE_BYTES)


def import_year(
    data,
    admin_id: int | None = None,
    reason: str | None = None,
    now: datetime | None = None,
    response_working_days: int | None = None,
) -> Imported:
    """Validate and store one year's arrangement, then count again the deadlines over it.
    `response_working_days`: the nurseries' answer window (NURSERY_RESPONSE_WORKING_DAYS)."""
    try:
        arrangement = calendar.arrangement_from_dict(data)
    except ValueError as exc:
        raise DomainError("calendar_invalid", f"节假日安排有误：{exc}") from None
    if response_working_days is None:
        response_working_days = current_app.config["NURSERY_RESPONSE_WORKING_DAYS"]
    now = (now or datetime.now()).replace(microsecond=0)
    year = arrangement.year
    start, end = datetime(year, 1, 1), datetime(year + 1, 1, 1)
    with use_case():
        # what was counted over the year, chosen before it changes
        complaints = [
            c
            for c in db.session.scalars(
                select(Complaint).where(
                    Complaint.status.in_(OPEN_STATUSES),
                    Complaint.filed_at < end,
                    or_(Complaint.accept_by >= start, Complaint.conclude_by >= start),
                )
            )
            if c.regime.working_days
        ]
        bookings = list(
            db.session.scalars(
                select(Booking).where(
                    Booking.status == "pending",
                    Booking.updated_at < end,
                    Booking.respond_by >= start,
                )
            )
        )
        row = db.session.get(HolidayYear, year)
        replaced = "imported" if row else ("shipped" if year in calendar.shipped() else None)
        revision = (db.session.scalar(select(func.max(HolidayYear.revision))) or 0) + 1
        if row is None:
            row = HolidayYear(year=year)
            db.session.add(row)
        row.data = json.dumps(arrangement.to_dict(), ensure_ascii=False)
        row.source, row.imported_at, row.imported_by = arrangement.source, now, admin_id
        row.revision = revision
        db.session.flush()
        store.forget_request_copy()  # count on the new arrangement from here on
        moved = sum(c.recompute_deadlines() for c in complaints)
        moved_bookings = sum(recount_respond_by(b, response_working_days) for b in bookings)
        counted = f"重新计算 {moved} 件投诉、{moved_bookings} 个预约的期限"
        audit.record(
            admin_id,
            "holiday_year_imported",
            "holiday_year",
            year,
            f"{reason or arrangement.source}；{counted}",
            at=now,
        )
    return Imported(year, replaced, moved, moved_bookings)
