"""Children's data (DESIGN §3.8, issue 11), on SQLite and PostgreSQL: consent records with the
rules version, a family's export, deleting an account, the retention job, and the audit entry
for every time nursery staff are shown a child's health notes."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from accounts.models import ApiToken, User
from audit import AuditEntry
from booking import queries
from booking.models import Booking, Child, NurseryConsent
from booking.rules import Request, third_birthday
from booking.services import family, privacy
from booking.waitlist import Settings
from extensions import db
from notifications.models import Notification
from tests.booking_helpers import birth_for, make_bookable_nursery
from tests.conftest import login

TODAY = date.today()
ADDRESS = {"REMOTE_ADDR": "203.0.113.7"}


@pytest.fixture
def world(app, make_user):
    """Nursery A with 1 place per care type and class; parents P and Q, each with a child (P's
    with health notes, registered 20 months old, Q's without); staff of A; an admin."""
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        nursery = make_bookable_nursery(capacity=1)
    p, q = make_user("parent", name="王家长"), make_user("parent", name="李家长")
    staff = make_user("nursery_staff", nursery_id=nursery)
    admin = make_user("admin")
    settings = Settings.from_config(app.config)
    with app.app_context():
        ids = {u: _user_id(u) for u, _ in (p, q, staff, admin)}
        kid_p = family.register_child(
            ids[p[0]], "王小雨", birth_for(20), True, settings, health_notes="对花生过敏"
        ).id
        kid_q = family.register_child(ids[q[0]], "李小雪", birth_for(20), True, settings).id
    return {
        "nursery": nursery,
        "p": p,
        "q": q,
        "staff": staff,
        "admin": admin,
        "ids": ids,
        "kid_p": kid_p,
        "kid_q": kid_q,
        "settings": settings,
    }


def creds(who) -> dict:
    """(username, password) as make_user returns it, as a login form or JSON body."""
    return {"username": who[0], "password": who[1]}


def _user_id(username: str) -> int:
    return db.session.scalar(select(User.id).where(User.username == username))


def book(app, w, who: str, care_type: str = "full_day", **kw) -> int:
    with app.app_context():
        req = Request(care_type=care_type, start_date=kw.pop("start_date", TODAY), **kw)
        settings = Settings.from_config(app.config)  # the rules version in force now
        booking, _ = family.book(
            w["ids"][w[who][0]], w[f"kid_{who}"], w["nursery"], req, True, settings
        )
        return booking.id


def entries(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)
            )
        )
        db.session.expunge_all()
        return rows


# --- consent ---------------------------------------------------------------------------------


def test_each_consent_records_the_rules_version_and_time_and_is_audited(app, client, world):
    app.config["CONSENT_RULES_VERSION"] = "2027-01"
    login(client, world["p"])
    r = client.post(
        "/children/new",
        data={"name": "王小风", "birth_date": birth_for(12).isoformat(), "guardian_consent": "y"},
        environ_base=ADDRESS,
    )
    assert r.status_code == 302
    with app.app_context():
        kid = db.session.scalar(select(Child).where(Child.name == "王小风"))
        assert kid.consent_version == "2027-01" and kid.consent_at is not None
        kid_id = kid.id
    [registered] = [e for e in entries(app, "consent.registration") if e.subject_id == kid_id]
    assert registered.reason == "2027-01" and registered.ip == "203.0.113.7"
    assert registered.actor_id == world["ids"][world["p"][0]]
    assert "王小风" not in (registered.reason or "")  # no child data in the log

    booking_id = book(app, world, "p")
    with app.app_context():
        consent = db.session.scalar(
            select(NurseryConsent).where(NurseryConsent.child_id == world["kid_p"])
        )
        assert consent.nursery_id == world["nursery"] and consent.rules_version == "2027-01"
        assert db.session.get(Booking, booking_id).status == "pending"
    [shared] = entries(app, "consent.nursery")
    assert shared.subject_id == world["kid_p"]
    assert shared.reason == f"nursery={world['nursery']} rules=2027-01"
    book(app, world, "p", care_type="temporary", start_date=TODAY + timedelta(days=3))
    assert len(entries(app, "consent.nursery")) == 1  # once per child and nursery


# --- export ----------------------------------------------------------------------------------


def test_the_export_holds_exactly_the_parents_data_and_is_audited(app, client, world):
    mine = book(app, world, "p")
    theirs = book(app, world, "q", care_type="temporary")
    login(client, world["p"])
    page = client.get("/account").get_data(as_text=True)
    assert "/account/export.json" in page and "注销账号" in page
    r = client.get("/account/export.json", environ_base=ADDRESS)
    assert r.status_code == 200 and r.mimetype == "application/json"
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.headers["Cache-Control"] == "private, no-store"
    data = json.loads(r.get_data(as_text=True))
    assert data["account"]["username"] == world["p"][0] and data["account"]["name"] == "王家长"
    assert [c["name"] for c in data["children"]] == ["王小雨"]
    assert data["children"][0]["health_notes"] == "对花生过敏"
    assert [b["id"] for b in data["bookings"]] == [mine] and theirs != mine
    kinds = sorted((c["kind"], c["child_id"]) for c in data["consents"])
    assert kinds == [("nursery", world["kid_p"]), ("registration", world["kid_p"])]
    assert all(c["rules_version"] == app.config["CONSENT_RULES_VERSION"] for c in data["consents"])
    assert data["notifications"] and all("编号" in n["text"] for n in data["notifications"])
    assert data["complaints"] == []
    assert any(a["action"] == "account.login" for a in data["activity"])
    text = r.get_data(as_text=True)
    for other in ("李小雪", "李家长", world["q"][0]):
        assert other not in text
    [exported] = entries(app, "account.export")
    assert exported.actor_id == world["ids"][world["p"][0]] and exported.ip == "203.0.113.7"
    assert exported.reason == "children=1 bookings=1"


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_only_parents_export_and_delete(app, client, world, who):
    assert app.test_client().get("/account/export.json").status_code == 302  # → /login
    login(client, world[who])
    assert client.get("/account").status_code == 403
    assert client.get("/account/export.json").status_code == 403
    r = client.post("/account/delete", data={"password": world[who][1]})
    assert r.status_code == 403
    with app.app_context():
        assert db.session.get(User, world["ids"][world[who][0]]).active


# --- deleting an account ---------------------------------------------------------------------


def test_a_wrong_or_missing_password_deletes_nothing(app, client, world):
    book(app, world, "p")
    login(client, world["p"])
    for data, message in (
        ({"password": "wrong-pass-9"}, "密码不正确"),
        ({}, "请输入登录密码"),
        ({"password": "x" * 500}, "密码不能超过 128 位"),
    ):
        r = client.post("/account/delete", data=data)
        assert r.status_code == 400 and message in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Child, world["kid_p"]).name == "王小雨"
        assert db.session.scalar(select(Booking.status)) == "pending"
    assert entries(app, "account.deleted") == []


def test_deleting_an_account_anonymises_keeps_counts_frees_places_and_blocks_login(
    app, client, world
):
    mine = book(app, world, "p")  # holds the only full-day toddler place
    waiting = book(app, world, "q")  # waitlisted behind it
    done = book(app, world, "p", care_type="temporary", start_date=TODAY + timedelta(days=2))
    with app.app_context():
        assert db.session.get(Booking, waiting).status == "waitlisted"
        parent_id = world["ids"][world["p"][0]]
        token_count = db.session.scalar(select(func.count(ApiToken.id)))
        counts_before = sum(queries.status_counts(world["nursery"]).values())
    r = client.post("/api/v1/auth/token", json={"username": world["p"][0], "password": "x" * 9})
    assert r.status_code == 401
    r = client.post("/api/v1/auth/token", json=creds(world["p"]))
    token = r.get_json()["token"]
    login(client, world["p"])
    r = client.post("/account/delete", data={"password": world["p"][1]}, environ_base=ADDRESS)
    assert r.status_code == 302

    with app.app_context():
        child = db.session.get(Child, world["kid_p"])
        assert child.name is None and child.health_notes is None and child.parent_id is None
        assert child.birth_date.day == 1  # only the month is kept
        rows = {b.id: b for b in db.session.scalars(select(Booking))}
        assert rows[mine].status == rows[done].status == "cancelled"
        assert rows[mine].parent_id is None and rows[done].parent_id is None
        assert rows[mine].status_reason is None
        assert rows[mine].care_type == "full_day" and rows[mine].start_date == TODAY
        # The nursery still counts them; the freed place went to the family waiting for it.
        assert sum(queries.status_counts(world["nursery"]).values()) == counts_before
        assert rows[waiting].status == "offered"
        user = db.session.get(User, parent_id)
        assert not user.active and user.name == "" and user.username == f"#deleted-{parent_id}"
        assert db.session.scalar(select(func.count()).where(Notification.user_id == parent_id)) == 0
        assert db.session.scalar(select(func.count(ApiToken.id))) == token_count
        assert db.session.scalar(select(func.count()).select_from(Child)) == 2  # Q's stays
        assert db.session.get(Child, world["kid_q"]).name == "李小雪"
    # The account can no longer log in, by the form or the API, nor use its old token.
    r = app.test_client().post("/login", data=creds(world["p"]))
    assert r.status_code == 400
    r = client.post("/api/v1/auth/token", json=creds(world["p"]))
    assert r.status_code == 401
    assert (
        client.get("/api/v1/bookings", headers={"Authorization": f"Bearer {token}"}).status_code
        == 401
    )
    assert client.get("/account").status_code == 302  # logged out
    [deleted] = entries(app, "account.deleted")
    assert deleted.actor_id == parent_id and deleted.ip == "203.0.113.7"
    assert deleted.reason == "children=1 bookings=2 cancelled=2"
    # The staff portal shows the anonymised bookings without a name or notes.
    login(client, world["staff"])
    html = client.get("/portal/bookings").get_data(as_text=True)
    assert "王小雨" not in html and "对花生过敏" not in html and f'data-id="{mine}"' in html


# --- retention -------------------------------------------------------------------------------


def test_the_retention_job_purges_only_children_past_the_period_and_is_idempotent(
    app, runner, world
):
    settings = world["settings"]
    with app.app_context():
        young = family.register_child(
            world["ids"][world["q"][0]], "李小星", birth_for(7), True, settings, health_notes="无"
        ).id
        db.session.get(Child, world["kid_p"]).birth_date = birth_for(30)  # ten months older
        db.session.commit()
    book(app, world, "p")
    with app.app_context():
        old_birth = db.session.get(Child, world["kid_p"]).birth_date
    # A day on which P's child turned three 366 days ago and Q's 20-month-old has not.
    day = third_birthday(old_birth) + timedelta(days=366)
    with app.app_context():
        dry = privacy.purge_expired_children(settings, 365, today=day, dry_run=True)
        assert (dry.children, dry.bookings, dry.cancelled, dry.dry_run) == (1, 1, 1, True)
        assert db.session.get(Child, world["kid_p"]).name == "王小雨"  # nothing changed
        assert entries(app, "privacy.purge") == []
        # One day less than the period past the third birthday: nothing is due yet.
        early = privacy.purge_expired_children(settings, 367, today=day)
        assert early.children == 0
        done = privacy.purge_expired_children(settings, 365, today=day)
        assert (done.children, done.bookings, done.cancelled) == (1, 1, 1)
        again = privacy.purge_expired_children(settings, 365, today=day)
        assert again.children == again.bookings == 0
        purged = db.session.get(Child, world["kid_p"])
        assert purged.name is None and purged.health_notes is None and purged.parent_id is None
        booking = db.session.scalar(select(Booking).where(Booking.child_id == purged.id))
        assert booking.parent_id is None and booking.status == "cancelled"
        for kept in (world["kid_q"], young):
            assert db.session.get(Child, kept).name is not None
        # The parent account stays; its messages about the purged bookings are gone.
        parent_id = world["ids"][world["p"][0]]
        assert db.session.get(User, parent_id).active
        assert not db.session.scalars(
            select(Notification).where(
                Notification.subject_id == booking.id, Notification.user_id == parent_id
            )
        ).all()
    reasons = [e.reason for e in entries(app, "privacy.purge")]
    assert reasons == [
        "children=0 bookings=0 cancelled=0 retention_days=367",
        "children=1 bookings=1 cancelled=1 retention_days=365",
        "children=0 bookings=0 cancelled=0 retention_days=365",
    ]
    # The command: the configured period (today nobody is three yet), a dry run, a bad period.
    result = runner.invoke(args=["privacy", "purge", "--dry-run"])
    assert result.exit_code == 0 and "将匿名化 0 名儿童" in result.output
    assert "试运行" in result.output
    assert "3 周岁后 365 天" in result.output
    result = runner.invoke(args=["privacy", "purge", "--days", "-1"])
    assert result.exit_code != 0


# --- staff access to health notes ------------------------------------------------------------


def test_staff_views_of_health_notes_are_logged_once_per_child_and_view(app, client, world):
    book(app, world, "p")  # 王小雨 has health notes
    book(app, world, "q", care_type="temporary")  # 李小雪 has none
    login(client, world["staff"])
    html = client.get("/portal/bookings", environ_base=ADDRESS).get_data(as_text=True)
    assert "对花生过敏" in html
    [seen] = entries(app, "child.health_notes_viewed")
    assert seen.subject_type == "child" and seen.subject_id == world["kid_p"]
    assert seen.actor_id == world["ids"][world["staff"][0]] and seen.ip == "203.0.113.7"
    assert seen.reason == f"nursery={world['nursery']} portal.bookings" and seen.at is not None
    client.get("/portal/bookings")
    assert len(entries(app, "child.health_notes_viewed")) == 2  # each view is logged
    client.get("/portal/waitlist")  # shows no health notes
    assert len(entries(app, "child.health_notes_viewed")) == 2
    # The nursery API answers with health notes too: logged the same way.
    staff_login = creds(world["staff"])
    token = client.post("/api/v1/auth/token", json=staff_login).get_json()["token"]
    r = client.get("/api/v1/nursery/bookings", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    api_entry = entries(app, "child.health_notes_viewed")[-1]
    assert api_entry.reason.endswith("api.nursery_bookings")
    assert len(entries(app, "child.health_notes_viewed")) == 3


def test_the_account_page_works_with_csrf_on_and_names_the_bookings_to_cancel(app, world):
    from tests.test_booking_pages import Browser

    book(app, world, "p")
    app.config["WTF_CSRF_ENABLED"] = True
    browser = Browser(app, *world["p"])
    page = browser.html("/account")
    assert "测试托育园" in page and "全部取消" in page and 'name="csrf_token"' in page
    assert f"3 周岁 {app.config['CHILD_DATA_RETENTION_DAYS']} 天后" in page
    r = browser.client.post("/account/delete", data={"password": world["p"][1]})
    assert r.status_code == 400  # no CSRF token: refused, nothing deleted
    with app.app_context():
        assert db.session.get(Child, world["kid_p"]).name == "王小雨"
    r = browser.post("/account/delete", {"password": world["p"][1]})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Child, world["kid_p"]).name is None
