"""Login, logout and parent registration pages."""

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user

from errors import DomainError
from extensions import limiter

from . import services
from .api import LOGIN_LIMIT
from .forms import LoginForm, RegisterForm

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


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
def login():
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = services.log_in(form.username.data, form.password.data)
        if user is not None:
            login_user(user)
            flash("登录成功", "success")
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append("用户名或密码错误")
    if request.method == "POST":
        status = 400
    return render_template("accounts/login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    flash("已退出登录", "success")
    return redirect(url_for("maps.index"))


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(LOGIN_LIMIT, methods=["POST"])
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
            (getattr(form, exc.field).errors if exc.field else form.username.errors).append(
                exc.message
            )
        else:
            login_user(user)
            flash("注册成功，欢迎使用", "success")
            return redirect(url_for("maps.index"))
    if request.method == "POST":
        status = 400
    return render_template("accounts/register.html", form=form), status
