"""Pages: the public policy search (/policies), "what applies to me" (/policies/for-me), and the
admin's policy pages (/admin/policies: list, create, edit, hide/show, import, export)."""

from datetime import date

from flask import Blueprint, Response, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from accounts.access import restrict
from errors import DomainError
from maps.domain import CLASS_TYPES

from . import queries, services
from .document import (
    AMOUNT_KINDS,
    CATEGORIES,
    PolicyError,
    check_policy,
    dump_document,
    parse_document,
    region_label,
)
from .forms import HideForm, ImportForm, PolicyForm
from .params import for_me_args, search_args

bp = Blueprint("policies", __name__, url_prefix="/policies")
admin_bp = Blueprint("policy_admin", __name__, url_prefix="/admin/policies")
restrict(admin_bp, "admin", "只有管理员可以维护政策")


def home_district() -> str:
    return current_app.config["POLICY_DISTRICT"]


def _labels() -> dict:
    return {"categories": CATEGORIES, "region_label": region_label, "class_types": CLASS_TYPES}


@bp.get("")
def index():
    status, error, q, category = 200, None, "", None
    try:
        q, category = search_args()
        found = queries.search(q, category)
    except DomainError as exc:
        status, error, found = 400, exc.message, []
    return render_template(
        "policies/index.html", policies=found, q=q, category=category, error=error, **_labels()
    ), status


@bp.get("/for-me")
def for_me():
    home = home_district()
    status, error, outcome, args = 200, None, None, None
    try:
        args = for_me_args()
        if args is not None:
            outcome = queries.for_me(
                birth=args["birth"],
                months=args["months"],
                district=args["district"] or home,
                home=home,
                children=args["children"],
                nursery_id=args["nursery_id"],
                on=date.today(),
            )
    except DomainError as exc:
        status, error = exc.status, exc.message
    return render_template(
        "policies/for_me.html",
        outcome=outcome,
        args=args or {},
        error=error,
        home=home,
        districts=queries.districts(home),
        nurseries=queries.nursery_choices(),
        today=date.today().isoformat(),
        **_labels(),
    ), status


# --- the admin's pages -------------------------------------------------------------------------


@admin_bp.get("")
def admin_list():
    return render_template(
        "policies/admin_list.html",
        policies=queries.search(include_hidden=True),
        hide_form=HideForm(),
        import_form=ImportForm(),
        **_labels(),
    )


def _form_page(form, policy=None, status=200, error=None):
    return render_template(
        "policies/admin_form.html",
        form=form,
        policy=policy,
        error=error,
        amount_kinds=AMOUNT_KINDS,
        **_labels(),
    ), status


def _checked(form: PolicyForm, hidden: bool = False):
    item = form.item()
    item["hidden"] = hidden
    return check_policy(item)


def _refused(form, exc, policy=None):
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and field.name != "csrf_token":
        field.errors = [*field.errors, exc.message]
    return _form_page(form, policy, exc.status, exc.message)


@admin_bp.route("/new", methods=["GET", "POST"])
def admin_new():
    form = PolicyForm()
    if not form.is_submitted():
        return _form_page(form)
    if not form.validate():
        return _form_page(form, status=400, error="；".join(e for f in form for e in f.errors))
    try:
        policy = services.create_policy(_checked(form), current_user.id)
    except PolicyError as exc:
        return _refused(form, exc)
    except DomainError as exc:
        return _refused(form, exc)
    flash(f"已添加政策：{policy.title}", "success")
    return redirect(url_for("policy_admin.admin_list"), 303)


@admin_bp.route("/<int:policy_id>/edit", methods=["GET", "POST"])
def admin_edit(policy_id: int):
    policy = queries.get(policy_id)
    form = PolicyForm()
    if not form.is_submitted():
        form.fill(policy.data())
        return _form_page(form, policy)
    if not form.validate():
        return _form_page(form, policy, 400, "；".join(e for f in form for e in f.errors))
    try:
        services.update_policy(policy_id, _checked(form, policy.hidden), current_user.id)
    except PolicyError as exc:
        return _refused(form, exc, policy)
    except DomainError as exc:
        return _refused(form, exc, policy)
    flash(f"已保存：{policy.title}", "success")
    return redirect(url_for("policy_admin.admin_list"), 303)


def _set_hidden(policy_id: int, hidden: bool):
    queries.get(policy_id)
    form = HideForm()
    if not form.validate_on_submit():
        raise DomainError(
            "invalid_form", "；".join(e for f in form for e in f.errors) or "表单无效"
        )
    policy = services.set_hidden(policy_id, hidden, current_user.id, form.reason.data or "")
    flash(("已隐藏：" if hidden else "已恢复显示：") + policy.title, "success")
    return redirect(url_for("policy_admin.admin_list"), 303)


@admin_bp.post("/<int:policy_id>/hide")
def admin_hide(policy_id: int):
    return _set_hidden(policy_id, True)


@admin_bp.post("/<int:policy_id>/show")
def admin_show(policy_id: int):
    return _set_hidden(policy_id, False)


@admin_bp.post("/import")
def admin_import():
    form = ImportForm()
    if not form.validate_on_submit():
        raise DomainError(
            "invalid_form", "；".join(e for f in form for e in f.errors) or "表单无效"
        )
    data = form.file.data.stream.read(512 * 1024 + 1)
    try:
        policies = parse_document(data)
    except PolicyError as exc:
        raise DomainError(exc.code, "导入失败：" + exc.message) from None
    reason = (form.reason.data or "").strip() or f"导入 {form.file.data.filename or ''}".strip()
    added, updated = services.import_policies(policies, current_user.id, reason)
    flash(f"已导入：新增 {added} 条，更新 {updated} 条；文件未列出的政策保持不变。", "success")
    return redirect(url_for("policy_admin.admin_list"), 303)


@admin_bp.get("/export")
def admin_export():
    response = Response(dump_document(queries.all_data()), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="policies.json"'
    return response
