"""The handlers' use cases on a case: accept, refuse, correct the category, transfer (and answer
a transfer), ask for information, notes, extend, resolve, close, merge, reopen, reveal the
contact details.

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

from .. import modelbook, rulebook
from ..masking import full_contact
from ..models import Complaint
from ..queries import case_for, role_of
from ..validation import clean_text
from . import training


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


def recategorise(user: User, complaint_id, category, reason, now=None) -> Complaint:
    """更正类别: the lead names the case's category (clearing 待分类) and the correction is kept
    as a label to train the classifier on. When the new category has another lead department,
    the case is offered to it (a transfer it accepts or declines); an urgent category makes the
    case urgent."""
    now = _now(now)
    reason = clean_text(reason, "reason", "更正理由")
    rules = rulebook.current_rules()
    if not isinstance(category, str) or category not in rules.categories:
        raise DomainError("invalid_category", "请选择类别", field="category")
    new = rules.categories[category]
    with use_case():
        c = _case(user, complaint_id, "recategorise")
        previous = c.recategorise(category, new.urgent, now)
        old_label = rules.categories[previous].label if previous in rules.categories else previous
        text = f"类别由 {old_label} 更正为 {new.label}：{reason}"
        _act(user, c, "recategorised", now, text, audit_reason=f"{previous} → {category}: {reason}")
        training.record_correction(c, category, previous, "recategorise", user.id, now)
        if new.lead != c.lead_department:  # (recategorise refused while a transfer waits)
            c.request_transfer(new.lead, f"类别更正为 {new.label}，应由该部门牵头")
            name = rulebook.department_name(new.lead)
            _act(user, c, "transfer_requested", now, f"申请转交{name}：类别更正为 {new.label}")
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
        _category_for_new_lead(user, c, now)
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


def _category_for_new_lead(user: User, c: Complaint, now) -> None:
    """A department that takes over a case whose category it does not lead has told us the
    category was wrong: the case takes the category this department leads that the classifier
    finds likeliest, recorded as a correction. (A department that leads no category — the
    street, emergency management — changes nothing.)"""
    rules = rulebook.current_rules()
    current = rules.categories.get(c.category)
    own = [code for code, cat in rules.categories.items() if cat.lead == c.lead_department]
    if not own or (current is not None and current.lead == c.lead_department):
        return
    probabilities = modelbook.current_model().predict(c.description).probabilities
    best = max(own, key=lambda code: probabilities.get(code, 0.0))
    previous, c.category, c.awaiting_category = c.category, best, False
    training.record_correction(c, best, previous, "transfer", user.id, now)
    c.add_event(
        "recategorised",
        now,
        False,
        f"转办接收后类别由 {current.label if current else previous} 更正为 "
        f"{rules.categories[best].label}",
        actor=user.id,
        department=user.department_code,
    )


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
    """Extend the conclusion deadline once, by 1 to the regime's maximum of its days (e.g. 30
    calendar days under 信访工作条例, 15 working days under SAMR's), the reason shown publicly."""
    now = _now(now)
    reason = clean_text(reason, "reason", "延期理由")
    with use_case():
        c = _case(user, complaint_id, "extend")
        c.extend(days, reason)
        text = f"办理期限延长 {c.regime.days(days)}，至 {c.conclude_by:%Y-%m-%d}。理由：{reason}"
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
