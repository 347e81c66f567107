"""Account endpoints of the JSON API: tokens (issue, revoke) and parent registration."""

from flask import current_app, jsonify, request

from api import bp, error, json_body

from . import services
from .access import token_required
from .limits import login_limit, login_username_limit, register_limit


@bp.post("/auth/token")
@login_limit
@login_username_limit
def create_token():
    data = json_body()
    user = services.log_in(data.get("username"), data.get("password"), channel="api")
    if user is None:
        return error("invalid_credentials", "用户名或密码错误", 401)
    token = services.issue_token(user, current_app.config["API_TOKEN_DAYS"])
    return jsonify({"token": token, "role": user.role})


@bp.delete("/auth/token")
@token_required()
def revoke_token():
    """Revoke the bearer token this request carries (logout of an API client)."""
    _, _, token = request.headers.get("Authorization", "").partition(" ")
    services.revoke_token(token.strip())
    return "", 204


@bp.post("/auth/register")
@register_limit
def register():
    data = json_body()
    user = services.register_parent(
        data.get("username"), data.get("password"), data.get("name") or ""
    )
    return jsonify({"id": user.id, "username": user.username, "role": user.role}), 201
