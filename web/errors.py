"""Errors answered in Chinese: a page for people, JSON on /api, GeoReport's array on /open311."""

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException

from errors import DomainError


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
