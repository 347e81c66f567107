"""Inspection pages: the handlers' (under /handle/inspections, beside the complaint handling
pages) and the nursery's own read-only list in its portal (/portal/inspections).

Handlers of every department read every inspection and a nursery's whole inspection history
(联合执法 and shared information, 绍兴 重点任务（五）2); only the department that recorded an
inspection follows it up and closes it. A nursery's complaints show in full only where the
handler's department is routed to them; the others are counts. Every change goes through a use
case of inspections/services.py; these views parse forms, call it and render.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from accounts.access import restrict
from errors import DomainError
from extensions import db
from maps.domain import NURSERY_KINDS
from maps.models import Nursery

from . import queries, rules, services
from .forms import CloseForm, FollowUpForm, InspectionForm, VerdictForm

bp = Blueprint("inspections", __name__, url_prefix="/handle/inspections")
portal_bp = Blueprint("inspections_portal", __name__, url_prefix="/portal/inspections")

restrict(bp, "handler", "只有监管部门的承办账号可以进入监督检查", lambda u: bool(u.department_code))
restrict(portal_bp, "nursery_staff", bound=lambda user: user.nursery_id is not None)


@bp.context_processor
def _department():
    code = getattr(current_user, "department_code", None)
    return {"my_department": queries.department_name(code)}


def _field_error(form, exc: DomainError) -> str | None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None or not hasattr(field, "errors"):
        return exc.message
    field.errors = [*field.errors, exc.message]
    return None


# --- the department's list -------------------------------------------------------------------


@bp.get("")
def index():
    rows = queries.department_list(current_user)
    open_rows = [r for r in rows if r["status"] == "open"]
    return render_template(
        "inspections/index.html",
        open_rows=open_rows,
        other_rows=[r for r in rows if r["status"] != "open"][: queries.LIST_LIMIT],
        overdue=sum(1 for r in open_rows if r["overdue"]),
        active="inspections",
    )


# --- recording an inspection -----------------------------------------------------------------


def _record_page(form, status: int = 200, message: str | None = None):
    return (
        render_template(
            "inspections/new.html",
            form=form,
            message=message,
            today=date.today().isoformat(),
            active="inspections",
        ),
        status,
    )


def _nursery_choices() -> list[tuple[str, str]]:
    return [(str(n.id), f"{n.name}（{n.address}）") for n in queries.filed_nurseries(limit=2000)]


@bp.route("/new", methods=["GET", "POST"])
def new():
    form = InspectionForm(nurseries=_nursery_choices())
    if request.method == "GET":
        chosen = request.args.get("nursery_id", "")
        if chosen.isdigit():
            form.nursery_id.data = chosen
        return _record_page(form)
    if not form.validate_on_submit():
        return _record_page(form, 400)
    try:
        i = services.record(
            current_user,
            int(form.nursery_id.data),
            form.kind.data,
            form.inspected_on.data,
            form.findings.data,
            form.result.data,
            form.rectify_by.data or None,
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _record_page(form, exc.status, _field_error(form, exc))
    flash(f"已录入检查记录 #{i.id}（{i.result_label}）。")
    return redirect(url_for("inspections.show", inspection_id=i.id))


# --- one inspection --------------------------------------------------------------------------


def _show_page(i, status: int = 200, follow=None, close=None, message=None):
    today = date.today()
    editable = queries.can_edit(current_user, i)
    return (
        render_template(
            "inspections/show.html",
            i=i,
            r=queries.row(i, today),
            timeline=queries.timeline(i),
            editable=editable,
            follow_form=follow or FollowUpForm(formdata=None, prefix="follow"),
            close_form=close or CloseForm(formdata=None, prefix="close"),
            message=message,
            today=today.isoformat(),
            active="inspections",
        ),
        status,
    )


@bp.get("/<int:inspection_id>")
def show(inspection_id: int):
    return _show_page(queries.inspection(inspection_id))


def _act(inspection_id: int, form, run, done: str, which: str):
    i = queries.inspection(inspection_id)  # unknown: 404 before anything else
    forms = {which: form}
    if not form.validate_on_submit():
        return _show_page(i, 400, **forms)
    try:
        run()
    except DomainError as exc:
        if exc.status == 404:
            raise
        message = _field_error(form, exc)
        return _show_page(queries.inspection(inspection_id), exc.status, message=message, **forms)
    flash(done)
    return redirect(url_for("inspections.show", inspection_id=inspection_id))


@bp.post("/<int:inspection_id>/follow-up")
def follow_up(inspection_id: int):
    i = queries.inspection(inspection_id)
    if i.department != current_user.department_code:
        raise DomainError("other_department", "只有录入该检查的部门可以跟进或复查", status=403)
    form = FollowUpForm(prefix="follow")
    return _act(
        inspection_id,
        form,
        lambda: services.follow_up(current_user, inspection_id, form.note.data),
        "已添加跟进记录。",
        "follow",
    )


@bp.post("/<int:inspection_id>/close")
def close(inspection_id: int):
    i = queries.inspection(inspection_id)
    if i.department != current_user.department_code:
        raise DomainError("other_department", "只有录入该检查的部门可以跟进或复查", status=403)
    form = CloseForm(prefix="close")
    return _act(
        inspection_id,
        form,
        lambda: services.close(current_user, inspection_id, form.closed_on.data, form.note.data),
        "已记录整改完成、复查合格。",
        "close",
    )


# --- a nursery's history ---------------------------------------------------------------------


def _nursery_page(nursery: Nursery, status=200, verdict_form=None, failed=None, message=None):
    history = queries.complaint_history(current_user, nursery.id)
    return (
        render_template(
            "inspections/nursery.html",
            n=nursery,
            kind_label=NURSERY_KINDS.get(nursery.kind, nursery.kind),
            inspections=queries.nursery_inspections(nursery.id),
            summary=queries.public_summary(nursery.id),
            history=history,
            verdict_forms={
                c["id"]: (
                    verdict_form
                    if failed == c["id"] and verdict_form is not None
                    else VerdictForm(formdata=None, prefix=f"v{c['id']}")
                )
                for c in history["routed"]
                if c["can_verdict"]
            },
            verdicts=rules.VERDICTS,
            outcomes=rules.OUTCOMES,
            message=message,
            active="inspections",
        ),
        status,
    )


@bp.get("/nurseries/<int:nursery_id>")
def nursery(nursery_id: int):
    return _nursery_page(queries.filed_nursery(nursery_id))


@bp.post("/nurseries/<int:nursery_id>/complaints/<int:complaint_id>/verdict")
def verdict(nursery_id: int, complaint_id: int):
    n = queries.filed_nursery(nursery_id)
    form = VerdictForm(prefix=f"v{complaint_id}")
    routed = queries.complaint_history(current_user, n.id)["routed"]
    if not any(c["id"] == complaint_id for c in routed):
        return render_template("error.html", status=404, message="未找到该案件"), 404
    if not form.validate_on_submit():
        return _nursery_page(n, 400, form, complaint_id)
    try:
        services.record_verdict(current_user, complaint_id, form.verdict.data, form.outcome.data)
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _nursery_page(n, exc.status, form, complaint_id, _field_error(form, exc))
    flash(f"已记录案件 #{complaint_id} 的核查结论。")
    return redirect(url_for("inspections.nursery", nursery_id=n.id))


# --- the nursery's own portal page -----------------------------------------------------------


def _own_nursery() -> Nursery:
    nursery = db.session.get(Nursery, current_user.nursery_id)
    if nursery is None:
        raise DomainError("nursery_not_found", "未找到本机构", status=404)
    return nursery


@portal_bp.get("")
def portal_list():
    nursery = _own_nursery()
    return render_template(
        "inspections/portal.html",
        nursery=nursery,
        rows=queries.nursery_inspections(nursery.id),
        active="inspections",
    )


@portal_bp.get("/<int:inspection_id>")
def portal_show(inspection_id: int):
    nursery = _own_nursery()
    i = queries.for_nursery_staff(nursery.id, inspection_id)
    return render_template(
        "inspections/portal_show.html",
        nursery=nursery,
        i=i,
        r=queries.row(i, date.today()),
        timeline=queries.timeline(i),
        active="inspections",
    )
