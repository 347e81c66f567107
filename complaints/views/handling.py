"""Handler pages: the department's queue, case pages and actions, statistics.

Only handler accounts may enter (others 403, anonymous → login). A case exists for a handler
only when `queries.case_for` says their department is routed to it (and, for a street, that
it is in their street); anything else — the page, its photos, every action — is a 404. The
actions a page offers are the model's `Complaint.allowed_actions` for the handler's role. Every
change goes through a use case of complaints/services/handling.py; these views parse forms,
call it and render. The complainant's contact details show masked; the full details are
rendered once per explicit, audited POST and never put in the session (no flash), a URL or a
log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_login import current_user

from accounts.access import restrict
from errors import DomainError
from maps.domain import NURSERY_KINDS

from .. import queries, rulebook
from ..forms.handling import (
    ActionForm,
    CloseForm,
    DeclineTransferForm,
    DuplicateForm,
    ExtendForm,
    InfoForm,
    NoteForm,
    RecategoriseForm,
    RefuseForm,
    ReopenForm,
    ResolveForm,
    TransferForm,
)
from ..masking import masked_contact
from ..models import LEAD_ACTIONS, RATINGS, ROLES, STATUSES, Complaint
from ..services import handling as handling_service

bp = Blueprint("handling", __name__, url_prefix="/handle")

LIST_LIMIT = 200
ROLE_LABELS = {**ROLES, "transfer": "待接收转办"}
STATUS_FILTERS = {"open": "办理中的全部", "all": "全部（含已结束）", **STATUSES}
DEADLINE_LABELS = {"accept": "受理", "conclude": "办结"}
EVENT_LABELS = {
    "filed": "提交",
    "accepted": "受理",
    "transfer_requested": "申请转办",
    "transfer_accepted": "转办接收",
    "transfer_declined": "转办退回",
    "info_requested": "要求补充材料",
    "info_provided": "投诉人补充材料",
    "note": "内部备注",
    "public_note": "公开说明",
    "extended": "延长期限",
    "resolved": "办结",
    "closed": "关闭",
    "not_accepted": "不予受理",
    "recategorised": "更正类别",
    "duplicate": "合并办理",
    "reopened": "重新办理",
    "rated": "投诉人评价",
}


# Case pages carry complaints (and, once revealed, contact details).
restrict(bp, "handler", "只有承办部门账号可以处理投诉举报", lambda user: bool(user.department_code))


@bp.context_processor
def _department():
    code = getattr(current_user, "department_code", None)
    return {"my_department": rulebook.department_name(code) if code else ""}


def _rules():
    return rulebook.current_rules()


def _category_label(code: str) -> str:
    cat = _rules().categories.get(code)
    return cat.label if cat else code


def _site(c: Complaint) -> dict:
    if c.nursery is not None:
        return {
            "name": c.nursery.name,
            "address": c.nursery.address,
            "kind": NURSERY_KINDS.get(c.nursery.kind, c.nursery.kind),
            "registered": True,
        }
    return {
        "name": c.site_name or "未登记场所",
        "address": c.site_address,
        "kind": None,
        "registered": False,
    }


def _days(deadline: datetime | None, now: datetime) -> str | None:
    """The time left as shown: 剩 3 天, 今天到期, 已逾期 2 天 (calendar days)."""
    if deadline is None:
        return None
    days = (deadline.date() - now.date()).days
    if deadline < now:
        late = max(0, -days)
        return f"已逾期 {late} 天" if late else "已逾期"
    return "今天到期" if days == 0 else f"剩 {days} 天"


# --- the queue -------------------------------------------------------------------------------


def _flag(name: str, label: str) -> bool:
    value = request.args.get(name, "")
    if value not in ("", "0", "1"):
        raise DomainError("invalid_filter", f"“{label}”筛选只能是 1 或留空")
    return value == "1"


def _queue_filter() -> queries.QueueFilter:
    """The filters of GET /handle; an unknown value is a 400 with a Chinese message."""
    status = request.args.get("status") or "open"
    if status not in STATUS_FILTERS:
        raise DomainError("invalid_filter", "未知的状态筛选，请从列表中选择")
    role = request.args.get("role") or None
    if role is not None and role not in ROLE_LABELS:
        raise DomainError("invalid_filter", "未知的角色筛选，请从列表中选择")
    category = request.args.get("category") or None
    if category is not None and category not in _rules().categories:
        raise DomainError("invalid_filter", "未知的类别筛选，请从列表中选择")
    return queries.QueueFilter(
        status=status,
        role=role,
        urgent=_flag("urgent", "紧急"),
        overdue=_flag("overdue", "已逾期"),
        awaiting=_flag("awaiting", "待分类"),
        category=category,
    )


def _queue_row(c: Complaint, role: str, late: bool, now: datetime) -> dict:
    deadline = c.next_deadline()
    return {
        "id": c.id,
        "urgent": c.urgent,
        "awaiting_category": c.awaiting_category,
        "category": _category_label(c.category),
        "site": _site(c)["name"],
        "street": c.street.name if c.street else None,
        "status": c.status,
        "status_label": c.status_label,
        "role": role,
        "role_label": ROLE_LABELS.get(role, role),
        "lead": rulebook.department_name(c.lead_department),
        "transfer_to": rulebook.department_name(c.pending_transfer_to)
        if c.pending_transfer_to
        else None,
        "deadline": deadline,
        "deadline_kind": DEADLINE_LABELS.get(c.deadline_kind(), "办结"),
        "overdue": late,
        "days": _days(deadline, now),
        "filed_at": c.filed_at,
    }


@bp.get("")
@bp.get("/")
def queue():
    filt = _queue_filter()
    now = datetime.now()
    rows = queries.queue(current_user, filt, now)
    transfers = queries.queue(current_user, queries.QueueFilter(role="transfer"), now)
    rules = _rules()
    return render_template(
        "handling/queue.html",
        department=rulebook.department_name(current_user.department_code),
        rows=[_queue_row(c, role, late, now) for c, role, late in rows[:LIST_LIMIT]],
        total=len(rows),
        limit=LIST_LIMIT,
        transfers=[_queue_row(c, role, late, now) for c, role, late in transfers],
        filt=filt,
        status_filters=STATUS_FILTERS,
        role_labels=ROLE_LABELS,
        categories={code: cat.label for code, cat in rules.categories.items()},
        filtered=request.args.get("status", "open") not in ("", "open")
        or any(request.args.get(k) for k in ("role", "category", "urgent", "overdue", "awaiting")),
        active="queue",
    )


# --- the case page ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    label: str  # what the button says
    form: type


# The case page's actions in the order the page shows them; the URL names the model's action
# with dashes (request-info → Complaint action "request_info").
ACTIONS: dict[str, Action] = {
    "accept": Action("受理", ActionForm),
    "refuse": Action("不予受理", RefuseForm),
    "recategorise": Action("更正类别", RecategoriseForm),
    "accept-transfer": Action("接收转办", ActionForm),
    "decline-transfer": Action("退回转办", DeclineTransferForm),
    "request-info": Action("要求补充材料", InfoForm),
    "resolve": Action("办结", ResolveForm),
    "extend": Action("延长办理期限", ExtendForm),
    "transfer": Action("转办", TransferForm),
    "note": Action("添加备注", NoteForm),
    "duplicate": Action("标记为重复", DuplicateForm),
    "close": Action("关闭", CloseForm),
    "reopen": Action("重新办理", ReopenForm),
}


def _model_action(action: str) -> str:
    return action.replace("-", "_")


def _available(c: Complaint, role: str | None) -> list[str]:
    """The actions the page offers this role in the case's state: what the model allows."""
    allowed = c.allowed_actions(role)
    return [a for a in ACTIONS if _model_action(a) in allowed]


def _make_form(action: str, c: Complaint, role: str | None, formdata=None):
    """The form of an action, prefixed with its name; formdata=None gives a blank one."""
    kwargs = {"prefix": action}
    if formdata is None:
        kwargs["formdata"] = None
    cls = ACTIONS[action].form
    if cls is TransferForm:
        kwargs.update(departments=_rules().departments, own=current_user.department_code)
    elif cls is RecategoriseForm:
        categories = {code: cat.label for code, cat in _rules().categories.items()}
        kwargs.update(categories=categories, current=c.category)
    elif cls is NoteForm:
        kwargs["public_allowed"] = "public_note" in c.allowed_actions(role)
    elif cls is ExtendForm:
        kwargs["regime"] = c.regime  # the unit and maximum of the case's own regime
    return cls(**kwargs)


def _departments(c: Complaint) -> list[dict]:
    order = list(ROLES)
    rows = sorted(
        c.departments, key=lambda d: (order.index(d.role) if d.role in order else 9, d.id)
    )
    return [
        {
            "code": d.department,
            "name": rulebook.department_name(d.department),
            "role": d.role,
            "role_label": ROLES.get(d.role, d.role),
            "mine": d.department == current_user.department_code,
        }
        for d in rows
    ]


def _timeline(c: Complaint) -> list[dict]:
    return [
        {
            "at": e.at,
            "kind": e.kind,
            "label": EVENT_LABELS.get(e.kind, e.kind),
            "public": e.public,
            "department": rulebook.department_name(e.department) if e.department else None,
            "text": e.text,
        }
        for e in c.events
    ]


def _case_page(
    c: Complaint,
    code: int = 200,
    failed: str | None = None,
    failed_form=None,
    message: str | None = None,
    contact: dict | None = None,
):
    """The case page; `failed` names the action refused (its form keeps what was typed)."""
    now = datetime.now()
    role = queries.role_of(current_user, c)
    available = _available(c, role)
    forms = {a: _make_form(a, c, role) for a in available}
    if failed in forms and failed_form is not None:
        forms[failed] = failed_form
    elif failed_form is not None:  # its form is not on the page (any more): say why up top
        errors = [e for f in failed_form for e in f.errors]
        message = "；".join(errors) if errors else message
    candidates = queries.duplicate_candidates(current_user, c) if "duplicate" in available else []
    deadline = c.next_deadline()
    chosen = c.category_chosen
    return (
        render_template(
            "handling/case.html",
            c=c,
            role=role,
            role_label=ROLE_LABELS.get(role, role),
            site=_site(c),
            street=c.street.name if c.street else None,
            category=_category_label(c.category),
            category_chosen=_category_label(chosen) if chosen != c.category else None,
            reasons=c.routing_reason_texts(),
            departments=_departments(c),
            lead=rulebook.department_name(c.lead_department),
            transfer_to=rulebook.department_name(c.pending_transfer_to)
            if c.pending_transfer_to
            else None,
            deadline=deadline,
            deadline_label=DEADLINE_LABELS.get(c.deadline_kind()),
            overdue=c.overdue(now),
            days=_days(deadline, now),
            timeline=_timeline(c),
            photos=c.photos,
            masked=masked_contact(c),
            contact=contact,
            can_reveal="reveal_contact" in c.allowed_actions(role) and not c.anonymous,
            reveal_form=ActionForm(formdata=None, prefix="contact"),
            candidates=[
                {
                    "id": o.id,
                    "filed_at": o.filed_at,
                    "status_label": o.status_label,
                    "excerpt": o.description[:60] + ("…" if len(o.description) > 60 else ""),
                }
                for o in candidates
            ],
            available=available,
            actions=ACTIONS,
            forms=forms,
            failed=failed,
            message=message,
            ratings=RATINGS,
            active="queue",
        ),
        code,
    )


@bp.get("/<int:complaint_id>")
def case(complaint_id: int):
    return _case_page(queries.case_for(current_user, complaint_id))


@bp.get("/<int:complaint_id>/photos/<int:photo_id>")
def photo(complaint_id: int, photo_id: int):
    p = queries.photo_for(current_user, complaint_id, photo_id)  # another department's: 404
    response = Response(p.data, mimetype=p.content_type)
    response.headers["Content-Disposition"] = "inline"
    return response


@bp.post("/<int:complaint_id>/contact")
def contact(complaint_id: int):
    """Reveal the complainant's contact details: audited, rendered once, never cached."""
    c = queries.case_for(current_user, complaint_id)
    form = ActionForm(prefix="contact")
    if not form.validate_on_submit():
        return _case_page(c, 400, message="页面已过期，请刷新后重试")
    try:
        details = handling_service.reveal_contact(current_user, complaint_id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _case_page(
            queries.case_for(current_user, complaint_id), exc.status, message=exc.message
        )
    return _case_page(queries.case_for(current_user, complaint_id), contact=details)


def _field_error(form, exc: DomainError) -> str | None:
    """Put a service's refusal next to the field it names; else return it for the page."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None or not hasattr(field, "errors"):
        return exc.message
    field.errors = [*field.errors, exc.message]
    return None


def _run(action: str, complaint_id: int, form) -> tuple[str, str]:
    """Call the use case; returns (flash message, where to go next)."""
    user = current_user
    back = url_for("handling.case", complaint_id=complaint_id)
    if action == "accept":
        c = handling_service.accept(user, complaint_id)
        return f"已受理案件 #{c.id}，办理期限至 {c.conclude_by:%Y-%m-%d}。", back
    if action == "refuse":
        handling_service.refuse(user, complaint_id, form.reason.data, form.referral.data)
        return f"案件 #{complaint_id} 不予受理，理由和可反映的途径已告知投诉人。", back
    if action == "recategorise":
        c = handling_service.recategorise(user, complaint_id, form.category.data, form.reason.data)
        label = _rules().categories[c.category].label
        if c.pending_transfer_to:
            name = rulebook.department_name(c.pending_transfer_to)
            return f"类别已更正为 {label}，并已申请转交{name}牵头。", back
        return f"类别已更正为 {label}。", back
    if action == "transfer":
        handling_service.request_transfer(
            user, complaint_id, form.department.data, form.reason.data
        )
        name = rulebook.department_name(form.department.data)
        return f"已申请转交{name}，待对方部门接收；接收前仍由本部门牵头。", back
    if action == "accept-transfer":
        handling_service.accept_transfer(user, complaint_id)
        return "已接收转办，本部门现为牵头部门。", back
    if action == "decline-transfer":
        handling_service.decline_transfer(user, complaint_id, form.reason.data)
        return f"已退回案件 #{complaint_id} 的转办，理由已记录。", url_for("handling.queue")
    if action == "request-info":
        handling_service.request_info(user, complaint_id, form.question.data)
        return "已请投诉人补充材料，投诉人可在查询页作答。", back
    if action == "note":
        handling_service.add_note(user, complaint_id, form.note.data, form.public)
        return ("已发布公开说明，投诉人可见。" if form.public else "已添加内部备注。"), back
    if action == "extend":
        c = handling_service.extend(user, complaint_id, form.days.data, form.reason.data)
        shown = c.regime.days(form.days.data)
        return f"办理期限已延长 {shown}，至 {c.conclude_by:%Y-%m-%d}。", back
    if action == "resolve":
        handling_service.resolve(user, complaint_id, form.result.data)
        return "案件已办结，办理结果已公开给投诉人。", back
    if action == "close":
        handling_service.close(user, complaint_id, form.reason.data)
        return "案件已关闭。", back
    if action == "duplicate":
        handling_service.mark_duplicate(user, complaint_id, form.original_id.data)
        return f"已将案件 #{complaint_id} 合并到 #{form.original_id.data} 办理。", back
    if action == "reopen":
        handling_service.reopen(user, complaint_id, form.reason.data)
        return "案件已重新办理。", back
    raise AssertionError(action)  # pragma: no cover - ACTIONS lists exactly these


@bp.post("/<int:complaint_id>/<action>")
def act(complaint_id: int, action: str):
    c = queries.case_for(current_user, complaint_id)  # not routed to this department: 404
    if action not in ACTIONS:
        return render_template("error.html", status=404, message="没有这个操作"), 404
    role = queries.role_of(current_user, c)
    if _model_action(action) in LEAD_ACTIONS and role != "lead":
        label = ACTIONS[action].label
        return _case_page(c, 403, message=f"只有牵头部门可以{label}")
    form = _make_form(action, c, role, formdata=request.form)
    if not form.validate_on_submit():
        return _case_page(c, 400, action, form, "请检查填写的内容")
    try:
        message, target = _run(action, complaint_id, form)
    except DomainError as exc:
        if exc.status == 404:
            raise
        page_error = _field_error(form, exc)
        c = queries.case_for(current_user, complaint_id)
        return _case_page(c, exc.status, action, form, page_error or "请检查填写的内容")
    flash(message, "success")
    return redirect(target, 303)


# --- statistics ------------------------------------------------------------------------------


@bp.get("/stats")
def stats():
    department = current_user.department_code
    figures = queries.stats_for(current_user)
    return render_template(
        "handling/stats.html",
        department=rulebook.department_name(department),
        s=figures,
        ratings=RATINGS,
        active="stats",
    )
