"""Role gates: whole blueprints (`restrict`), single pages (`parent_required`), the API
(`token_required`).

One mechanism instead of a before/after-request pair in every blueprint: anonymous visitors go
to the login page, other roles get a Chinese 403 page, and nothing these pages show (children's
data, complaints, contact details) is kept by any cache — nor what the parents' pages and the
token-authenticated API answer. API calls carry a bearer token and get JSON errors instead.
"""

from collections.abc import Callable
from functools import wraps

from flask import Blueprint, abort, g, jsonify, make_response, render_template, request
from flask_login import current_user, login_required

from extensions import login_manager

FORBIDDEN = "您没有权限访问此页面"


def restrict(
    bp: Blueprint,
    role: str,
    message: str = FORBIDDEN,
    bound: Callable[[object], bool] = lambda user: True,
) -> None:
    """Open `bp` to logged-in users of `role` only (and, with `bound`, only to accounts bound to
    what the role needs, e.g. a nursery or a department)."""

    @bp.before_request
    def _only_role():
        if not current_user.is_authenticated:
            return login_manager.unauthorized()  # → /login?next=…
        if current_user.role != role or not bound(current_user):
            return render_template("error.html", status=403, message=message), 403
        return None

    bp.after_request(_not_cached)


def _not_cached(response):
    """Children's data, complaints and contact details are never kept by a cache."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def parent_required(view):
    """Logged-in parents only: anonymous users go to /login, other roles get 403. The pages
    show the family's children, so they are not cached either."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.role != "parent":
            abort(403)
        return _not_cached(make_response(view(*args, **kwargs)))

    return wrapped


def _api_error(code: str, message: str, status: int):
    return jsonify({"error": {"code": code, "message": message}}), status


def bearer_user():
    """The active user whose bearer token the request carries (`Authorization: Bearer …`), or
    None: the one reading of the header for the API and Open311."""
    from .queries import user_for_token

    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return user_for_token(token.strip()) if scheme.lower() == "bearer" else None


def token_required(*roles: str):
    """Require a valid bearer token (and one of the roles, if given); sets g.api_user."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = bearer_user()
            if user is None:
                return _api_error("unauthorized", "请先登录（缺少或无效的访问令牌）", 401)
            if roles and user.role not in roles:
                return _api_error("forbidden", "当前账号无权执行此操作", 403)
            g.api_user = user
            return _not_cached(make_response(view(*args, **kwargs)))

        return wrapped

    return decorator
