"""Parsing query parameters for pages and the API alike: refused with a message, never clamped."""

import math

from flask import request

from errors import DomainError


def invalid(field: str, message: str) -> DomainError:
    return DomainError("invalid_parameter", message, status=400, field=field)


def arg_float(name: str, required: bool = False) -> float | None:
    """A finite float query parameter, or a 400 naming it."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        if required:
            raise invalid(name, f"缺少参数 {name}")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise invalid(name, f"参数 {name} 须为数字：{raw[:40]!r}") from None
    if not math.isfinite(value):
        raise invalid(name, f"参数 {name} 须为有限数字")
    return value


def arg_int(name: str, default: int | None, low: int, high: int) -> int | None:
    """An integer query parameter within [low, high]; out of range is refused, not clamped."""
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"参数 {name} 须为整数：{raw[:40]!r}") from None
    if not low <= value <= high:
        raise invalid(name, f"参数 {name} 须在 {low} 到 {high} 之间")
    return value


def arg_flag(name: str) -> bool:
    raw = (request.args.get(name) or "").strip().lower()
    if raw in ("", "0", "false"):
        return False
    if raw in ("1", "true"):
        return True
    raise invalid(name, f"参数 {name} 须为 0 或 1")
