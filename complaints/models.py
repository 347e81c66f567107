"""Complaints (投诉举报), the departments they are routed to, their timeline and photos, and
the complaint's state machine.

The tracking code is a bearer secret: only its SHA-256 is stored, as with API tokens. The
complainant's identity (name, phone, email) lives only on the complaint row and is read in full
by `services.handling.reveal_contact` alone, which audits every read.

State machine: `Complaint.allowed_actions(role)` says what a viewer in a role (lead, co,
informed, transfer — asked to take the case over —, complainant; None: nothing) may do in the
case's state, and the transition methods (`accept`, `request_transfer`, … `rate`) perform one,
refusing with the same DomainError a service answers. Pages ask `allowed_actions`; the use cases
in `complaints/services/` check the role (`authorize`), call the transition, then write the
timeline and the audit log. Models never commit.
"""

import json
from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from errors import Conflict, DomainError
from extensions import db
from workdays import calendar

from . import deadlines
from .regimes import LEGACY, Regime
from .routing import STREET

# status → label shown to the public and handlers
STATUSES = {
    "submitted": "待受理",
    "accepted": "办理中",
    "awaiting_info": "待补充材料",
    "reopened": "复查中",
    "resolved": "已办结",
    "closed": "已关闭",
    "duplicate": "已合并办理",
    "not_accepted": "不予受理",
}
OPEN_STATUSES = ("submitted", "accepted", "awaiting_info", "reopened")
RATINGS = {"satisfied": "满意", "basically": "基本满意", "dissatisfied": "不满意"}
ROLES = {"lead": "牵头", "co": "协办", "informed": "知会"}

# Every action on a case → the words a refusal uses ("只有牵头部门可以…", "不能…").
ACTIONS = {
    "accept": "受理",
    "refuse": "不予受理",
    "recategorise": "更正类别",
    "transfer": "转办",
    "accept_transfer": "接收转办",
    "decline_transfer": "退回转办",
    "request_info": "要求补充材料",
    "note": "添加内部备注",
    "public_note": "发布公开说明",
    "extend": "延期",
    "resolve": "办结",
    "close": "关闭",
    "duplicate": "合并",
    "reopen": "重新办理",
    "reveal_contact": "查看联系方式",
    "answer": "补充材料",  # the complainant answers a request for information
    "rate": "评价",  # the complainant rates the result
}
# Who may take each action, whatever the state: the lead acts on the case; co-handlers and
# informed departments add internal notes (co-handlers may also see the contact details); a
# department asked to take the case over answers the transfer; the complainant (by code)
# answers and rates.
ROLE_ACTIONS: dict[str, frozenset[str]] = {
    "lead": frozenset(
        {
            "accept",
            "refuse",
            "recategorise",
            "transfer",
            "request_info",
            "note",
            "public_note",
            "extend",
            "resolve",
            "close",
            "duplicate",
            "reopen",
            "reveal_contact",
        }
    ),
    "co": frozenset({"note", "reveal_contact"}),
    "informed": frozenset({"note"}),
    "transfer": frozenset({"accept_transfer", "decline_transfer"}),
    "complainant": frozenset({"answer", "rate"}),
}
# Actions only the lead department may take.
LEAD_ACTIONS = ROLE_ACTIONS["lead"] - ROLE_ACTIONS["co"] - ROLE_ACTIONS["informed"]
IN_PROGRESS = ("accepted", "reopened", "awaiting_info")


def check_rating(rating) -> None:
    """Refuse (400) a rating that is not one of RATINGS."""
    if rating not in RATINGS:
        raise DomainError("invalid_rating", "请选择 满意、基本满意 或 不满意", field="rating")


class Complaint(db.Model):
    __tablename__ = "complaints"
    # The database refuses a status the service does not know (migration 0002).
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ",".join(f"'{s}'" for s in STATUSES) + ")", name="ck_complaint_status"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(16), default="web")  # web | open311
    filed_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    category_chosen: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(32))  # the one routing used
    description: Mapped[str] = mapped_column(Text)
    nursery_id: Mapped[int | None] = mapped_column(ForeignKey("nurseries.id"), index=True)
    site_name: Mapped[str | None] = mapped_column(String(100))  # an unregistered site
    site_address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)  # WGS-84
    lon: Mapped[float | None] = mapped_column(Float)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("streets.id"))
    lead_department: Mapped[str] = mapped_column(String(32), index=True)
    pending_transfer_to: Mapped[str | None] = mapped_column(String(32), index=True)
    transfer_reason: Mapped[str | None] = mapped_column(Text)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # 待分类: filed without a category and the classifier unsure; the lead's triage decides
    awaiting_category: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    status: Mapped[str] = mapped_column(String(16), default="submitted", index=True)
    accept_by: Mapped[datetime] = mapped_column(DateTime)
    conclude_by: Mapped[datetime] = mapped_column(DateTime)
    # the deadline regime (regimes.py) the case was filed under; None: filed before regimes
    deadline_regime: Mapped[str | None] = mapped_column(String(32))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    extended_days: Mapped[int | None] = mapped_column(Integer)
    extension_reason: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)  # public
    rating: Mapped[str | None] = mapped_column(String(16))
    rated_at: Mapped[datetime | None] = mapped_column(DateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"))
    routing_reasons: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of strings
    complainant_name: Mapped[str | None] = mapped_column(String(32))
    complainant_phone: Mapped[str | None] = mapped_column(String(20))
    complainant_email: Mapped[str | None] = mapped_column(String(100))

    departments: Mapped[list["ComplaintDepartment"]] = relationship(
        cascade="all, delete-orphan", order_by="ComplaintDepartment.id"
    )
    events: Mapped[list["ComplaintEvent"]] = relationship(
        cascade="all, delete-orphan", order_by="ComplaintEvent.id"
    )
    photos: Mapped[list["ComplaintPhoto"]] = relationship(
        cascade="all, delete-orphan", order_by="ComplaintPhoto.id"
    )
    nursery = relationship("Nursery")
    street = relationship("Street")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def finished(self) -> bool:
        """Closed, merged or not accepted: nothing more happens unless it is reopened."""
        return self.status in ("closed", "duplicate", "not_accepted")

    @property
    def status_label(self) -> str:
        return STATUSES[self.status]

    @property
    def anonymous(self) -> bool:
        return not (self.complainant_name or self.complainant_phone or self.complainant_email)

    def role_of(self, department: str) -> str | None:
        for d in self.departments:
            if d.department == department:
                return d.role
        return None

    def deadline_kind(self) -> str | None:
        """Which deadline runs: "accept" until accepted, then "conclude"; None once finished."""
        if self.status == "submitted":
            return "accept"
        return "conclude" if self.is_open else None

    @property
    def regime(self) -> Regime:
        """The deadline regime the case was filed under: every deadline follows it, whatever
        the rules say today (LEGACY for a case filed before regimes)."""
        if self.deadline_regime is None or self.deadline_regime == LEGACY.code:
            return LEGACY
        from . import rulebook  # imported here: rulebook reads this module's RulesVersion

        return rulebook.regime(self.deadline_regime)

    @property
    def deadlines_provisional(self) -> bool:
        """Whether an open case's deadlines (acceptance, conclusion) were counted in working days
        over a year whose holiday arrangement is not loaded (workdays.calendar): shown as 暂定,
        they move when it is (`recompute_deadlines`). Calendar days never depend on it."""
        if not self.is_open or not self.regime.working_days:
            return False
        last = max(d for d in (self.accept_by, self.conclude_by) if d is not None)
        return calendar.provisional(self.filed_at, last)

    def reopened_at(self) -> datetime | None:
        """When the case was last reopened (for review), from its timeline."""
        return max((e.at for e in self.events if e.kind == "reopened"), default=None)

    def recompute_deadlines(self) -> bool:
        """Count an open case's deadlines again on today's calendar (after a year's holiday
        arrangement was loaded), under its own regime, from the moments they run from: filing,
        acceptance, the extension, the latest reopening. An urgent case's acceptance deadline
        (calendar hours) stays. Returns whether a deadline moved."""
        if not self.is_open:
            return False
        regime, before = self.regime, (self.accept_by, self.conclude_by)
        if not self.urgent:
            self.accept_by = deadlines.accept_by(self.filed_at, False, regime)
        reopened = self.reopened_at()
        if reopened is not None:
            conclude = deadlines.review_by(reopened, regime)
            extended = any(e.kind == "extended" and e.at >= reopened for e in self.events)
        else:
            conclude = deadlines.deadlines(
                self.filed_at, self.urgent, self.accepted_at, regime
            ).conclude_by
            extended = self.extended_days is not None
        if extended and self.extended_days:
            conclude = deadlines.add(regime, conclude, self.extended_days)
        self.conclude_by = conclude
        return (self.accept_by, self.conclude_by) != before

    def next_deadline(self) -> datetime | None:
        """What the case waits for next: acceptance, then conclusion; none once finished."""
        kind = self.deadline_kind()
        if kind == "accept":
            return self.accept_by
        return self.conclude_by if kind == "conclude" else None

    def overdue(self, now: datetime) -> bool:
        deadline = self.next_deadline()
        return deadline is not None and deadline < now

    def routing_reason_texts(self) -> list[str]:
        """The routing reasons recorded at filing, as stored (a JSON list of texts)."""
        try:
            reasons = json.loads(self.routing_reasons or "[]")
        except ValueError:
            return []
        return [str(r) for r in reasons] if isinstance(reasons, list) else []

    def public_events(self) -> list["ComplaintEvent"]:
        """The timeline as the tracking page (and Open311) show it."""
        return [e for e in self.events if e.public]

    def can_rate(self) -> bool:
        """Resolved, and this resolution not rated yet (a reopened and re-resolved case can be
        rated again)."""
        return (
            self.resolved_at is not None
            and self.status in ("resolved", "closed")
            and (self.rated_at is None or self.rated_at < self.resolved_at)
        )

    # --- the state machine ----------------------------------------------------------------

    def allowed_actions(self, role: str | None) -> set[str]:
        """The actions (keys of ACTIONS) a viewer in `role` may take in the case's state:
        lead | co | informed | transfer | complainant; None (not routed) gets none."""
        return {a for a in ROLE_ACTIONS.get(role, ()) if self._refusal(a) is None}

    @staticmethod
    def authorize(role: str | None, action: str) -> None:
        """Refuse (403) an action the role may never take, whatever the state."""
        if action in ROLE_ACTIONS.get(role, ()):
            return
        if action == "reveal_contact":
            raise DomainError("not_handling", "只有牵头和协办部门可以查看联系方式", status=403)
        raise DomainError("not_lead", f"只有牵头部门可以{ACTIONS[action]}", status=403)

    def _refusal(self, action: str, department: str | None = None) -> DomainError | None:
        """Why the case's state refuses the action (None: it allows it). For a transfer's
        answer, `department` is the one answering (None: whichever it was sent to)."""
        label = ACTIONS[action]
        finished = Conflict("case_finished", f"案件已{self.status_label}，不能{label}")
        if action in ("accept", "refuse"):
            if self.status != "submitted":
                return Conflict("not_submitted", "案件已受理或已结束")
            if self.pending_transfer_to:
                return Conflict("transfer_pending", "案件正在转办，待对方部门接收或退回后再受理")
        elif action in ("transfer", "recategorise"):
            if not self.is_open:
                return finished
            if self.pending_transfer_to:
                return Conflict("transfer_pending", "已有一个转办等待对方部门接收")
        elif action in ("accept_transfer", "decline_transfer"):
            if self.pending_transfer_to is None or (
                department is not None and self.pending_transfer_to != department
            ):
                return Conflict("no_transfer", "没有转给本部门的待接收转办")
            if action == "accept_transfer" and not self.is_open:
                return finished
        elif action == "request_info":
            if self.status not in ("accepted", "reopened"):
                return Conflict("not_in_progress", "案件受理后才能要求补充材料")
        elif action == "extend":
            if not self.is_open:
                return finished
            if self.status == "submitted":
                return Conflict("not_accepted", "案件受理后才能延长办理期限")
            if self.extended_days is not None:
                return DomainError("invalid_extension", "办理期限只能延长一次", field="days")
        elif action == "resolve":
            if self.status not in IN_PROGRESS:
                return Conflict("not_in_progress", "案件受理后才能办结")
        elif action == "close":
            if self.finished:
                return Conflict("case_finished", f"案件已{self.status_label}")
        elif action == "duplicate":
            if not self.is_open:
                return finished
        elif action == "reopen":
            if self.is_open:
                return Conflict("case_open", "案件仍在办理中")
        elif action == "answer":
            if self.status != "awaiting_info":
                return Conflict("not_awaiting_info", "该投诉举报目前不需要补充材料")
        elif action == "rate":
            if not self.can_rate():
                return Conflict("cannot_rate", "该投诉举报尚未办结，或本次办理结果已评价")
        return None  # notes and revealing the contact: in any state

    def check(self, action: str, department: str | None = None) -> None:
        """Raise the state's refusal of the action, if any."""
        refusal = self._refusal(action, department)
        if refusal is not None:
            raise refusal

    def accept(self, now: datetime) -> None:
        """受理: the conclusion deadline now runs from acceptance."""
        self.check("accept")
        self.status, self.accepted_at = "accepted", now
        self.conclude_by = deadlines.deadlines(
            self.filed_at, self.urgent, accepted_at=now, regime=self.regime
        ).conclude_by

    def refuse(self, now: datetime) -> None:
        """不予受理: the matter is not this service's to handle (the caller records why and
        where to turn instead); the case ends before acceptance."""
        self.check("refuse")
        self.status, self.closed_at = "not_accepted", now
        self.pending_transfer_to = self.transfer_reason = None

    def request_transfer(self, to_department: str, reason: str) -> None:
        """Offer the case to another department; it leads once that department accepts."""
        if not self.is_open:  # a finished case refuses before its own department is named
            self.check("transfer")
        if to_department == self.lead_department:
            raise DomainError("same_department", "不能转给本部门", field="department")
        self.check("transfer")
        if to_department == STREET and self.street_id is None:  # no street handler could take it
            raise DomainError(
                "no_street", "该场所不属于任何已知镇街，不能转给镇街", field="department"
            )
        self.pending_transfer_to, self.transfer_reason = to_department, reason

    def recategorise(self, category: str, urgent: bool, now: datetime) -> str:
        """更正类别: the lead's triage names the case's category (clearing 待分类); a category
        that is urgent makes the case urgent (an unaccepted case is then due for acceptance
        within the urgent hours). Returns the previous category."""
        self.check("recategorise")
        if category == self.category and not self.awaiting_category:
            raise DomainError("same_category", "类别未改变", field="category")
        previous, self.category, self.awaiting_category = self.category, category, False
        if urgent and not self.urgent:
            self.urgent = True
            if self.status == "submitted":
                urgent_due = deadlines.deadlines(self.filed_at, True).accept_by
                self.accept_by = min(self.accept_by, max(urgent_due, now))
        return previous

    def accept_transfer(self, department: str) -> str:
        """The department the case was offered to takes the lead; the former lead stays
        informed. Returns the former lead."""
        self.check("accept_transfer", department)
        old = self.lead_department
        removed = False
        for d in list(self.departments):
            if d.department == old:
                d.role = "informed"
            elif d.department == department:
                self.departments.remove(d)
                removed = True
        if removed:  # the (complaint, department) row goes before its replacement comes
            object_session(self).flush()
        self.departments.append(ComplaintDepartment(department=department, role="lead"))
        self.lead_department = department
        self.pending_transfer_to = self.transfer_reason = None
        return old

    def decline_transfer(self, department: str) -> None:
        self.check("decline_transfer", department)
        self.pending_transfer_to = self.transfer_reason = None

    def request_info(self) -> None:
        self.check("request_info")
        self.status = "awaiting_info"

    def provide_info(self) -> None:
        """The complainant has answered: handling resumes (as a review, if reopened)."""
        self.check("answer")
        self.status = "reopened" if any(e.kind == "reopened" for e in self.events) else "accepted"

    def extend(self, days, reason: str) -> None:
        """Extend the conclusion deadline once, by 1 to the regime's maximum of its days."""
        self.check("extend")
        regime = self.regime
        try:
            self.conclude_by = deadlines.extend(self.conclude_by, days, regime=regime)
        except ValueError:
            raise DomainError(
                "invalid_extension",
                f"延长天数须为 1–{regime.days(regime.max_extension)}",
                field="days",
            ) from None
        self.extended_days, self.extension_reason = days, reason

    def resolve(self, result: str, now: datetime) -> None:
        self.check("resolve")
        self.status, self.result, self.resolved_at = "resolved", result, now
        self.pending_transfer_to = self.transfer_reason = None  # no longer offered

    def close(self, reason: str | None, now: datetime) -> None:
        """Close: after resolution, or without it (不予受理 etc.) with a reason."""
        self.check("close")
        if self.status != "resolved" and not reason:
            raise DomainError("missing_reason", "未办结的案件关闭时须说明理由", field="reason")
        self.status, self.closed_at = "closed", now
        self.pending_transfer_to = self.transfer_reason = None

    def mark_duplicate(self, original: "Complaint", now: datetime) -> None:
        """Merge into `original`, which must be another case not itself merged."""
        self.check("duplicate")
        if original.id == self.id:
            raise DomainError("invalid_original", "请选择另一件案件", field="original_id")
        if original.status == "duplicate":
            raise DomainError("invalid_original", "该案件本身已合并到其他案件", field="original_id")
        self.status, self.duplicate_of_id, self.closed_at = "duplicate", original.id, now
        self.pending_transfer_to = self.transfer_reason = None

    def reopen(self, now: datetime) -> None:
        """Back to handling as a review, with a new review deadline."""
        self.check("reopen")
        self._reopen(now)

    def _reopen(self, now: datetime) -> None:
        self.status = "reopened"
        self.closed_at = self.duplicate_of_id = None
        self.conclude_by = deadlines.review_by(now, self.regime)

    def rate(self, rating: str, now: datetime) -> bool:
        """满意 / 基本满意 / 不满意 this resolution; 不满意 within REOPEN_WINDOW of it reopens the
        case for review. Returns whether it was reopened."""
        check_rating(rating)
        self.check("rate")
        self.rating, self.rated_at = rating, now
        reopened = rating == "dissatisfied" and now - self.resolved_at <= deadlines.REOPEN_WINDOW
        if reopened:
            self._reopen(now)
        return reopened

    def add_event(
        self,
        kind: str,
        now: datetime,
        public: bool,
        text: str | None = None,
        actor: int | None = None,
        department: str | None = None,
    ) -> None:
        """One line on the timeline (public lines show on the tracking page)."""
        self.events.append(
            ComplaintEvent(
                at=now, actor_id=actor, department=department, kind=kind, public=public, text=text
            )
        )
        self.updated_at = now


class ComplaintDepartment(db.Model):
    """A department a complaint is routed to, as lead, co-handler or informed (知会)."""

    __tablename__ = "complaint_departments"
    __table_args__ = (UniqueConstraint("complaint_id", "department"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    department: Mapped[str] = mapped_column(String(32), index=True)
    role: Mapped[str] = mapped_column(String(16))  # lead | co | informed


class ComplaintEvent(db.Model):
    """One line of a case's timeline; `public` lines show on the tracking page."""

    __tablename__ = "complaint_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(DateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    department: Mapped[str | None] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(24))
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str | None] = mapped_column(Text)


class ComplaintPhoto(db.Model):
    """A photo re-encoded from its pixels only (no EXIF, no GPS), served to routed handlers."""

    __tablename__ = "complaint_photos"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    content_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class RulesVersion(db.Model):
    """A saved version of the routing rules (the JSON an admin edits); the newest applies."""

    __tablename__ = "complaint_rules_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    saved_at: Mapped[datetime] = mapped_column(DateTime)
    saved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    data: Mapped[str] = mapped_column(Text)


class ClassifierVersion(db.Model):
    """A trained text classifier (`flask complaints train`): the newest applies, the shipped
    file when there is none. `data` is the model's arrays (`classifier.Model.to_bytes`, an npz
    read without pickle); `info` its training figures (JSON)."""

    __tablename__ = "complaint_classifier_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    saved_at: Mapped[datetime] = mapped_column(DateTime)
    saved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    based_on: Mapped[int | None] = mapped_column(Integer)  # a rollback copies this version
    note: Mapped[str | None] = mapped_column(String(200))
    info: Mapped[str] = mapped_column(Text, default="{}")
    data: Mapped[bytes] = mapped_column(LargeBinary)


class CategoryCorrection(db.Model):
    """A handler's corrected category for a case (更正类别, or an accepted transfer): a label
    to train on. It keeps no text of its own — training reads the case's description (with
    contact details masked) — so the label goes when the case goes."""

    __tablename__ = "complaint_category_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    category: Mapped[str] = mapped_column(String(32))
    previous: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))  # recategorise | transfer
    corrected_at: Mapped[datetime] = mapped_column(DateTime)
    corrected_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class DeadlineReminder(db.Model):
    """A deadline reminder sent to a case's lead department: one per case, deadline, due time and
    stage (due soon, overdue), unique in the database, so `flask complaints remind` run by cron
    on several hosts at once, or twice, never sends it twice; an extended deadline is another
    due time and is reminded afresh. Holds no text of the case."""

    __tablename__ = "complaint_deadline_reminders"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(
        ForeignKey("complaints.id", ondelete="CASCADE"), index=True
    )
    deadline: Mapped[str] = mapped_column(String(16))  # accept | conclude
    due: Mapped[datetime] = mapped_column(DateTime)
    stage: Mapped[str] = mapped_column(String(8))  # soon | overdue
    sent_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (
        UniqueConstraint("complaint_id", "deadline", "due", "stage", name="uq_deadline_reminder"),
    )
