"""The nursery staff portal: bookings to confirm, waitlists, classes, offers, occupancy.

Only nursery staff may enter, and only ever see their own nursery (current_user.nursery_id): a
booking or class of another nursery does not exist for them (404). Every change goes through a
use case of `booking.services.staff`; these views parse forms, call it and render (a refused
use case has already rolled itself back). Pages that show bookings run the expiry use case first
(`family.refresh`), then read.
"""

import logging
from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from accounts.access import restrict
from errors import DomainError
from extensions import db
from maps import queries as registry_queries
from maps.domain import (
    CARE_TYPES,
    CLASS_TYPES,
    NURSERY_KINDS,
    PRICE_UNITS,
    children_per_carer,
    max_children,
)
from maps.models import Nursery, NurseryClass, Offer, price_rules
from maps.pricing import ordered
from maps.standards import class_places, class_specs

from .. import capacity, queries
from .. import slots as slot_keys
from ..forms import (
    SESSION_CHOICES,
    ActionForm,
    ClassForm,
    DeclineForm,
    HoursForm,
    MoveToFrontForm,
    OfferForm,
    int_or_none,
)
from ..models import Booking
from ..rules import SESSIONS, STATUS_LABELS
from ..services import family, staff
from ..waitlist import Settings

bp = Blueprint("portal", __name__, url_prefix="/portal")
log = logging.getLogger(__name__)

# The bookings list: what needs the nursery first.
STATUS_ORDER = ("pending", "offered", "waitlisted", "confirmed", "declined", "cancelled", "expired")
DUE_SOON = timedelta(days=1)
LIST_LIMIT = 200


# The pages show children's data shared with this nursery.
restrict(bp, "nursery_staff", bound=lambda user: user.nursery_id is not None)


def _settings() -> Settings:
    return Settings.from_config(current_app.config)


def _nursery() -> Nursery:
    nursery = db.session.get(Nursery, current_user.nursery_id)
    if nursery is None:
        abort(404)
    return nursery


def _field_error(form, exc: DomainError) -> str | None:
    """Put a service's refusal next to the field it names; else return it for the page."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None:
        return exc.message
    field.errors = [*field.errors, exc.message]
    return None


def _form_errors(form) -> list[str]:
    return [m for messages in form.errors.values() for m in messages]


def _due(deadline: datetime | None, now: datetime) -> str | None:
    if deadline is None:
        return None
    if deadline <= now:
        return "overdue"
    return "soon" if deadline - now <= DUE_SOON else None


# --- dashboard -----------------------------------------------------------------------------


@bp.get("")
@bp.get("/")
def dashboard():
    nursery = _nursery()
    today, now = date.today(), datetime.now()
    family.refresh(_settings())
    occupancy = queries.occupancy(nursery.id, today)
    pending, _ = queries.nursery_bookings(nursery.id, ["pending"])
    pending.sort(key=lambda b: b.respond_by or datetime.max)
    counts = queries.status_counts(nursery.id)
    return render_template(
        "portal/dashboard.html",
        nursery=nursery,
        kind_label=NURSERY_KINDS.get(nursery.kind, nursery.kind),
        occupancy=occupancy,
        pending=[
            {
                "id": b.id,
                "care_type": CARE_TYPES[b.care_type],
                "when": queries.booking_dict(b, None)["when"],
                "respond_by": b.respond_by,
                "respond_by_provisional": b.respond_by_provisional,
                "due": _due(b.respond_by, now),
            }
            for b in pending
        ],
        counts=counts,
        labels=STATUS_LABELS,
        breaches=registry_queries.nursery_breaches(nursery),
        active="dashboard",
    )


# --- bookings: confirm or decline ------------------------------------------------------------


def _status_filter() -> str | None:
    status = request.args.get("status") or None
    if status is not None and status not in STATUS_LABELS:
        abort(400)
    return status


def _sort_key(b: Booking):
    rank = STATUS_ORDER.index(b.status)
    if b.status == "pending":
        return rank, (b.respond_by or datetime.max).timestamp()
    if b.status == "offered":
        return rank, (b.offer_expires_at or datetime.max).timestamp()
    if b.status == "waitlisted":
        return rank, 0  # a stable sort keeps the queue order of nursery_bookings
    return rank, -b.id


def _bookings_page(code: int = 200, failed: dict | None = None):
    """The bookings list; `failed` = {"id", "message", "reason"} of an action that was refused."""
    nursery = _nursery()
    status = _status_filter()
    family.refresh(_settings())
    today, now = date.today(), datetime.now()
    rows, positions = queries.nursery_bookings(nursery.id)
    counts = {s: 0 for s in STATUS_ORDER}
    for b in rows:
        counts[b.status] += 1
    shown = sorted((b for b in rows if status in (None, b.status)), key=_sort_key)
    total = len(shown)
    items = []
    for b in shown[:LIST_LIMIT]:
        data = queries.staff_booking_dict(b, positions.get(b.id), today)
        data["respond_by_at"] = b.respond_by
        data["offer_expires_at_dt"] = b.offer_expires_at
        data["due"] = _due(b.respond_by, now) if b.status == "pending" else None
        data["can_confirm"] = b.can_confirm(current_user)
        data["can_decline"] = b.can_decline(current_user)
        items.append(data)
    # Staff saw these children's health notes: logged in the audit log, once per child and view.
    staff.record_health_notes_viewed(
        current_user.id,
        nursery.id,
        [i["child_id"] for i in items if i["child"]["health_notes"]],
        "portal.bookings",
    )
    # Who looked at which nursery's children's data (ids and counts only, never the data).
    log.info(
        "portal bookings viewed: user=%s nursery=%s records=%d",
        current_user.id,
        nursery.id,
        len(items),
    )
    failed_shown = failed is not None and any(i["id"] == failed["id"] for i in items)
    return (
        render_template(
            "portal/bookings.html",
            nursery=nursery,
            items=items,
            total=total,
            limit=LIST_LIMIT,
            status=status,
            counts=counts,
            all_count=len(rows),
            order=STATUS_ORDER,
            labels=STATUS_LABELS,
            units=PRICE_UNITS,
            failed=failed,
            failed_shown=failed_shown,
            active="bookings",
        ),
        code,
    )


def _back_to_bookings():
    status = request.args.get("status")
    if status not in STATUS_LABELS:
        status = None
    return redirect(url_for("portal.bookings", status=status), 303)


@bp.get("/bookings")
def bookings():
    return _bookings_page()


@bp.post("/bookings/<int:booking_id>/confirm")
def confirm(booking_id: int):
    queries.staff_booking(current_user.nursery_id, booking_id)  # another nursery's: 404
    form = ActionForm()
    if not form.validate_on_submit():
        return _bookings_page(400, {"id": booking_id, "message": "；".join(_form_errors(form))})
    try:
        staff.confirm(current_user.id, current_user.nursery_id, booking_id, _settings())
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _bookings_page(exc.status, {"id": booking_id, "message": exc.message})
    flash(f"已确认预约（编号 {booking_id}），已通知家长。", "success")
    return _back_to_bookings()


@bp.post("/bookings/<int:booking_id>/decline")
def decline(booking_id: int):
    queries.staff_booking(current_user.nursery_id, booking_id)
    form = DeclineForm()
    failed = {"id": booking_id, "reason": form.reason.data or ""}
    if not form.validate_on_submit():
        return _bookings_page(400, {**failed, "message": "；".join(_form_errors(form))})
    try:
        staff.decline(
            current_user.id, current_user.nursery_id, booking_id, form.reason.data, _settings()
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _bookings_page(exc.status, {**failed, "message": exc.message})
    flash(f"已婉拒预约（编号 {booking_id}），原因已告知家长。", "success")
    return _back_to_bookings()


# --- waitlist --------------------------------------------------------------------------------


def _slot_label(offer: Offer, slot: str) -> str:
    care = CARE_TYPES[offer.care_type]
    cls = f" · {CLASS_TYPES[offer.class_type].label}" if offer.class_type else ""
    parsed = slot_keys.parse(slot)
    if parsed.kind == "enrol":
        text = care
    elif parsed.kind == "session":
        text = f"{care} {SESSIONS[parsed.session]}"
    elif parsed.kind == "hour":
        text = f"{care} {parsed.day.isoformat()} {parsed.hour:02d}:00–{parsed.hour + 1:02d}:00"
    else:  # temporary: a date
        text = f"{care} {parsed.day.isoformat()}"
    return text + cls


def _queues(rows: list[Booking], positions: dict[int, int]) -> list[dict]:
    """One queue per offer and slot, in waitlist order; places held for offered families first."""
    order = list(CARE_TYPES)
    queues: dict[tuple[int, str], dict] = {}
    for b in rows:  # rows come in queue order (priority, then time joined)
        for slot in b.slot_keys():
            q = queues.setdefault(
                (b.offer_id, slot),
                {
                    "key": f"{b.offer_id}-{slot}",
                    "offer": b.offer,
                    "slot": slot,
                    "label": _slot_label(b.offer, slot),
                    "offered": [],
                    "waiting": [],
                },
            )
            (q["offered"] if b.status == "offered" else q["waiting"]).append(b)
    result = sorted(
        queues.values(),
        key=lambda q: (
            order.index(q["offer"].care_type),
            q["offer"].class_type or "",
            q["slot"],
        ),
    )
    return [q for q in result if q["waiting"] or q["offered"]]


def _waitlist_page(code: int = 200, failed: dict | None = None, failed_form=None):
    nursery = _nursery()
    family.refresh(_settings())
    today = date.today()
    rows, positions = queries.nursery_bookings(nursery.id, ["waitlisted", "offered"])
    queues = _queues(rows, positions)
    children = {
        b.id: queries.staff_booking_dict(b, positions.get(b.id), today)["child"] for b in rows
    }
    employer = nursery.kind == "employer"
    blank = MoveToFrontForm(formdata=None, employer=employer)
    log.info(
        "portal waitlist viewed: user=%s nursery=%s records=%d",
        current_user.id,
        nursery.id,
        len(rows),
    )
    return (
        render_template(
            "portal/waitlist.html",
            nursery=nursery,
            queues=queues,
            positions=positions,
            children=children,
            reasons=queries.move_reasons([b.id for b in rows]),
            reason_choices=[(c.value, c.label) for c in blank.reason_kind.choices],
            employer=employer,
            failed=failed,
            failed_form=failed_form,
            failed_shown=failed is not None and any(b.id == failed["id"] for b in rows),
            waiting_count=sum(1 for b in rows if b.status == "waitlisted"),
            active="waitlist",
        ),
        code,
    )


@bp.get("/waitlist")
def waitlist():
    return _waitlist_page()


@bp.post("/bookings/<int:booking_id>/move-to-front")
def move_to_front(booking_id: int):
    queries.staff_booking(current_user.nursery_id, booking_id)
    nursery = _nursery()
    form = MoveToFrontForm(employer=nursery.kind == "employer")
    if not form.validate_on_submit():
        message = "；".join(_form_errors(form))
        return _waitlist_page(400, {"id": booking_id, "message": message}, form)
    try:
        staff.move_to_front(
            current_user.id, current_user.nursery_id, booking_id, form.reason_text(), _settings()
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _waitlist_page(exc.status, {"id": booking_id, "message": exc.message}, form)
    flash(f"已将预约（编号 {booking_id}）调到候补首位，理由已记录。", "success")
    return redirect(url_for("portal.waitlist"), 303)


# --- classes ---------------------------------------------------------------------------------


def _own_row(model, nursery: Nursery, raw):
    """The nursery's class or offer named by a submitted id (None: nothing named); anything
    else — another nursery's row, an id no INTEGER column holds, not an id — is a 404."""
    if raw in (None, ""):
        return None
    row_id = int_or_none(raw)
    row = db.session.get(model, row_id) if row_id is not None else None
    if row is None or row.nursery_id != nursery.id:
        abort(404)
    return row


@bp.route("/classes", methods=["GET", "POST"])
def classes():
    nursery = _nursery()
    code, page_error = 200, None
    if request.method == "POST":
        form = ClassForm()
        editing = _own_row(NurseryClass, nursery, form.class_id.data)
        if form.validate_on_submit():
            try:
                cls = staff.save_class(
                    current_user.id,
                    nursery.id,
                    form.class_type.data,
                    form.name.data,
                    form.carers.data,
                    form.capacity.data,
                    class_id=editing.id if editing else None,
                )
            except DomainError as exc:
                if exc.status == 404:
                    raise
                code, page_error = exc.status, _field_error(form, exc)
            else:
                flash(f"已保存班级“{cls.name}”：{cls.capacity} 个托位。", "success")
                return redirect(url_for("portal.classes"), 303)
        else:
            code = 400
        nursery = _nursery()  # reloaded: the refused use case rolled back
    else:
        editing = _own_row(NurseryClass, nursery, request.args.get("edit"))
        form = ClassForm(formdata=None, obj=editing)
        form.class_id.data = str(editing.id) if editing else ""
    return _classes_page(nursery, form, editing, page_error, code)


def _classes_page(nursery: Nursery, form, editing, page_error, code: int):
    rows = [queries.class_dict(c, nursery.kind) for c in nursery.classes]
    # Per class type: its places and what the care types offer in it (present at once).
    places = class_places(nursery.kind, class_specs(nursery.classes))
    shares = [
        {
            "label": CLASS_TYPES[t].label,
            "places": n,
            "offers": [
                (CARE_TYPES[o.care_type], o.capacity)
                for o in nursery.offers
                if o.class_type == t and o.capacity
            ],
        }
        for t, n in places.items()
    ]
    for share in shares:
        share["offered"] = sum(n for _, n in share["offers"])
    return (
        render_template(
            "portal/classes.html",
            nursery=nursery,
            rows=rows,
            shares=shares,
            form=form,
            editing=editing,
            page_error=page_error,
            standards=CLASS_TYPES,
            ratios={k: children_per_carer(nursery.kind, k) for k in CLASS_TYPES},
            most={k: max_children(nursery.kind, k) for k in CLASS_TYPES},
            delete_form=ActionForm(),
            active="classes",
        ),
        code,
    )


@bp.post("/classes/<int:class_id>/delete")
def delete_class(class_id: int):
    nursery = _nursery()
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    row = _own_row(NurseryClass, nursery, str(class_id))
    try:
        staff.delete_class(current_user.id, nursery.id, row.id)
    except DomainError as exc:
        if exc.status == 404:
            raise
        blank = ClassForm(formdata=None)
        return _classes_page(_nursery(), blank, None, exc.message, exc.status)
    flash(f"已删除班级“{row.name}”。", "success")
    return redirect(url_for("portal.classes"), 303)


# --- offers, prices and opening hours --------------------------------------------------------


def _offer_form_from(offer: Offer | None) -> OfferForm:
    form = OfferForm(formdata=None)
    if offer is not None:
        form.care_type.data = offer.care_type
        form.class_type.data = offer.class_type or ""
        form.capacity.data = offer.capacity
        form.price_yuan.data = "" if offer.price_yuan is None else f"{offer.price_yuan:f}"
        form.price_unit.data = offer.price_unit
        form.sessions.data = offer.sessions or "am,pm"
    return form


def _save_offer(nursery: Nursery, form: OfferForm):
    """Returns (status code, page error); 303 when saved."""
    if not form.validate_on_submit():
        return 400, None
    care_type = form.care_type.data
    try:
        staff.set_offer(
            current_user.id,
            nursery.id,
            care_type,
            form.capacity.data,
            form.price_yuan.data.strip(),
            _settings(),
            class_type=form.class_type.data or None,
            price_unit=form.price_unit.data or None,
            sessions=form.sessions.data if care_type == "half_day" else None,
        )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return exc.status, _field_error(form, exc)
    flash(f"已保存{CARE_TYPES[care_type]}：{form.capacity.data} 个托位。", "success")
    return 303, None


def _save_hours(nursery: Nursery, form: HoursForm):
    if not form.validate_on_submit():
        return 400, None
    try:
        staff.set_hours(current_user.id, nursery.id, form.opens_at.data, form.closes_at.data)
    except DomainError as exc:
        return exc.status, _field_error(form, exc)
    flash(f"开放时间已改为 {form.opens_at.data:%H:%M}–{form.closes_at.data:%H:%M}。", "success")
    return 303, None


@bp.route("/offers", methods=["GET", "POST"])
def offers():
    nursery = _nursery()
    code, page_error = 200, None
    offer_form = hours_form = None
    if request.method == "POST":
        if request.form.get("action") == "hours":
            hours_form = HoursForm()
            code, page_error = _save_hours(nursery, hours_form)
        else:
            offer_form = OfferForm()
            code, page_error = _save_offer(nursery, offer_form)
        if code == 303:
            return redirect(url_for("portal.offers"), 303)
        nursery = _nursery()
    editing = (
        _own_row(Offer, nursery, request.args.get("offer")) if request.method == "GET" else None
    )
    if offer_form is None:
        offer_form = _offer_form_from(editing)
    if hours_form is None:
        hours_form = HoursForm(formdata=None)
        hours_form.opens_at.data, hours_form.closes_at.data = nursery.opens_at, nursery.closes_at
    sessions = SESSION_CHOICES
    rules = price_rules()
    regime = registry_queries.price_regime(nursery.kind, nursery.inclusive)
    rows = [
        {
            "id": o.id,
            "care_type": o.care_type,
            "label": CARE_TYPES[o.care_type],
            "class_label": CLASS_TYPES[o.class_type].label
            if o.class_type
            else "未指明班级（不能预约）",
            "price": o.price_yuan,
            "unit": PRICE_UNITS.get(o.price_unit, o.price_unit),
            "capacity": o.capacity,
            "held": capacity.most_taken(o.id, date.today()),
            "sessions": sessions.get(o.sessions or "am,pm") if o.care_type == "half_day" else "",
            "rule": registry_queries.offer_price_rule(rules, nursery.kind, nursery.inclusive, o),
        }
        for o in sorted(
            nursery.offers, key=lambda o: (list(CARE_TYPES).index(o.care_type), o.class_type or "")
        )
    ]
    return (
        render_template(
            "portal/offers.html",
            nursery=nursery,
            rows=rows,
            form=offer_form,
            hours_form=hours_form,
            editing=editing,
            page_error=page_error,
            care_labels=CARE_TYPES,
            class_total=sum(c.capacity for c in nursery.classes),
            regime=regime,
            regime_rules=[
                {
                    "care_label": CARE_TYPES[r.care_type],
                    "class_label": CLASS_TYPES[r.class_type].label if r.class_type else "其他班级",
                    "text": r.describe(),
                    "source": r.source,
                }
                for r in ordered(rules)
                if r.regime == regime["price_regime"]
            ],
            active="offers",
        ),
        code,
    )
