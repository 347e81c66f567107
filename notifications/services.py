"""Notify users: inbox + outbox in the caller's transaction; delivery after commit."""

import logging
from datetime import datetime
from typing import Protocol

from flask import current_app
from sqlalchemy import select

from database import OUTBOX_QUEUED, use_case
from extensions import db

from .models import Notification, OutboxMessage

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5


class Sender(Protocol):
    def send(self, user_id: int, channel: str, text: str) -> None: ...


class LogSender:
    """Default sender: records that a message went out, never its text (it may name a child)."""

    def send(self, user_id: int, channel: str, text: str) -> None:
        log.info("notification delivered: user=%s channel=%s chars=%d", user_id, channel, len(text))


def notify(user_id: int, text: str, subject_type=None, subject_id=None, now=None) -> None:
    """Put a message in the user's inbox and queue its delivery (the caller commits)."""
    now = now or datetime.now()
    note = Notification(
        user_id=user_id,
        subject_type=subject_type,
        subject_id=subject_id,
        text=text,
        created_at=now,
    )
    db.session.add(note)
    db.session.flush()
    db.session.add(OutboxMessage(notification_id=note.id, channel="sms", created_at=now))
    db.session.info[OUTBOX_QUEUED] = True  # the use case delivers it after its commit


def _sender() -> Sender:
    return current_app.extensions.get("notification_sender") or LogSender()


def drain_outbox(limit: int = 100) -> int:
    """Deliver queued messages; a failure is recorded for a later retry. Returns how many sent.

    Runs as a write use case of its own that locks no nursery: on PostgreSQL it locks the
    messages it takes (`FOR UPDATE SKIP LOCKED`), so two workers draining at once never deliver
    the same message and never wait for each other; on SQLite writers run one at a time.
    """
    sender = _sender()
    sent = 0
    with use_case(deliver=False, nurseries=()):
        rows = db.session.execute(
            select(OutboxMessage, Notification)
            .join(Notification, Notification.id == OutboxMessage.notification_id)
            .where(OutboxMessage.sent_at.is_(None), OutboxMessage.attempts < MAX_ATTEMPTS)
            .order_by(OutboxMessage.id)
            .limit(limit)
            .with_for_update(of=OutboxMessage, skip_locked=True)
        ).all()
        for message, note in rows:
            message.attempts += 1
            try:
                sender.send(note.user_id, message.channel, note.text)
            except Exception as exc:  # noqa: BLE001 - a failed delivery must not fail the use case
                message.last_error = f"{exc.__class__.__name__}"[:200]
            else:
                message.sent_at = datetime.now()
                sent += 1
    return sent
