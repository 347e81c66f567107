"""Sessions, passwords and API tokens: a new session at login, logout and password change end
older sessions (and tokens), idle and absolute lifetimes, cookie flags, the password policy,
hashed, expiring and revocable tokens, CSRF on cookie-borne API calls."""

import hashlib
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from accounts.models import ApiToken, User
from accounts.passwords import TOO_COMMON, common_passwords, password_problem
from extensions import db
from tests.conftest import login


@pytest.fixture
def plain_app(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def _logged_in(client) -> bool:
    """Whether the client's session is a logged-in one (the parent-only page opens)."""
    return client.get("/children").status_code == 200


def _cookie(client) -> str:
    return client.get_cookie("session").value


def _token(client, who) -> str:
    username, password = who
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200
    return r.get_json()["token"]


def _bearer(token) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_login_starts_a_new_session_and_drops_what_the_old_one_held(plain_app, make_user):
    who = make_user("parent")
    client = plain_app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by an attacker"
        session["csrf_token"] = "known-token"
    login(client, who)
    with client.session_transaction() as session:
        assert "planted" not in session and session.get("csrf_token") != "known-token"
        assert session["_user_id"].endswith(":0")  # "<id>:<session version>"
        assert session.permanent and session["login_at"] == session["seen_at"]
    assert _logged_in(client)


def test_a_copy_of_the_session_cookie_stops_working_after_logout(plain_app, make_user):
    who = make_user("parent")
    client = plain_app.test_client()
    login(client, who)
    stolen = _cookie(client)
    thief = plain_app.test_client()
    thief.set_cookie("session", stolen)
    assert _logged_in(thief)
    assert client.post("/logout").status_code == 302
    assert not _logged_in(client)
    assert not _logged_in(thief)  # the signed cookie is still valid, its session version is not


def test_deactivating_an_account_ends_its_sessions_at_once(plain_app, make_user):
    username, password = make_user("parent")
    client = plain_app.test_client()
    login(client, (username, password))
    with plain_app.app_context():
        db.session.scalar(select(User).where(User.username == username)).active = False
        db.session.commit()
    assert not _logged_in(client)


def test_logout_keeps_the_accounts_api_tokens(plain_app, make_user):
    """Choice: logout ends browser sessions; an API client revokes its own token."""
    who = make_user("parent")
    client = plain_app.test_client()
    token = _token(client, who)
    login(client, who)
    client.post("/logout")
    assert client.get("/api/v1/bookings", headers=_bearer(token)).status_code == 200


def test_password_change_ends_other_sessions_and_tokens_but_not_this_one(plain_app, make_user):
    who = make_user("parent")
    username, old = who
    here, elsewhere = plain_app.test_client(), plain_app.test_client()
    login(here, who)
    login(elsewhere, who)
    token = _token(plain_app.test_client(), who)
    r = here.post(
        "/account/password",
        data={"current": old, "new": "新的密码-2026", "confirm": "新的密码-2026"},
    )
    assert r.status_code == 302
    assert _logged_in(here)
    assert not _logged_in(elsewhere)
    assert (
        plain_app.test_client().get("/api/v1/bookings", headers=_bearer(token)).status_code == 401
    )
    with plain_app.app_context():
        assert db.session.scalars(select(ApiToken)).all() == []
    fresh = plain_app.test_client()
    bad = fresh.post("/login", data={"username": username, "password": old})
    assert bad.status_code == 400
    login(fresh, (username, "新的密码-2026"))


NEW = "新的密码-2026"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"current": "wrong-pass-1", "new": NEW, "confirm": NEW}, "当前密码不正确"),
        ({"current": None, "new": "short", "confirm": "short"}, "密码长度须为 8–128 位"),
        ({"current": None, "new": "Password123", "confirm": "Password123"}, TOO_COMMON),
        ({"current": None, "new": NEW, "confirm": "别的密码-2026"}, "两次输入的新密码不一致"),
        ({"current": None, "new": None, "confirm": None}, "新密码不能与当前密码相同"),
    ],
)
def test_password_change_explains_what_is_wrong_in_chinese(plain_app, make_user, data, message):
    who = make_user("parent")
    client = plain_app.test_client()
    login(client, who)
    data = {k: (who[1] if v is None else v) for k, v in data.items()}
    r = client.post("/account/password", data=data)
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    assert _logged_in(client)  # nothing changed
    login(plain_app.test_client(), who)


def test_the_password_page_needs_a_login(plain_app):
    r = plain_app.test_client().get("/account/password")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_session_idle_too_long_ends(plain_app, make_user):
    plain_app.config["SESSION_IDLE_MINUTES"] = 30
    client = plain_app.test_client()
    login(client, make_user("parent"))
    with client.session_transaction() as session:
        session["seen_at"] = int(time.time()) - 29 * 60
    assert _logged_in(client)  # within the idle time: the request refreshes it
    with client.session_transaction() as session:
        assert session["seen_at"] >= int(time.time()) - 5
        session["seen_at"] = int(time.time()) - 31 * 60
    r = client.get("/children")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert "登录已超时" in client.get("/login").get_data(as_text=True)


def test_a_session_ends_at_its_absolute_lifetime_however_active(plain_app, make_user):
    plain_app.config["SESSION_MAX_HOURS"] = 8
    client = plain_app.test_client()
    login(client, make_user("parent"))
    with client.session_transaction() as session:
        session["login_at"] = int(time.time()) - 7 * 3600
    assert _logged_in(client)
    with client.session_transaction() as session:
        session["login_at"] = int(time.time()) - 8 * 3600 - 60
        session["seen_at"] = int(time.time())  # active a moment ago
    assert not _logged_in(client)


def test_a_session_from_before_session_versions_is_refused(plain_app, make_user):
    username, _ = make_user("parent")
    with plain_app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == username))
    client = plain_app.test_client()
    now = int(time.time())
    with client.session_transaction() as session:
        session.update({"_user_id": str(user_id), "login_at": now, "seen_at": now})
    assert not _logged_in(client)


def test_session_cookie_is_httponly_and_lax_and_secure_only_when_configured(plain_app, make_user):
    who = make_user("parent")
    client = plain_app.test_client()
    username, password = who
    r = client.post("/login", data={"username": username, "password": password})
    cookie = r.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "Expires=" in cookie  # a permanent session, sized by the idle lifetime
    plain_app.config["SESSION_COOKIE_SECURE"] = True
    r = plain_app.test_client().post("/login", data={"username": username, "password": password})
    assert "Secure" in r.headers["Set-Cookie"]


def test_cookie_and_lifetime_settings_come_from_the_environment(monkeypatch, tmp_path):
    import config

    defaults = config.from_environment(str(tmp_path))
    assert defaults["SESSION_COOKIE_SECURE"] is False
    assert defaults["SESSION_COOKIE_SAMESITE"] == "Lax" and defaults["SESSION_COOKIE_HTTPONLY"]
    assert defaults["PASSWORD_HASH_METHOD"] == "scrypt"
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("SESSION_IDLE_MINUTES", "15")
    monkeypatch.setenv("SESSION_MAX_HOURS", "4")
    settings = config.from_environment(str(tmp_path))
    assert settings["SESSION_COOKIE_SECURE"] and settings["REMEMBER_COOKIE_SECURE"]
    assert settings["SESSION_IDLE_MINUTES"] == 15 and settings["SESSION_MAX_HOURS"] == 4
    assert settings["PERMANENT_SESSION_LIFETIME"] == timedelta(minutes=15)


def test_the_common_password_list_is_shipped_and_consulted():
    from importlib.resources import files

    assert files("accounts").joinpath("common_passwords.txt").is_file()
    listed = common_passwords()
    assert {"12345678", "password", "1qaz2wsx", "woaini1314"} <= listed
    assert password_problem("PassWord") == TOO_COMMON  # case does not matter
    assert password_problem("1234567") is not None  # too short
    assert password_problem("托育预约很方便2026") is None


def test_package_data_includes_the_common_password_list():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    assert "common_passwords.txt" in pyproject["tool"]["setuptools"]["package-data"]["accounts"]


def test_api_registration_refuses_a_common_password_in_json(client):
    r = client.post("/api/v1/auth/register", json={"username": "wang_ba", "password": "qwertyuiop"})
    assert r.status_code == 400
    assert r.get_json()["error"] == {
        "code": "weak_password",
        "message": TOO_COMMON,
        "field": "password",
    }


def test_registration_page_refuses_a_common_password(plain_app):
    r = plain_app.test_client().post(
        "/register",
        data={"username": "wang_ba", "password": "iloveyou", "confirm": "iloveyou"},
    )
    assert r.status_code == 400 and TOO_COMMON in r.get_data(as_text=True)


def test_api_tokens_are_stored_as_sha256_only(client, make_user, app):
    token = _token(client, make_user("parent"))
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in (row.token_hash, str(row.id))
        assert row.expires_at - row.created_at == timedelta(days=app.config["API_TOKEN_DAYS"])


def test_an_expired_api_token_is_refused(client, make_user, app):
    token = _token(client, make_user("parent"))
    assert client.get("/api/v1/bookings", headers=_bearer(token)).status_code == 200
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        row.expires_at = datetime.now() - timedelta(seconds=1)
        db.session.commit()
    r = client.get("/api/v1/bookings", headers=_bearer(token))
    assert r.status_code == 401 and r.get_json()["error"]["code"] == "unauthorized"


def test_delete_auth_token_revokes_the_token_presented_only(client, make_user):
    who = make_user("parent")
    phone, tablet = _token(client, who), _token(client, who)
    assert client.delete("/api/v1/auth/token").status_code == 401
    assert client.delete("/api/v1/auth/token", headers=_bearer(phone)).status_code == 204
    assert client.get("/api/v1/bookings", headers=_bearer(phone)).status_code == 401
    assert client.delete("/api/v1/auth/token", headers=_bearer(phone)).status_code == 401
    assert client.get("/api/v1/bookings", headers=_bearer(tablet)).status_code == 200


def test_the_openapi_document_lists_token_revocation(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "post" in paths["/auth/token"]  # the contract path is unchanged…
    assert paths["/auth/token"]["delete"]["security"] == [{"bearer": []}]  # …and gains DELETE


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _form_login(client, who) -> None:
    import re

    html = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    username, password = who
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert r.status_code == 302


def test_a_cookie_authenticated_api_post_without_csrf_token_is_refused(csrf_app, make_user):
    who = make_user("parent")
    browser = csrf_app.test_client()
    _form_login(browser, who)
    r = browser.post("/api/v1/children", json={"name": "小明", "birth_date": "2025-01-01"})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "csrf_failed"
    revoke = browser.delete("/api/v1/auth/token")
    assert revoke.status_code == 400  # the check runs before authentication


def test_bearer_and_anonymous_api_calls_need_no_csrf_token(csrf_app, make_user):
    who = make_user("parent")
    client = csrf_app.test_client()
    token = _token(client, who)  # anonymous POST, CSRF on: accepted
    _form_login(client, who)  # the same client now also holds a session cookie
    r = client.post(
        "/api/v1/children",
        json={"name": "小明", "birth_date": "2025-01-01", "guardian_consent": True},
        headers=_bearer(token),
    )
    assert r.status_code == 201
    # Without a session, a token-less POST reaches the API's own 401.
    anonymous = csrf_app.test_client().post("/api/v1/children", json={"name": "小明"})
    assert anonymous.status_code == 401
