"""The JSON API under /api/v1: one blueprint, JSON errors, JSON bodies, query parameters."""

from flask import Blueprint, current_app, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from errors import DomainError
from web.params import arg_flag, arg_float, arg_int, invalid  # noqa: F401  (re-exported)
from web.security import csrf_for_cookie_api_calls

bp = Blueprint("api", __name__, url_prefix="/api/v1")
# Bearer-token clients need no CSRF token; a logged-in browser's cookie does (web/security.py).
bp.before_request(csrf_for_cookie_api_calls)


def error(code: str, message: str, status: int, field: str | None = None):
    body = {"error": {"code": code, "message": message}}
    if field:
        body["error"]["field"] = field
    return jsonify(body), status


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    return error(exc.code, exc.message, exc.status, exc.field)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError):
    return error(
        "csrf_failed", "浏览器会话发起的请求缺少有效的安全令牌（CSRF）；API 请使用访问令牌", 400
    )


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    messages = {
        404: "请求的资源不存在",
        405: "不支持该请求方法",
        413: "请求体过大",
        415: "请以 application/json 提交",
        429: "请求过于频繁，请稍后再试",
    }
    code = (exc.name or "error").lower().replace(" ", "_")
    return error(code, messages.get(exc.code, exc.description or "请求无效"), exc.code or 400)


def json_body() -> dict:
    """The request's JSON object, or a 400 that says what is wrong."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise DomainError("invalid_json", "请求体须为 JSON 对象")
    return data


def config():
    return current_app.config
