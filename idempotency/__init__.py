"""Idempotent writes (issue 14): a client that did not see the answer to a POST — its
connection dropped, the worker was killed after the commit — sends the same request again
with the same `Idempotency-Key` header and gets the first answer instead of a second booking
or complaint (or a "double booking" refusal of its own retry).

`POST /api/v1/bookings` and Open311's `POST requests.json|xml` accept the header. The key, the
request's fingerprint and the answer are stored in the same transaction as the write itself,
so either both exist or neither does. Keys are scoped to the caller (the account for the API;
everyone for Open311's anonymous posts, where the key itself is the secret), kept for
IDEMPOTENCY_HOURS and then purged by `flask --app app privacy purge`.
"""

import hashlib
import json
import re

from flask import request

from errors import DomainError

HEADER = "Idempotency-Key"
KEY_RE = re.compile(r"[\x21-\x7e]{8,255}")  # printable ASCII: UUIDs, ULIDs, random tokens


def key_from_request() -> str | None:
    """The request's Idempotency-Key, None when it sends none; a malformed one is a 400."""
    key = request.headers.get(HEADER)
    if key is None:
        return None
    if not KEY_RE.fullmatch(key):
        raise DomainError(
            "invalid_idempotency_key",
            "Idempotency-Key 须为 8–255 个可见 ASCII 字符（建议使用 UUID）",
            400,
            field=HEADER,
        )
    return key


def fingerprint() -> str:
    """What makes two requests "the same": method, path and body (JSON canonicalised, forms
    sorted), so a reused key with other content is refused rather than answered wrongly."""
    if request.is_json:
        body = json.dumps(request.get_json(silent=True), sort_keys=True, ensure_ascii=False)
    else:
        body = json.dumps(sorted(request.form.items(multi=True)), ensure_ascii=False)
    text = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
