"""Children's data (DESIGN §3.8, PIPL, 儿童个人信息网络保护规定): a family's export of all its
data, the deletion of a parent's account, and the retention job.

Anonymising (匿名化) a child removes its name and health notes, keeps only the month of its birth,
and unlinks the child and every one of its bookings from the parent; the bookings stay (status,
dates, care type, class, price) so the nursery's and the district's figures keep counting them,
but nothing in them leads to a person any more. Each use case is one transaction and audited.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

import audit
from accounts.models import ApiToken, User
from database import use_case
from errors import DomainError
from extensions import db
from maps.models import Nursery
from notifications.models import Notification, OutboxMessage
from ratings import queries as rating_queries
from ratings import services as rating_services

from .. import waitlist
from ..models import Booking, Child, NurseryConsent
from ..queries import booking_dict
from ..rules import ACTIVE, third_birthday
from ..waitlist import Settings

EXPORT_FORMAT = "tuoyu-family-export/1"
ACCOUNT_DELETED_REASON = "家长注销了账号"
RETENTION_REASON = "儿童信息保存期满，已匿名化"


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


# --- export ----------------------------------------------------------------------------------


def export_family_data(user_id: int, now: datetime | None = None) -> dict:
    """Everything the service holds about a parent and their children, as one JSON document;
    the export itself is audited (数据导出)."""
    now = _now(now)
    with use_case(nurseries=()):  # changes no nursery's places
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.role != "parent":
            raise DomainError("not_a_parent", "只有家长账号可以导出本人数据", status=403)
        data = _family_document(user, now)
        audit.record(
            user.id,
            "account.export",
            "user",
            user.id,
            f"children={len(data['children'])} bookings={len(data['bookings'])}",
            at=now,
        )
    return data


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _family_document(user: User, now: datetime) -> dict:
    children = list(
        db.session.scalars(select(Child).where(Child.parent_id == user.id).order_by(Child.id))
    )
    child_ids = [c.id for c in children]
    consents = db.session.execute(
        select(NurseryConsent, Nursery.name)
        .join(Nursery, Nursery.id == NurseryConsent.nursery_id)
        .where(NurseryConsent.child_id.in_(child_ids))
        .order_by(NurseryConsent.id)
    ).all()
    bookings = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.parent_id == user.id)
            .order_by(Booking.id)
            .options(selectinload(Booking.nursery), selectinload(Booking.slots))
        )
    )
    positions = waitlist.positions(bookings)
    notes = db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    )
    entries = db.session.scalars(
        select(audit.AuditEntry)
        .where(audit.AuditEntry.actor_id == user.id)
        .order_by(audit.AuditEntry.id)
    )
    return {
        "format": EXPORT_FORMAT,
        "exported_at": now.isoformat(),
        "account": {
            "id": user.id,
            "username": user.username,
            "name": user.name,
            "role": user.role,
            "created_at": _iso(user.created_at),
        },
        "children": [
            {
                "id": c.id,
                "name": c.name,
                "birth_date": c.birth_date.isoformat(),
                "health_notes": c.health_notes,
                "deleted_at": _iso(c.deleted_at),
            }
            for c in children
        ],
        "consents": [
            {
                "kind": "registration",  # 登记孩子信息时同意的规则
                "child_id": c.id,
                "rules_version": c.consent_version,
                "given_at": _iso(c.consent_at),
            }
            for c in children
        ]
        + [
            {
                "kind": "nursery",  # 同意向该托育机构提供孩子信息
                "child_id": consent.child_id,
                "nursery_id": consent.nursery_id,
                "nursery_name": nursery_name,
                "rules_version": consent.rules_version,
                "given_at": _iso(consent.given_at),
            }
            for consent, nursery_name in consents
        ],
        "bookings": [booking_dict(b, positions.get(b.id)) for b in bookings],
        "notifications": [
            {
                "id": n.id,
                "text": n.text,
                "created_at": _iso(n.created_at),
                "read_at": _iso(n.read_at),
            }
            for n in notes
        ],
        # Complaints are filed without an account (a tracking code, DESIGN §3.7): none is
        # linked to this account, so none can be exported with it.
        "complaints": [],
        # The family's ratings of nurseries, each with its earlier versions (ratings/).
        "ratings": rating_queries.family_export(user.id),
        "activity": [
            {"at": _iso(e.at), "action": e.action, "ip": e.ip} for e in entries
        ],  # what the audit log holds of this account's own actions (logins, consents, …)
    }


# --- anonymising -----------------------------------------------------------------------------


def _anonymise(child: Child, now: datetime) -> int:
    """Remove a child's personal data and unlink it and its bookings from the parent; returns
    how many bookings were unlinked. Its active bookings must have been ended first."""
    count = 0
    for b in db.session.scalars(select(Booking).where(Booking.child_id == child.id)):
        if b.status in ACTIVE:
            raise RuntimeError(f"booking {b.id} is still active")  # a bug: end them first
        b.parent_id = None
        b.status_reason = None  # free text (a decline reason) may name the child
        count += 1
    rating_services.forget_family(child_ids=[child.id])  # stars stay, unlinked, no text
    child.name = None
    child.health_notes = None
    child.birth_date = child.birth_date.replace(day=1)  # the month keeps the age figures
    child.parent_id = None
    child.deleted_at = child.deleted_at or now
    return count


def _end_active(child_id: int, reason: str, settings: Settings, now: datetime) -> int:
    """End the child's active bookings through the waitlist, so places go to the next family."""
    active = list(
        db.session.scalars(
            select(Booking)
            .where(Booking.child_id == child_id, Booking.status.in_(ACTIVE))
            .options(selectinload(Booking.slots))
        )
    )
    for b in active:
        waitlist.end(b, "cancelled", reason, settings, now)
    return len(active)


def _forget_notifications(user_id: int, booking_ids: list[int] | None = None) -> None:
    """Delete a user's messages (all of them, or those about some bookings) and their outbox."""
    where = [Notification.user_id == user_id]
    if booking_ids is not None:
        where += [Notification.subject_type == "booking", Notification.subject_id.in_(booking_ids)]
    ids = select(Notification.id).where(*where)
    db.session.execute(delete(OutboxMessage).where(OutboxMessage.notification_id.in_(ids)))
    db.session.execute(delete(Notification).where(*where))


# --- deleting an account ---------------------------------------------------------------------


@dataclass(frozen=True)
class Deletion:
    children: int
    bookings: int
    cancelled: int


def delete_account(
    user_id: int, password, settings: Settings, now: datetime | None = None
) -> Deletion:
    """A parent deletes their account (注销账号), confirmed with their password.

    Active bookings are cancelled first (their places go to the next families in the queues),
    then the children are anonymised, the messages and API tokens deleted, and the account
    emptied and closed: it can never log in again. One transaction: nothing is half-done."""
    now = _now(now)
    if not isinstance(password, str) or not password:
        raise DomainError("password_required", "请输入登录密码以确认注销", field="password")
    with use_case():  # spans every nursery the family booked at
        user = db.session.get(User, user_id)
        if user is None or not user.active or user.role != "parent":
            raise DomainError("not_a_parent", "只有家长账号可以在这里注销", status=403)
        if not user.check_password(password):
            raise DomainError("wrong_password", "密码不正确，账号未注销", field="password")
        children = list(db.session.scalars(select(Child).where(Child.parent_id == user.id)))
        cancelled = sum(_end_active(c.id, ACCOUNT_DELETED_REASON, settings, now) for c in children)
        db.session.flush()
        unlinked = sum(_anonymise(c, now) for c in children)
        # Bookings of no child of this parent cannot exist, but nothing may stay linked.
        for b in db.session.scalars(select(Booking).where(Booking.parent_id == user.id)):
            b.parent_id, b.status_reason = None, None
        rating_services.forget_family(parent_id=user.id)
        _forget_notifications(user.id)
        db.session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        # '#' is outside the usernames anyone can register: this one can never clash or log in.
        user.username = f"#deleted-{user.id}"
        user.name = ""
        user.password_hash = "!"  # matches no password
        user.active = False
        result = Deletion(len(children), unlinked, cancelled)
        audit.record(
            user.id,
            "account.deleted",
            "user",
            user.id,
            f"children={result.children} bookings={result.bookings} cancelled={result.cancelled}",
            at=now,
        )
    return result


# --- retention -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Purge:
    children: int
    bookings: int
    cancelled: int
    dry_run: bool


def _past_retention(retention_days: int, today: date) -> list[Child]:
    """Children not yet anonymised who turned three more than `retention_days` ago."""
    # third_birthday(b) < today - N  ⇒  b < today - N - 3 years (+ a day for 29 February)
    latest = today - timedelta(days=retention_days) - timedelta(days=3 * 365)
    candidates = db.session.scalars(
        select(Child)
        .where(Child.parent_id.is_not(None), Child.birth_date <= latest)
        .order_by(Child.id)
    )
    cutoff = today - timedelta(days=retention_days)
    return [c for c in candidates if third_birthday(c.birth_date) < cutoff]


def purge_expired_children(
    settings: Settings,
    retention_days: int,
    today: date | None = None,
    dry_run: bool = False,
    now: datetime | None = None,
) -> Purge:
    """The retention job (`flask --app app privacy purge`): anonymise every child who turned
    three more than `retention_days` ago, and its bookings. Idempotent: an anonymised child is
    never counted again. A dry run counts and changes nothing."""
    if not isinstance(retention_days, int) or retention_days < 0:
        raise DomainError("invalid_retention", "保存期限须为不小于 0 的天数")
    now = _now(now)
    today = today or now.date()
    with use_case():
        children = _past_retention(retention_days, today)
        ids = [c.id for c in children]
        bookings = (
            list(db.session.scalars(select(Booking).where(Booking.child_id.in_(ids))))
            if ids
            else []
        )
        active = sum(1 for b in bookings if b.status in ACTIVE)
        if dry_run:
            return Purge(len(children), len(bookings), active, True)
        parents = {c.parent_id for c in children}
        for c in children:
            _end_active(c.id, RETENTION_REASON, settings, now)
        db.session.flush()
        for c in children:
            _anonymise(c, now)
        booking_ids = [b.id for b in bookings]
        for parent_id in parents:
            if booking_ids:
                _forget_notifications(parent_id, booking_ids)
        result = Purge(len(children), len(bookings), active, False)
        audit.record(
            None,
            "privacy.purge",
            "retention",
            0,
            f"children={result.children} bookings={result.bookings} "
            f"cancelled={result.cancelled} retention_days={retention_days}",
            at=now,
        )
    return result
