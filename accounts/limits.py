"""Rate limits on password endpoints (the sizes are config, see config.py).

Login (page and API token) is limited per client address and, counting failed attempts only, per
username whatever the address, so guessing one account's password from many addresses is slow
too. Registration and password change are limited per address. A limit reached is a 429 with a
Chinese message: a page on the site, JSON under /api (web/errors.py, api/__init__.py).
"""

from flask import current_app, request

from extensions import limiter


def _config(name: str):
    return lambda: current_app.config[name]


def _username() -> str:
    """The username a login attempt names (form or JSON body), lower-cased; "" when none."""
    name = request.form.get("username")
    if name is None:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    return name.strip().lower()[:64] if isinstance(name, str) else ""


def _failed(response) -> bool:
    """A login that did not succeed: the page answers 400, the API 401 (success is 302 / 200)."""
    return response.status_code in (400, 401)


login_limit = limiter.limit(_config("LOGIN_LIMIT"), methods=["POST"])
# One counter per username for the login page and the token endpoint together.
login_username_limit = limiter.shared_limit(
    _config("LOGIN_USERNAME_LIMIT"),
    scope="login-username",
    key_func=lambda: "username:" + _username(),
    methods=["POST"],
    deduct_when=_failed,
    exempt_when=lambda: not _username(),
)
register_limit = limiter.limit(_config("REGISTER_LIMIT"), methods=["POST"])
password_change_limit = limiter.limit(_config("PASSWORD_CHANGE_LIMIT"), methods=["POST"])
