"""The holiday arrangements an admin imported (one row a year); they override or extend the
shipped files (workdays/holidays/*.json)."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db


class HolidayYear(db.Model):
    __tablename__ = "holiday_years"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    data: Mapped[str] = mapped_column(Text)  # the validated arrangement (calendar.Arrangement)
    source: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(DateTime)
    imported_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # one more than the highest before, at every import: with the row count, the key under
    # which each process caches the calendar (times may repeat within a second)
    revision: Mapped[int] = mapped_column(Integer)
