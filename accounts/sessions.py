"""Browser sessions: a fresh session at login, versioned ids, idle and absolute lifetimes.

Flask keeps the session in a signed cookie, so the server cannot delete a copy of it. Two
things end a session anyway:
- the id Flask-Login keeps in the cookie is "<user id>:<session version>" (User.get_id); logout
  and password change bump the version, and the loader refuses any other version;
- the login time and the time of the last request are kept in the session, and a request past
  SESSION_IDLE_MINUTES of inactivity or SESSION_MAX_HOURS after login is treated as logged out.
"""

import time

from flask import Flask, current_app, flash, session
from flask_login import login_user, logout_user

from extensions import db, login_manager

LOGIN_AT = "login_at"  # seconds since the epoch, set at login, never refreshed
SEEN_AT = "seen_at"  # seconds since the epoch of the latest request of this session
EXPIRED = "登录已超时，请重新登录"


def start_session(user) -> None:
    """Log `user` in on a brand-new session: nothing of the anonymous one is kept (no session
    fixation; the CSRF token is new too)."""
    session.clear()
    login_user(user)
    session.permanent = True  # the cookie expires with the idle lifetime, not with the browser
    now = int(time.time())
    session[LOGIN_AT] = now
    session[SEEN_AT] = now


def end_session() -> None:
    """Forget the login in this browser (the caller ends the account's other sessions)."""
    logout_user()
    session.clear()


def load_user(session_id: str):
    """Flask-Login's loader: the active user whose id *and* session version the cookie names."""
    from .models import User

    user_id, _, version = session_id.partition(":")
    if not (user_id.isdigit() and version.isdigit()):
        return None  # a bare id from before session versions, or garbage
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.session_version != int(version):
        return None  # ended by logout or password change, or the account was deactivated
    return user


def _expired(now: int) -> bool:
    config = current_app.config
    login_at, seen_at = session.get(LOGIN_AT), session.get(SEEN_AT)
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return True
    return (
        now - seen_at > config["SESSION_IDLE_MINUTES"] * 60
        or now - login_at > config["SESSION_MAX_HOURS"] * 3600
    )


def enforce_lifetimes() -> None:
    """Before each request: a logged-in session past its idle or absolute lifetime ends."""
    if "_user_id" not in session:
        return
    now = int(time.time())
    if _expired(now):
        end_session()
        flash(EXPIRED, "info")
        return
    if now - session[SEEN_AT] >= 30:  # a coarse clock spares rewriting the cookie every request
        session[SEEN_AT] = now


def init_app(app: Flask) -> None:
    """Install the loader and the lifetime check (config.py sizes the cookie's own expiry)."""
    login_manager.user_loader(load_user)
    app.before_request(enforce_lifetimes)
