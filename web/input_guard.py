"""One guard for every request: text carrying control characters is refused before any view.

A NUL cannot be stored in PostgreSQL text (a driver error, formerly a 500) and SQLite would keep
it silently; other C0 controls are never typed by a person either. So the query string, form
fields and JSON strings (keys too) are checked once here and refused with a 400 naming the
field — in Chinese on pages, as JSON on the API and Open311 — on both databases alike. Tab,
newline and carriage return stay allowed (text areas). Path parameters are ids, codes and
enums that their converters and parsers check; uploaded files are bytes, checked by their
own readers.
"""

import re

from flask import Flask, request

from errors import DomainError

CONTROL_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
MAX_DEPTH = 32  # deeper JSON is refused by the endpoint's own validation anyway


def _first_bad_json(value, depth: int = 0) -> str | None:
    """The key (or "JSON") of the first string holding a control character, else None."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(value, str):
        return "JSON" if CONTROL_CHARS.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            if CONTROL_CHARS.search(str(key)):
                return "JSON"
            if _first_bad_json(item, depth + 1) is not None:
                return str(key)[:40]
    elif isinstance(value, list):
        for item in value:
            found = _first_bad_json(item, depth + 1)
            if found is not None:
                return found
    return None


def bad_field() -> str | None:
    """The name of the first part of the request that holds a control character, else None."""
    for source in (request.args, request.form):
        for key, values in source.lists():
            if CONTROL_CHARS.search(key) or any(CONTROL_CHARS.search(v) for v in values):
                return key[:40] if not CONTROL_CHARS.search(key) else "参数名"
    if request.is_json:
        return _first_bad_json(request.get_json(silent=True))
    return None


def refuse_control_characters() -> None:
    field = bad_field()
    if field is not None:
        raise DomainError(
            "invalid_characters",
            f"“{field}”含有无法保存的控制字符（如 NUL），请删除后重试",
            400,
            field=field,
        )


def init_app(app: Flask) -> None:
    app.before_request(refuse_control_characters)
