"""Failures answered honestly (issue 14): an unreachable database is a 503 with Retry-After in
each surface's own form, `/healthz` says the process is up, `/readyz` what stops it serving,
and control characters are refused with a 400 by one guard on every request."""

import pytest
from sqlalchemy import func, select

from accounts.models import User
from app import create_app
from extensions import db

# Nothing listens on port 1; the connection is refused at once.
UNREACHABLE = {
    "postgresql": "postgresql+psycopg://postgres@127.0.0.1:1/test?connect_timeout=2",
    "sqlite": "sqlite:////nonexistent-directory/tuoyu.sqlite3",
}


@pytest.fixture(params=sorted(UNREACHABLE))
def down_app(request):
    application = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": UNREACHABLE[request.param],
            "RATELIMIT_ENABLED": False,
            "SECRET_KEY": "test-secret",
            "MAP_TILE_URL": "",
            "WTF_CSRF_ENABLED": False,
        }
    )
    yield application
    with application.app_context():
        db.engine.dispose()


def test_an_unreachable_database_is_a_503_with_retry_after_everywhere(down_app):
    client = down_app.test_client()
    page = client.get("/nurseries/1")
    assert page.status_code == 503 and int(page.headers["Retry-After"]) > 0
    assert "服务暂时不可用" in page.get_data(as_text=True) and page.mimetype == "text/html"
    api = client.get("/api/v1/nurseries", query_string={"lat": 29.6, "lon": 106.52})
    assert api.status_code == 503 and api.headers["Retry-After"]
    assert api.get_json()["error"]["code"] == "service_unavailable"
    assert "稍后重试" in api.get_json()["error"]["message"]
    open311 = client.get("/open311/v2/services.json")
    assert open311.status_code == 503 and open311.headers["Retry-After"]
    assert open311.get_json()[0]["code"] == 503
    posted = client.post("/login", data={"username": "someone", "password": "x" * 12})
    assert posted.status_code == 503 and "没有被保存" in posted.get_data(as_text=True)


def test_healthz_answers_while_readyz_names_the_database(down_app):
    client = down_app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    body = ready.get_json()
    assert body["status"] == "unavailable" and "数据库无法连接" in body["checks"]["database"]


def test_readyz_is_ready_on_a_migrated_database_and_loads_the_index(app, make_nursery):

    make_nursery()
    make_nursery(lat=29.61)
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    assert ready.get_json()["status"] == "ready" and ready.get_json()["nurseries_indexed"] == 2
    assert ready.headers["Cache-Control"] == "no-store"


def test_readyz_refuses_a_database_behind_the_newest_migration(app):
    """New code on a database nobody upgraded (init-db not run): not ready, and it says why."""
    import sqlalchemy as sa

    import database

    with app.app_context():
        head = database.head_revision()
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = '0008'"))
        body = app.test_client().get("/readyz")
        with db.engine.begin() as conn:  # the PostgreSQL test database is shared: put it back
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :h"), {"h": head})
    assert body.status_code == 503
    assert "0008" in body.get_json()["checks"]["migrations"]
    assert "init-db" in body.get_json()["checks"]["migrations"]


def test_readyz_warns_when_several_workers_count_rate_limits_apart(app, monkeypatch):
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"  # as without REDIS_URL
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    client = app.test_client()
    assert "warnings" not in client.get("/readyz").get_json()
    monkeypatch.setenv("WEB_CONCURRENCY", "4")
    warned = client.get("/readyz").get_json()
    assert "REDIS_URL" in warned["warnings"]["rate_limits"] and warned["status"] == "ready"
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/0"
    assert "warnings" not in client.get("/readyz").get_json()


CONTROL = ["\x00", "\x01", "\x08", "\x0b", "\x1b", "\x7f"]


@pytest.mark.parametrize("char", CONTROL)
def test_a_control_character_in_a_form_is_refused_and_nothing_is_stored(app, char):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    r = client.post(
        "/register",
        data={"username": f"mama{char}1", "password": "long-enough-pw-1", "confirm": "x"},
    )
    assert r.status_code == 400
    html = r.get_data(as_text=True)
    assert "控制字符" in html and "username" in html
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_control_characters_are_refused_in_queries_json_paths_and_open311(app):
    client = app.test_client()
    page = client.get("/", query_string={"q": "阳光\x00"})
    assert page.status_code == 400 and "控制字符" in page.get_data(as_text=True)
    api = client.get("/api/v1/nurseries", query_string={"lat": "29.6\x00", "lon": "106.5"})
    assert api.status_code == 400 and api.get_json()["error"]["code"] == "invalid_characters"
    token = client.post("/api/v1/auth/token", json={"username": "a\x00", "password": "b"})
    assert token.status_code == 400 and "username" in token.get_json()["error"]["message"]
    nested = client.post("/api/v1/auth/token", json={"x": [{"y": "\x1b[31m"}]})
    assert nested.status_code == 400 and "控制字符" in nested.get_json()["error"]["message"]
    # Path parameters are checked by their converters and parsers (ids, codes, care types).
    for path in ("/nurseries/1%00", "/track/ABCD%00", "/open311/v2/requests/X%00.json"):
        assert client.get(path).status_code in (400, 404), path
    georeport = client.post(
        "/open311/v2/requests.json", data={"service_code": "hygiene", "description": "脏\x00"}
    )
    assert georeport.status_code == 400
    assert "控制字符" in georeport.get_json()[0]["description"]


def test_tabs_and_newlines_are_ordinary_text(app):
    client = app.test_client()
    r = client.get("/", query_string={"q": "阳光\t托育\r\n"})  # no such place: not found
    assert r.status_code == 404 and "控制字符" not in r.get_data(as_text=True)
