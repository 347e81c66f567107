"""Deadline regimes (期限规则) as data: which law a case's deadlines follow, how they are counted
(calendar days or working days) and how long each step may take.

A regime lives in the routing rules under "deadline_regimes" (the admin edits it with the rest):

    {"regimes": {code: {label, source, unit, accept, conclude, max_extension, review[, note]}},
     "by_department": {department: code}, "by_category": {category: code}, "default": code}

A case takes its regime at filing — its category's if one is named, else its lead department's,
else the default — and keeps the code (`Complaint.deadline_regime`) for every later deadline.
Cases filed before regimes existed have no code and keep the old rule, LEGACY (15/60/30/30
working days). Because a stored code must keep its meaning, the lengths and unit of a regime
that cases use cannot be changed or the regime removed (`check_kept`); a changed law is a new
code. Plain module: no Flask, no database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CALENDAR_DAYS = "calendar_days"
WORKING_DAYS = "working_days"
UNITS = {CALENDAR_DAYS: "日历日", WORKING_DAYS: "工作日"}
# How a number of days is written after the number (延长 10 天 / 延长 10 个工作日).
UNIT_WORDS = {CALENDAR_DAYS: "天", WORKING_DAYS: "个工作日"}
LENGTHS = {
    "accept": "受理期限",
    "conclude": "办结期限",
    "max_extension": "最长延期",
    "review": "复查期限",
}
TEXTS = {"label": 40, "source": 300}  # required text fields → longest length
OPTIONAL = {"note": 500}
MAX_DAYS = 365
CODE = re.compile(r"^[a-z][a-z0-9_]{1,31}$")  # fits Complaint.deadline_regime (String(32))


@dataclass(frozen=True)
class Regime:
    code: str
    label: str
    source: str
    unit: str  # CALENDAR_DAYS | WORKING_DAYS
    accept: int  # days from filing to the acceptance decision
    conclude: int  # days from acceptance (from filing until accepted) to the conclusion
    max_extension: int  # the one extension, at most this many days
    review: int  # days from reopening to the review's conclusion
    note: str = ""

    @property
    def working_days(self) -> bool:
        return self.unit == WORKING_DAYS

    @property
    def unit_label(self) -> str:
        """工作日 or 日历日."""
        return UNITS[self.unit]

    def days(self, n: int) -> str:
        """`n` days in this regime's unit: "10 个工作日", "10 天"."""
        return f"{n} {UNIT_WORDS[self.unit]}"

    @property
    def counting(self) -> str:
        """How deadlines are counted, for the pages."""
        if self.working_days:
            return "按工作日计算（法定节假日不计，调休上班日计入）"
        return "按日历日计算（节假日照常计入）"

    def lengths(self) -> tuple:
        """What a case's deadlines depend on (the rest is text)."""
        return (self.unit, self.accept, self.conclude, self.max_extension, self.review)

    def as_dict(self) -> dict:
        data = {"label": self.label, "source": self.source, "unit": self.unit}
        data.update({key: getattr(self, key) for key in LENGTHS})
        if self.note:
            data["note"] = self.note
        return data


# The rule of every case filed before regimes were data (no code stored): working days
# throughout, as DESIGN §3.7 had it. Defined here, not in the data, so it cannot be edited.
LEGACY = Regime(
    code="legacy_working_days",
    label="原工作日规则（期限规则设立前提交的案件）",
    source="信访工作条例第二十三条、第三十四条、第三十五条（按工作日计算，本系统原有做法）",
    unit=WORKING_DAYS,
    accept=15,
    conclude=60,
    max_extension=30,
    review=30,
)


@dataclass(frozen=True)
class Regimes:
    regimes: dict[str, Regime]
    default: str
    by_department: dict[str, str] = field(default_factory=dict)
    by_category: dict[str, str] = field(default_factory=dict)

    def for_case(self, department: str | None, category: str | None) -> Regime:
        """The regime a new case takes: its category's, else its lead department's, else the
        default (a category's own law, e.g. food safety, wins over who leads)."""
        code = self.by_category.get(category) or self.by_department.get(department)
        return self.regimes[code or self.default]

    def get(self, code: str | None) -> Regime | None:
        if code is None or code == LEGACY.code:
            return LEGACY
        return self.regimes.get(code)


def _where(code: str) -> str:
    return f"期限规则“{code}”"


def _regime(code, raw) -> Regime:
    if not isinstance(code, str) or not CODE.match(code):
        raise ValueError(f"期限规则代码“{code}”须为 2–32 位小写字母、数字或下划线，以字母开头")
    if code == LEGACY.code:
        raise ValueError(f"期限规则代码“{code}”为系统保留（期限规则设立前的案件），请换一个代码")
    where = _where(code)
    if not isinstance(raw, dict):
        raise ValueError(f"{where}须为对象")
    unknown = set(raw) - set(TEXTS) - set(OPTIONAL) - set(LENGTHS) - {"unit"}
    if unknown:
        known = "、".join([*TEXTS, "unit", *LENGTHS, *OPTIONAL])
        raise ValueError(f"{where}：未知字段 {'、'.join(sorted(unknown))}（可用：{known}）")
    texts = {}
    for key, longest in {**TEXTS, **OPTIONAL}.items():
        value = raw.get(key, "" if key in OPTIONAL else None)
        if not isinstance(value, str) or (key in TEXTS and not value.strip()):
            raise ValueError(f"{where}：缺少 {key}（文字）")
        if len(value.strip()) > longest:
            raise ValueError(f"{where}：{key} 不能超过 {longest} 字")
        texts[key] = value.strip()
    unit = raw.get("unit")
    if unit not in UNITS:
        raise ValueError(f"{where}：unit 须为 {CALENDAR_DAYS}（日历日）或 {WORKING_DAYS}（工作日）")
    lengths = {}
    for key, label in LENGTHS.items():
        value = raw.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_DAYS:
            raise ValueError(f"{where}：{key}（{label}）须为 1–{MAX_DAYS} 的整数天数")
        lengths[key] = value
    return Regime(code=code, unit=unit, **texts, **lengths)


def _mapping(raw, what: str, known, regimes: dict[str, Regime]) -> dict[str, str]:
    """by_department / by_category: known keys → defined regime codes."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise ValueError(f"期限规则 {what} 须为对象（代码 → 期限规则代码）")
    for key, code in raw.items():
        if known is not None and key not in known:
            raise ValueError(f"期限规则 {what}：未知的代码“{key}”")
        if code not in regimes:
            raise ValueError(f"期限规则 {what}：“{key}”指向未定义的期限规则“{code}”")
    return dict(raw)


def regimes_from_dict(data, departments=None, categories=None) -> Regimes:
    """The "deadline_regimes" section, validated; ValueError (Chinese) names the offending
    entry. `departments` and `categories` (codes), when given, are what the mappings may name."""
    if not isinstance(data, dict):
        raise ValueError("期限规则（deadline_regimes）须为对象")
    unknown = set(data) - {"regimes", "by_department", "by_category", "default", "note"}
    if unknown:
        raise ValueError(f"期限规则（deadline_regimes）：未知字段 {'、'.join(sorted(unknown))}")
    raw = data.get("regimes")
    if not isinstance(raw, dict) or not raw:
        raise ValueError("期限规则（deadline_regimes）须有 regimes：至少一条期限规则")
    regimes = {code: _regime(code, entry) for code, entry in raw.items()}
    default = data.get("default")
    if default not in regimes:
        raise ValueError(f"期限规则 default 须为已定义的期限规则代码（现为“{default}”）")
    return Regimes(
        regimes=regimes,
        default=default,
        by_department=_mapping(data.get("by_department"), "by_department", departments, regimes),
        by_category=_mapping(data.get("by_category"), "by_category", categories, regimes),
    )


def check_kept(old, new: Regimes, used) -> None:
    """Refuse (ValueError) a new version that removes a regime cases were filed under, or changes
    its unit or lengths: their deadlines must keep following the rule they were filed under.
    `old(code)` gives a code's regime as it stands; `used`, the codes cases carry."""
    for code in sorted(c for c in used if c and c != LEGACY.code):
        before = old(code)
        if before is None:
            continue  # not defined anywhere before: nothing to keep
        after = new.regimes.get(code)
        if after is None:
            raise ValueError(f"{_where(code)}已有案件按其计算期限，不能删除")
        if after.lengths() != before.lengths():
            raise ValueError(
                f"{_where(code)}已有案件按其计算期限，不能修改计日方式或天数（名称和依据可以修改）；"
                "新的期限请新增一条期限规则，并让部门或类别指向它"
            )
