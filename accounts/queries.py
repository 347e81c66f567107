"""Who is asking: password and bearer-token authentication (reads only)."""

from datetime import datetime

from sqlalchemy import select

from extensions import db

from .models import ApiToken, User, token_digest


def authenticate(username, password) -> User | None:
    """The active user with these credentials, or None."""
    if not isinstance(username, str) or not isinstance(password, str):
        return None
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.check_password(password):
        return None
    return user


def user_for_token(token: str) -> User | None:
    """The active user a bearer token belongs to, if it is valid and unexpired."""
    if not token or len(token) > 200:
        return None
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(token)))
    if row is None or row.expires_at < datetime.now() or not row.user.active:
        return None
    return row.user
