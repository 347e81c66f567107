"""The audit log's one table and the helper that adds an entry to the running use case."""

from datetime import datetime

from flask import has_request_context, request
from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db

MAX_IP = 45  # the longest textual IPv6 address


class AuditEntry(db.Model):
    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(48))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    # 来源地址: the client's address for a web or API request; None for the command line and cron.
    ip: Mapped[str | None] = mapped_column(String(MAX_IP))


def origin() -> str | None:
    """Where the running request comes from (its client address), or None outside a request.

    `request.remote_addr` as the WSGI server sets it; behind a reverse proxy, the deployment
    wraps the app in werkzeug's ProxyFix so this is the visitor's address, not the proxy's."""
    if not has_request_context():
        return None
    return (request.remote_addr or "")[:MAX_IP] or None


def record(actor_id, action: str, subject_type: str, subject_id: int, reason=None, at=None):
    """Add an audit entry to the current transaction (the caller commits).

    `reason` names records by id and never holds a child's data or a complainant's identity
    (DESIGN §3.8); the client address is taken from the running request."""
    db.session.add(
        AuditEntry(
            at=at or datetime.now(),
            actor_id=actor_id,
            action=action,
            subject_type=subject_type,
            subject_id=subject_id,
            reason=reason,
            ip=origin(),
        )
    )
