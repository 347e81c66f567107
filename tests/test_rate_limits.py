"""Rate limits on password endpoints, with in-memory storage and with the real Redis server."""

import uuid

import pytest
import redis

from tests.conftest import service_missing

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
