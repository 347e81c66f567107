"""Family ratings (家庭对托育机构评价, 荣昌/大足 item 15): the aspects, the stars, the term a
rating belongs to, what a comment may hold and why the admin may hide one.

Plain rules: no Flask, no database. The forms, the use cases and the pages share them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from complaints.validation import clean_text
from errors import DomainError

# The five aspects a family rates, in the order the pages show them.
ASPECTS = {
    "safety": "安全",
    "care": "保育",
    "food": "膳食",
    "communication": "沟通",
    "value": "性价比",
}
MIN_STARS, MAX_STARS = 1, 5
MAX_COMMENT = 1999  # "a comment of 2,000+ characters" is refused (issue 12)
MAX_REPLY = 1999
MAX_REASON_NOTE = 200

# A comment's moderation state; a rating without a comment has none.
COMMENT_STATES = {
    "pending": "待审核",
    "approved": "已公开",
    "hidden": "已隐藏",
}
# Why the district admin hides a comment (the issue: abusive or identifying content).
HIDE_REASONS = {
    "abusive": "含有辱骂、人身攻击或不实指控的内容",
    "identifying": "含有可识别个人身份的信息（姓名、电话、住址、照片等）",
    "irrelevant": "与托育服务无关（广告、刷屏等）",
}


@dataclass(frozen=True, order=True)
class Term:
    """A school term (学期): spring runs February–July, autumn August–January."""

    year: int  # the calendar year the term begins in
    season: str  # "spring" | "autumn"

    @property
    def key(self) -> str:
        """How a term is stored: "2026-autumn"."""
        return f"{self.year}-{self.season}"

    @property
    def label(self) -> str:
        return f"{self.year} {'春季' if self.season == 'spring' else '秋季'}学期"

    @property
    def starts(self) -> date:
        return date(self.year, 2 if self.season == "spring" else 8, 1)

    @property
    def ends(self) -> date:
        if self.season == "spring":
            return date(self.year, 7, 31)
        return date(self.year + 1, 1, 31)


def term_of(day: date) -> Term:
    """The term a day falls in: 1 Feb–31 Jul is that year's spring term, 1 Aug–31 Jan the
    autumn term begun in August (January belongs to the previous year's autumn term)."""
    if 2 <= day.month <= 7:
        return Term(day.year, "spring")
    if day.month >= 8:
        return Term(day.year, "autumn")
    return Term(day.year - 1, "autumn")


def parse_term(key: str) -> Term:
    """A stored term key back into a Term (ValueError for anything else)."""
    year, _, season = (key or "").partition("-")
    if season not in ("spring", "autumn") or not year.isdigit():
        raise ValueError(f"not a term: {key!r}")
    return Term(int(year), season)


def term_label(key: str) -> str:
    try:
        return parse_term(key).label
    except ValueError:
        return key


def check_stars(values: dict) -> dict[str, int]:
    """Whole stars 1–5 for each of the five aspects; DomainError 400 naming the aspect."""
    stars = {}
    for aspect, label in ASPECTS.items():
        value = values.get(aspect)
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int):
            raise DomainError("invalid_stars", f"请为“{label}”打 1 到 5 颗星", field=aspect)
        if not MIN_STARS <= value <= MAX_STARS:
            raise DomainError(
                "invalid_stars", f"“{label}”的星级须在 1 到 5 之间（收到 {value}）", field=aspect
            )
        stars[aspect] = value
    return stars


def check_comment(value) -> str | None:
    """An optional comment: under 2,000 characters, no control characters; None when empty."""
    return clean_text(value, "comment", "评价内容", required=False, limit=MAX_COMMENT)


def check_reply(value) -> str:
    """The nursery's public reply: required, under 2,000 characters, no control characters."""
    return clean_text(value, "reply", "机构回复", required=True, limit=MAX_REPLY)


def check_hide_reason(reason, note) -> tuple[str, str | None]:
    """Why a comment is hidden: one of HIDE_REASONS, and an optional note for the record."""
    if reason not in HIDE_REASONS:
        raise DomainError("invalid_reason", "请选择隐藏的理由", field="reason")
    return reason, clean_text(note, "note", "说明", required=False, limit=MAX_REASON_NOTE)


def overall(averages: dict[str, float | None]) -> float | None:
    """The overall score: the mean of the five aspects' averages (each aspect weighs the same)."""
    values = [v for v in averages.values() if v is not None]
    return sum(values) / len(values) if values else None


def averages_from_sums(count: int, sums: dict[str, int]) -> dict[str, float | None]:
    """Each aspect's average from the kept sums (None without ratings)."""
    return {a: (sums[a] / count if count else None) for a in ASPECTS}
