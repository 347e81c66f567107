"""What people type into a complaint: limits and checks of free text, phones and e-mails.

Plain rules, no Flask or database; the forms, Open311 and the use cases share these limits, so
every door refuses the same input with the same Chinese words.
"""

from __future__ import annotations

import re

from errors import DomainError

MAX_DESCRIPTION = 4000
MAX_TEXT = 2000  # notes, questions, answers, results, reasons
MAX_NAME = 32
MAX_PHONE = 20
MAX_EMAIL = 100
MAX_SITE_NAME = 100
MAX_ADDRESS = 200
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,18}[0-9]$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,63}\.[^@\s]{1,30}$")
# NUL and other C0 controls (tab and newlines are fine): PostgreSQL refuses NUL, XML cannot
# carry them, and no one types them.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def clean_text(value, field_name: str, label: str, required: bool = True, limit: int = MAX_TEXT):
    """The text stripped (None when empty); DomainError 400 naming the field when it is not
    text, holds control characters, is missing while required, or is longer than `limit`."""
    if value is not None and not isinstance(value, str):
        raise DomainError("invalid_" + field_name, f"{label}格式不正确", field=field_name)
    value = (value or "").strip()
    if CONTROL_RE.search(value):
        raise DomainError(
            "invalid_" + field_name,
            f"{label}含有无法保存的控制字符，请删除后重试",
            field=field_name,
        )
    if required and not value:
        raise DomainError("missing_" + field_name, f"请填写{label}", field=field_name)
    if len(value) > limit:
        raise DomainError(
            f"{field_name}_too_long",
            f"{label}不能超过 {limit} 字（现有 {len(value)} 字）",
            field=field_name,
        )
    return value or None


def clean_phone(value) -> str | None:
    phone = clean_text(value, "phone", "电话", required=False, limit=MAX_PHONE)
    if phone and not PHONE_RE.match(phone):
        raise DomainError("invalid_phone", "电话号码格式不正确", field="phone")
    return phone


def clean_email(value) -> str | None:
    email = clean_text(value, "email", "电子邮箱", required=False, limit=MAX_EMAIL)
    if email and not EMAIL_RE.match(email):
        raise DomainError("invalid_email", "电子邮箱格式不正确", field="email")
    return email
