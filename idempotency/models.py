"""The one table: answers to idempotent requests, stored without the key or the answer in clear."""

from datetime import datetime

from sqlalchemy import DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from extensions import db


class IdempotentRequest(db.Model):
    """A request made with an Idempotency-Key and the answer it got.

    `key_digest` is an HMAC of the caller's scope and key (the key itself is never stored);
    `answer` is the response body encrypted with a key derived from the Idempotency-Key, so
    the database alone cannot reveal what it holds (a complaint's tracking code, a child's
    booking) — only the client that holds the key can have it replayed."""

    __tablename__ = "idempotent_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    key_digest: Mapped[str] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    answer: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
