"""Login, logout, parent registration and password-change pages."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from errors import DomainError

from . import services
from .forms import LoginForm, PasswordChangeForm, RegisterForm
from .limits import login_limit, login_username_limit, password_change_limit, register_limit
from .sessions import end_session, start_session

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only redirect within this site after login."""
    if (
        target
        and target.startswith("/")
        and not target.startswith("//")
        and not urlsplit(target).netloc
    ):
        return target
    return url_for("maps.index")


def _field_error(form, exc: DomainError, default: str) -> None:
    getattr(form, exc.field if exc.field and hasattr(form, exc.field) else default).errors.append(
        exc.message
    )


@bp.route("/login", methods=["GET", "POST"])
@login_limit
@login_username_limit
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.log_in(form.username.data, form.password.data)
        if user is not None:
            start_session(user)
            flash("登录成功", "success")
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("用户名或密码错误")
    if request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.end_sessions(current_user.id)  # a copied cookie of this session ends too
    end_session()
    flash("已退出登录", "success")
    return redirect(url_for("maps.index"))


@bp.route("/register", methods=["GET", "POST"])
@register_limit
def register():
    if current_user.is_authenticated:
        return redirect(url_for("maps.index"))
    form = RegisterForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.register_parent(
                form.username.data, form.password.data, form.name.data or ""
            )
        except DomainError as exc:
            _field_error(form, exc, "username")
        else:
            start_session(user)
            flash("注册成功，欢迎使用", "success")
            return redirect(url_for("maps.index"))
    if request.method == "POST":
        status = 400
    return render_template("accounts/register.html", form=form), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@password_change_limit
def change_password():
    """修改密码: every other session and API token of the account ends; this one starts anew."""
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = services.change_password(current_user.id, form.current.data, form.new.data)
        except DomainError as exc:
            _field_error(form, exc, "current")
        else:
            start_session(user)
            flash("密码已修改，其他设备上的登录和访问令牌均已失效", "success")
            return redirect(url_for("maps.index"))
    if request.method == "POST":
        status = 400
    return render_template("accounts/password.html", form=form), status
