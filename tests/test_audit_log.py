"""The audit log (issue 11), on SQLite and PostgreSQL: logins and failed logins, role changes,
the client address of every entry, and the admin page (paging, the filter by action, who may
see it)."""

import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

import audit
from accounts.models import ApiToken, User
from audit import AuditEntry
from audit.queries import PAGE_SIZE
from database import use_case
from extensions import db
from tests.conftest import login

ADDRESS = {"REMOTE_ADDR": "198.51.100.23"}


@pytest.fixture
def people(app, make_user, make_nursery):
    app.config["WTF_CSRF_ENABLED"] = False
    nursery = make_nursery()
    return {
        "parent": make_user("parent"),
        "staff": make_user("nursery_staff", nursery_id=nursery),
        "handler": make_user("handler", department_code="health"),
        "admin": make_user("admin"),
        "nursery": nursery,
    }


def rows(app, action: str | None = None) -> list[AuditEntry]:
    with app.app_context():
        query = select(AuditEntry).order_by(AuditEntry.id)
        if action:
            query = query.where(AuditEntry.action == action)
        found = list(db.session.scalars(query))
        db.session.expunge_all()
        return found


def user_id(app, username: str) -> int:
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def test_logins_and_failed_logins_are_logged_with_the_address_never_the_text_typed(
    app, client, people
):
    username, password = people["parent"]
    r = client.post(
        "/login", data={"username": username, "password": "Wrong-pass-1"}, environ_base=ADDRESS
    )
    assert r.status_code == 400
    r = client.post(
        "/login", data={"username": "我的密码是123456", "password": "x"}, environ_base=ADDRESS
    )
    assert r.status_code == 400
    r = client.post(
        "/login", data={"username": username, "password": password}, environ_base=ADDRESS
    )
    assert r.status_code == 302
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert r.status_code == 200
    failed = rows(app, "account.login_failed")
    uid = user_id(app, username)
    assert [(e.actor_id, e.subject_id, e.reason, e.ip) for e in failed] == [
        (None, uid, "web", "198.51.100.23"),
        (None, 0, "web", "198.51.100.23"),  # an unknown name: not stored
    ]
    ok = rows(app, "account.login")
    assert [(e.actor_id, e.subject_id, e.reason) for e in ok] == [
        (uid, uid, "web"),
        (uid, uid, "api"),
    ]
    assert ok[0].ip == "198.51.100.23" and ok[1].ip == "127.0.0.1"
    assert not any("我的密码" in (e.reason or "") or "Wrong" in (e.reason or "") for e in rows(app))


def test_a_role_change_is_audited_and_revokes_the_accounts_tokens(app, client, runner, people):
    username, password = people["parent"]
    assert client.post("/api/v1/auth/token", json={"username": username, "password": password})
    result = runner.invoke(
        args=["users", "set-role", "--username", username, "--role", "nursery_staff"]
    )
    assert result.exit_code != 0 and "须绑定一个已登记的机构" in result.output
    assert rows(app, "account.role_changed") == []
    result = runner.invoke(
        args=[
            "users",
            "set-role",
            "--username",
            username,
            "--role",
            "nursery_staff",
            "--nursery",
            str(people["nursery"]),
        ]
    )
    assert result.exit_code == 0, result.output
    [changed] = rows(app, "account.role_changed")
    uid = user_id(app, username)
    assert changed.subject_id == uid and changed.actor_id is None and changed.ip is None
    assert changed.reason == f"parent/-/- → nursery_staff/{people['nursery']}/-"
    with app.app_context():
        assert db.session.get(User, uid).role == "nursery_staff"
        assert (
            db.session.scalar(select(func.count(ApiToken.id)).where(ApiToken.user_id == uid)) == 0
        )
    result = runner.invoke(args=["users", "set-role", "--username", "nobody", "--role", "admin"])
    assert result.exit_code != 0 and "未找到该账号" in result.output


def test_entries_outside_a_request_have_no_address(app):
    with app.app_context():
        with use_case():
            audit.record(None, "test.cli", "user", 0)
        assert (
            db.session.scalar(select(AuditEntry.ip).where(AuditEntry.action == "test.cli")) is None
        )


def _fill(app, n: int, action: str) -> None:
    with app.app_context(), use_case():
        for i in range(n):
            audit.record(None, action, "booking", i + 1, at=datetime(2026, 12, 1, 9, 0))


def test_admins_see_the_log_newest_first_paged_and_filtered_by_action(app, client, people):
    login(client, people["admin"])  # writes one account.login entry
    _fill(app, PAGE_SIZE + 5, "waitlist.move_to_front")
    r = client.get("/admin/audit")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "审计日志" in html
    assert r.headers["Cache-Control"] == "private, no-store"
    ids = [int(i) for i in re.findall(r'class="audit-entry" data-id="(\d+)"', html)]
    assert len(ids) == PAGE_SIZE and ids == sorted(ids, reverse=True)
    assert f"共 {PAGE_SIZE + 6} 条" in html and "第 1 / 2 页" in html and "下一页" in html
    assert "候补调整到首位" in html and "系统（命令行）" in html
    second = client.get("/admin/audit?page=2").get_data(as_text=True)
    assert len(re.findall(r'class="audit-entry"', second)) == 6 and "上一页" in second
    only = client.get("/admin/audit?action=account.login").get_data(as_text=True)
    assert re.findall(r'data-action="([\w.]+)"', only) == ["account.login"]
    assert people["admin"][0] in only and "来源 127.0.0.1" in only
    assert '<option value="account.login" selected>' in only
    # Bad parameters: a Chinese 400, never a 500.
    for query, message in (
        ("page=0", "参数 page 须在"),
        ("page=abc", "参数 page 须为整数"),
        ("page=3", "参数 page 须在 1 到 2 之间"),
        ("action=nonsense", "不是审计日志中的事项"),
    ):
        r = client.get(f"/admin/audit?{query}")
        assert r.status_code == 400 and message in r.get_data(as_text=True), query
    # A known action nothing has done yet is an empty page, not an error.
    r = client.get("/admin/audit?action=account.deleted")
    assert r.status_code == 200 and "没有记录" in r.get_data(as_text=True)


@pytest.mark.parametrize("role", ["parent", "staff", "handler"])
def test_nobody_but_admins_sees_the_audit_log(app, client, people, role):
    assert app.test_client().get("/admin/audit").status_code == 302  # anonymous → /login
    login(client, people[role])
    r = client.get("/admin/audit")
    assert r.status_code == 403 and "只有管理员可以查看审计日志" in r.get_data(as_text=True)
