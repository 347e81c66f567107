"""Deadline reminders (`flask --app app complaints remind`): the lead department's handlers hear
of a deadline due within a working day and again once it has passed — once each, however often
or on however many hosts the job runs — and never of the complainant."""

import threading
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select

from accounts.models import User
from complaints.models import Complaint, DeadlineReminder
from complaints.services import filing
from complaints.services.reminders import send_deadline_reminders
from extensions import db
from notifications.models import Notification


def _case(app, nursery_id, **deadlines) -> int:
    with app.app_context():
        c, _ = filing.file_complaint(
            filing.Filing(
                category="hygiene",
                description="教室很久没有消毒",
                nursery_id=nursery_id,
                name="欧阳晓明",
                phone="13912345678",
            )
        )
        cid = c.id
        db.session.remove()
        if deadlines:
            with db.engine.begin() as conn:
                conn.execute(sa.update(Complaint).where(Complaint.id == cid).values(**deadlines))
        return cid


def _inbox(app, username) -> list[str]:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        return list(
            db.session.scalars(
                select(Notification.text)
                .where(Notification.user_id == user.id)
                .order_by(Notification.id)
            )
        )


def _lead(app, cid) -> str:
    with app.app_context():
        return db.session.get(Complaint, cid).lead_department


def test_the_lead_hears_once_when_due_soon_and_once_when_overdue(app, make_nursery, make_user):
    nursery = make_nursery()
    now = datetime.now().replace(microsecond=0)
    soon = _case(app, nursery, accept_by=now + timedelta(hours=3))
    later = _case(app, nursery, accept_by=now + timedelta(days=30))
    lead = _lead(app, soon)
    handler, _ = make_user("handler", department_code=lead)
    other, _ = make_user("handler", department_code="police" if lead != "police" else "fire")
    with app.app_context():
        assert send_deadline_reminders(now) == 1
        assert send_deadline_reminders(now) == 0  # the second run (or host) sends nothing
    inbox = _inbox(app, handler)
    assert len(inbox) == 1 and f"#{soon}" in inbox[0] and "前受理" in inbox[0]
    assert f"#{later}" not in inbox[0]
    assert "欧阳" not in inbox[0] and "139" not in inbox[0] and "消毒" not in inbox[0]
    assert _inbox(app, other) == []
    with app.app_context():  # the deadline passes: one more, then no more
        assert send_deadline_reminders(now + timedelta(hours=4)) == 1
        assert send_deadline_reminders(now + timedelta(hours=5)) == 0
    inbox = _inbox(app, handler)
    assert len(inbox) == 2 and "已超过受理期限" in inbox[1]


def test_an_extended_deadline_is_reminded_afresh_and_a_finished_case_never(
    app, make_nursery, make_user
):
    nursery = make_nursery()
    now = datetime.now().replace(microsecond=0)
    cid = _case(app, nursery, accept_by=now + timedelta(hours=2))
    handler, _ = make_user("handler", department_code=_lead(app, cid))
    with app.app_context():
        assert send_deadline_reminders(now) == 1
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(
            sa.update(Complaint)
            .where(Complaint.id == cid)
            .values(status="accepted", conclude_by=now + timedelta(hours=6))
        )
    with app.app_context():
        assert send_deadline_reminders(now) == 1
    assert "前办结" in _inbox(app, handler)[-1]
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.update(Complaint).where(Complaint.id == cid).values(status="closed"))
    with app.app_context():
        assert send_deadline_reminders(now + timedelta(days=3)) == 0
        assert db.session.scalar(select(sa.func.count()).select_from(DeadlineReminder)) == 2


def test_two_hosts_running_at_once_send_each_reminder_once(app, make_nursery, make_user):
    nursery = make_nursery()
    now = datetime.now().replace(microsecond=0)
    cases = [_case(app, nursery, accept_by=now + timedelta(hours=1)) for _ in range(3)]
    handler, _ = make_user("handler", department_code=_lead(app, cases[0]))
    start, counts = threading.Barrier(2), []

    def host():
        with app.app_context():
            start.wait()
            counts.append(send_deadline_reminders(now))
            db.session.remove()

    threads = [threading.Thread(target=host) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(counts) == [0, 3]
    assert len(_inbox(app, handler)) == 3


def test_the_command_reports_what_it_sent(app, make_nursery, make_user):
    nursery = make_nursery()
    cid = _case(app, nursery, accept_by=datetime.now() + timedelta(hours=1))
    make_user("handler", department_code=_lead(app, cid))
    runner = app.test_cli_runner()
    assert "已发送 1 条期限提醒" in runner.invoke(args=["complaints", "remind"]).output
    assert "已发送 0 条期限提醒" in runner.invoke(args=["complaints", "remind"]).output
