"""Account endpoints of the JSON API: tokens and parent registration."""

from flask import current_app, jsonify

from api import bp, error, json_body
from extensions import limiter

from . import services

# Slows down password guessing from one address; generous for a family sharing a router.
LOGIN_LIMIT = "20 per minute"


@bp.post("/auth/token")
@limiter.limit(LOGIN_LIMIT)
def create_token():
    data = json_body()
    user = services.log_in(data.get("username"), data.get("password"), channel="api")
    if user is None:
        return error("invalid_credentials", "用户名或密码错误", 401)
    token = services.issue_token(user, current_app.config["API_TOKEN_DAYS"])
    return jsonify({"token": token, "role": user.role})


@bp.post("/auth/register")
@limiter.limit(LOGIN_LIMIT)
def register():
    data = json_body()
    user = services.register_parent(
        data.get("username"), data.get("password"), data.get("name") or ""
    )
    return jsonify({"id": user.id, "username": user.username, "role": user.role}), 201
