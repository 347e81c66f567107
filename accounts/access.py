"""Role gates for whole blueprints: the portal, the handlers' pages, rules admin, planning.

One mechanism instead of a before/after-request pair in every blueprint: anonymous visitors go
to the login page, other roles get a Chinese 403 page, and nothing these pages show (children's
data, complaints, contact details) is kept by any cache.
"""

from collections.abc import Callable

from flask import Blueprint, render_template
from flask_login import current_user

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

    @bp.after_request
    def _not_cached(response):
        response.headers["Cache-Control"] = "private, no-store"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
