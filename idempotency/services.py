"""Run a write once per Idempotency-Key: the first request's answer is stored with its write."""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timedelta

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from database import SERVICE, use_case
from errors import DomainError
from extensions import db

from .models import IdempotentRequest


def _secret(purpose: str, scope: str, key: str) -> bytes:
    message = f"{purpose}\n{scope}\n{key}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).digest()


def _digest(scope: str, key: str) -> str:
    return _secret("lookup", scope, key).hex()


def _cipher(scope: str, key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(_secret("answer", scope, key)))


def _window() -> timedelta:
    return timedelta(hours=current_app.config.get("IDEMPOTENCY_HOURS", 24))


def _replay(row: IdempotentRequest, scope: str, key: str, fingerprint: str):
    if row.fingerprint != fingerprint:
        raise DomainError(
            "idempotency_key_reused",
            "该 Idempotency-Key 已用于另一个不同内容的请求；新的请求请使用新的 Idempotency-Key",
            422,
        )
    try:
        body = json.loads(_cipher(scope, key).decrypt(row.answer))
    except InvalidToken as exc:  # SECRET_KEY changed since: the answer cannot be read back
        raise DomainError(
            "idempotency_answer_lost",
            "该请求已处理过，但原答复已无法读取；请查询后再决定是否重新提交",
            409,
        ) from exc
    return row.status, body, True


def _find(digest: str) -> IdempotentRequest | None:
    row = db.session.scalar(select(IdempotentRequest).where(IdempotentRequest.key_digest == digest))
    if row is not None and row.created_at < datetime.now() - _window():
        db.session.delete(row)  # expired: the key may be used afresh
        db.session.flush()
        return None
    return row


def once(
    scope: str,
    key: str,
    fingerprint: str,
    run: Callable[[], tuple[int, object]],
    nurseries=SERVICE,
) -> tuple[int, object, bool]:
    """(status, body, replayed): `run()` — a write use case returning its status and JSON body —
    runs at most once per (scope, key); a repeat gets the stored answer. `nurseries` are the
    locks `run()` takes, so the look-up and the write happen under them: two requests with one
    key run one after the other, and the second sees the first's answer. A refused request
    (DomainError) stores nothing, so it may be retried with the same key."""
    digest = _digest(scope, key)
    try:
        with use_case(nurseries=nurseries):
            row = _find(digest)
            if row is not None:
                return _replay(row, scope, key, fingerprint)
            status, body = run()
            # the app's JSON provider: dates and decimals as the response itself has them
            answer = _cipher(scope, key).encrypt(current_app.json.dumps(body).encode())
            db.session.add(
                IdempotentRequest(
                    key_digest=digest,
                    fingerprint=fingerprint,
                    status=status,
                    answer=answer,
                    created_at=datetime.now(),
                )
            )
    except IntegrityError:
        # The same key under other locks (another nursery) committed first: answer as it did.
        row = db.session.scalar(
            select(IdempotentRequest).where(IdempotentRequest.key_digest == digest)
        )
        if row is None:
            raise
        return _replay(row, scope, key, fingerprint)
    return status, body, False


def purge(now: datetime | None = None) -> int:
    """Delete the answers older than the replay window; returns how many."""
    cutoff = (now or datetime.now()) - _window()
    with use_case(deliver=False, nurseries=()):
        result = db.session.execute(
            delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff)
        )
    return result.rowcount
