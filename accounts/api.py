"""Account endpoints of the JSON API: tokens and parent registration."""

from flask import current_app, jsonify

from api import bp, error, json_body

from . import services


@bp.post("/auth/token")
def create_token():
    data = json_body()
    user = services.authenticate(data.get("username"), data.get("password"))
    if user is None:
        return error("invalid_credentials", "用户名或密码错误", 401)
    token = services.issue_token(user, current_app.config["API_TOKEN_DAYS"])
    return jsonify({"token": token, "role": user.role})


@bp.post("/auth/register")
def register():
    data = json_body()
    user = services.register_parent(
        data.get("username"), data.get("password"), data.get("name") or ""
    )
    return jsonify({"id": user.id, "username": user.username, "role": user.role}), 201
