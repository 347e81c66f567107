"""Errors answered in Chinese: a page for people, JSON on /api, GeoReport's array on /open311."""

import logging

from flask import Flask, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from errors import DomainError

log = logging.getLogger(__name__)
UNAVAILABLE = "服务暂时不可用（数据库连接中断），请稍后重试；您的操作没有被保存"
RETRY_AFTER_SECONDS = 10


def database_unavailable(exc: Exception) -> bool:
    """Whether an error means the database cannot be reached now (a retry may succeed), as
    opposed to a fault in the request or the code: the server is down or restarting, the
    connection dropped, the pool is exhausted, SQLite's file is locked or cannot be opened."""
    if isinstance(exc, (OperationalError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def register_error_handlers(app: Flask) -> None:
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
            from complaints.api import error_response

            return error_response(exc.status, exc.message)
        if wants_json():
            return {"error": {"code": exc.code, "message": exc.message}}, exc.status
        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def database_error(exc: Exception):
        """The database is unreachable: 503 with Retry-After, in each surface's own form. The
        use case's transaction never committed (database.use_case rolls back on any error), so
        nothing is half-written; the next request gets a fresh connection (pre-ping)."""
        if not database_unavailable(exc):
            raise exc  # a real fault: the ordinary 500 handling, logged with its traceback
        log.warning("database unavailable (%s): answered 503", type(exc).__name__)
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        if open311():
            from complaints.api import error_response

            return error_response(503, UNAVAILABLE, headers=list(headers.items()))
        if wants_json():
            body = {"error": {"code": "service_unavailable", "message": UNAVAILABLE}}
            return body, 503, headers
        page = render_template(
            "unavailable.html", message=UNAVAILABLE, retry_after=RETRY_AFTER_SECONDS
        )
        return page, 503, headers

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        status = exc.code or 500
        message = messages.get(status, "请求无法完成")
        if status == 400 and "CSRF" in (exc.description or ""):
            message = "页面已过期或缺少安全令牌，请刷新页面后重新提交"
        if open311():
            from complaints.api import error_response

            allow = [(k, v) for k, v in exc.get_headers() if k.lower() == "allow"]
            return error_response(status, message, headers=allow)
        if wants_json():
            code = (exc.name or "error").lower().replace(" ", "_")
            return {"error": {"code": code, "message": message}}, status
        return render_template("error.html", status=status, message=message), status
