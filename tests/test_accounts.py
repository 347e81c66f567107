"""Accounts: registration, login with CSRF, bearer tokens, and the users CLI."""

import re

import pytest
from sqlalchemy import func, select

from accounts.models import ApiToken, User
from extensions import db


def csrf_token(client, path):
    html = client.get(path).get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html).group(0)
    return re.search(r'value="([^"]+)"', tag).group(1)


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_login_post_without_csrf_token_is_refused_with_400(csrf_app, make_user):
    username, password = make_user()
    r = csrf_app.test_client().post("/login", data={"username": username, "password": password})
    assert r.status_code == 400
    assert "安全令牌" in r.get_data(as_text=True)


def test_login_with_csrf_token_logs_in_and_wrong_password_does_not(csrf_app, make_user):
    username, password = make_user()
    client = csrf_app.test_client()
    token = csrf_token(client, "/login")
    bad = client.post(
        "/login", data={"username": username, "password": "wrong-pass", "csrf_token": token}
    )
    assert bad.status_code == 400 and "用户名或密码错误" in bad.get_data(as_text=True)
    ok = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert ok.status_code == 302
    assert username in client.get("/").get_data(as_text=True)


def test_login_never_redirects_off_site(csrf_app, make_user):
    username, password = make_user()
    client = csrf_app.test_client()
    token = csrf_token(client, "/login")
    r = client.post(
        "/login?next=//evil.example/x",
        data={"username": username, "password": password, "csrf_token": token},
    )
    assert r.status_code == 302 and r.headers["Location"] == "/"


def test_parent_registration_page_creates_a_parent_and_explains_errors(csrf_app):
    csrf_app.config["PASSWORD_HASH_METHOD"] = "scrypt"  # the production default
    client = csrf_app.test_client()
    token = csrf_token(client, "/register")
    r = client.post(
        "/register",
        data={"username": "x", "password": "short", "confirm": "other", "csrf_token": token},
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 400
    assert "用户名须为" in page and "密码长度须为" in page and "不一致" in page
    r = client.post(
        "/register",
        data={
            "username": "王妈妈",
            "name": "王女士",
            "password": "good-password",
            "confirm": "good-password",
            "csrf_token": token,
        },
    )
    assert r.status_code == 302
    with csrf_app.app_context():
        user = db.session.scalar(select(User).where(User.username == "王妈妈"))
        assert user.role == "parent" and user.password_hash.startswith("scrypt:")
        assert user.check_password("good-password")


def test_api_token_flow(client, make_user):
    username, password = make_user("parent")
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200
    body = r.get_json()
    assert body["role"] == "parent" and len(body["token"]) >= 40
    from accounts.queries import user_for_token

    with client.application.app_context():
        assert user_for_token(body["token"]).username == username
        assert user_for_token(body["token"] + "x") is None
        # Only a digest of the token is stored.
        stored = db.session.scalar(select(ApiToken.token_hash))
        assert body["token"] not in stored


@pytest.mark.parametrize(
    "payload",
    [{"username": "nobody", "password": "whatever-1"}, {"username": 5, "password": []}, {}],
)
def test_api_token_refuses_bad_credentials(client, make_user, payload):
    make_user("parent")
    r = client.post("/api/v1/auth/token", json=payload)
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "invalid_credentials"


def test_api_token_refuses_a_body_that_is_not_json(client):
    r = client.post("/api/v1/auth/token", data="username=x", content_type="text/plain")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_json"


def test_api_register_creates_parents_only_and_refuses_duplicates(client):
    r = client.post(
        "/api/v1/auth/register",
        json={"username": "li_ma", "password": "password-1", "name": "李妈妈", "role": "admin"},
    )
    assert r.status_code == 201 and r.get_json()["role"] == "parent"
    again = client.post(
        "/api/v1/auth/register", json={"username": "li_ma", "password": "password-2"}
    )
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "username_taken"
    weak = client.post("/api/v1/auth/register", json={"username": "zhang", "password": "123"})
    assert weak.status_code == 400 and weak.get_json()["error"]["field"] == "password"
    with client.application.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_users_create_cli_binds_roles_and_refuses_bad_bindings(app, runner, make_nursery):
    nursery_id = make_nursery()
    ok = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "nursery_staff",
            "--username",
            "staff1",
            "--password",
            "password-1",
            "--nursery",
            str(nursery_id),
        ]
    )
    assert ok.exit_code == 0, ok.output
    handler = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "handler",
            "--username",
            "handler1",
            "--password",
            "password-1",
            "--department",
            "market",
        ]
    )
    assert handler.exit_code == 0, handler.output
    for extra in (
        ["--role", "nursery_staff"],
        ["--role", "handler", "--department", "mars"],
        ["--role", "parent", "--department", "health"],
    ):
        bad = runner.invoke(
            args=["users", "create", "--username", "bad1", "--password", "password-1", *extra]
        )
        assert bad.exit_code != 0
    with app.app_context():
        staff = db.session.scalar(select(User).where(User.username == "staff1"))
        assert staff.nursery_id == nursery_id and staff.role == "nursery_staff"
        assert (
            db.session.scalar(select(User.department_code).where(User.username == "handler1"))
            == "market"
        )
        assert db.session.scalar(select(func.count(User.id))) == 2
