"""Public pages: nursery search with list and map, nursery details, "check my home"; and the
admin's page of the district's price rules (政府指导价 and 普惠限价: list, import, export)."""

from pathlib import Path

import xstatic.pkg.leaflet
from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_login import current_user

from accounts.access import restrict
from errors import DomainError
from ratings import queries as rating_queries
from web.params import invalid

from . import geocoding, queries, services
from .coords import from_wgs84
from .domain import CARE_TYPES, CLASS_TYPES, NURSERY_KINDS, PRICE_UNITS
from .forms import MAX_RULES_BYTES, PriceRulesImportForm
from .models import price_rules
from .params import point_from_args, search_params
from .pricing import REGIMES, PriceRuleError, dump_rules, ordered, parse_rules

bp = Blueprint("maps", __name__)
admin_bp = Blueprint("price_admin", __name__, url_prefix="/admin/prices")
restrict(admin_bp, "admin", "只有管理员可以维护价格规则")
LEAFLET_DIR = Path(xstatic.pkg.leaflet.BASE_DIR)


def _display(lat: float, lon: float) -> list[float]:
    """A WGS-84 point in the coordinate system of the configured map tiles."""
    d_lat, d_lon = from_wgs84(lat, lon, current_app.config["MAP_TILE_COORDSYS"])
    return [round(d_lat, 7), round(d_lon, 7)]


def _map_config(walk: queries.WalkModel) -> dict:
    cfg = current_app.config
    return {
        "tiles": cfg["MAP_TILE_URL"],
        "coordsys": cfg["MAP_TILE_COORDSYS"],
        "subdomains": cfg["MAP_TILE_SUBDOMAINS"],
        "attribution": cfg["MAP_TILE_ATTRIBUTION"],
        "radii": [walk.radius_5min_m, walk.radius_15min_m],
    }


def _locate(walk):
    """Where to search from: lat/lon in the query, else the best place matching `q`.

    Returns (point, place_label, suggestions, error_message).
    """
    q = (request.args.get("q") or "").strip()
    label = (request.args.get("label") or "").strip()[:100]
    point = point_from_args()
    # The form carries the last point and its label; typing a new place replaces them.
    if point is not None and (not q or q == label):
        return point, label or "地图上选定的位置", [], None
    if not q:
        return None, None, [], None
    if len(q) > 100:
        raise invalid("q", "输入的地址过长，请输入小区、街道或地址中的关键词")
    matches = geocoding.suggest(current_app.config, q, limit=6)
    if not matches:
        return None, None, [], f"没有找到“{q}”，请换个小区、街道或地址关键词，或在地图上点选位置"
    best = matches[0]
    return (best["lat"], best["lon"]), best["name"], matches[1:], None


@bp.get("/")
def index():
    walk = queries.WalkModel.from_config(current_app.config)
    status, error, hits, count, next_url = 200, None, [], 0, None
    point = label = None
    suggestions = []
    try:
        point, label, suggestions, error = _locate(walk)
        if point is not None:
            params = search_params(*point, walk)
            count, hits = queries.search_nurseries(params, walk)
            if count > params.offset + len(hits):
                query = {**request.args.to_dict(), "offset": params.offset + len(hits)}
                query.update(lat=f"{point[0]:.7f}", lon=f"{point[1]:.7f}", label=label, q=label)
                query["coordsys"] = "wgs84"
                next_url = url_for("maps.index", **query)
    except DomainError as exc:
        status, error, point = 400, exc.message, None
    if error and status == 200 and request.args.get("q"):
        status = 404
    markers = [
        {"id": h.id, "name": h.name, "pos": _display(h.lat, h.lon), "distance_m": h.distance_m}
        for h in hits
    ]
    map_data = {
        **_map_config(walk),
        "home": _display(*point) if point else None,
        "markers": markers,
    }
    return (
        render_template(
            "maps/search.html",
            hits=hits,
            count=count,
            point=point,
            label=label,
            suggestions=suggestions,
            error=error,
            walk=walk,
            map_data=map_data,
            next_url=next_url,
            care_types=CARE_TYPES,
            kinds=NURSERY_KINDS,
            args=request.args,
        ),
        status,
    )


@bp.get("/nurseries/<int:nursery_id>")
def nursery(nursery_id: int):
    walk = queries.WalkModel.from_config(current_app.config)
    details = queries.nursery_details(queries.public_nursery(nursery_id))
    map_data = {
        **_map_config(walk),
        "home": None,
        "markers": [
            {
                "id": details["id"],
                "name": details["name"],
                "pos": _display(details["lat"], details["lon"]),
            }
        ],
        "circlesAround": _display(details["lat"], details["lon"]),
    }
    from inspections.queries import public_summary  # the inspection results (issue 12)

    return render_template(
        "maps/nursery.html",
        n=details,
        ratings=rating_queries.public_section(details["id"]),
        inspection_summary=public_summary(details["id"]),
        map_data=map_data,
        kinds=NURSERY_KINDS,
        care_types=CARE_TYPES,
        price_units=PRICE_UNITS,
    )


@bp.get("/check")
def check_home():
    walk = queries.WalkModel.from_config(current_app.config)
    status, error, report, point, label, suggestions = 200, None, None, None, None, []
    try:
        point, label, suggestions, error = _locate(walk)
        if point is not None:
            report = queries.check_circles(*point, walk)
    except DomainError as exc:
        status, error = 400, exc.message
    if error and status == 200:
        status = 404
    return (
        render_template(
            "maps/check.html",
            report=report,
            point=point,
            label=label,
            suggestions=suggestions,
            error=error,
            walk=walk,
            args=request.args,
            map_data={
                **_map_config(walk),
                "home": _display(*point) if point else None,
                "markers": [
                    {"id": x["id"], "name": x["name"], "pos": _display(x["lat"], x["lon"])}
                    for x in (report.within_15min if report else [])
                ],
            },
        ),
        status,
    )


@bp.get("/vendor/leaflet/<path:filename>")
def leaflet(filename: str):
    """Leaflet as installed from its registry package (never committed to this repository)."""
    return send_from_directory(LEAFLET_DIR, filename, max_age=86400)


# --- the admin's price rules (价格管理) -------------------------------------------------------


def _prices_page(form=None, status=200, page_error=None):
    rules = price_rules()
    rows = [
        {
            "regime": REGIMES[r.regime],
            "care": CARE_TYPES[r.care_type],
            "class": CLASS_TYPES[r.class_type].label if r.class_type else "其他班级",
            "text": r.describe(),
            "source": r.source,
        }
        for r in ordered(rules)
    ]
    return (
        render_template(
            "maps/price_admin.html",
            rows=rows,
            outside=queries.offers_outside_price_rules(),
            form=form or PriceRulesImportForm(formdata=None),
            page_error=page_error,
        ),
        status,
    )


@admin_bp.get("")
@admin_bp.get("/")
def prices():
    """The rules in force, the offers they refuse, and the import form."""
    return _prices_page()


@admin_bp.post("/import")
def import_prices():
    form = PriceRulesImportForm()
    if not form.validate_on_submit():
        return _prices_page(form, 400, "；".join(e for f in form for e in f.errors))
    upload = form.file.data
    data = upload.stream.read(MAX_RULES_BYTES + 1)
    if len(data) > MAX_RULES_BYTES:
        return _prices_page(form, 400, "文件超过 64 KB")
    try:
        rules = parse_rules(data)
        reason = (form.reason.data or "").strip() or f"导入 {upload.filename or ''}".strip()
        count = services.replace_price_rules(rules, current_user.id, reason)
    except PriceRuleError as exc:
        return _prices_page(form, 400, exc.message)
    flash(f"已导入 {count} 条价格规则，原有规则已替换。", "success")
    return redirect(url_for("price_admin.prices"), 303)


@admin_bp.get("/export")
def export_prices():
    response = Response(dump_rules(price_rules()), mimetype="application/json")
    response.headers["Content-Disposition"] = 'attachment; filename="price-rules.json"'
    return response
