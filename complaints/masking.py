"""How a complainant's contact details show on handler pages: masked (张**, 138****1234).

Plain rules, no Flask or database. The full details are revealed only by the audited use case
`services.handling.reveal_contact`.
"""

from __future__ import annotations

import re

ANONYMOUS = "（匿名）"
NONE = "—"


def mask_name(name: str | None) -> str:
    if not name:
        return ANONYMOUS
    if len(name) == 1:
        return "*"  # "张*" would show the whole of a one-character name
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str | None) -> str:
    if not phone:
        return NONE
    digits = re.sub(r"\D", "", phone)
    return digits[:3] + "*" * max(0, len(digits) - 7) + digits[-4:] if len(digits) > 7 else "***"


def mask_email(email: str | None) -> str:
    if not email:
        return NONE
    local, _, domain = email.partition("@")
    return local[:1] + "***@" + domain


def masked_contact(c) -> dict:
    """A complaint's contact details as handler pages show them by default."""
    return {
        "name": mask_name(c.complainant_name),
        "phone": mask_phone(c.complainant_phone),
        "email": mask_email(c.complainant_email),
    }


def full_contact(c) -> dict:
    """A complaint's contact details in full (after an audited reveal)."""
    return {
        "name": c.complainant_name or ANONYMOUS,
        "phone": c.complainant_phone or NONE,
        "email": c.complainant_email or NONE,
    }
