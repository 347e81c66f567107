"""Registry endpoints of the JSON API: nursery search, details, service circles, place look-up."""

from flask import jsonify, request
from shapely.geometry import mapping

from api import arg_int, bp, config, invalid

from . import geocoding, queries
from .geo import circle_polygon
from .params import required_point, search_params


@bp.get("/nurseries")
def list_nurseries():
    walk = queries.WalkModel.from_config(config())
    params = search_params(*required_point(), walk)
    count, hits = queries.search_nurseries(params, walk)
    return jsonify(
        {
            "count": count,
            "limit": params.limit,
            "offset": params.offset,
            "results": [h.as_dict() for h in hits],
        }
    )


@bp.get("/nurseries/<int:nursery_id>")
def get_nursery(nursery_id: int):
    from inspections.queries import public_summary  # an added field (issue 12)

    details = queries.nursery_details(queries.public_nursery(nursery_id))
    return jsonify({**details, "inspections": public_summary(details["id"])})


@bp.get("/circles")
def circles():
    walk = queries.WalkModel.from_config(config())
    lat, lon = required_point()
    report = queries.check_circles(lat, lon, walk)
    return jsonify(
        {
            "lat": lat,
            "lon": lon,
            "radius_m": {"5": report.radius_5min_m, "15": report.radius_15min_m},
            "covered_5min": report.covered_5min,
            "covered_15min": report.covered_15min,
            "within_5min": report.within_5min,
            "within_15min": report.within_15min,
            # The circles themselves, as geodesic GeoJSON polygons (lon, lat) around the point.
            "circles": {
                key: mapping(shape) if (shape := circle_polygon(lat, lon, radius)) else None
                for key, radius in (("5", report.radius_5min_m), ("15", report.radius_15min_m))
            },
        }
    )


@bp.get("/places")
def places():
    q = (request.args.get("q") or "").strip()
    if not q:
        raise invalid("q", "请输入小区、街道或地址")
    if len(q) > 100:
        raise invalid("q", "查询内容不能超过 100 个字")
    limit = arg_int("limit", 8, 1, 50)
    return jsonify({"results": geocoding.suggest(config(), q, limit)})
