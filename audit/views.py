"""The audit log for admins (审计日志): who did what, when and from where; paged, by action."""

from flask import Blueprint, render_template, request

from accounts.access import restrict
from web.params import arg_int, invalid

from . import queries

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

restrict(bp, "admin", "只有管理员可以查看审计日志")

MAX_PAGE = 1_000_000


@bp.get("")
@bp.get("/")
def log():
    page = arg_int("page", 1, 1, MAX_PAGE)
    action = (request.args.get("action") or "").strip() or None
    known = queries.actions()
    if action is not None and action not in known and action not in queries.ACTION_LABELS:
        raise invalid("action", "参数 action 不是审计日志中的事项")
    result = queries.entries(action, page)
    if page > result.pages:
        raise invalid("page", f"参数 page 须在 1 到 {result.pages} 之间")
    return render_template(
        "audit/log.html",
        result=result,
        action=action,
        actions=[(a, queries.ACTION_LABELS.get(a, a)) for a in known],
    )
