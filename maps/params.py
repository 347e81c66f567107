"""Reading a search point and filters from the query string (pages and API share this)."""

from flask import request

from web.params import arg_flag, arg_float, arg_int, invalid

from . import queries
from .coords import COORDSYS, to_wgs84
from .domain import CARE_TYPES, MAX_AGE_MONTHS


def point_from_args() -> tuple[float, float] | None:
    """The query's lat/lon converted from its coordsys to WGS-84; None when both are absent."""
    lat, lon = arg_float("lat"), arg_float("lon")
    if lat is None and lon is None:
        return None
    if lat is None:
        raise invalid("lat", "缺少纬度 lat")
    if lon is None:
        raise invalid("lon", "缺少经度 lon")
    if not -90 <= lat <= 90:
        raise invalid("lat", "纬度 lat 须在 -90 到 90 之间")
    if not -180 <= lon <= 180:
        raise invalid("lon", "经度 lon 须在 -180 到 180 之间")
    coordsys = request.args.get("coordsys") or "wgs84"
    if coordsys not in COORDSYS:
        raise invalid("coordsys", "坐标系 coordsys 须为 wgs84、gcj02 或 bd09")
    return to_wgs84(lat, lon, coordsys)


def required_point() -> tuple[float, float]:
    point = point_from_args()
    if point is None:
        raise invalid("lat", "缺少参数 lat 和 lon")
    return point


def within_from_args(walk: queries.WalkModel) -> float | None:
    """`within`: 5 or 15 (minutes) or a radius in metres."""
    raw = (request.args.get("within") or "").strip()
    if raw in ("", "all"):
        return None
    if raw == "5":
        return walk.radius_5min_m
    if raw == "15":
        return walk.radius_15min_m
    value = arg_float("within")
    if not 0 < value <= queries.MAX_RADIUS_M:
        raise invalid(
            "within", f"within 须为 5、15（分钟）或 0 到 {int(queries.MAX_RADIUS_M)} 之间的米数"
        )
    return value


def search_params(lat: float, lon: float, walk: queries.WalkModel) -> queries.SearchParams:
    """The filters of a nursery search, validated."""
    care_type = request.args.get("care_type") or None
    if care_type is not None and care_type not in CARE_TYPES:
        raise invalid("care_type", "care_type 须为 full_day、half_day、hourly 或 temporary")
    return queries.SearchParams(
        lat=lat,
        lon=lon,
        within_m=within_from_args(walk),
        care_type=care_type,
        age_months=arg_int("age_months", None, 0, MAX_AGE_MONTHS),
        inclusive_only=arg_flag("inclusive"),
        free_only=arg_flag("free"),
        limit=arg_int("limit", 20, 1, queries.MAX_LIMIT),
        offset=arg_int("offset", 0, 0, 1_000_000),
        min_rating=_min_rating(),
        sort=_sort(),
    )


def _min_rating() -> float | None:
    """`min_rating`: only nurseries whose overall rating average is at least this (1–5)."""
    value = arg_float("min_rating")
    if value is not None and not 1 <= value <= 5:
        raise invalid("min_rating", "min_rating 须在 1 到 5 之间")
    return value


def _sort() -> str:
    """`sort`: distance (the default) or rating (best rated first, then nearest)."""
    raw = (request.args.get("sort") or "distance").strip()
    if raw not in queries.SORTS:
        raise invalid("sort", "sort 须为 distance（按距离）或 rating（按评分）")
    return raw
