"""Families' booking pages: children, booking a place, my bookings, inbox.

Server-rendered, in Chinese, usable without JavaScript. Every page needs a logged-in parent
(the inbox: any logged-in user); every form is CSRF-protected by Flask-WTF. Pages that show
bookings run the expiry use case first (`family.refresh`), then read.
"""

from datetime import date, datetime, timedelta

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required, logout_user

from accounts.access import parent_required
from accounts.limits import login_limit
from errors import DomainError, NotFound
from maps import queries as registry_queries
from maps.domain import CARE_TYPES, CLASS_TYPES, PRICE_UNITS
from notifications.queries import inbox as inbox_of
from web.forms import choices

from .. import queries
from ..forms import BookingForm, ChildForm, DeleteAccountForm, int_or_none
from ..parsing import MAX_ID, parse_request
from ..rules import SESSIONS, months_old
from ..services import family, privacy
from ..waitlist import Settings

bp = Blueprint("booking", __name__)

# Which form fields each care type uses; the others are ignored (no-JS browsers send them all).
FIELDS_FOR = {
    "full_day": ("end_date",),
    "half_day": ("end_date", "session"),
    "hourly": ("start_time", "end_time"),
    "temporary": ("end_date",),
}


def _settings() -> Settings:
    return Settings.from_config(current_app.config)


def _known_id(value: int, what: str) -> int:
    """A path id that can name a row (larger numbers would overflow the INTEGER column)."""
    if not 0 < value <= MAX_ID:
        raise NotFound(f"{what}_not_found", "未找到该记录")
    return value


def _attach(form, exc: DomainError) -> None:
    """Show a service's refusal beside the field it concerns, else above the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors") and exc.field != "csrf_token":
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


# --- children --------------------------------------------------------------------------------


@bp.get("/children")
@parent_required
def children():
    today = date.today()
    kids = [
        {"child": c, "age_months": months_old(c.birth_date, today)}
        for c in queries.children_of(current_user.id)
    ]
    return render_template("booking/children.html", kids=kids)


@bp.route("/children/new", methods=["GET", "POST"])
@parent_required
def new_child():
    form = ChildForm()
    status = 200
    if form.validate_on_submit():
        try:
            child = family.register_child(
                current_user.id,
                form.name.data,
                form.birth_date.data,
                form.guardian_consent.data is True,
                _settings(),
                health_notes=form.health_notes.data or None,
            )
        except DomainError as exc:
            _attach(form, exc)
            status = exc.status
        else:
            flash(f"已登记孩子：{child.name}", "success")
            return redirect(_book_url() or url_for("booking.children"))
    elif request.method == "POST":
        status = 400
    return render_template(
        "booking/child_form.html",
        form=form,
        rules_version=current_app.config["CONSENT_RULES_VERSION"],
        today=date.today().isoformat(),
    ), status


def _book_url() -> str:
    """After adding a child from a booking page, go back to that nursery's booking form."""
    nursery_id = int_or_none(request.args.get("next_nursery", ""))
    return url_for("booking.book", nursery_id=nursery_id) if nursery_id else ""


def _active_bookings_of(child_id: int) -> list[dict]:
    family.refresh(_settings())
    rows, positions = queries.parent_bookings(current_user.id)
    return [
        queries.booking_dict(b, positions.get(b.id))
        for b in rows
        if b.child_id == child_id and b.is_active
    ]


@bp.route("/children/<int:child_id>/delete", methods=["GET", "POST"])
@parent_required
def delete_child(child_id: int):
    """GET: the confirmation step, naming the bookings that will be cancelled. POST: delete."""
    _known_id(child_id, "child")
    if request.method == "POST":
        family.delete_child(current_user.id, child_id, _settings())
        flash("已删除该孩子的信息（姓名和健康备注已清除），相关预约已取消", "success")
        return redirect(url_for("booking.children"))
    child = queries.own_child(current_user.id, child_id)
    return render_template(
        "booking/child_delete.html",
        child=child,
        age_months=months_old(child.birth_date, date.today()),
        bookings=_active_bookings_of(child.id),
    )


# --- booking a place -------------------------------------------------------------------------


def _hours(opens, closes) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Whole-hour choices within opening hours: (start choices, end choices)."""
    first = opens.hour + (1 if opens.minute or opens.second else 0)
    last = closes.hour
    blank = [("", "请选择")]
    starts = [(f"{h:02d}:00", f"{h:02d}:00") for h in range(first, last)]
    ends = [(f"{h:02d}:00", f"{h:02d}:00") for h in range(first + 1, last + 1)]
    return blank + starts, blank + ends


def _care_options(details: dict, session_free: dict) -> list[dict]:
    """One entry per care type the nursery offers, with the price of each class it covers."""
    options: dict[str, dict] = {}
    for o in details["offers"]:
        entry = options.setdefault(
            o["care_type"],
            {"care_type": o["care_type"], "label": o["label"], "prices": [], "free": 0},
        )
        entry["free"] += o["free_places"] or 0
        entry["prices"].append(
            {
                "class_label": CLASS_TYPES[o["class_type"]].label if o["class_type"] else None,
                "price_yuan": o["price_yuan"],
                "unit_label": o["price_unit_label"],
                "regime_label": o["price_regime_label"],
                "rule": o["price_rule"],
                "capacity": o["capacity"],
                "free": o["free_places"],
                "sessions": [
                    {"label": SESSIONS[x], "free": session_free.get((o["class_type"], x), 0)}
                    for x in o["sessions"] or []
                ],
            }
        )
    return list(options.values())


def _booked_message(booking, position) -> str:
    what = f"{booking.nursery.name}的{CARE_TYPES[booking.care_type]}"
    if booking.status == "pending":
        deadline = f"{booking.respond_by:%m月%d日 %H:%M}" if booking.respond_by else "规定时间"
        return f"已提交{what}预约：托位已为您保留，等待机构在 {deadline} 前确认。"
    if booking.status == "confirmed":
        return f"{what}预约成功，已确认。"
    return f"{what}暂无空位，已为您加入候补，当前排第 {position} 位。有空位时会通知您。"


@bp.route("/nurseries/<int:nursery_id>/book", methods=["GET", "POST"])
@parent_required
def book(nursery_id: int):
    nursery = registry_queries.public_nursery(_known_id(nursery_id, "nursery"))
    details = registry_queries.nursery_details(nursery)
    settings = _settings()
    kids = queries.children_of(current_user.id)
    today = date.today()
    options = _care_options(details, queries.session_free(nursery))
    half_day_sessions = sorted(
        {s for o in details["offers"] if o["care_type"] == "half_day" for s in o["sessions"]},
        key=list(SESSIONS).index,
    )

    form = BookingForm()
    form.child_id.choices = choices(
        (c.id, f"{c.name}（{months_old(c.birth_date, today)} 个月）") for c in kids
    )
    form.care_type.choices = choices((o["care_type"], o["label"]) for o in options)
    form.session.choices = choices(
        [(s, SESSIONS[s]) for s in half_day_sessions] or SESSIONS.items()
    )
    starts, ends = _hours(nursery.opens_at, nursery.closes_at)
    form.start_time.choices, form.end_time.choices = choices(starts), choices(ends)
    if request.method == "GET" and len(kids) == 1:
        form.child_id.data = kids[0].id
    if request.method == "GET" and len(options) == 1:
        form.care_type.data = options[0]["care_type"]

    status = 200
    if form.validate_on_submit():
        care_type = form.care_type.data
        used = FIELDS_FOR.get(care_type, ())
        data = {
            "care_type": care_type,
            "start_date": form.start_date.data.isoformat(),
            "end_date": (
                form.end_date.data.isoformat()
                if "end_date" in used and form.end_date.data
                else None
            ),
            "session": form.session.data if "session" in used else None,
            "start_time": form.start_time.data if "start_time" in used else None,
            "end_time": form.end_time.data if "end_time" in used else None,
        }
        try:
            booking, position = family.book(
                current_user.id,
                form.child_id.data,
                nursery.id,
                parse_request(data),
                form.share_consent.data is True,
                settings,
            )
        except DomainError as exc:
            _attach(form, exc)
            status = exc.status
        else:
            flash(_booked_message(booking, position), "success")
            return redirect(url_for("booking.bookings") + f"#booking-{booking.id}")
    elif request.method == "POST":
        status = 400
    return render_template(
        "booking/book.html",
        form=form,
        n=details,
        kids=kids,
        options=options,
        subsidies=queries.subsidies() if details["inclusive"] else [],
        min_date=today.isoformat(),
        max_date=(today + timedelta(days=settings.horizon_days)).isoformat(),
        settings=settings,
    ), status


# --- my bookings -----------------------------------------------------------------------------


def _bookings_page(error: str | None = None, status: int = 200):
    family.refresh(_settings())
    now = datetime.now()
    rows, positions = queries.parent_bookings(current_user.id)
    items = []
    for b in rows:
        d = queries.booking_dict(b, positions.get(b.id))
        d["child_name"] = b.child.name if b.child and b.child.name else "（孩子信息已删除）"
        d["unit_label"] = PRICE_UNITS.get(d["price_unit"], d["price_unit"] or "")
        d["offer_expires_at"] = b.offer_expires_at
        d["respond_by"] = b.respond_by
        d["holds_place"] = b.holds_place
        d["can_cancel"] = b.can_cancel(current_user)
        d["can_accept"] = b.can_accept(current_user, now)
        items.append(d)
    return render_template("booking/bookings.html", bookings=items, error=error), status


@bp.get("/bookings")
@parent_required
def bookings():
    return _bookings_page()


@bp.post("/bookings/<int:booking_id>/cancel")
@parent_required
def cancel(booking_id: int):
    try:
        booking = family.cancel(current_user.id, _known_id(booking_id, "booking"), _settings())
    except DomainError as exc:
        return _bookings_page(exc.message, exc.status)
    flash(f"已取消{booking.nursery.name}的{CARE_TYPES[booking.care_type]}预约", "success")
    return redirect(url_for("booking.bookings") + f"#booking-{booking.id}")


@bp.post("/bookings/<int:booking_id>/accept")
@parent_required
def accept(booking_id: int):
    try:
        booking = family.accept(current_user.id, _known_id(booking_id, "booking"), _settings())
    except DomainError as exc:
        return _bookings_page(exc.message, exc.status)
    what = f"{booking.nursery.name}的{CARE_TYPES[booking.care_type]}"
    if booking.status == "pending":
        flash(f"已接受{what}递补名额，托位已为您保留，等待机构确认", "success")
    else:
        flash(f"已接受{what}递补名额，预约已确认", "success")
    return redirect(url_for("booking.bookings") + f"#booking-{booking.id}")


# --- my data: export and account deletion (DESIGN §3.8) ----------------------------------


def _account_page(form, status: int = 200):
    family.refresh(_settings())
    rows, positions = queries.parent_bookings(current_user.id)
    active = [queries.booking_dict(b, positions.get(b.id)) for b in rows if b.is_active]
    return render_template(
        "booking/account.html",
        form=form,
        children=queries.children_of(current_user.id),
        active=active,
        retention_days=current_app.config["CHILD_DATA_RETENTION_DAYS"],
    ), status


@bp.get("/account")
@parent_required
def account():
    """My data: what is kept, the export link and the deletion form."""
    return _account_page(DeleteAccountForm(formdata=None))


@bp.get("/account/export.json")
@parent_required
def export_account():
    """Everything the service holds about this parent and their children (audited)."""
    response = jsonify(privacy.export_family_data(current_user.id))
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/account/delete")
@login_limit  # the password is checked here too: no guessing it faster
@parent_required
def delete_account():
    """注销账号, confirmed with the password; one transaction, then logged out."""
    form = DeleteAccountForm()
    if not form.validate_on_submit():
        return _account_page(form, 400)
    try:
        privacy.delete_account(current_user.id, form.password.data, _settings())
    except DomainError as exc:
        _attach(form, exc)
        return _account_page(form, exc.status)
    logout_user()
    flash(
        "账号已注销：孩子的姓名和健康备注已删除，进行中的预约已取消，该账号无法再登录。",
        "success",
    )
    return redirect(url_for("maps.index"))


# --- inbox -----------------------------------------------------------------------------------


@bp.get("/inbox")
@login_required
def inbox():
    """Any logged-in user's messages, newest first (the nav links it for parents and staff)."""
    return render_template("booking/inbox.html", notes=inbox_of(current_user.id, limit=100))
