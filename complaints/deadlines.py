"""Complaint deadlines (DESIGN §3.7), counted under the case's deadline regime (`regimes.py`).

A regime says how days are counted (calendar days or working days on the Chinese calendar) and
how many: acceptance from filing, conclusion from acceptance (from filing until accepted, the
earlier, safer date shown before a handler accepts), one extension of at most `max_extension`,
and a review from reopening. The shipped regimes (routing_rules.json, "deadline_regimes"):

- 信访工作条例 (2022), counted in 日 (calendar days): accept within 15 days (Art. 23), conclude
  within 60 (Art. 34), extend once by at most 30, review within 30 (Art. 35). For the health
  commission and every department without a regime of its own.
- 市场监督管理投诉举报处理暂行办法, counted in 工作日: decide on accepting within 7 working days
  (Art. 18); conclude within 45 working days of acceptance (Art. 23(5)); the extension of at most
  15 working days and the 30-working-day review are this service's choice (see the data).
- LEGACY (cases filed before regimes): 15/60/30/30 working days, as the service counted before.

Urgent complaints (abuse, serious injury, food poisoning, fire) are to be accepted within
URGENT_ACCEPT_HOURS *calendar* hours whatever the regime, holidays included, because a child's
safety does not wait for the Spring Festival: a service standard of this system, not a statute.

Every deadline keeps the time of day of its starting moment; a calendar-day period ends on its
last day even on a holiday (the 条例 does not move it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from workdays.calendar import add_working_days

from .regimes import LEGACY, Regime

# The legacy regime's lengths, under their old names (cases filed before regimes).
ACCEPT_WORKING_DAYS = LEGACY.accept
CONCLUDE_WORKING_DAYS = LEGACY.conclude
MAX_EXTENSION_WORKING_DAYS = LEGACY.max_extension
REVIEW_WORKING_DAYS = LEGACY.review
URGENT_ACCEPT_HOURS = 24
REOPEN_WINDOW = timedelta(days=30)  # 不满意 within this long after resolution reopens the case


@dataclass(frozen=True)
class Deadlines:
    accept_by: datetime
    conclude_by: datetime


def add(regime: Regime, start: datetime, days: int) -> datetime:
    """`days` days after `start` in the regime's unit (same time of day)."""
    if regime.working_days:
        return add_working_days(start, days)
    return start + timedelta(days=days)


def accept_by(filed_at: datetime, urgent: bool, regime: Regime = LEGACY) -> datetime:
    if urgent:
        return filed_at + timedelta(hours=URGENT_ACCEPT_HOURS)
    return add(regime, filed_at, regime.accept)


def deadlines(
    filed_at: datetime,
    urgent: bool,
    accepted_at: datetime | None = None,
    regime: Regime = LEGACY,
) -> Deadlines:
    if accepted_at is not None and accepted_at < filed_at:
        raise ValueError("accepted_at is before filed_at")
    start = accepted_at or filed_at
    return Deadlines(
        accept_by=accept_by(filed_at, urgent, regime),
        conclude_by=add(regime, start, regime.conclude),
    )


def check_extension(days, regime: Regime = LEGACY) -> None:
    """Refuse (ValueError) an extension that is not a whole number of 1..max_extension days."""
    if isinstance(days, bool) or not isinstance(days, int):
        raise ValueError("extension must be a whole number of days")
    if not 1 <= days <= regime.max_extension:
        raise ValueError(f"extension must be between 1 and {regime.max_extension} days")


def extend(
    conclude_by: datetime,
    days: int,
    *,
    already_extended: bool = False,
    regime: Regime = LEGACY,
) -> datetime:
    """The conclusion deadline extended once by `days` days of the regime (1..max_extension)."""
    if already_extended:
        raise ValueError("the conclusion deadline can be extended only once")
    check_extension(days, regime)
    return add(regime, conclude_by, days)


def review_by(reopened_at: datetime, regime: Regime = LEGACY) -> datetime:
    """The conclusion deadline of a reopened case."""
    return add(regime, reopened_at, regime.review)
