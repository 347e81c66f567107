"""Public complaint pages: the form, the tracking code, and the tracking page (投诉举报马上查).

Server-rendered, in Chinese, usable without JavaScript, anonymous allowed. The rules live in
the model and `complaints.services.filing`; these views parse the form, call a use case and
show its refusal beside the field it concerns (status 4xx, the user's input kept).

- Filing is POST-redirect-GET: the code goes into the signed session cookie and
  `/complaints/filed` shows it, so a refresh or the back button can never file the complaint
  twice, and the code never appears in a URL of the filing flow (history, logs, referrers). It
  stays in the session until the user confirms they have kept it, or the browser closes.
- Tracking pages are for whoever holds the code, who may not be the complainant: they never show
  the complainant's name, phone, email, photos or description. Every route that takes a code is
  under the shared look-up limit; their responses are `no-store` and send no referrer.
"""

from __future__ import annotations

from datetime import datetime

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from errors import DomainError, NotFound
from maps import geocoding
from maps import queries as registry_queries
from maps.coords import from_wgs84, to_wgs84
from web.forms import choices
from web.params import invalid

from .. import queries, rulebook
from ..codes import format_code, normalise_code
from ..forms.public import (
    ACCEPT_PHOTOS,
    SITE,
    AnswerForm,
    ComplaintForm,
    RatingForm,
    parse_coordinate,
)
from ..limits import file_limit, lookup_limit
from ..models import RATINGS
from ..photos import MAX_PHOTO_BYTES, MAX_PHOTOS
from ..services import filing as filing_service
from ..validation import MAX_DESCRIPTION

bp = Blueprint("complaints", __name__)

FILED_KEY = "complaint_filed_code"
MAX_QUERY = 50
RESULTS = 10
# Pages that carry a tracking code (in the URL or on the page).
PRIVATE_ENDPOINTS = {
    "complaints.track_form",
    "complaints.track",
    "complaints.answer",
    "complaints.rate",
    "complaints.filed",
    "complaints.filed_done",
}
EVENT_LABELS = {
    "filed": "提交",
    "accepted": "受理",
    "transfer_accepted": "转办",
    "info_requested": "需要补充材料",
    "info_provided": "已补充材料",
    "public_note": "办理说明",
    "extended": "延长办理期限",
    "resolved": "办结",
    "closed": "关闭",
    "not_accepted": "不予受理",
    "duplicate": "合并办理",
    "reopened": "重新办理",
    "rated": "评价",
}
# Refusals of a use case that concern the code itself: shown as the error page, not a form error.
CODE_ERRORS = {"code_malformed", "code_not_found"}


@bp.after_request
def _private(response):
    if request.endpoint in PRIVATE_ENDPOINTS:
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.errorhandler(429)
def _too_many(_exc):
    if request.endpoint == "complaints.file":
        message = "提交过于频繁，请稍后再试。同一网络地址在短时间内提交的投诉举报数量有限制。"
    else:
        message = (
            "查询过于频繁，请稍后再试。为防止查询码被猜测，同一网络地址短时间内的查询次数有限制。"
        )
    return render_template("error.html", status=429, message=message), 429


@bp.errorhandler(413)
def _too_large(_exc):
    total = current_app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
    message = f"上传的内容过大：最多 {MAX_PHOTOS} 张照片，每张不超过 5 MB，合计不超过 {total} MB。"
    return render_template("error.html", status=413, message=message), 413


# --- choosing the nursery ---------------------------------------------------------------------


def _nearby(lat: float, lon: float) -> list[dict]:
    walk = registry_queries.WalkModel.from_config(current_app.config)
    _, hits = registry_queries.search_nurseries(
        registry_queries.SearchParams(lat=lat, lon=lon, limit=RESULTS), walk
    )
    return [
        {"id": h.id, "name": h.name, "address": h.address, "distance_m": h.distance_m} for h in hits
    ]


def _near_point(values) -> tuple[float, float] | None:
    """`near_lat`/`near_lon` (WGS-84, from the browser's location), or None."""
    raw_lat, raw_lon = values.get("near_lat", ""), values.get("near_lon", "")
    if not raw_lat.strip() and not raw_lon.strip():
        return None
    try:
        lat = parse_coordinate(raw_lat, "纬度", 90)
        lon = parse_coordinate(raw_lon, "经度", 180)
    except ValueError as exc:
        raise invalid("near", str(exc)) from None
    if lat is None or lon is None:
        raise invalid("near", "位置不完整，请重新定位")
    return lat, lon


def nursery_choices(values, selected) -> dict:
    """The nurseries to offer: the one already chosen, then those matching the search (by name
    or address; else near the place of that name), or those near the browser's location."""
    q = (values.get("nursery_q") or "").strip()
    found, notice, error, near = [], None, None, None
    try:
        if len(q) > MAX_QUERY:
            raise invalid("nursery_q", f"搜索词不能超过 {MAX_QUERY} 字")
        near = _near_point(values)
        if q:
            found = queries.filed_nurseries_matching(q, RESULTS)
            if not found:
                places = geocoding.suggest(current_app.config, q, limit=1)
                if places:
                    found = _nearby(places[0]["lat"], places[0]["lon"])
                    notice = f"没有名称含“{q}”的机构，以下是“{places[0]['name']}”附近的机构"
                else:
                    notice = f"没有找到“{q}”。请换个关键词，或选择“未登记的场所”"
        elif near is not None:
            found = _nearby(*near)
            notice = "以下是您附近的已备案托育机构"
    except DomainError as exc:
        error = exc.message
    chosen = []
    if isinstance(selected, int) and 0 < selected < 2**31:
        if all(n["id"] != selected for n in found):
            chosen = queries.filed_nursery(selected)
    return {"q": q, "near": near, "options": chosen + found, "notice": notice, "error": error}


def _selected_id(raw) -> int | None:
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) < 19:
        return int(raw)
    return None


# --- filing -----------------------------------------------------------------------------------


def _complaint_form() -> ComplaintForm:
    form = ComplaintForm()
    categories = rulebook.current_rules().categories
    form.category.choices = choices((c.code, c.label) for c in categories.values())
    form.nursery_id.choices = []
    return form


def _map_data() -> dict | None:
    """The optional point-picking map: only with map tiles (a blank map helps nobody)."""
    cfg = current_app.config
    if not cfg.get("MAP_TILE_URL"):
        return None
    index = registry_queries.nursery_index()
    if len(index):
        lat, lon = float(index.lats.mean()), float(index.lons.mean())
        zoom = 13
    else:
        lat, lon, zoom = 35.0, 105.0, 4
    shown = from_wgs84(lat, lon, cfg["MAP_TILE_COORDSYS"])
    return {
        "tiles": cfg["MAP_TILE_URL"],
        "subdomains": cfg["MAP_TILE_SUBDOMAINS"],
        "attribution": cfg["MAP_TILE_ATTRIBUTION"],
        "coordsys": cfg["MAP_TILE_COORDSYS"],
        "center": [round(shown[0], 6), round(shown[1], 6)],
        "zoom": zoom,
    }


def _render_form(form: ComplaintForm, picker: dict, status: int = 200, photos_lost=False):
    categories = list(rulebook.current_rules().categories.values())
    return render_template(
        "complaints/new.html",
        form=form,
        picker=picker,
        categories=categories,
        site=SITE,
        accept_photos=ACCEPT_PHOTOS,
        max_photos=MAX_PHOTOS,
        max_description=MAX_DESCRIPTION,
        map_data=_map_data(),
        photos_lost=photos_lost,
    ), status


@bp.get("/complaints/new")
def new():
    form = _complaint_form()
    selected = _selected_id(request.args.get("nursery_id"))
    picker = nursery_choices(request.args, selected)
    if selected and any(n["id"] == selected for n in picker["options"]):
        form.nursery_id.data = str(selected)
    status = 400 if picker["error"] else 200
    return _render_form(form, picker, status)


def _photos() -> list[bytes]:
    """The uploaded files' bytes (a part without a file name is an empty file input)."""
    return [
        storage.read(MAX_PHOTO_BYTES + 1)  # one byte more than allowed is enough to refuse it
        for storage in request.files.getlist("photos")
        if storage.filename
    ]


def _text(value) -> str | None:
    """Form text as typed, with the browser's CRLF line ends counted as one character."""
    return value.replace("\r\n", "\n") if isinstance(value, str) else value


def _filing(form: ComplaintForm, photos: list[bytes]) -> filing_service.Filing:
    choice = (form.nursery_id.data or "").strip()
    common = {
        "category": form.category.data or None,
        "description": _text(form.description.data),
        "name": form.name.data,
        "phone": form.phone.data,
        "email": form.email.data,
        "photos": photos,
        "source": "web",
    }
    if choice and choice != SITE:
        nursery_id = _selected_id(choice)
        if nursery_id is None:
            raise DomainError("invalid_nursery", "托育机构编号不正确", field="nursery_id")
        return filing_service.Filing(nursery_id=nursery_id, **common)
    lat = parse_coordinate(form.lat.data, "纬度", 90)
    lon = parse_coordinate(form.lon.data, "经度", 180)
    if (lat is None) != (lon is None):
        raise DomainError("incomplete_point", "请同时填写纬度和经度", field="lat")
    if lat is not None:
        try:
            lat, lon = to_wgs84(lat, lon, form.coordsys.data)
        except ValueError:  # far outside the region the conversions are defined for
            raise DomainError(
                "site_outside_china", "场所位置不在中国境内，请重新选点", field="site"
            ) from None
    return filing_service.Filing(
        site_name=form.site_name.data,
        site_address=form.site_address.data,
        lat=lat,
        lon=lon,
        **common,
    )


def _attach(form: ComplaintForm, exc: DomainError) -> None:
    """Show a refusal beside the field it concerns, else above the form."""
    name = exc.field
    if name == "site":  # no nursery chosen, or the point is outside China
        name = "lat" if form.nursery_id.data == SITE else "nursery_id"
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors") and name != "csrf_token":
        field.errors = [*field.errors, exc.message]
    else:
        form.form_errors.append(exc.message)


@bp.post("/complaints/new")
@file_limit
def file():
    form = _complaint_form()
    photos = _photos()
    picker = nursery_choices(request.form, _selected_id(form.nursery_id.data))
    status = 400
    if form.validate_on_submit():
        try:
            _, code = filing_service.file_complaint(_filing(form, photos))
        except DomainError as exc:
            _attach(form, exc)
            status = exc.status
        else:
            session[FILED_KEY] = code
            return redirect(url_for("complaints.filed"), 303)
    return _render_form(form, picker, status, photos_lost=bool(photos))


@bp.get("/complaints/filed")
def filed():
    code = session.get(FILED_KEY)
    complaint = None
    if isinstance(code, str):
        try:
            complaint = queries.by_code(code)
        except DomainError:
            session.pop(FILED_KEY, None)
    if complaint is None:
        raise NotFound(
            "nothing_filed",
            "这里没有可显示的查询码：查询码只在提交投诉举报后显示。已保存查询码的，请到“马上查”输入查询。",
        )
    return render_template(
        "complaints/filed.html",
        c=complaint,
        code=code,
        shown_code=format_code(code),
        track_url=url_for("complaints.track", code=code, _external=True),
        lead=rulebook.department_name(complaint.lead_department),
    )


@bp.post("/complaints/filed")
def filed_done():
    """The user has kept the code: forget it in this browser."""
    session.pop(FILED_KEY, None)
    flash("查询码已从本浏览器清除。凭查询码可随时在这里查询办理进度。", "success")
    return redirect(url_for("complaints.track_form"), 303)


# --- tracking ---------------------------------------------------------------------------------


def _track_page(c, code: str, answer_form=None, rating_form=None, error=None, status=200):
    events = c.public_events()
    actions = c.allowed_actions("complainant")
    question = next((e for e in reversed(events) if e.kind == "info_requested"), None)
    return render_template(
        "complaints/track.html",
        c=c,
        code=code,
        shown_code=format_code(code),
        lead=rulebook.department_name(c.lead_department),
        category=_category_label(c.category),
        events=events,
        event_labels=EVENT_LABELS,
        department_name=rulebook.department_name,
        question=question if "answer" in actions else None,
        answer_form=answer_form or AnswerForm(formdata=None),
        rating_form=rating_form or RatingForm(formdata=None),
        can_rate="rate" in actions,
        ratings=RATINGS,
        error=error,
        now=datetime.now(),
    ), status


def _category_label(code: str) -> str:
    category = rulebook.current_rules().categories.get(code)
    return category.label if category else code


@bp.get("/track")
@lookup_limit
def track_form():
    """The code entry form; with ?code= the tracking page itself (the form re-shown when the
    code is malformed or unknown)."""
    raw = request.args.get("code")
    if raw is None:
        return render_template("complaints/track_form.html", typed="", error=None)
    try:
        if not raw.strip():
            raise DomainError("missing_code", "请输入查询码", field="code")
        code = normalise_code(raw)
        complaint = queries.by_code(code)
    except DomainError as exc:
        typed = raw[:40]
        return render_template("complaints/track_form.html", typed=typed, error=exc.message), (
            exc.status
        )
    return _track_page(complaint, code)


@bp.get("/track/<code>")
@lookup_limit
def track(code: str):
    code = normalise_code(code)
    return _track_page(queries.by_code(code), code)


def _refused(exc: DomainError, code: str, **forms):
    """A use case's refusal shown on the tracking page; errors about the code itself (malformed,
    unknown) become the error page."""
    if exc.code in CODE_ERRORS:
        raise exc
    c = queries.by_code(code)
    form = forms.get("answer_form") or forms.get("rating_form")
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, exc.message]
        return _track_page(c, code, status=exc.status, **forms)
    return _track_page(c, code, error=exc.message, status=exc.status, **forms)


@bp.post("/track/<code>/answer")
@lookup_limit
def answer(code: str):
    code = normalise_code(code)
    form = AnswerForm()
    if not form.validate_on_submit():
        return _track_page(queries.by_code(code), code, answer_form=form, status=400)
    try:
        filing_service.answer_info(code, _text(form.answer.data))
    except DomainError as exc:
        return _refused(exc, code, answer_form=form)
    flash("已提交补充说明，办理部门会继续办理。", "success")
    return redirect(url_for("complaints.track", code=code), 303)


@bp.post("/track/<code>/rate")
@lookup_limit
def rate(code: str):
    code = normalise_code(code)
    form = RatingForm()
    if not form.validate_on_submit():
        return _track_page(queries.by_code(code), code, rating_form=form, status=400)
    try:
        c = filing_service.rate(code, form.rating.data)
    except DomainError as exc:
        return _refused(exc, code, rating_form=form)
    if c.status == "reopened":
        message = (
            f"已记录您的评价：{RATINGS[c.rating]}。案件已重新进入复查，"
            f"复查期限至 {c.conclude_by:%Y-%m-%d}。"
        )
    else:
        message = f"已记录您的评价：{RATINGS[c.rating]}。感谢您的反馈。"
    flash(message, "success")
    return redirect(url_for("complaints.track", code=code), 303)
