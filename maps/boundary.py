"""The district boundary (optional): imports refuse homes and nurseries outside it.

`DISTRICT_BOUNDARY` names a GeoJSON file (WGS-84 lon/lat) holding a Polygon or MultiPolygon, as
a geometry, a Feature or a FeatureCollection (whose polygons are joined). Without it any point
in China is accepted (DESIGN §6).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import shapely
from flask import current_app
from shapely.geometry import shape

from errors import DomainError


class BoundaryError(DomainError):
    """The configured boundary file cannot be used (an operator's error, not a row's)."""

    def __init__(self, message: str):
        super().__init__("boundary_invalid", message)


@lru_cache(maxsize=4)
def _load(path: str, mtime: float):
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BoundaryError(f"区界文件 {path} 无法读取：{exc}") from None
    if data.get("type") == "FeatureCollection":
        geometries = [f.get("geometry") for f in data.get("features", [])]
    elif data.get("type") == "Feature":
        geometries = [data.get("geometry")]
    else:
        geometries = [data]
    try:
        shapes = [shape(g) for g in geometries if g]
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise BoundaryError(f"区界文件 {path} 不是有效的 GeoJSON：{exc}") from None
    polygons = [s for s in shapes if s.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons or len(polygons) != len(shapes):
        raise BoundaryError(f"区界文件 {path} 须只含多边形（Polygon / MultiPolygon）")
    area = shapely.union_all(polygons)
    shapely.prepare(area)
    return area


def current():
    """The configured boundary as a prepared shapely geometry, or None."""
    path = current_app.config.get("DISTRICT_BOUNDARY") or ""
    if not path:
        return None
    try:
        mtime = Path(path).stat().st_mtime
    except OSError:
        raise BoundaryError(f"区界文件 {path} 不存在") from None
    return _load(path, mtime)


def contains(lat: float, lon: float) -> bool:
    """True when no boundary is configured or the point lies inside it (edge included)."""
    area = current()
    return area is None or bool(shapely.intersects_xy(area, lon, lat))
