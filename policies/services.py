"""Writing policies: the admin's create, edit, hide/show, and the file import. Each use case is
one transaction with an audit entry (who, what, which policy)."""

from datetime import datetime

from sqlalchemy import select

import audit
from database import use_case
from errors import Conflict
from extensions import db

from . import queries
from .document import PolicyData
from .models import Policy


def _code_taken(code: str, but: int | None = None) -> bool:
    stmt = select(Policy.id).where(Policy.code == code)
    if but is not None:
        stmt = stmt.where(Policy.id != but)
    return db.session.scalar(stmt) is not None


def create_policy(data: PolicyData, actor_id: int | None, now: datetime | None = None) -> Policy:
    """Add a policy; its code must be new."""
    with use_case(nurseries=()):
        if _code_taken(data.code):
            raise Conflict("policy_code_taken", f"编号 {data.code} 已被其他政策使用", field="code")
        policy = Policy()
        policy.assign(data)
        policy.updated_at, policy.updated_by = now or datetime.now(), actor_id
        db.session.add(policy)
        db.session.flush()
        audit.record(actor_id, "policy.create", "policy", policy.id, data.code)
    return policy


def update_policy(
    policy_id: int, data: PolicyData, actor_id: int | None, now: datetime | None = None
) -> Policy:
    """Replace a policy's fields with checked ones (its hidden state stays as it is)."""
    with use_case(nurseries=()):
        policy = queries.get(policy_id)
        if _code_taken(data.code, but=policy.id):
            raise Conflict("policy_code_taken", f"编号 {data.code} 已被其他政策使用", field="code")
        hidden = policy.hidden
        policy.assign(data)
        policy.hidden = hidden
        policy.updated_at, policy.updated_by = now or datetime.now(), actor_id
        audit.record(actor_id, "policy.update", "policy", policy.id, data.code)
    return policy


def set_hidden(
    policy_id: int, hidden: bool, actor_id: int | None, reason: str = "", now=None
) -> Policy:
    """Hide a policy from the public (it stays on record) or show it again."""
    with use_case(nurseries=()):
        policy = queries.get(policy_id)
        policy.hidden = hidden
        policy.updated_at, policy.updated_by = now or datetime.now(), actor_id
        action = "policy.hide" if hidden else "policy.show"
        audit.record(actor_id, action, "policy", policy.id, (reason or policy.code)[:200])
    return policy


def import_policies(
    policies: list[PolicyData], actor_id: int | None, reason: str, now: datetime | None = None
) -> tuple[int, int]:
    """Put a file's policies in: a known code is updated, a new one added; policies the file
    does not name are kept. Returns (added, updated)."""
    now = now or datetime.now()
    with use_case(nurseries=()):
        existing = {p.code: p for p in db.session.scalars(select(Policy))}
        added = updated = 0
        for data in policies:
            policy = existing.get(data.code)
            if policy is None:
                policy = Policy()
                db.session.add(policy)
                added += 1
            else:
                updated += 1
            policy.assign(data)
            policy.updated_at, policy.updated_by = now, actor_id
        db.session.flush()
        audit.record(actor_id, "policies.import", "policies", 0, reason[:200] or None)
    return added, updated
