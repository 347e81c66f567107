"""Query parameters of the policy pages and API, parsed alike: refused with a Chinese message,
never clamped (web/params.py)."""

from datetime import date

from flask import request

from web.params import invalid

from .document import CATEGORIES, CONTROL_RE
from .queries import MAX_QUERY


def _text(name: str, limit: int) -> str:
    raw = (request.args.get(name) or "").strip()
    if len(raw) > limit:
        raise invalid(name, f"{'搜索词' if name == 'q' else name} 不能超过 {limit} 字")
    if CONTROL_RE.search(raw) or "\n" in raw or "\r" in raw:
        raise invalid(name, "输入含有不可见的控制字符，请删除后再试")
    return raw


def search_args() -> tuple[str, str | None]:
    """(text query, category or None)."""
    q = _text("q", MAX_QUERY)
    category = _text("category", 20) or None
    if category is not None and category not in CATEGORIES:
        raise invalid("category", "类别须为：" + "、".join(CATEGORIES.values()) + " 之一")
    return q, category


def _int(name: str, label: str, low: int, high: int) -> int | None:
    raw = _text(name, 12)
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"{label}须为整数") from None
    if not low <= value <= high:
        raise invalid(name, f"{label}须在 {low} 到 {high} 之间")
    return value


def for_me_args() -> dict | None:
    """The helper's inputs, or None when the form was not filled in yet."""
    keys = ("birth_date", "age_months", "district", "nursery_id", "children")
    if not any((request.args.get(k) or "").strip() for k in keys):
        return None
    raw_birth = _text("birth_date", 10)
    birth = None
    if raw_birth:
        try:
            birth = date.fromisoformat(raw_birth)
        except ValueError:
            raise invalid("birth_date", "出生日期须为 年-月-日，例如 2025-03-18") from None
    # an age in months beyond the service's range still gets its own clear message (36+)
    months = _int("age_months", "月龄", 0, 600)
    return {
        "birth": birth,
        "months": months if birth is None else None,
        "district": _text("district", 100),
        "children": _int("children", "家庭子女数", 1, 10),
        "nursery_id": _int("nursery_id", "托育机构编号", 1, 2**31 - 1),
    }
