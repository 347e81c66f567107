"""Filing pages: the applicant's (register, apply, follow, correct; a nursery's change and
closure) and the district health commission's review queue (/admin/filings).

Server-rendered, Chinese, usable at 360 px and without JavaScript (the map only helps pick the
position). A refused submission is shown again with every problem beside its section and the
typed values kept (files are never kept: they must be chosen again).
"""

from __future__ import annotations

from functools import wraps

from flask import (
    Blueprint,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from accounts.access import restrict
from accounts.limits import register_limit
from accounts.sessions import start_session
from errors import DomainError
from extensions import login_manager
from maps.coords import from_wgs84
from maps.domain import CARE_TYPES, CLASS_TYPES, NURSERY_KINDS

from . import queries, rules, services
from .forms import (
    ACCEPT,
    COORDSYS_CHOICES,
    MULTIPLE,
    ApplicationForm,
    ClosureForm,
    DecisionForm,
    OperatorRegisterForm,
    read_content,
    rows_for_display,
    uploads,
)
from .models import EVENT_LABELS

bp = Blueprint("filing", __name__)
admin_bp = Blueprint("filing_admin", __name__, url_prefix="/admin/filings")
restrict(admin_bp, "admin")


def _private(response):
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def roles(*allowed: str):
    """Logged-in accounts of these roles only: anonymous visitors go to the login page, other
    roles get a Chinese 403; nothing is cached (applications carry personal data)."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                message = "只有申办人或托育机构账号可以办理备案"
                return render_template("error.html", status=403, message=message), 403
            return _private(make_response(view(*args, **kwargs)))

        return wrapped

    return decorator


def _map_data() -> dict | None:
    cfg = current_app.config
    if not cfg.get("MAP_TILE_URL"):
        return None
    from maps import queries as registry

    index = registry.nursery_index()
    lat, lon, zoom = (
        (float(index.lats.mean()), float(index.lons.mean()), 13) if len(index) else (35.0, 105.0, 4)
    )
    shown = from_wgs84(lat, lon, cfg["MAP_TILE_COORDSYS"])
    return {
        "tiles": cfg["MAP_TILE_URL"],
        "subdomains": cfg["MAP_TILE_SUBDOMAINS"],
        "attribution": cfg["MAP_TILE_ATTRIBUTION"],
        "coordsys": cfg["MAP_TILE_COORDSYS"],
        "center": [round(shown[0], 6), round(shown[1], 6)],
        "zoom": zoom,
    }


def _by_section(problems) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for p in problems:
        found.setdefault(p.section, []).append(p.message)
    return found


def _render_form(
    mode: str,
    content: rules.Content,
    action: str,
    problems=(),
    status: int = 200,
    application=None,
    files_lost=False,
    values=None,
):
    classes, staff = rows_for_display(content)
    lat = "" if content.lat is None else f"{content.lat:.7f}"
    lon = "" if content.lon is None else f"{content.lon:.7f}"
    coordsys = content.source_coordsys
    if values is None:  # shown from storage: the position is WGS-84 whatever it was typed in
        coordsys = "wgs84"
    else:
        lat, lon = values.get("lat", ""), values.get("lon", "")
    return render_template(
        "filing/form.html",
        mode=mode,
        form=ApplicationForm(),
        c=content,
        lat=lat,
        lon=lon,
        coordsys=coordsys,
        action=action,
        classes=classes,
        staff=staff,
        errors=_by_section(problems),
        application=application,
        kinds=NURSERY_KINDS,
        care_types=CARE_TYPES,
        class_types={k: v.label for k, v in CLASS_TYPES.items()},
        staff_roles=rules.STAFF_ROLES,
        registrations=rules.REGISTRATIONS,
        documents=rules.DOCUMENTS,
        multiple=MULTIPLE,
        accept=ACCEPT,
        coordsys_choices=COORDSYS_CHOICES,
        streets=queries.streets(),
        map_data=_map_data(),
        files_lost=files_lost,
        review_days=services.review_days(),
        max_mb=rules.MAX_FILE_BYTES // (1024 * 1024),
    ), status


def _refused(exc: DomainError) -> list[rules.Problem]:
    if isinstance(exc, services.ApplicationInvalid):
        return exc.problems
    return [rules.Problem("general", exc.message, exc.field, exc.code)]


# --- registration ------------------------------------------------------------------------------


@bp.route("/filing/register", methods=["GET", "POST"])
@register_limit
def register():
    """申办人注册: an account for someone who wants to open a nursery and file it."""
    if current_user.is_authenticated:
        mine = current_user.role in ("operator", "nursery_staff")
        return redirect(url_for("filing.mine" if mine else "maps.index"))
    form = OperatorRegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.register_operator(
                form.username.data, form.password.data, form.name.data or ""
            )
        except DomainError as exc:
            form.username.errors.append(exc.message)
        else:
            start_session(user)
            flash("注册成功：现在可以在线提交托育机构备案申请", "success")
            return redirect(url_for("filing.new"))
    if request.method == "POST":
        status = 400
    return render_template("filing/register.html", form=form), status


# --- the applicant's pages ----------------------------------------------------------------------


@bp.get("/filing")
@roles("operator", "nursery_staff")
def mine():
    return render_template(
        "filing/mine.html",
        applications=queries.applications_of(current_user),
        days_left=queries.working_days_left,
    )


@bp.route("/filing/new", methods=["GET", "POST"])
@roles("operator")
def new():
    if request.method == "GET":
        return _render_form("new", rules.Content(), url_for("filing.new"))
    ApplicationForm().validate_on_submit() or _csrf_refused()
    content, parse_problems = read_content(request.form)
    files = uploads(request.files)
    try:
        application = services.submit_new(current_user.id, content, files, parse_problems)
    except DomainError as exc:
        return _render_form(
            "new", content, url_for("filing.new"), _refused(exc), exc.status,
            files_lost=bool(files), values=request.form,
        )  # fmt: skip
    flash("备案申请已提交，区卫生健康委将在期限内审核", "success")
    return redirect(url_for("filing.detail", application_id=application.id), 303)


def _csrf_refused():
    raise DomainError("csrf", "页面已过期，请刷新后重新提交")


@bp.get("/filing/<int:application_id>")
@roles("operator", "nursery_staff")
def detail(application_id: int):
    application = queries.application_for(current_user, application_id)
    return _detail_page(application, "filing/detail.html")


def _detail_page(application, template, form=None, error=None, status=200):
    return render_template(
        template,
        a=application,
        content=application.content(),
        days_left=queries.working_days_left(application.due_at),
        street=queries.street_name(application.street_id),
        event_labels=EVENT_LABELS,
        sections=rules.SECTIONS,
        documents=rules.DOCUMENTS,
        kinds=NURSERY_KINDS,
        care_types=CARE_TYPES,
        staff_roles=rules.STAFF_ROLES,
        registrations=rules.REGISTRATIONS,
        class_label=rules.class_label,
        form=form or DecisionForm(formdata=None),
        error=error,
    ), status


@bp.route("/filing/<int:application_id>/correct", methods=["GET", "POST"])
@roles("operator", "nursery_staff")
def correct(application_id: int):
    application = queries.application_for(current_user, application_id)
    action = url_for("filing.correct", application_id=application_id)
    if not application.can_correct():
        raise DomainError("not_returned", "该申请不在待补正状态", status=409)
    if request.method == "GET":
        content = application.content()
        return _render_form(application.kind, content, action, application=application)
    ApplicationForm().validate_on_submit() or _csrf_refused()
    content, parse_problems = read_content(request.form)
    files = uploads(request.files)
    try:
        services.resubmit(current_user.id, application_id, content, files, parse_problems)
    except DomainError as exc:
        return _render_form(
            application.kind, content, action, _refused(exc), exc.status,
            application=application, files_lost=bool(files), values=request.form,
        )  # fmt: skip
    flash("已重新提交，审核期限重新计算", "success")
    return redirect(url_for("filing.detail", application_id=application_id), 303)


@bp.get("/filing/<int:application_id>/attachments/<int:attachment_id>")
@roles("operator", "nursery_staff")
def attachment(application_id: int, attachment_id: int):
    return _file(queries.attachment_for(current_user, application_id, attachment_id))


def _file(att):
    response = make_response(att.data)
    response.headers["Content-Type"] = att.content_type
    # Shown inline (PDF viewer, image), never run: the type is the sniffed one, nosniff is set,
    # and the sandbox CSP keeps a hostile PDF from scripting the site.
    response.headers["Content-Disposition"] = "inline"
    response.headers["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'"
    return _private(response)


@bp.route("/filing/change", methods=["GET", "POST"])
@roles("nursery_staff")
def change():
    """备案变更: the nursery's filed data, to be changed; the public record stays until approval."""
    action = url_for("filing.change")
    if request.method == "GET":
        services.own_filed_nursery(current_user.id)
        content = services.content_of_nursery(current_user.nursery_id)
        return _render_form("change", content, action)
    ApplicationForm().validate_on_submit() or _csrf_refused()
    content, parse_problems = read_content(request.form)
    files = uploads(request.files)
    try:
        application = services.submit_change(current_user.id, content, files, parse_problems)
    except DomainError as exc:
        return _render_form(
            "change", content, action, _refused(exc), exc.status,
            files_lost=bool(files), values=request.form,
        )  # fmt: skip
    flash("变更申请已提交；审核通过前，公开信息保持不变", "success")
    return redirect(url_for("filing.detail", application_id=application.id), 303)


@bp.route("/filing/closure", methods=["GET", "POST"])
@roles("nursery_staff")
def closure():
    """注销备案: refused while families still hold bookings."""
    form = ClosureForm()
    error, status = None, 200
    if request.method == "POST":
        if not form.validate_on_submit():
            error, status = "页面已过期，请刷新后重新提交", 400
        else:
            try:
                application = services.submit_closure(current_user.id, form.reason.data)
            except DomainError as exc:
                error, status = exc.message, exc.status
            else:
                flash("注销申请已提交；审核通过前，机构仍公开显示", "success")
                return redirect(url_for("filing.detail", application_id=application.id), 303)
    return render_template("filing/closure.html", form=form, error=error), status


# --- the commission's review --------------------------------------------------------------------


@admin_bp.get("")
def queue():
    return render_template(
        "filing/queue.html",
        waiting=queries.queue("submitted"),
        returned=queries.queue("returned"),
        review_days=services.review_days(),
    )


@admin_bp.get("/<int:application_id>")
def review(application_id: int):
    return _detail_page(queries.application_for(current_user, application_id), "filing/review.html")


@admin_bp.get("/<int:application_id>/attachments/<int:attachment_id>")
def review_attachment(application_id: int, attachment_id: int):
    return _file(queries.attachment_for(current_user, application_id, attachment_id))


def _decide(application_id: int, decide, done: str):
    application = queries.application_for(current_user, application_id)
    form = DecisionForm()
    try:
        if not form.validate_on_submit():
            raise DomainError("csrf", "页面已过期，请刷新后重新提交")
        decide(form)
    except DomainError as exc:
        return _detail_page(application, "filing/review.html", form, exc.message, exc.status)
    flash(done, "success")
    return redirect(url_for("filing_admin.review", application_id=application_id), 303)


@admin_bp.post("/<int:application_id>/return")
def return_application(application_id: int):
    reasons = {s: request.form.get(f"reason_{s}", "") for s in rules.SECTIONS}
    return _decide(
        application_id,
        lambda form: services.return_for_correction(current_user.id, application_id, reasons),
        "已退回补正，申请人会收到通知",
    )


@admin_bp.post("/<int:application_id>/approve")
def approve(application_id: int):
    def decide(form):
        if not form.confirm.data:
            raise DomainError("confirm_required", "请先勾选“已核对申请信息和材料”，再审核通过")
        services.approve(current_user.id, application_id, form.filing_no.data)

    return _decide(application_id, decide, "审核通过：公开信息已更新")


@admin_bp.post("/<int:application_id>/refuse")
def refuse(application_id: int):
    return _decide(
        application_id,
        lambda form: services.refuse(current_user.id, application_id, form.reason.data),
        "已作出不予通过的决定，申请人会收到通知",
    )
