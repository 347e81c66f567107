"""Which routing rules apply (a read): the newest version an admin saved, else the shipped file.

Admins edit the rules as data (pages and file import, see `views/admin.py`); every saved version
is kept (`services/rules.py` saves one), so a routing decision's reasons can be traced to the
rules of its day. `parse` checks a rules document before it is saved.

The deadline regimes (`regimes.py`) are part of the same document ("deadline_regimes"); a
version saved before they existed takes the shipped file's.
"""

from __future__ import annotations

import copy
import json
import logging
from functools import lru_cache

from flask import g, has_request_context
from sqlalchemy import func, select

from accounts.models import User
from errors import DomainError, json_document
from extensions import db

from .models import RulesVersion
from .regimes import LEGACY, Regime, Regimes, regimes_from_dict
from .routing import DEFAULT_RULES_PATH, Rules, rules_from_dict

log = logging.getLogger(__name__)

MAX_RULES_BYTES = 512 * 1024
HISTORY = 10  # versions listed on the admin overview

_cache: dict[str, tuple[int, Rules, dict]] = {}  # database URL → (version id, rules, raw data)
_regime_cache: dict[tuple[str, int], Regimes] = {}  # (database URL, version id) → regimes


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
    # a version saved before a rule tightened (e.g. one-character keywords) still loads
    rules = rules_from_dict(raw, strict=False)
    raw.setdefault("departments", dict(rules.departments))  # shown and edited with the rest
    raw.setdefault("deadline_regimes", copy.deepcopy(_shipped_regimes_section()))
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
    data = json_document(text, "rules_invalid", "规则", MAX_RULES_BYTES, "rules_too_large")
    return data, validate(data)


def validate(data, prefix: str = "规则有误") -> Rules:
    """The rules of a parsed document; DomainError 400 "{prefix}：…" naming what is wrong
    (the deadline regimes included)."""
    try:
        rules = rules_from_dict(data)
        regimes_of(data, rules)
    except (ValueError, TypeError, AttributeError) as exc:
        raise DomainError("rules_invalid", f"{prefix}：{exc}") from None
    return rules


# --- deadline regimes ----------------------------------------------------------------------


@lru_cache(maxsize=1)
def _shipped_regimes_section() -> dict:
    return json.loads(DEFAULT_RULES_PATH.read_text(encoding="utf-8"))["deadline_regimes"]


def regimes_of(data: dict, rules: Rules) -> Regimes:
    """A document's deadline regimes (the shipped file's when it has none); ValueError if bad."""
    section = data.get("deadline_regimes") if isinstance(data, dict) else None
    if section is None:
        section = _shipped_regimes_section()
    return regimes_from_dict(section, rules.departments, rules.categories)


def current_regimes() -> Regimes:
    """The deadline regimes of the rules in force (new cases take theirs from here)."""
    version, rules, raw = current()
    key = (_database_key(), version)
    cached = _regime_cache.get(key)
    if cached is None:
        try:
            cached = regimes_of(raw, rules)
        except ValueError:  # every save is validated; this is a version edited by hand
            log.exception("deadline regimes of rules version %s are invalid", version)
            cached = regimes_from_dict(_shipped_regimes_section())
        _regime_cache[key] = cached
    return cached


def find_regime(code: str | None) -> Regime | None:
    """The regime a case filed under `code` counts by: LEGACY for none, else the rules in force
    (whose save refuses to change or remove a code cases use), else the shipped file's."""
    found = current_regimes().get(code)
    if found is None:
        found = regimes_from_dict(_shipped_regimes_section()).get(code)
    return found


def regime(code: str | None) -> Regime:
    found = find_regime(code)
    if found is None:  # not defined anywhere: a row from elsewhere; count as before regimes
        log.warning("unknown deadline regime %r: counted as %s", code, LEGACY.code)
        return LEGACY
    return found


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
    _regime_cache.clear()
