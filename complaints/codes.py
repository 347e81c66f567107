"""Tracking codes (投诉举报马上查): 16 characters of base32, 80 random bits.

Plain rules, no Flask or database. Only a code's SHA-256 is stored (like API tokens), so a code is
shown once, after filing; look-ups accept lower case, spaces and dashes.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from errors import DomainError

CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32
CODE_LENGTH = 16  # 80 bits
CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")


def new_code() -> str:
    """A fresh random tracking code (raw, without dashes)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """ABCD-EFGH-JKLM-NPQR: easier to read out and copy."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(raw) -> str:
    """Upper-case, without dashes and spaces; DomainError 400 when it cannot be a code."""
    text = re.sub(r"[\s\-]", "", str(raw or "")).upper() if isinstance(raw, str) else ""
    if not CODE_RE.match(text):
        raise DomainError(
            "code_malformed", "查询码格式不正确：应为 16 位字母和数字（如 ABCD-EFGH-JKLM-NPQR）"
        )
    return text


def code_hash(code: str) -> str:
    """What is stored of a (normalised) code: its SHA-256, hex."""
    return hashlib.sha256(code.encode()).hexdigest()
