"""Which routing rules apply: the newest version an admin saved, else the shipped file.

Admins edit the rules as data (pages and file import, see `admin.py`); every saved version is
kept, so a routing decision's reasons can be traced to the rules of its day.
"""

from __future__ import annotations

import json
from datetime import datetime

from flask import g, has_request_context
from sqlalchemy import func, select

import audit
from errors import Conflict, DomainError
from extensions import begin_write, db

from .models import RulesVersion
from .routing import DEFAULT_RULES_PATH, Rules, rules_from_dict

MAX_RULES_BYTES = 512 * 1024

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
    try:
        rules = rules_from_dict(data)
    except (ValueError, TypeError, AttributeError) as exc:
        raise DomainError("rules_invalid", f"规则有误：{exc}") from None
    return data, rules


def save(
    admin_id: int | None,
    data: dict,
    reason: str = "",
    now: datetime | None = None,
    based_on: int | None = None,
) -> int:
    """Validate and save a new version of the rules; returns its id.

    `based_on`: the version the admin edited; when another admin saved since, the save is
    refused (409) rather than silently overwriting their change. Checked under the write lock.
    """
    try:
        rules_from_dict(data)
    except (ValueError, TypeError, AttributeError) as exc:
        raise DomainError("rules_invalid", f"规则有误：{exc}") from None
    begin_write()
    newest = db.session.scalar(select(func.max(RulesVersion.id))) or 0
    if based_on is not None and newest != based_on:
        raise Conflict(
            "rules_changed", "分办规则已被他人修改（版本已更新），请刷新页面后在最新规则上修改"
        )
    version = RulesVersion(
        saved_at=(now or datetime.now()).replace(microsecond=0),
        saved_by=admin_id,
        data=json.dumps(data, ensure_ascii=False, indent=2),
    )
    db.session.add(version)
    db.session.flush()
    if has_request_context():
        g.pop("complaint_rules", None)  # the request now sees its own save
    audit.record(
        admin_id,
        "complaint_rules_saved",
        "complaint_rules",
        version.id,
        reason or None,
        at=version.saved_at,
    )
    db.session.commit()
    return version.id


def reset() -> None:
    _cache.clear()
