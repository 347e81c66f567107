"""The handlers' use cases on a case: accept, transfer (and answer a transfer), ask for
information, notes, extend, resolve, close, merge, reopen, reveal the contact details.

Each finds the case as the handler may see it (`queries.case_for`: a 404 otherwise), checks
their role may take the action (`Complaint.authorize`), performs the transition on the model
(which refuses in the wrong state) and writes the timeline and the audit log, in one use case.
"""

from __future__ import annotations

from datetime import datetime

import audit
from accounts.models import User
from database import use_case
from errors import DomainError
from extensions import db

from .. import rulebook
from ..masking import full_contact
from ..models import Complaint
from ..queries import case_for, role_of
from ..validation import clean_text


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now()).replace(microsecond=0)


def _case(user: User, complaint_id, action: str) -> Complaint:
    """The case, when this handler's role in it may take the action (404 / 403 otherwise)."""
    c = case_for(user, complaint_id)
    Complaint.authorize(role_of(user, c), action)
    return c


def _act(user: User, c: Complaint, kind: str, now, text=None, public=False, audit_reason=None):
    c.add_event(kind, now, public, text, actor=user.id, department=user.department_code)
    audit.record(user.id, f"complaint_{kind}", "complaint", c.id, audit_reason, at=now)


def accept(user: User, complaint_id, now: datetime | None = None) -> Complaint:
    """受理: the conclusion deadline now runs from acceptance."""
    now = _now(now)
    with use_case():
        c = _case(user, complaint_id, "accept")
        c.accept(now)
        name = rulebook.department_name(c.lead_department)
        _act(user, c, "accepted", now, f"{name}已受理，办理期限至 {c.conclude_by:%Y-%m-%d}", True)
    return c


def refuse(user: User, complaint_id, reason, referral, now=None) -> Complaint:
    """不予受理, with the reason and the body the complainant may turn to instead (e.g. 人民法院,
    劳动人事争议仲裁委员会, 消费者协会), both shown on the tracking page and in Open311."""
    now = _now(now)
    reason = clean_text(reason, "reason", "不予受理的理由")
    referral = clean_text(referral, "referral", "可以反映的机关或途径")
    with use_case():
        c = _case(user, complaint_id, "refuse")
        c.refuse(now)
        name = rulebook.department_name(c.lead_department)
        text = f"{name}不予受理：{reason}。您可以向{referral}反映。"
        _act(user, c, "not_accepted", now, text, True, f"{reason} → {referral}")
    return c


def request_transfer(user: User, complaint_id, to_department, reason, now=None) -> Complaint:
    """Ask another department to take the case over; it leads once that department accepts."""
    now = _now(now)
    reason = clean_text(reason, "reason", "转办理由")
    if to_department not in rulebook.current_rules().departments:
        raise DomainError("invalid_department", "未知的部门", field="department")
    with use_case():
        c = _case(user, complaint_id, "transfer")
        c.request_transfer(to_department, reason)
        text = f"申请转交{rulebook.department_name(to_department)}：{reason}"
        _act(user, c, "transfer_requested", now, text, audit_reason=f"→ {to_department}: {reason}")
    return c


def accept_transfer(user: User, complaint_id, now=None) -> Complaint:
    """The receiving department takes the lead; the former lead stays informed."""
    now = _now(now)
    with use_case():
        c = case_for(user, complaint_id)
        old = c.accept_transfer(user.department_code)
        name = rulebook.department_name(user.department_code)
        _act(
            user,
            c,
            "transfer_accepted",
            now,
            f"已转交{name}牵头办理",
            True,
            f"{rulebook.department_name(old)} → {name}",
        )
    return c


def decline_transfer(user: User, complaint_id, reason, now=None) -> Complaint:
    now = _now(now)
    reason = clean_text(reason, "reason", "退回理由")
    with use_case():
        c = case_for(user, complaint_id)
        c.decline_transfer(user.department_code)
        _act(user, c, "transfer_declined", now, f"转办被退回：{reason}", audit_reason=reason)
    return c


def request_info(user: User, complaint_id, question, now=None) -> Complaint:
    now = _now(now)
    question = clean_text(question, "question", "需要补充的内容")
    with use_case():
        c = _case(user, complaint_id, "request_info")
        c.request_info()
        _act(user, c, "info_requested", now, question, True)
    return c


def add_note(user: User, complaint_id, text, public: bool, now=None) -> Complaint:
    """A note on the timeline; public notes (shown to the complainant) are the lead's to write."""
    now = _now(now)
    text = clean_text(text, "note", "备注")
    with use_case():
        c = case_for(user, complaint_id)
        if public:
            Complaint.authorize(role_of(user, c), "public_note")
        _act(user, c, "public_note" if public else "note", now, text, public)
    return c


def extend(user: User, complaint_id, days, reason, now=None) -> Complaint:
    """Extend the conclusion deadline once, by 1–30 working days, the reason shown publicly."""
    now = _now(now)
    reason = clean_text(reason, "reason", "延期理由")
    with use_case():
        c = _case(user, complaint_id, "extend")
        c.extend(days, reason)
        text = f"办理期限延长 {days} 个工作日，至 {c.conclude_by:%Y-%m-%d}。理由：{reason}"
        _act(user, c, "extended", now, text, True, reason)
    return c


def resolve(user: User, complaint_id, result, now=None) -> Complaint:
    now = _now(now)
    result = clean_text(result, "result", "办理结果")
    with use_case():
        c = _case(user, complaint_id, "resolve")
        c.resolve(result, now)
        _act(user, c, "resolved", now, result, True)
    return c


def close(user: User, complaint_id, reason, now=None) -> Complaint:
    """Close a case: after resolution, or without it (不予受理 etc.) with a public reason."""
    now = _now(now)
    reason = clean_text(reason, "reason", "关闭理由", required=False)
    with use_case():
        c = _case(user, complaint_id, "close")
        c.close(reason, now)
        _act(user, c, "closed", now, reason or "案件已关闭", True, reason)
    return c


def mark_duplicate(user: User, complaint_id, original_id, now=None) -> Complaint:
    now = _now(now)
    with use_case():
        c = _case(user, complaint_id, "duplicate")
        c.check("duplicate")
        if not isinstance(original_id, int) or not 0 < original_id < 2**31 or original_id == c.id:
            raise DomainError("invalid_original", "请选择另一件案件", field="original_id")
        original = db.session.get(Complaint, original_id)
        if original is None or role_of(user, original) is None:
            raise DomainError("invalid_original", "未找到要合并到的案件", field="original_id")
        c.mark_duplicate(original, now)
        text = "与同一机构的同类投诉举报合并办理"
        _act(user, c, "duplicate", now, text, True, f"→ #{original.id}")
    return c


def reopen(user: User, complaint_id, reason, now=None) -> Complaint:
    now = _now(now)
    reason = clean_text(reason, "reason", "重新办理的理由")
    with use_case():
        c = _case(user, complaint_id, "reopen")
        c.reopen(now)
        text = f"案件重新办理：{reason}，复查期限至 {c.conclude_by:%Y-%m-%d}"
        c.add_event("reopened", now, True, text, user.id, user.department_code)
        audit.record(user.id, "complaint_reopened", "complaint", c.id, reason, at=now)
    return c


def reveal_contact(user: User, complaint_id, now=None) -> dict:
    """The complainant's contact details in full: a logged action of the lead or a co-handler."""
    now = _now(now)
    with use_case():
        c = _case(user, complaint_id, "reveal_contact")
        audit.record(user.id, "complaint_contact_revealed", "complaint", c.id, at=now)
        contact = full_contact(c)
    return contact
