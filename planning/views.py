"""Planning dashboard for the district admin (区卫生健康委): the seeds' indicators against their
targets, coverage map and gap list, site suggestions, exports and a printable report.

Only the admin role enters (least privilege: other roles 403, anonymous visitors are sent to the
login page). Every figure comes from planning.queries and names the distance mode that
produced it. Query parameters are refused with a Chinese message, never guessed: a bad mode is
400, an unknown street 404, network mode before a walking network is loaded 409.
"""

from __future__ import annotations

import math
import re
from datetime import date

import numpy as np
import shapely
import shapely.geometry
from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from wtforms import Form, SelectField, StringField

from accounts.access import restrict
from errors import DomainError
from maps.coords import from_wgs84
from web.forms import choices

from . import charts, definitions, exports, indicators, queries, sites
from .indicators import DistrictData

bp = Blueprint("planning", __name__, url_prefix="/planning")

NO_NETWORK = "尚未加载步行路网：请先运行 flask --app app maps load-network 文件"
GAPS_SHOWN = 30  # gap rows on the dashboard before the rest fold away (the exports have all)
CANDIDATES = {"communities": "小区中心", "grid": "网格"}
# what each indicator divides, in the words of the page
RATIO_PARTS = {key: (d.numerator, d.denominator) for key, d in definitions.INDICATORS.items()}


restrict(bp, "admin")


@bp.errorhandler(DomainError)
def _refused(exc: DomainError):
    if request.path.endswith(".json"):
        return {"error": {"code": exc.code, "message": exc.message}}, exc.status
    return (
        render_template("planning/error.html", status=exc.status, error=exc),
        exc.status,
    )


# --- parameters ------------------------------------------------------------------------------


def _settings() -> queries.Settings:
    return queries.Settings.from_config(current_app.config)


def network_available() -> bool:
    """A walking network is loaded (False while planning.network is not installed)."""
    try:
        return queries.network_loaded()
    except ImportError:
        return False


def _mode() -> str:
    mode = queries.check_mode(request.args.get("mode") or "straight")
    if mode == "network" and not network_available():
        raise DomainError("no_network", NO_NETWORK, status=409)
    return mode


def _street() -> str | None:
    return (request.args.get("street") or "").strip() or None


class SuggestForm(Form):
    """Site suggestions: read from the query string, checked by the planning rules."""

    k = StringField(
        "新增机构数",
        default="3",
        render_kw={"inputmode": "numeric", "min": 1, "max": sites.MAX_K, "required": True},
    )
    candidates = SelectField("候选点", choices=choices(CANDIDATES.items()), default="communities")
    grid_m = StringField(
        "网格间距（米，仅网格）",
        default="200",
        render_kw={"inputmode": "numeric", "min": sites.MIN_GRID_M, "max": sites.MAX_GRID_M},
    )


def _parse_k(raw: str | None) -> int:
    raw = (raw or "").strip()
    if not raw:
        raise DomainError("invalid_k", "请填写新增机构数", field="k")
    k = raw
    if re.fullmatch(r"[+-]?[0-9]+", raw):  # an integer; a very long one is simply too many
        k = int(raw) if len(raw) <= 12 else sites.MAX_K + 1
    return sites.check_k(k)  # refuses non-integers, ≤ 0 and more than MAX_K in Chinese


def _parse_grid(raw: str | None) -> float:
    raw = (raw or "").strip() or "200"
    try:
        value = float(raw) if len(raw) <= 12 else math.nan
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not sites.MIN_GRID_M <= value <= sites.MAX_GRID_M:
        raise DomainError(
            "invalid_grid",
            f"网格间距须为 {sites.MIN_GRID_M}–{sites.MAX_GRID_M} 之间的数字（米）",
            field="grid_m",
        )
    return value


def _suggest(mode: str, data: DistrictData, street_code: str | None) -> dict | None:
    """Site suggestions when the query asks for them (k given), else None."""
    if "k" not in request.args:
        return None
    k = _parse_k(request.args.get("k"))
    candidates = request.args.get("candidates") or "communities"  # checked by the service
    grid_m = _parse_grid(request.args.get("grid_m")) if candidates == "grid" else 200.0
    return queries.suggestions(
        k, mode, candidates, grid_m, _settings(), data=data, street_code=street_code
    )


# --- shared pieces -----------------------------------------------------------------------------


def _display(lat: float, lon: float) -> list[float]:
    """A WGS-84 point in the map tiles' coordinate system (GCJ-02 for AMap)."""
    d_lat, d_lon = from_wgs84(lat, lon, current_app.config["MAP_TILE_COORDSYS"])
    return [round(d_lat, 6), round(d_lon, 6)]


def _query(**changes) -> dict:
    """The page's query (mode always named) with some parameters replaced; None drops one."""
    args = {"mode": request.args.get("mode") or "straight"}
    for name in ("street", "k", "candidates"):
        if name in request.args:
            args[name] = request.args[name]
    if request.args.get("candidates") == "grid" and "grid_m" in request.args:
        args["grid_m"] = request.args["grid_m"]
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, "")}


def _coverage_compare(report: dict, data: DistrictData, street_code: str | None) -> dict | None:
    """Straight-line and network coverage side by side, when a network is loaded (the page's
    report gives its own mode; the other one is computed)."""
    if not network_available():
        return None
    both = {
        m: report if m == report["mode"] else queries.report(m, street_code, _settings(), data=data)
        for m in queries.MODES
    }
    figures = {
        m: {key: r["indicators"][key] for key in ("coverage_5min", "coverage_15min")}
        for m, r in both.items()
    }
    short = {"straight": "直线", "network": "路网"}
    rows = [
        (f"{minutes}分钟·{short[m]}", figures[m][f"coverage_{minutes}min"]["value"])
        for minutes in (5, 15)
        for m in queries.MODES
    ]
    chart = charts.bar_chart("5、15分钟服务圈覆盖率：直线距离与步行路网", rows, "%", (), "compare")
    return {"figures": figures, "radii": {m: both[m]["radius_m"] for m in both}, "chart": chart}


def _charts(report: dict) -> dict:
    mode_label = report["mode_label"]
    figures = report["indicators"]
    result = {"gauges": {k: charts.indicator_gauge(f, mode_label) for k, f in figures.items()}}
    streets = report.get("streets")
    if streets:
        result["by_street"] = {
            k: charts.street_indicator_chart(streets, k, f, mode_label) for k, f in figures.items()
        }
        result["coverage"] = charts.coverage_chart(streets, mode_label)
    return result


def _page_context(mode: str, street_code: str | None, data: DistrictData) -> dict:
    settings = _settings()
    report = queries.report(mode, street_code, settings, data=data)
    return {
        "report": report,
        "charts": _charts(report),
        "mode": mode,
        "modes": queries.MODES,
        "street_code": street_code,
        "streets": sorted(data.streets.values()),
        "network": network_available(),
        "today": date.today(),
        "fmt": charts.format_value,
        "gap_text": charts.format_gap,
        "coverage_labels": charts.COVERAGE_LABELS,
        "ratio_parts": RATIO_PARTS,
        "pending": definitions.PENDING,
        "seeds": definitions.SEEDS,
        "query": _query,
    }


# --- pages -----------------------------------------------------------------------------------


@bp.get("")
def dashboard():
    mode, street_code = _mode(), _street()
    data = indicators.load()
    context = _page_context(mode, street_code, data)
    form = SuggestForm(request.args)
    suggestion, status = None, 200
    try:
        suggestion = _suggest(mode, data, street_code)
    except DomainError as exc:
        field = getattr(form, exc.field, None) if exc.field else None
        if field is None:
            raise
        field.errors = [*field.errors, exc.message]
        status = exc.status
    cfg = current_app.config
    map_query = _query() if suggestion else _query(k=None, candidates=None, grid_m=None)
    map_config = {
        "data_url": url_for("planning.map_data", **map_query),
        "isochrones_url": url_for("planning.isochrones") if mode == "network" else None,
        "tiles": cfg["MAP_TILE_URL"],
        "subdomains": cfg["MAP_TILE_SUBDOMAINS"],
        "attribution": cfg["MAP_TILE_ATTRIBUTION"],
    }
    return (
        render_template(
            "planning/dashboard.html",
            **context,
            compare=_coverage_compare(context["report"], data, street_code),
            form=form,
            suggestion=suggestion,
            map_config=map_config,
            gaps_shown=GAPS_SHOWN,
            candidates=CANDIDATES,
        ),
        status,
    )


bp.add_url_rule("/", "dashboard_slash", dashboard)  # /planning/ too; links name /planning


@bp.get("/report")
def printable_report():
    mode, street_code = _mode(), _street()
    data = indicators.load()
    context = _page_context(mode, street_code, data)
    return render_template(
        "planning/report.html",
        **context,
        compare=_coverage_compare(context["report"], data, street_code),
    )


@bp.get("/map.json")
def map_data():
    """What the coverage map draws: communities by coverage, nurseries, the circles' radii and
    (with k) suggested sites. Positions are in the tiles' coordinate system (`coordsys`)."""
    mode, street_code = _mode(), _street()
    data = indicators.load()
    report = queries.report(mode, street_code, _settings(), data=data)
    suggestion = _suggest(mode, data, street_code)
    return jsonify(
        {
            "mode": mode,
            "mode_label": report["mode_label"],
            "coordsys": current_app.config["MAP_TILE_COORDSYS"],
            "radii": [report["radius_m"]["5"], report["radius_m"]["15"]],
            "communities": [
                {
                    "id": c["id"],
                    "name": c["name"],
                    "street": c["street"],
                    "pos": _display(c["lat"], c["lon"]),
                    "coverage": c["coverage"],
                    "children": c["children_under_3"],
                    "distance_m": c["distance_m"],
                    "walk_minutes": c["walk_minutes"],
                }
                for c in report["communities"]
            ],
            "nurseries": [
                {"id": n.id, "name": n.name, "pos": _display(n.lat, n.lon)} for n in data.nurseries
            ],
            "sites": [
                {
                    "rank": s["rank"],
                    "label": s["label"],
                    "pos": _display(s["lat"], s["lon"]),
                    "gain_children": s["gain_children"],
                }
                for s in (suggestion or {}).get("sites", [])
            ],
        }
    )


@bp.get("/isochrones.json")
def isochrones():
    """The area within 5 (or, with minutes=15, 15) minutes' walk of any filed nursery on the
    network, one (multi)polygon in the tiles' coordinate system (network mode only)."""
    minutes = request.args.get("minutes") or "5"
    if minutes not in ("5", "15"):
        raise DomainError("invalid_minutes", "minutes 须为 5 或 15")
    if not network_available():
        raise DomainError("no_network", NO_NETWORK, status=409)
    from . import network

    graph = network.current_graph()
    if graph is None:  # unloaded since the check above
        raise DomainError("no_network", NO_NETWORK, status=409)
    data = indicators.load()
    r5, r15 = _settings().radii("network")
    max_m = r5 if minutes == "5" else r15
    coordsys = current_app.config["MAP_TILE_COORDSYS"]
    key = (
        getattr(graph, "key", id(graph)),
        tuple((n.lat, n.lon) for n in data.nurseries),
        max_m,
        coordsys,
    )
    cached = _area_cache.get(minutes)
    if cached is None or cached[0] != key:
        area = network.reach_area(
            graph, [n.lat for n in data.nurseries], [n.lon for n in data.nurseries], max_m
        )
        geometry = None if area is None else shapely.geometry.mapping(_to_display(area, coordsys))
        cached = (key, geometry)
        _area_cache[minutes] = cached
    feature = {
        "type": "Feature",
        "properties": {"minutes": int(minutes), "walk_m": round(max_m, 1)},
        "geometry": cached[1],
    }
    return jsonify({"type": "FeatureCollection", "coordsys": coordsys, "features": [feature]})


# --- network areas for the map (planning.network.reach_area); kept per process until the
# network or the nurseries change.
_area_cache: dict = {}


def _to_display(geometry, coordsys: str):
    """A WGS-84 shapely geometry in the tiles' coordinate system, to 6 decimals (~0.1 m)."""

    def shift(coords: np.ndarray) -> np.ndarray:
        out = np.array(coords, dtype=float)
        if coordsys != "wgs84":
            for i, (lon, lat) in enumerate(coords):
                d_lat, d_lon = from_wgs84(float(lat), float(lon), coordsys)
                out[i] = (d_lon, d_lat)
        return np.round(out, 6)

    return shapely.transform(geometry, shift)


# --- exports ---------------------------------------------------------------------------------


def _filename(kind: str, mode: str, street_code: str | None, ext: str) -> str:
    street = re.sub(r"[^A-Za-z0-9_-]", "", street_code or "")[:32]
    parts = ["planning", kind, mode, *([street] if street else []), date.today().isoformat()]
    return "-".join(parts) + "." + ext


def _download(body: str, mimetype: str, filename: str) -> Response:
    response = Response(body.encode("utf-8"), mimetype=mimetype)
    if mimetype.startswith("text/"):
        response.headers["Content-Type"] = f"{mimetype}; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _export_report() -> tuple[dict, str, str | None]:
    mode, street_code = _mode(), _street()
    return queries.report(mode, street_code, _settings()), mode, street_code


@bp.get("/export/indicators.csv")
def export_indicators_csv():
    report, mode, street = _export_report()
    return _download(
        exports.indicators_csv(report), "text/csv", _filename("indicators", mode, street, "csv")
    )


@bp.get("/export/gaps.csv")
def export_gaps_csv():
    report, mode, street = _export_report()
    return _download(exports.gaps_csv(report), "text/csv", _filename("gaps", mode, street, "csv"))


@bp.get("/export/indicators.geojson")
def export_indicators_geojson():
    report, mode, street = _export_report()
    body = current_app.json.dumps(exports.indicators_geojson(report))
    name = _filename("indicators", mode, street, "geojson")
    return _download(body, "application/geo+json", name)


@bp.get("/export/gaps.geojson")
def export_gaps_geojson():
    report, mode, street = _export_report()
    body = current_app.json.dumps(exports.gaps_geojson(report))
    return _download(body, "application/geo+json", _filename("gaps", mode, street, "geojson"))
