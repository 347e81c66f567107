"""Rating pages: the family's (my ratings, rate a nursery, edit a rating), the district
admin's moderation queue, and the nursery portal's ratings page with its one reply.

Views parse the form, call a use case of `ratings.services` and render; a refusal is shown in
Chinese beside the field it names, with the use case's 4xx status.
"""

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from accounts.access import parent_required, restrict
from booking.parsing import MAX_ID
from errors import DomainError, NotFound
from extensions import db
from maps.models import Nursery

from . import queries, services
from .forms import ModerationForm, RatingForm, ReplyForm
from .rules import ASPECTS, COMMENT_STATES, HIDE_REASONS, term_label, term_of

bp = Blueprint("ratings", __name__)
admin_bp = Blueprint("rating_admin", __name__, url_prefix="/admin/ratings")
restrict(admin_bp, "admin", "只有管理员可以审核家庭评价")
portal_bp = Blueprint("rating_portal", __name__, url_prefix="/portal/ratings")
restrict(portal_bp, "nursery_staff", bound=lambda user: user.nursery_id is not None)


def _known_id(value: int) -> int:
    if not 0 < value <= MAX_ID:
        raise NotFound("not_found", "未找到该记录")
    return value


def _child_arg():
    raw = request.values.get("child_id", "")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID else None


def _attach(form, exc: DomainError) -> None:
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors") and exc.field != "csrf_token":
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


# --- families --------------------------------------------------------------------------------


@bp.get("/ratings")
@parent_required
def mine():
    today = date.today()
    rateable, ratings = queries.family_overview(current_user.id, today)
    names = queries.nursery_names(r.nursery_id for r in ratings)
    return render_template(
        "ratings/mine.html",
        rateable=rateable,
        ratings=ratings,
        names=names,
        term=term_of(today),
        term_label=term_label,
        aspects=ASPECTS,
        states=COMMENT_STATES,
        reasons=HIDE_REASONS,
    )


NOT_ELIGIBLE = "只有孩子在该机构的预约已确认并已开始入托后，才能评价该机构"


@bp.route("/nurseries/<int:nursery_id>/rate", methods=["GET", "POST"])
@parent_required
def new(nursery_id: int):
    today = date.today()
    ctx = queries.rating_form_context(current_user.id, _known_id(nursery_id), _child_arg(), today)
    if ctx["existing"] is not None and request.method == "GET":
        flash(f"您已在{ctx['term'].label}为这个孩子评价过，可以在这里修改。", "info")
        return redirect(url_for("ratings.edit", rating_id=ctx["existing"].id))
    form = RatingForm()
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
            form.form_errors.append("页面已过期，请刷新后重试")
        else:
            try:
                if ctx["child"] is None:
                    # Check what was typed first (a bad form is a 400 whoever sends it).
                    services.check_input(form.stars(), form.comment.data)
                    raise DomainError(
                        "no_eligible_booking",
                        "请选择要评价的孩子" if ctx["children"] else NOT_ELIGIBLE,
                        status=400 if ctx["children"] else 403,
                    )
                services.rate(
                    current_user.id,
                    ctx["nursery"].id,
                    ctx["child"].id,
                    form.stars(),
                    form.comment.data,
                    today=today,
                )
            except DomainError as exc:
                _attach(form, exc)
                status = exc.status
            else:
                flash(
                    "感谢您的评价！星级已计入机构评分"
                    + ("，文字评价审核通过后公开。" if (form.comment.data or "").strip() else "。"),
                    "success",
                )
                return redirect(url_for("ratings.mine"))
    return render_template(
        "ratings/form.html",
        form=form,
        aspects=ASPECTS,
        rating=None,
        not_eligible=NOT_ELIGIBLE,
        **ctx,
    ), status


@bp.route("/ratings/<int:rating_id>/edit", methods=["GET", "POST"])
@parent_required
def edit(rating_id: int):
    rating = queries.own_rating(current_user.id, _known_id(rating_id))
    form = RatingForm()
    status = 200
    if request.method == "GET":
        for a in ASPECTS:
            getattr(form, a).data = str(getattr(rating, a))
        form.comment.data = rating.comment or ""
    elif form.validate_on_submit():
        try:
            services.edit(current_user.id, rating.id, form.stars(), form.comment.data)
        except DomainError as exc:
            _attach(form, exc)
            status = exc.status
        else:
            flash("评价已修改；修改前的版本已保留。", "success")
            return redirect(url_for("ratings.mine"))
    else:
        status = 400
        form.form_errors.append("页面已过期，请刷新后重试")
    return render_template(
        "ratings/form.html",
        form=form,
        aspects=ASPECTS,
        rating=rating,
        nursery=db.session.get(Nursery, rating.nursery_id),
        child=None,
        term=None,
        term_name=term_label(rating.term),
        history=queries.history(rating),
        states=COMMENT_STATES,
        reasons=HIDE_REASONS,
    ), status


# --- the district admin: moderation --------------------------------------------------------------


@admin_bp.get("")
def queue():
    status = request.args.get("status", "pending")
    if status not in COMMENT_STATES:
        status = "pending"
    return render_template(
        "ratings/queue.html",
        rows=queries.moderation_queue(status),
        status=status,
        counts=queries.queue_counts(),
        states=COMMENT_STATES,
        reasons=HIDE_REASONS,
        aspects=ASPECTS,
        term_label=term_label,
        form=ModerationForm(),
    )


@admin_bp.post("/<int:rating_id>")
def moderate(rating_id: int):
    form = ModerationForm()
    action = request.form.get("action", "")
    if not form.validate_on_submit():
        return render_template("error.html", status=400, message="页面已过期，请刷新后重试"), 400
    try:
        services.moderate(
            current_user.id, _known_id(rating_id), action, form.reason.data, form.note.data
        )
    except DomainError as exc:
        return render_template("error.html", status=exc.status, message=exc.message), exc.status
    flash(
        "已公开该评价内容。" if action == "approve" else "已隐藏该评价内容，理由已记录。", "success"
    )
    return redirect(url_for("rating_admin.queue"))


# --- the nursery portal ------------------------------------------------------------------------


def _portal_nursery() -> Nursery:
    nursery = db.session.get(Nursery, current_user.nursery_id)
    if nursery is None:
        raise NotFound("nursery_not_found", "未找到本机构")
    return nursery


def _portal_page(form=None, failed: int | None = None, status: int = 200):
    nursery = _portal_nursery()
    return render_template(
        "ratings/portal.html",
        nursery=nursery,
        active="ratings",
        data=queries.nursery_portal(nursery.id),
        aspects=ASPECTS,
        form=form or ReplyForm(),
        failed=failed,
    ), status


@portal_bp.get("")
def ratings():
    return _portal_page()


@portal_bp.post("/<int:rating_id>/reply")
def reply(rating_id: int):
    # The rating must be this nursery's before anything is said about the form (a peer's: 404).
    queries.nursery_rating(current_user.nursery_id, _known_id(rating_id))
    form = ReplyForm()
    if not form.validate_on_submit():
        form.reply.errors = [*form.reply.errors, "页面已过期，请刷新后重试"]
        return _portal_page(form, rating_id, 400)
    try:
        services.reply(current_user.id, rating_id, form.reply.data)
    except DomainError as exc:
        _attach(form, exc)
        return _portal_page(form, rating_id, exc.status)
    flash("回复已公开。", "success")
    return redirect(url_for("rating_portal.ratings"))
