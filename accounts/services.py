"""Account use cases: registration, user creation, logging in, role changes, passwords,
sessions and API tokens."""

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select

import audit
from database import use_case
from errors import DomainError
from extensions import db
from maps.models import Nursery, Street

from .models import ApiToken, HandlerStreet, User, token_digest
from .passwords import MAX_PASSWORD, MIN_PASSWORD, password_problem  # noqa: F401  (re-exported)
from .queries import authenticate
from .roles import ROLES

USERNAME_RE = re.compile(r"^[\w.\-]{3,32}$")


def _now() -> datetime:
    return datetime.now().replace(microsecond=0)


def _check_credentials(username: str, password: str, name: str) -> None:
    if not isinstance(username, str) or not USERNAME_RE.match(username):
        raise DomainError(
            "invalid_username",
            "用户名须为 3–32 位字母、数字、汉字、下划线、点或连字符",
            field="username",
        )
    _check_password(password)
    if not isinstance(name, str) or len(name) > 64:
        raise DomainError("invalid_name", "姓名不能超过 64 个字", field="name")


def _check_password(password: str, field: str = "password") -> None:
    problem = password_problem(password)
    if problem is not None:
        raise DomainError("weak_password", problem, field=field)


def _check_bindings(role, nursery_id, department_code, street_code) -> Street | None:
    """Refuse what a role may not be bound to, or must be; returns a street handler's street."""
    if role == "nursery_staff":
        if nursery_id is None or db.session.get(Nursery, nursery_id) is None:
            raise DomainError("invalid_nursery", "托育机构账号须绑定一个已登记的机构")
    elif nursery_id is not None:
        raise DomainError("invalid_nursery", "只有托育机构账号可以绑定机构")
    if role == "handler":
        from complaints.rulebook import current_rules  # departments are routing-rules data

        if department_code not in current_rules().departments:
            raise DomainError("invalid_department", "承办部门账号须绑定一个已知部门")
    elif department_code is not None:
        raise DomainError("invalid_department", "只有承办部门账号可以绑定部门")
    street = None
    if department_code == "street":
        street = db.session.scalar(select(Street).where(Street.code == (street_code or "")))
        if street is None:
            raise DomainError("invalid_street", "镇街承办人账号须绑定一个已知镇街（--street 代码）")
    elif street_code is not None:
        raise DomainError("invalid_street", "只有镇街承办人账号可以绑定镇街")
    return street


def create_user(
    role: str,
    username: str,
    password: str,
    name: str = "",
    nursery_id: int | None = None,
    department_code: str | None = None,
    street_code: str | None = None,
) -> User:
    """Create an account of any role, checking what the role is bound to.

    A handler of the `street` department answers for one street (属地), named by its code.
    """
    if role not in ROLES:
        raise DomainError("invalid_role", f"未知角色：{role}")
    _check_credentials(username, password, name)
    with use_case():
        street = _check_bindings(role, nursery_id, department_code, street_code)
        if db.session.scalar(select(User.id).where(User.username == username)) is not None:
            raise DomainError("username_taken", "该用户名已被使用", status=409, field="username")
        user = User(
            username=username,
            name=name,
            role=role,
            nursery_id=nursery_id,
            department_code=department_code,
        )
        user.set_password(password)
        db.session.add(user)
        if street is not None:
            db.session.flush()
            db.session.add(HandlerStreet(user_id=user.id, street_id=street.id))
    return user


def change_role(
    actor_id: int | None,
    username: str,
    role: str,
    nursery_id: int | None = None,
    department_code: str | None = None,
    street_code: str | None = None,
    now: datetime | None = None,
) -> User:
    """Give an account another role (and what that role is bound to); audited (角色变更).

    Its API tokens are revoked: a token must not keep the powers of the old role."""
    if role not in ROLES:
        raise DomainError("invalid_role", f"未知角色：{role}")
    now = now or _now()
    with use_case():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None or not user.active:
            raise DomainError("user_not_found", "未找到该账号", status=404)
        street = _check_bindings(role, nursery_id, department_code, street_code)
        before = f"{user.role}/{user.nursery_id or '-'}/{user.department_code or '-'}"
        user.role, user.nursery_id, user.department_code = role, nursery_id, department_code
        db.session.execute(delete(HandlerStreet).where(HandlerStreet.user_id == user.id))
        if street is not None:
            db.session.add(HandlerStreet(user_id=user.id, street_id=street.id))
        db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        user.end_sessions()  # and its browser sessions: they carried the old role
        after = f"{role}/{nursery_id or '-'}/{department_code or '-'}"
        change = f"{before} → {after}"
        audit.record(actor_id, "account.role_changed", "user", user.id, change, at=now)
    return user


def log_in(username, password, channel: str = "web") -> User | None:
    """Check credentials and log the attempt in the audit log (登录 / 登录失败), with the client
    address. A failed attempt names the account when the username exists, never the text typed
    (a password typed into the wrong field must not end up in the log)."""
    user = authenticate(username, password)
    with use_case(nurseries=()):  # changes no nursery's places
        if user is not None:
            audit.record(user.id, "account.login", "user", user.id, channel)
        else:
            known = (
                db.session.scalar(select(User.id).where(User.username == username))
                if isinstance(username, str) and len(username) <= 64
                else None
            )
            audit.record(None, "account.login_failed", "user", known or 0, channel)
    return user


def register_parent(username: str, password: str, name: str) -> User:
    """Self-service registration, open to parents only."""
    return create_user("parent", username, password, name)


def issue_token(user: User, days: int) -> str:
    """A new bearer token for the API; expired tokens of the user are purged on the way."""
    token = secrets.token_urlsafe(32)
    now = _now()
    with use_case():
        db.session.execute(
            delete(ApiToken).where(ApiToken.user_id == user.id, ApiToken.expires_at < now)
        )
        db.session.add(
            ApiToken(
                user_id=user.id,
                token_hash=token_digest(token),
                created_at=now,
                expires_at=now + timedelta(days=days),
            )
        )
    return token


def change_password(user_id: int, current: str, new: str) -> User:
    """A logged-in user's new password; every session and API token issued so far ends.

    The caller starts a fresh session for the browser that made the change.
    """
    with use_case(nurseries=()):  # no nursery's places change
        user = db.session.get(User, user_id)
        if user is None or not user.active:
            raise DomainError("not_found", "账号不存在", status=404)
        if not isinstance(current, str) or not user.check_password(current):
            raise DomainError("wrong_password", "当前密码不正确", field="current")
        _check_password(new, field="new")
        if user.check_password(new):
            raise DomainError("same_password", "新密码不能与当前密码相同", field="new")
        user.set_password(new)
        user.end_sessions()
        db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
    return user


def end_sessions(user_id: int) -> None:
    """Logout: every browser session of the account ends (the signed cookies cannot be deleted
    server-side, so the session version they carry stops being accepted)."""
    with use_case(nurseries=()):  # no nursery's places change
        user = db.session.get(User, user_id)
        if user is not None:
            user.end_sessions()


def revoke_token(token: str) -> bool:
    """Delete the API token presented (its digest); False when it was not known."""
    with use_case(nurseries=()):  # no nursery's places change
        done = db.session.execute(
            delete(ApiToken).where(ApiToken.token_hash == token_digest(token))
        )
    return bool(done.rowcount)
