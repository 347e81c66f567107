"""Which routing rules apply (a read): the newest version an admin saved, else the shipped file.

Admins edit the rules as data (pages and file import, see `views/admin.py`); every saved version
is kept (`services/rules.py` saves one), so a routing decision's reasons can be traced to the
rules of its day. `parse` checks a rules document before it is saved.
"""

from __future__ import annotations

import json

from flask import g, has_request_context
from sqlalchemy import func, select

from accounts.models import User
from errors import DomainError
from extensions import db

from .models import RulesVersion
from .routing import DEFAULT_RULES_PATH, Rules, rules_from_dict

MAX_RULES_BYTES = 512 * 1024
HISTORY = 10  # versions listed on the admin overview

_cache: dict[str, tuple[int, Rules, dict]] = {}  # database URL → (version id, rules, raw data)


def _database_key() -> str:
    return str(db.engine.url)


def current() -> tuple[int, Rules, dict]:
    """(version id — 0 for the shipped file —, validated rules, the raw data).

    Asks the database for the newest version once per request (pages name departments and
    categories row by row); outside a request, on every call.
    """
    if has_request_context() and "complaint_rules" in g:
        return g.complaint_rules
    entry = _newest()
    if has_request_context():
        g.complaint_rules = entry
    return entry


def forget_request_copy() -> None:
    """After a save: the request reads the rules again (and sees its own save)."""
    if has_request_context():
        g.pop("complaint_rules", None)


def _newest() -> tuple[int, Rules, dict]:
    newest = db.session.scalar(select(func.max(RulesVersion.id))) or 0
    cached = _cache.get(_database_key())
    if cached and cached[0] == newest:
        return cached
    if newest:
        raw = json.loads(db.session.get(RulesVersion, newest).data)
    else:
        raw = json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))
    rules = rules_from_dict(raw)
    raw.setdefault("departments", dict(rules.departments))  # shown and edited with the rest
    entry = (newest, rules, raw)
    _cache[_database_key()] = entry
    return entry


def current_rules() -> Rules:
    return current()[1]


def department_name(code: str) -> str:
    """A department's name under the rules in force (its code when the rules lost it)."""
    return current_rules().departments.get(code, code)


def parse(text: str | bytes) -> tuple[dict, Rules]:
    """Parse and validate rules JSON; a DomainError (400) names what is wrong."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "replace"))
    if size > MAX_RULES_BYTES:  # pasted text is held to the same limit as an uploaded file
        raise DomainError("rules_too_large", "规则文件过大（不超过 512 KB）")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise DomainError("rules_invalid", "规则文件须为 UTF-8 编码的 JSON") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DomainError(
            "rules_invalid", f"规则不是有效的 JSON：第 {exc.lineno} 行第 {exc.colno} 列"
        ) from None
    except RecursionError:
        raise DomainError("rules_invalid", "规则 JSON 嵌套层数过多") from None
    return data, validate(data)


def validate(data, prefix: str = "规则有误") -> Rules:
    """The rules of a parsed document; DomainError 400 "{prefix}：…" naming what is wrong."""
    try:
        return rules_from_dict(data)
    except (ValueError, TypeError, AttributeError) as exc:
        raise DomainError("rules_invalid", f"{prefix}：{exc}") from None


def version_info(version: int) -> dict:
    """When a version was saved and by whom (version 0: the shipped file)."""
    if not version:
        return {"id": 0, "saved_at": None, "by": None}
    row = db.session.get(RulesVersion, version)
    who = db.session.get(User, row.saved_by) if row.saved_by else None
    return {"id": version, "saved_at": row.saved_at, "by": who.username if who else None}


def history(limit: int = HISTORY) -> list[dict]:
    """The newest saved versions, newest first."""
    rows = db.session.execute(
        select(RulesVersion.id, RulesVersion.saved_at, User.username)
        .outerjoin(User, User.id == RulesVersion.saved_by)
        .order_by(RulesVersion.id.desc())
        .limit(limit)
    ).all()
    return [{"id": i, "saved_at": at, "by": by} for i, at, by in rows]


def reset() -> None:
    _cache.clear()
