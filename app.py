"""The Flask application factory; `gunicorn app:app` serves it."""

import os
import time
from pathlib import Path

from flask import Flask, render_template, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

import config as settings
from errors import DomainError
from extensions import csrf, db, limiter, login_manager


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` limited to what an INTEGER column holds on SQLite and PostgreSQL alike."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(url_map, *args, **kwargs)


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, with too deeply nested input refused like any other bad JSON.

    The parser raises RecursionError (not ValueError) on e.g. 100,000 "[", which would escape
    `request.get_json(silent=True)` and become a 500 in every JSON endpoint.
    """

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None


def _use_timezone(name: str) -> None:
    """Run the process on the district's local time (default China Standard Time).

    Deadlines, "today" and every stored time are local wall-clock times (naive datetimes):
    a server whose clock runs on UTC would otherwise put "today" eight hours behind Beijing
    and label tracking-page times wrongly. Process-wide on purpose: every module's
    datetime.now() and date.today() then agree.
    """
    if os.environ.get("TZ") != name:
        os.environ["TZ"] = name
        time.tzset()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app from environment configuration, with overrides for tests."""
    app = Flask(__name__, instance_relative_config=True)
    app.json = JSONProvider(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings.from_environment(app.instance_path))
    app.json.ensure_ascii = False  # Chinese stays readable in API responses
    if test_config:
        app.config.from_mapping(test_config)
    _use_timezone(app.config["TIMEZONE"])

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录"

    from accounts.models import User

    @login_manager.user_loader
    def load_user(user_id: str):
        return db.session.get(User, int(user_id)) if user_id.isdigit() else None

    # Ids in URLs are database integers: a larger number is simply not found (404), not a 500.
    app.url_map.converters["int"] = DatabaseIdConverter

    import accounts.api  # noqa: F401  (registers routes on the API blueprint)
    import booking.api  # noqa: F401
    import maps.api  # noqa: F401
    from accounts.views import bp as accounts_bp
    from api import bp as api_bp
    from api.openapi import bp as openapi_bp
    from booking.portal import bp as portal_bp
    from booking.views import bp as booking_bp
    from complaints.admin import bp as complaint_admin_bp
    from complaints.handling import bp as handling_bp
    from complaints.open311 import bp as open311_bp
    from complaints.public import bp as complaints_bp
    from maps.views import bp as maps_bp
    from planning.views import bp as planning_bp

    csrf.exempt(api_bp)  # the API authenticates with bearer tokens, never cookies
    app.register_blueprint(api_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(maps_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(portal_bp)
    csrf.exempt(open311_bp)  # GeoReport v2 clients post plain forms without a session
    app.register_blueprint(open311_bp)
    app.register_blueprint(complaints_bp)
    app.register_blueprint(handling_bp)
    app.register_blueprint(complaint_admin_bp)
    app.register_blueprint(planning_bp)

    from cli import register_commands

    register_commands(app)
    _register_page_errors(app)

    @app.get("/healthz")
    def healthz():
        return {"status": "ok"}

    return app


def _register_page_errors(app: Flask) -> None:
    """Pages answer errors in Chinese; /api paths keep their JSON handlers."""
    messages = {
        400: "请求有误，请检查填写的内容",
        403: "您没有权限访问此页面",
        404: "页面不存在",
        405: "不支持该请求方法",
        413: "上传的内容过大",
        429: "操作过于频繁，请稍后再试",
    }

    def wants_json() -> bool:
        return request.path.startswith(("/api/", "/open311/"))

    def open311() -> bool:  # GeoReport v2 clients expect its own error array
        return request.path.startswith("/open311/")

    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        if open311():
            from complaints.open311 import error_response

            return error_response(exc.status, exc.message)
        if wants_json():
            return {"error": {"code": exc.code, "message": exc.message}}, exc.status
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = messages.get(status, "请求无法完成")
        if status == 400 and "CSRF" in (exc.description or ""):
            message = "页面已过期或缺少安全令牌，请刷新页面后重新提交"
        if open311():
            from complaints.open311 import error_response

            allow = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
            return error_response(status, message, headers=allow)
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            return {"error": {"code": code, "message": message}}, status
        return render_template("error.html", status=status, message=message), status


app = create_app()
