"""Complaint deadlines (DESIGN §3.7), counted in working days on the Chinese calendar.

Decisions (the statutes say "日"; DESIGN §3.7 says to count working days, and we follow it):

- Acceptance notice: 15 working days after filing (信访工作条例 2022, Art. 23). We do not use
  SAMR's 7 working days for acceptance: that rule covers only market-supervision complaints,
  and one deadline per case keeps the public tracking page unambiguous.
- Urgent complaints (abuse, serious injury, food poisoning, fire): to be accepted within
  URGENT_ACCEPT_HOURS *calendar* hours, holidays included, because a child's safety does not
  wait for the Spring Festival. This is a service standard of this system, not a statute.
- Conclusion: 60 working days (Art. 34), counted from acceptance when it is known, otherwise
  from filing (the earlier, safer date shown before a handler accepts).
- Extension: once, by 1..30 working days (Art. 34); the reason is kept by the case, not here.
- Review: a reopened case is reviewed within 30 working days of reopening (Art. 35); 不满意
  within REOPEN_WINDOW (30 calendar days) of the resolution reopens the case.

Every deadline keeps the time of day of its starting moment (see workdays.add_working_days).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workdays.calendar import add_working_days

ACCEPT_WORKING_DAYS = 15
CONCLUDE_WORKING_DAYS = 60
MAX_EXTENSION_WORKING_DAYS = 30
URGENT_ACCEPT_HOURS = 24
REVIEW_WORKING_DAYS = 30  # a reopened case is reviewed within 30 days (信访工作条例 Art. 35)
REOPEN_WINDOW = timedelta(days=30)  # 不满意 within this long after resolution reopens the case


@dataclass(frozen=True)
class Deadlines:
    accept_by: datetime
    conclude_by: datetime


def deadlines(filed_at: datetime, urgent: bool, accepted_at: datetime | None = None) -> Deadlines:
    if urgent:
        accept_by = filed_at + timedelta(hours=URGENT_ACCEPT_HOURS)
    else:
        accept_by = add_working_days(filed_at, ACCEPT_WORKING_DAYS)
    start = accepted_at or filed_at
    if accepted_at is not None and accepted_at < filed_at:
        raise ValueError("accepted_at is before filed_at")
    return Deadlines(
        accept_by=accept_by, conclude_by=add_working_days(start, CONCLUDE_WORKING_DAYS)
    )


def extend(conclude_by: datetime, days: int, *, already_extended: bool = False) -> datetime:
    """The conclusion deadline extended once by `days` working days (1..30)."""
    if already_extended:
        raise ValueError("the conclusion deadline can be extended only once")
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValueError("extension must be a whole number of working days")
    if not 1 <= days <= MAX_EXTENSION_WORKING_DAYS:
        raise ValueError(
            f"extension must be between 1 and {MAX_EXTENSION_WORKING_DAYS} working days"
        )
    return add_working_days(conclude_by, days)


def review_by(reopened_at: datetime) -> datetime:
    """The conclusion deadline of a reopened case."""
    return add_working_days(reopened_at, REVIEW_WORKING_DAYS)
