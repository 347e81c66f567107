"""The password policy: length, and not one of the common passwords shipped with the package.

Plain functions, no Flask: the registration form, the password-change form, the API and the
`users create` command all ask `password_problem` and show its Chinese message.
"""

from functools import cache
from pathlib import Path

MIN_PASSWORD = 8
MAX_PASSWORD = 128
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common_passwords.txt")

TOO_SHORT_OR_LONG = f"密码长度须为 {MIN_PASSWORD}–{MAX_PASSWORD} 位"
TOO_COMMON = "该密码过于常见，容易被猜中，请换一个"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords, lower-cased."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def password_problem(password: object) -> str | None:
    """Why a new password is refused (a Chinese message), or None when it is acceptable."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return TOO_SHORT_OR_LONG
    if password.strip().lower() in common_passwords():
        return TOO_COMMON
    return None
