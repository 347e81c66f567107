"""The vocabulary and date rules of inspections (多部门监督检查). Plain rules: no Flask, no
database, so the forms, the services and the tests share the same words.

Seeds: 荣昌 第15项 and 大足 第15项 ask for 多部门监督检查 in the one digital service; 大竹 names
the departments' duties (应急管理局和消防大队 — 消防监督检查; 卫生监督 — 卫生保健), and 绍兴
重点任务（五）2 asks for 经常性检查 and 联合执法 with shared information.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from errors import DomainError

KINDS = {
    "fire": "消防安全",
    "food": "食品安全",
    "health": "卫生保健",
    "safety": "综合安全",
    "building": "房屋建筑安全",
}
RESULTS = {"pass": "合格", "rectify": "责令限期整改", "suspend": "责令停业整顿"}
# The rectification's state: passed (nothing to follow), open (整改中), closed (整改完成，复查合格)
STATUSES = {"passed": "无需整改", "open": "整改中", "closed": "已整改，复查合格"}
EVENTS = {"recorded": "录入检查", "follow_up": "跟进记录", "closed": "整改完成，复查合格"}
# A complaint's verdict after investigation (查实), recorded by its lead department.
VERDICTS = {"substantiated": "查实", "partly": "部分查实", "unsubstantiated": "查无实据"}
SUBSTANTIATED = ("substantiated", "partly")
OUTCOMES = {
    "rectified": "责令整改并已整改",
    "penalised": "依法处罚",
    "warned": "约谈、批评教育",
    "referred": "移送有关部门",
}

MAX_FINDINGS = 2000
MAX_NOTE = 2000
# An inspection is recorded when it happens; a paper record up to three years old may still be
# entered (our choice), nothing older.
MAX_AGE_DAYS = 3 * 366
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def clean_text(value, field: str, label: str, limit: int, required: bool = True) -> str | None:
    """Stripped text (None when empty); 400 naming the field when it is not text, holds control
    characters, is missing while required or is longer than `limit`."""
    if value is not None and not isinstance(value, str):
        raise DomainError(f"invalid_{field}", f"{label}格式不正确", field=field)
    value = (value or "").strip()
    if CONTROL_RE.search(value):
        raise DomainError(
            f"invalid_{field}", f"{label}含有无法保存的控制字符，请删除后重试", field=field
        )
    if required and not value:
        raise DomainError(f"missing_{field}", f"请填写{label}", field=field)
    if len(value) > limit:
        raise DomainError(
            f"{field}_too_long", f"{label}不能超过 {limit} 字（现有 {len(value)} 字）", field=field
        )
    return value or None


def parse_date(value, field: str, label: str, required: bool = True) -> date | None:
    """A date from a form (YYYY-MM-DD) or a date; 400 in Chinese otherwise."""
    if isinstance(value, date):
        return value
    if value is not None and not isinstance(value, str):
        raise DomainError(f"invalid_{field}", f"{label}须为 YYYY-MM-DD 格式", field=field)
    value = (value or "").strip()
    if not value:
        if required:
            raise DomainError(f"missing_{field}", f"请填写{label}", field=field)
        return None
    try:
        if not DATE_RE.match(value):
            raise ValueError
        return date.fromisoformat(value)
    except ValueError:
        raise DomainError(
            f"invalid_{field}", f"{label}须为有效日期，格式 YYYY-MM-DD", field=field
        ) from None


def check_choice(value, choices: dict, field: str, label: str) -> str:
    if not isinstance(value, str) or value not in choices:
        options = "、".join(choices.values())
        raise DomainError(f"invalid_{field}", f"请选择{label}（{options}）", field=field)
    return value


def check_inspected_on(day: date, today: date) -> date:
    """Not in the future, not absurdly old."""
    if day > today:
        raise DomainError("inspection_in_future", "检查日期不能晚于今天", field="inspected_on")
    if day < today - timedelta(days=MAX_AGE_DAYS):
        raise DomainError(
            "inspection_too_old", "检查日期过早：只能录入三年以内的检查", field="inspected_on"
        )
    return day


def check_result(result: str, inspected_on: date, rectify_by: date | None) -> date | None:
    """The rectification deadline a result needs: required after the inspection day for
    责令限期整改; optional (the date the nursery must have rectified by) for 停业整顿; none for
    合格."""
    if result == "pass":
        if rectify_by is not None:
            raise DomainError("deadline_not_needed", "检查合格时不需要整改期限", field="rectify_by")
        return None
    if rectify_by is None and result == "rectify":
        raise DomainError("missing_rectify_by", "责令限期整改须填写整改期限", field="rectify_by")
    if rectify_by is not None and rectify_by <= inspected_on:
        raise DomainError("rectify_by_too_early", "整改期限须晚于检查日期", field="rectify_by")
    if rectify_by is not None and rectify_by > inspected_on + timedelta(days=366):
        raise DomainError(
            "rectify_by_too_late", "整改期限不能超过检查日期后一年", field="rectify_by"
        )
    return rectify_by


def check_closed_on(day: date, inspected_on: date, today: date) -> date:
    if day > today:
        raise DomainError("closed_in_future", "复查日期不能晚于今天", field="closed_on")
    if day < inspected_on:
        raise DomainError("closed_too_early", "复查日期不能早于检查日期", field="closed_on")
    return day


def overdue(status: str, rectify_by: date | None, today: date) -> bool:
    """An open rectification past its deadline (calendar days: the date on the notice is the
    last day; from the next day it is overdue)."""
    return status == "open" and rectify_by is not None and today > rectify_by
