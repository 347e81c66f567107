"""Shared mechanisms: the blueprint role gate and raw_read's placeholder rule."""

import pytest

from database import raw_read

# page → the one role it opens to
GATED = {
    "/portal": "nursery_staff",
    "/handle": "handler",
    "/admin/complaint-rules": "admin",
    "/planning": "admin",
    "/admin/prices": "admin",
    "/admin/audit": "admin",
}


@pytest.fixture
def client_without_csrf(app):
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


@pytest.mark.parametrize("path", GATED)
def test_gated_pages_send_visitors_to_login(client, path):
    r = client.get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]


@pytest.mark.parametrize("role", ["parent", "nursery_staff", "handler", "admin"])
def test_gated_pages_open_to_their_role_only_and_are_never_cached(
    client_without_csrf, make_user, make_nursery, role
):
    bound = {
        "nursery_staff": {"nursery_id": make_nursery()},
        "handler": {"department_code": "health"},
    }.get(role, {})
    username, password = make_user(role=role, **bound)
    login = client_without_csrf.post("/login", data={"username": username, "password": password})
    assert login.status_code == 302
    for path, allowed in GATED.items():
        r = client_without_csrf.get(path)
        assert r.status_code == (200 if role == allowed else 403), (path, role)
        assert r.headers["Cache-Control"] == "private, no-store"
        assert r.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "sql, params",
    [
        ("SELECT version FROM registry_version WHERE id = ?", ()),  # a marker without a value
        ("SELECT version FROM registry_version WHERE id = 1", (1,)),  # a value without a marker
        ("SELECT '100%' FROM registry_version", ()),  # psycopg would read % as a marker
    ],
)
def test_raw_read_refuses_sql_it_would_misread(app, sql, params):
    with app.app_context(), pytest.raises(ValueError):
        raw_read(sql, params)


def test_raw_read_binds_parameters_on_both_databases(app):
    with app.app_context():
        assert len(raw_read("SELECT version FROM registry_version WHERE id = ?", (1,))) == 1
        assert raw_read("SELECT version FROM registry_version WHERE id = ?", (2,)) == []
