"""Complaint use cases: filing and tracking by the public, and the handlers' actions.

Each write use case validates everything first, then runs as one transaction (`begin_write`),
so a refused request stores nothing. Access follows routing: a handler sees a case only when
their department is routed to it (lead, co-handler, informed, or asked to take it over by a
transfer) and, for the street department, only cases in their own street (属地).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

import audit
from accounts.models import HandlerStreet, User
from errors import Conflict, DomainError, NotFound
from extensions import begin_write, db
from maps.coords import in_china
from maps.geo import distances_m
from maps.models import Community, Nursery
from workdays import add_working_days

from . import deadlines, photos, rulebook
from .models import (
    OPEN_STATUSES,
    RATINGS,
    Complaint,
    ComplaintDepartment,
    ComplaintEvent,
    ComplaintPhoto,
)
from .routing import route

MAX_DESCRIPTION = 4000
MAX_TEXT = 2000  # notes, questions, answers, results, reasons
MAX_NAME = 32
MAX_ADDRESS = 200
PHONE_RE = re.compile(r"^\+?[0-9][0-9 \-]{4,18}[0-9]$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]{1,63}\.[^@\s]{1,30}$")
# NUL and other C0 controls (tab and newlines are fine): PostgreSQL refuses NUL, XML cannot
# carry them, and no one types them.
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # RFC 4648 base32
CODE_LENGTH = 16  # 80 bits
CODE_RE = re.compile(rf"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
DUPLICATE_WINDOW = timedelta(days=30)
REOPEN_WINDOW = timedelta(days=30)  # 不满意 within this long after resolution reopens the case
REVIEW_WORKING_DAYS = 30  # a reopened case is reviewed within 30 days (信访工作条例 Art. 35)
STREET_SEARCH_M = 5000  # an unregistered site takes the street of the nearest community


# --- tracking codes ---------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """ABCD-EFGH-JKLM-NPQR: easier to read out and copy."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_code(raw) -> str:
    """Upper-case, without dashes and spaces; DomainError 400 when it cannot be a code."""
    text = re.sub(r"[\s\-]", "", str(raw or "")).upper() if isinstance(raw, str) else ""
    if not CODE_RE.match(text):
        raise DomainError(
            "code_malformed", "查询码格式不正确：应为 16 位字母和数字（如 ABCD-EFGH-JKLM-NPQR）"
        )
    return text


def _code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def by_code(raw_code) -> Complaint:
    code = normalise_code(raw_code)
    complaint = db.session.scalar(select(Complaint).where(Complaint.code_hash == _code_hash(code)))
    if complaint is None:
        raise NotFound("code_not_found", "未找到该查询码对应的投诉举报，请核对后重试")
    return complaint


def department_name(code: str) -> str:
    return rulebook.current_rules().departments.get(code, code)


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def _text(value, field_name: str, label: str, required: bool = True, limit: int = MAX_TEXT):
    if value is not None and not isinstance(value, str):
        raise DomainError("invalid_" + field_name, f"{label}格式不正确", field=field_name)
    value = (value or "").strip()
    if CONTROL_RE.search(value):
        raise DomainError(
            "invalid_" + field_name,
            f"{label}含有无法保存的控制字符，请删除后重试",
            field=field_name,
        )
    if required and not value:
        raise DomainError("missing_" + field_name, f"请填写{label}", field=field_name)
    if len(value) > limit:
        raise DomainError(
            f"{field_name}_too_long",
            f"{label}不能超过 {limit} 字（现有 {len(value)} 字）",
            field=field_name,
        )
    return value or None


def _event(c: Complaint, kind: str, now, public: bool, text=None, actor=None, dept=None) -> None:
    c.events.append(
        ComplaintEvent(at=now, actor_id=actor, department=dept, kind=kind, public=public, text=text)
    )
    c.updated_at = now


# --- filing -----------------------------------------------------------------------------------


@dataclass
class Filing:
    """What the public form or an Open311 client sends (coordinates in WGS-84)."""

    category: str | None
    description: str | None
    nursery_id: int | None = None
    site_name: str | None = None
    site_address: str | None = None
    lat: float | None = None
    lon: float | None = None
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    photos: list[bytes] = field(default_factory=list)
    source: str = "web"


def _street_at(lat: float, lon: float) -> int | None:
    """The street of the nearest community within STREET_SEARCH_M (属地 of an unlisted site)."""
    deg = STREET_SEARCH_M / 111_000
    rows = db.session.execute(
        select(Community.lat, Community.lon, Community.street_id).where(
            Community.street_id.is_not(None),
            Community.lat.between(lat - deg, lat + deg),
            Community.lon.between(lon - 2 * deg, lon + 2 * deg),
        )
    ).all()
    if not rows:
        return None
    d = distances_m(lat, lon, np.array([r[0] for r in rows]), np.array([r[1] for r in rows]))
    best = int(np.argmin(d))
    return rows[best][2] if d[best] <= STREET_SEARCH_M else None


def _check_filing(f: Filing):
    in_force = rulebook.current_rules()
    if not f.category:
        raise DomainError("missing_category", "请选择投诉举报的类别", field="category")
    if not isinstance(f.category, str) or f.category not in in_force.categories:
        raise DomainError("invalid_category", "未知的投诉举报类别", field="category")
    description = _text(f.description, "description", "问题描述", limit=MAX_DESCRIPTION)
    name = _text(f.name, "name", "姓名", required=False, limit=MAX_NAME)
    phone = _text(f.phone, "phone", "电话", required=False, limit=20)
    if phone and not PHONE_RE.match(phone):
        raise DomainError("invalid_phone", "电话号码格式不正确", field="phone")
    email = _text(f.email, "email", "电子邮箱", required=False, limit=100)
    if email and not EMAIL_RE.match(email):
        raise DomainError("invalid_email", "电子邮箱格式不正确", field="email")
    if len(f.photos) > photos.MAX_PHOTOS:
        raise DomainError("too_many_photos", "最多上传 3 张照片", field="photos")
    cleaned = [photos.clean(p, i + 1) for i, p in enumerate(f.photos)]

    nursery = None
    site_name = _text(f.site_name, "site_name", "场所名称", required=False, limit=100)
    address = _text(f.site_address, "site_address", "地址", required=False, limit=MAX_ADDRESS)
    lat, lon = f.lat, f.lon
    if f.nursery_id is not None:
        if isinstance(f.nursery_id, bool) or not isinstance(f.nursery_id, int):
            raise DomainError("invalid_nursery", "托育机构编号不正确", field="nursery_id")
        nursery = db.session.get(Nursery, f.nursery_id) if 0 < f.nursery_id < 2**31 else None
        if nursery is None or not nursery.filing_no:
            raise DomainError(
                "unknown_nursery",
                "未找到该托育机构；未登记的场所请在地图上选点并填写地址",
                field="nursery_id",
            )
        lat, lon = nursery.lat, nursery.lon
    else:
        if lat is None or lon is None:
            raise DomainError(
                "missing_site", "请选择托育机构，或在地图上标出场所位置并填写地址", field="site"
            )
        try:
            inside = in_china(lat, lon)
        except ValueError:
            inside = False
        if not inside:
            raise DomainError(
                "site_outside_china", "场所位置不在中国境内，请重新选点", field="site"
            )
        if not address:
            raise DomainError("missing_site_address", "请填写场所地址", field="site_address")
    return in_force, description, name, phone, email, cleaned, nursery, site_name, address, lat, lon


def file_complaint(f: Filing, now: datetime | None = None) -> tuple[Complaint, str]:
    """Store and route a complaint; returns it with its tracking code (shown once, never stored)."""
    now = _now(now)
    (in_force, description, name, phone, email, cleaned, nursery, site_name, address, lat, lon) = (
        _check_filing(f)
    )
    routing = route(
        f.category,
        nursery.kind if nursery else None,
        bool(nursery and nursery.kind == "public"),
        bool(nursery and nursery.inclusive),
        description,
        in_force,
    )
    due = deadlines.deadlines(now, routing.urgent)
    code = new_code()
    begin_write()
    street_id = nursery.street_id if nursery else _street_at(lat, lon)
    informed, reasons = list(routing.informed), list(routing.reasons)
    if street_id is None and "street" in informed:
        # No street answers for this site: record no one as informed rather than "镇街".
        street = in_force.departments.get("street", "street")
        informed.remove("street")
        reasons = [r for r in reasons if not r.startswith(f"{street}（street）知会")]
        reasons.append(
            f"场所所属{street}未知（机构未登记镇街，或 {STREET_SEARCH_M // 1000} 公里内"
            f"无已知社区）→ 暂无属地{street}知会"
        )
    c = Complaint(
        code_hash=_code_hash(code),
        source=f.source,
        filed_at=now,
        updated_at=now,
        category_chosen=f.category,
        category=routing.category_used,
        description=description,
        nursery_id=nursery.id if nursery else None,
        site_name=None if nursery else site_name,
        site_address=address if not nursery else nursery.address,
        lat=lat,
        lon=lon,
        street_id=street_id,
        lead_department=routing.lead,
        urgent=routing.urgent,
        status="submitted",
        accept_by=due.accept_by,
        conclude_by=due.conclude_by,
        routing_reasons=json.dumps(reasons, ensure_ascii=False),
        complainant_name=name,
        complainant_phone=phone,
        complainant_email=email,
    )
    roles = [(routing.lead, "lead")] + [(d, "co") for d in routing.co_handlers]
    roles += [(d, "informed") for d in informed]
    c.departments.extend(ComplaintDepartment(department=d, role=r) for d, r in roles)
    c.photos.extend(
        ComplaintPhoto(content_type=p.content_type, width=p.width, height=p.height, data=p.data)
        for p in cleaned
    )
    lead = in_force.departments.get(routing.lead, routing.lead)
    urgent = "（紧急）" if c.urgent else ""
    _event(c, "filed", now, True, f"投诉举报已提交，由{lead}牵头办理{urgent}")
    db.session.add(c)
    db.session.flush()
    audit.record(None, "complaint_filed", "complaint", c.id, at=now)
    db.session.commit()
    return c, code


# --- the complainant, by code -----------------------------------------------------------------


def answer_info(raw_code, answer, now: datetime | None = None) -> Complaint:
    """The complainant answers a request for more information on the tracking page."""
    now = _now(now)
    answer = _text(answer, "answer", "补充说明")
    begin_write()
    c = by_code(raw_code)
    if c.status != "awaiting_info":
        raise Conflict("not_awaiting_info", "该投诉举报目前不需要补充材料")
    c.status = "reopened" if any(e.kind == "reopened" for e in c.events) else "accepted"
    _event(c, "info_provided", now, True, answer)
    audit.record(None, "complaint_info_provided", "complaint", c.id, at=now)
    db.session.commit()
    return c


def can_rate(c: Complaint) -> bool:
    return (
        c.resolved_at is not None
        and c.status in ("resolved", "closed")
        and (c.rated_at is None or c.rated_at < c.resolved_at)
    )


def rate(raw_code, rating, now: datetime | None = None) -> Complaint:
    """满意 / 基本满意 / 不满意 after resolution; 不满意 within 30 days reopens for review."""
    now = _now(now)
    if rating not in RATINGS:
        raise DomainError("invalid_rating", "请选择 满意、基本满意 或 不满意", field="rating")
    begin_write()
    c = by_code(raw_code)
    if not can_rate(c):
        raise Conflict("cannot_rate", "该投诉举报尚未办结，或本次办理结果已评价")
    c.rating, c.rated_at = rating, now
    _event(c, "rated", now, True, f"评价：{RATINGS[rating]}")
    if rating == "dissatisfied" and now - c.resolved_at <= REOPEN_WINDOW:
        _reopen(c, now, "投诉人对办理结果不满意，案件重新进入复查", None, None)
    audit.record(None, "complaint_rated", "complaint", c.id, rating, at=now)
    db.session.commit()
    return c


def public_events(c: Complaint) -> list[ComplaintEvent]:
    return [e for e in c.events if e.public]


# --- handlers: access -------------------------------------------------------------------------


def stats_for(user: User, now: datetime | None = None) -> dict:
    """stats() for the handler's department (and street)."""
    return stats(user.department_code, now, _street_of(user))


def _street_of(user: User) -> int | None:
    row = db.session.get(HandlerStreet, user.id)
    return row.street_id if row else None


def _in_area(user: User, c: Complaint) -> bool:
    return user.department_code != "street" or (
        c.street_id is not None and c.street_id == _street_of(user)
    )


def role_of(user: User, c: Complaint) -> str | None:
    """lead | co | informed | transfer (asked to take the case over) | None."""
    if user is None or user.role != "handler" or not user.department_code:
        return None
    if not _in_area(user, c):
        return None
    role = c.role_of(user.department_code)
    if role is None and c.pending_transfer_to == user.department_code:
        role = "transfer"
    return role


def case_for(user: User, complaint_id) -> Complaint:
    """The case, when the handler's department is routed to it; anyone else gets a 404."""
    valid = isinstance(complaint_id, int) and not isinstance(complaint_id, bool)
    c = db.session.get(Complaint, complaint_id) if valid and 0 < complaint_id < 2**31 else None
    if c is None or role_of(user, c) is None:
        raise NotFound("complaint_not_found", "未找到该案件")
    return c


def _lead_case(user: User, complaint_id, action: str) -> Complaint:
    c = case_for(user, complaint_id)
    if role_of(user, c) != "lead":
        raise DomainError("not_lead", f"只有牵头部门可以{action}", status=403)
    return c


def _open(c: Complaint, action: str) -> None:
    if not c.is_open:
        raise Conflict("case_finished", f"案件已{c.status_label}，不能{action}")


def _act(user: User, c: Complaint, kind: str, now, text=None, public=False, audit_reason=None):
    _event(c, kind, now, public, text, actor=user.id, dept=user.department_code)
    audit.record(user.id, f"complaint_{kind}", "complaint", c.id, audit_reason, at=now)


# --- handlers: actions ------------------------------------------------------------------------


def accept(user: User, complaint_id, now: datetime | None = None) -> Complaint:
    """受理: the conclusion deadline now runs from acceptance."""
    now = _now(now)
    begin_write()
    c = _lead_case(user, complaint_id, "受理")
    if c.status != "submitted":
        raise Conflict("not_submitted", "案件已受理或已结束")
    if c.pending_transfer_to:
        raise Conflict("transfer_pending", "案件正在转办，待对方部门接收或退回后再受理")
    c.status, c.accepted_at = "accepted", now
    c.conclude_by = deadlines.deadlines(c.filed_at, c.urgent, accepted_at=now).conclude_by
    name = department_name(c.lead_department)
    _act(user, c, "accepted", now, f"{name}已受理，办理期限至 {c.conclude_by:%Y-%m-%d}", True)
    db.session.commit()
    return c


def request_transfer(user: User, complaint_id, to_department, reason, now=None) -> Complaint:
    """Ask another department to take the case over; it leads once that department accepts."""
    now = _now(now)
    reason = _text(reason, "reason", "转办理由")
    if to_department not in rulebook.current_rules().departments:
        raise DomainError("invalid_department", "未知的部门", field="department")
    begin_write()
    c = _lead_case(user, complaint_id, "转办")
    _open(c, "转办")
    if to_department == c.lead_department:
        raise DomainError("same_department", "不能转给本部门", field="department")
    if c.pending_transfer_to:
        raise Conflict("transfer_pending", "已有一个转办等待对方部门接收")
    if to_department == "street" and c.street_id is None:  # no street handler could take it
        raise DomainError("no_street", "该场所不属于任何已知镇街，不能转给镇街", field="department")
    c.pending_transfer_to, c.transfer_reason = to_department, reason
    text = f"申请转交{department_name(to_department)}：{reason}"
    _act(user, c, "transfer_requested", now, text, audit_reason=f"→ {to_department}: {reason}")
    db.session.commit()
    return c


def _transfer_case(user: User, complaint_id) -> Complaint:
    """The case, when a transfer to the handler's department awaits its answer."""
    c = case_for(user, complaint_id)
    if c.pending_transfer_to != user.department_code:
        raise Conflict("no_transfer", "没有转给本部门的待接收转办")
    return c


def accept_transfer(user: User, complaint_id, now=None) -> Complaint:
    """The receiving department takes the lead; the former lead stays informed."""
    now = _now(now)
    begin_write()
    c = _transfer_case(user, complaint_id)
    _open(c, "接收转办")
    old = c.lead_department
    for d in list(c.departments):
        if d.department == old:
            d.role = "informed"
        elif d.department == user.department_code:
            c.departments.remove(d)
    db.session.flush()
    c.departments.append(ComplaintDepartment(department=user.department_code, role="lead"))
    c.lead_department = user.department_code
    c.pending_transfer_to = c.transfer_reason = None
    name = department_name(user.department_code)
    _act(
        user,
        c,
        "transfer_accepted",
        now,
        f"已转交{name}牵头办理",
        True,
        f"{department_name(old)} → {name}",
    )
    db.session.commit()
    return c


def decline_transfer(user: User, complaint_id, reason, now=None) -> Complaint:
    now = _now(now)
    reason = _text(reason, "reason", "退回理由")
    begin_write()
    c = _transfer_case(user, complaint_id)
    c.pending_transfer_to = c.transfer_reason = None
    _act(user, c, "transfer_declined", now, f"转办被退回：{reason}", audit_reason=reason)
    db.session.commit()
    return c


def request_info(user: User, complaint_id, question, now=None) -> Complaint:
    now = _now(now)
    question = _text(question, "question", "需要补充的内容")
    begin_write()
    c = _lead_case(user, complaint_id, "要求补充材料")
    if c.status not in ("accepted", "reopened"):
        raise Conflict("not_in_progress", "案件受理后才能要求补充材料")
    c.status = "awaiting_info"
    _act(user, c, "info_requested", now, question, True)
    db.session.commit()
    return c


def add_note(user: User, complaint_id, text, public: bool, now=None) -> Complaint:
    """A note on the timeline; public notes (shown to the complainant) are the lead's to write."""
    now = _now(now)
    text = _text(text, "note", "备注")
    begin_write()
    c = case_for(user, complaint_id)
    if public and role_of(user, c) != "lead":
        raise DomainError("not_lead", "只有牵头部门可以发布公开说明", status=403)
    _act(user, c, "public_note" if public else "note", now, text, public)
    db.session.commit()
    return c


def extend(user: User, complaint_id, days, reason, now=None) -> Complaint:
    """Extend the conclusion deadline once, by 1–30 working days, the reason shown publicly."""
    now = _now(now)
    reason = _text(reason, "reason", "延期理由")
    begin_write()
    c = _lead_case(user, complaint_id, "延期")
    _open(c, "延期")
    if c.status == "submitted":
        raise Conflict("not_accepted", "案件受理后才能延长办理期限")
    try:
        c.conclude_by = deadlines.extend(
            c.conclude_by, days, already_extended=c.extended_days is not None
        )
    except ValueError as exc:
        message = "办理期限只能延长一次" if "once" in str(exc) else "延长天数须为 1–30 个工作日"
        raise DomainError("invalid_extension", message, field="days") from None
    c.extended_days, c.extension_reason = days, reason
    text = f"办理期限延长 {days} 个工作日，至 {c.conclude_by:%Y-%m-%d}。理由：{reason}"
    _act(user, c, "extended", now, text, True, reason)
    db.session.commit()
    return c


def resolve(user: User, complaint_id, result, now=None) -> Complaint:
    now = _now(now)
    result = _text(result, "result", "办理结果")
    begin_write()
    c = _lead_case(user, complaint_id, "办结")
    if c.status not in ("accepted", "reopened", "awaiting_info"):
        raise Conflict("not_in_progress", "案件受理后才能办结")
    c.status, c.result, c.resolved_at = "resolved", result, now
    c.pending_transfer_to = c.transfer_reason = None  # a finished case is no longer offered
    _act(user, c, "resolved", now, result, True)
    db.session.commit()
    return c


def close(user: User, complaint_id, reason, now=None) -> Complaint:
    """Close a case: after resolution, or without it (不予受理 etc.) with a public reason."""
    now = _now(now)
    reason = _text(reason, "reason", "关闭理由", required=False)
    begin_write()
    c = _lead_case(user, complaint_id, "关闭")
    if c.status in ("closed", "duplicate"):
        raise Conflict("case_finished", f"案件已{c.status_label}")
    if c.status != "resolved" and not reason:
        raise DomainError("missing_reason", "未办结的案件关闭时须说明理由", field="reason")
    c.status, c.closed_at = "closed", now
    c.pending_transfer_to = c.transfer_reason = None
    _act(user, c, "closed", now, reason or "案件已关闭", True, reason)
    db.session.commit()
    return c


def duplicate_candidates(user: User, c: Complaint, now: datetime | None = None) -> list[Complaint]:
    """Open cases about the same nursery and category from the last 30 days that this handler
    can see: what "mark as duplicate" suggests."""
    if c.nursery_id is None:
        return []
    now = _now(now)
    rows = db.session.scalars(
        select(Complaint)
        .where(
            Complaint.id != c.id,
            Complaint.nursery_id == c.nursery_id,
            Complaint.category == c.category,
            Complaint.status.in_(OPEN_STATUSES),
            Complaint.filed_at >= now - DUPLICATE_WINDOW,
        )
        .order_by(Complaint.filed_at)
    ).all()
    return [o for o in rows if role_of(user, o) is not None]


def mark_duplicate(user: User, complaint_id, original_id, now=None) -> Complaint:
    now = _now(now)
    begin_write()
    c = _lead_case(user, complaint_id, "合并")
    _open(c, "合并")
    if not isinstance(original_id, int) or not 0 < original_id < 2**31 or original_id == c.id:
        raise DomainError("invalid_original", "请选择另一件案件", field="original_id")
    original = db.session.get(Complaint, original_id)
    if original is None or role_of(user, original) is None:
        raise DomainError("invalid_original", "未找到要合并到的案件", field="original_id")
    if original.status == "duplicate":
        raise DomainError("invalid_original", "该案件本身已合并到其他案件", field="original_id")
    c.status, c.duplicate_of_id, c.closed_at = "duplicate", original.id, now
    c.pending_transfer_to = c.transfer_reason = None
    _act(user, c, "duplicate", now, "与同一机构的同类投诉举报合并办理", True, f"→ #{original.id}")
    db.session.commit()
    return c


def _reopen(c: Complaint, now, text: str, actor, dept) -> None:
    c.status = "reopened"
    c.closed_at = c.duplicate_of_id = None
    c.conclude_by = add_working_days(now, REVIEW_WORKING_DAYS)
    _event(c, "reopened", now, True, f"{text}，复查期限至 {c.conclude_by:%Y-%m-%d}", actor, dept)


def reopen(user: User, complaint_id, reason, now=None) -> Complaint:
    now = _now(now)
    reason = _text(reason, "reason", "重新办理的理由")
    begin_write()
    c = _lead_case(user, complaint_id, "重新办理")
    if c.is_open:
        raise Conflict("case_open", "案件仍在办理中")
    _reopen(c, now, f"案件重新办理：{reason}", user.id, user.department_code)
    audit.record(user.id, "complaint_reopened", "complaint", c.id, reason, at=now)
    db.session.commit()
    return c


# --- handlers: contact details ----------------------------------------------------------------


def mask_name(name: str | None) -> str:
    if not name:
        return "（匿名）"
    if len(name) == 1:
        return "*"  # "张*" would show the whole of a one-character name
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str | None) -> str:
    if not phone:
        return "—"
    digits = re.sub(r"\D", "", phone)
    return digits[:3] + "*" * max(0, len(digits) - 7) + digits[-4:] if len(digits) > 7 else "***"


def mask_email(email: str | None) -> str:
    if not email:
        return "—"
    local, _, domain = email.partition("@")
    return local[:1] + "***@" + domain


def masked_contact(c: Complaint) -> dict:
    return {
        "name": mask_name(c.complainant_name),
        "phone": mask_phone(c.complainant_phone),
        "email": mask_email(c.complainant_email),
    }


def contact_for(user: User, complaint_id, now=None) -> dict:
    """The complainant's contact details in full: a logged action of a routed handler."""
    now = _now(now)
    begin_write()
    c = case_for(user, complaint_id)
    if role_of(user, c) not in ("lead", "co"):
        raise DomainError("not_handling", "只有牵头和协办部门可以查看联系方式", status=403)
    audit.record(user.id, "complaint_contact_revealed", "complaint", c.id, at=now)
    db.session.commit()
    return {
        "name": c.complainant_name or "（匿名）",
        "phone": c.complainant_phone or "—",
        "email": c.complainant_email or "—",
    }


def photo_for(user: User, complaint_id, photo_id) -> ComplaintPhoto:
    c = case_for(user, complaint_id)
    for p in c.photos:
        if p.id == photo_id:
            return p
    raise NotFound("photo_not_found", "未找到该照片")


# --- handlers: queue and statistics -----------------------------------------------------------


@dataclass(frozen=True)
class QueueFilter:
    status: str | None = None  # a status, "open" (default) or "all"
    role: str | None = None  # lead | co | informed | transfer
    urgent: bool = False
    overdue: bool = False
    category: str | None = None
    filed_from: datetime | None = None  # filed within [filed_from, filed_to] (both inclusive)
    filed_to: datetime | None = None


def _visible(user: User):
    """Complaints the handler's department is routed to or asked to take over."""
    dept = user.department_code
    routed = select(ComplaintDepartment.complaint_id).where(ComplaintDepartment.department == dept)
    query = select(Complaint).where(
        or_(Complaint.id.in_(routed), Complaint.pending_transfer_to == dept)
    )
    if dept == "street":
        query = query.where(Complaint.street_id == _street_of(user))
    return query


def queue(
    user: User, filt: QueueFilter, now: datetime | None = None, with_events: bool = False
) -> list[tuple]:
    """(complaint, role, overdue) for the handler's department, sorted by urgency then deadline:
    urgent first, then the earliest next deadline; finished cases last, newest first.

    The cases' departments (for the role) are loaded with them, and their timelines too with
    `with_events`, in one query each rather than one per case."""
    now = _now(now)
    query = _visible(user).options(selectinload(Complaint.departments))
    if with_events:
        query = query.options(selectinload(Complaint.events))
    if filt.filed_from is not None:
        query = query.where(Complaint.filed_at >= filt.filed_from)
    if filt.filed_to is not None:
        query = query.where(Complaint.filed_at <= filt.filed_to)
    if filt.status in (None, "open"):
        query = query.where(Complaint.status.in_(OPEN_STATUSES))
    elif filt.status != "all":
        query = query.where(Complaint.status == filt.status)
    if filt.urgent:
        query = query.where(Complaint.urgent.is_(True))
    if filt.category:
        query = query.where(Complaint.category == filt.category)
    rows = []
    for c in db.session.scalars(query):
        role = role_of(user, c)
        if role is None or (filt.role and role != filt.role):  # as case_for: no role, no case
            continue
        late = c.overdue(now)
        if filt.overdue and not late:
            continue
        rows.append((c, role, late))

    def key(row):
        c = row[0]
        deadline = c.next_deadline()
        if deadline is None:
            return (1, 0, -c.updated_at.timestamp(), c.id)
        return (0, not c.urgent, deadline.timestamp(), c.id)

    rows.sort(key=key)
    return rows


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def stats(department: str, now: datetime | None = None, street_id: int | None = None) -> dict:
    """Figures for the cases a department leads: open, overdue, median hours to accept,
    median days to resolve, and the ratings. A street's figures cover its own street only."""
    now = _now(now)
    query = select(Complaint).where(Complaint.lead_department == department)
    if department == "street":
        query = query.where(Complaint.street_id == street_id)
    cases = db.session.scalars(query).all()
    ratings = {r: 0 for r in RATINGS}
    for c in cases:
        if c.rating:
            ratings[c.rating] += 1
    rated = sum(ratings.values())
    return {
        "total": len(cases),
        "open": sum(c.is_open for c in cases),
        "overdue": sum(c.overdue(now) for c in cases),
        "urgent_open": sum(c.is_open and c.urgent for c in cases),
        "median_hours_to_accept": _median(
            [(c.accepted_at - c.filed_at).total_seconds() / 3600 for c in cases if c.accepted_at]
        ),
        "median_days_to_resolve": _median(
            [(c.resolved_at - c.filed_at).total_seconds() / 86400 for c in cases if c.resolved_at]
        ),
        "ratings": ratings,
        "rated": rated,
        "satisfaction": ((ratings["satisfied"] + ratings["basically"]) / rated if rated else None),
    }
