"""Rate limits on password endpoints, with in-memory storage and with the real Redis server."""

import uuid

import pytest
import redis

from tests.conftest import remote_address, service_missing

REDIS_URL = "redis://127.0.0.1:6379/0"


def _app_with_limits(sqlite_app, storage):
    from extensions import limiter

    sqlite_app.config.update(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI=storage)
    limiter.init_app(sqlite_app)  # re-read the storage and the switch
    return sqlite_app


def _hammer(app, n):
    client = app.test_client()
    # A fresh address per test keeps counters of other runs (shared Redis) out of the way.
    env = {"REMOTE_ADDR": f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.7"}
    responses = [
        client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}, environ_base=env)
        for _ in range(n)
    ]
    return env["REMOTE_ADDR"], responses


def test_token_requests_beyond_the_limit_get_a_json_429(sqlite_app):
    app = _app_with_limits(sqlite_app, "memory://")
    _, responses = _hammer(app, 21)
    assert [r.status_code for r in responses[:20]] == [401] * 20
    assert responses[20].status_code == 429
    assert responses[20].get_json()["error"]["message"] == "请求过于频繁，请稍后再试"


def test_limits_are_counted_in_redis_when_configured(sqlite_app):
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        service_missing(f"Redis is not reachable at {REDIS_URL}: {exc.__class__.__name__}")
    app = _app_with_limits(sqlite_app, REDIS_URL)
    address, responses = _hammer(app, 21)
    assert responses[-1].status_code == 429
    keys = redis.Redis.from_url(REDIS_URL).keys(f"LIMITS:*{address}*create_token*")
    assert keys, "the limiter should have stored its counters in Redis"


@pytest.fixture(autouse=True)
def _restore_limiter(sqlite_app):
    yield
    from extensions import limiter

    sqlite_app.config.update(RATELIMIT_ENABLED=False, RATELIMIT_STORAGE_URI="memory://")
    limiter.init_app(sqlite_app)


# --- Every password endpoint (issue 11); complaint filing and look-ups are covered in
# test_complaints_public.py and test_open311.py.


@pytest.fixture
def limited(rate_limited, make_user_on_sqlite):
    app = rate_limited()
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def make_user_on_sqlite(sqlite_app):
    from accounts.services import create_user

    def make(username, password="secret-pass-1"):
        with sqlite_app.app_context():
            create_user("parent", username, password)
        return username, password

    return make


def test_the_login_page_beyond_the_limit_gets_a_chinese_429_page(limited):
    limited.config["LOGIN_LIMIT"] = "3 per minute"
    client, env = limited.test_client(), remote_address()
    codes = [
        client.post("/login", data={"username": f"u{i}", "password": "x"}, environ_base=env)
        for i in range(4)
    ]
    assert [r.status_code for r in codes] == [400, 400, 400, 429]
    assert "操作过于频繁，请稍后再试" in codes[-1].get_data(as_text=True)
    assert codes[-1].mimetype == "text/html"
    assert client.get("/login", environ_base=env).status_code == 200  # the form stays readable


def test_guessing_one_accounts_password_from_many_addresses_is_limited(
    limited, make_user_on_sqlite
):
    limited.config["LOGIN_USERNAME_LIMIT"] = "3 per minute"
    username, password = make_user_on_sqlite("li_ma")

    def attempt(path, name, secret):
        client, env = limited.test_client(), remote_address()  # a new address every time
        if path == "/login":
            return client.post(path, data={"username": name, "password": secret}, environ_base=env)
        return client.post(path, json={"username": name, "password": secret}, environ_base=env)

    assert attempt("/login", username, password).status_code == 302  # success is not counted
    assert attempt("/login", "LI_MA", "wrong-1").status_code == 400
    assert attempt("/api/v1/auth/token", username, "wrong-2").status_code == 401
    assert attempt("/login", username, "wrong-3").status_code == 400
    # The page and the token endpoint share one counter per username, whatever the case.
    blocked = attempt("/api/v1/auth/token", username, password)
    assert blocked.status_code == 429
    assert blocked.get_json()["error"]["message"] == "请求过于频繁，请稍后再试"
    assert attempt("/login", username, password).status_code == 429
    assert attempt("/login", "someone-else", "wrong-4").status_code == 400  # others unaffected


def test_registration_beyond_the_limit_gets_429_on_the_page_and_in_the_api(limited):
    limited.config["REGISTER_LIMIT"] = "2 per minute"
    client, env = limited.test_client(), remote_address()
    pages = [client.post("/register", data={"username": "x"}, environ_base=env) for _ in range(3)]
    assert [r.status_code for r in pages] == [400, 400, 429]
    api = [
        client.post("/api/v1/auth/register", json={"username": "x"}, environ_base=env)
        for _ in range(3)
    ]
    assert [r.status_code for r in api] == [400, 400, 429]
    assert api[-1].get_json()["error"]["code"] == "too_many_requests"


def test_password_change_beyond_the_limit_gets_429(limited, make_user_on_sqlite):
    limited.config["PASSWORD_CHANGE_LIMIT"] = "2 per minute"
    username, password = make_user_on_sqlite("zhang_ba")
    client, env = limited.test_client(), remote_address()
    login = client.post(
        "/login", data={"username": username, "password": password}, environ_base=env
    )
    assert login.status_code == 302
    wrong = {"current": "wrong-pass-1", "new": "新的密码-2026", "confirm": "新的密码-2026"}
    answers = [client.post("/account/password", data=wrong, environ_base=env) for _ in range(3)]
    assert [r.status_code for r in answers] == [400, 400, 429]
