"""Conversion between the WGS-84, GCJ-02 and BD-09 coordinate systems."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

COORDSYS = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, which the GCJ-02 obfuscation is defined on.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = math.pi * 3000.0 / 180.0

# The forward maps move points by well under a degree and are near-identity contractions,
# so the fixed-point inverse gains several digits per step; the cap only guards bad input.
_TOLERANCE_DEG = 1e-12
_MAX_ITERATIONS = 50

_BOX_MARGIN_DEG = 0.1

_Transform = Callable[[float, float], tuple[float, float]]


def _check(lat: float, lon: float) -> tuple[float, float]:
    """Return (lat, lon) as floats, raising ValueError unless both are finite numbers."""
    # Strings would otherwise slip through float(); callers must parse request data themselves.
    if not (isinstance(lat, numbers.Real) and isinstance(lon, numbers.Real)):
        raise ValueError(f"coordinates must be numbers, got lat={lat!r}, lon={lon!r}")
    lat_f, lon_f = float(lat), float(lon)
    if not (math.isfinite(lat_f) and math.isfinite(lon_f)):
        raise ValueError(f"coordinates must be finite, got lat={lat!r}, lon={lon!r}")
    return lat_f, lon_f


def in_china(lat: float, lon: float) -> bool:
    """Return True if the point lies in the rough box where GCJ-02 offsets are applied."""
    lat, lon = _check(lat, lon)
    return 72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271


def _transform_lat(x: float, y: float) -> float:
    """Return the GCJ-02 northing distortion in metres for offsets x, y from (105E, 35N)."""
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: float, y: float) -> float:
    """Return the GCJ-02 easting distortion in metres for offsets x, y from (105E, 35N)."""
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x))
    ret += (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    ret += (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
    ret += (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0
    return ret


def _gcj02_offset(lat: float, lon: float) -> tuple[float, float]:
    """Return the (dlat, dlon) GCJ-02 offset in degrees, ignoring the China box."""
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    rad_lat = math.radians(lat)
    magic = 1.0 - _EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    # Metres to degrees using the Krasovsky meridian and prime-vertical radii of curvature.
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return dlat, dlon


def _wgs84_to_gcj02_unboxed(lat: float, lon: float) -> tuple[float, float]:
    """Apply the GCJ-02 offset regardless of whether the point is in China."""
    dlat, dlon = _gcj02_offset(lat, lon)
    return lat + dlat, lon + dlon


def _invert(
    forward: _Transform, lat: float, lon: float, guess: tuple[float, float]
) -> tuple[float, float]:
    """Return the point that forward maps onto (lat, lon), by fixed-point iteration from guess."""
    g_lat, g_lon = guess
    for _ in range(_MAX_ITERATIONS):
        f_lat, f_lon = forward(g_lat, g_lon)
        err_lat, err_lon = f_lat - lat, f_lon - lon
        if abs(err_lat) < _TOLERANCE_DEG and abs(err_lon) < _TOLERANCE_DEG:
            return g_lat, g_lon
        g_lat -= err_lat
        g_lon -= err_lon
    f_lat, f_lon = forward(g_lat, g_lon)
    # Rounding can stall just above the tight tolerance; the documented promise is 1e-9 degrees.
    if abs(f_lat - lat) < 1e-9 and abs(f_lon - lon) < 1e-9:
        return g_lat, g_lon
    raise ValueError(f"coordinate inversion did not converge for lat={lat!r}, lon={lon!r}")


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """Convert WGS-84 (lat, lon) to GCJ-02; points outside China are returned unchanged."""
    lat, lon = _check(lat, lon)
    if not in_china(lat, lon):
        return lat, lon
    return _wgs84_to_gcj02_unboxed(lat, lon)


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Convert GCJ-02 (lat, lon) to WGS-84 exactly, inverting the forward transform."""
    lat, lon = _check(lat, lon)
    # GCJ-02 moves points by about a kilometre at most, so anything clearly outside the box
    # cannot have come from inside it (and far away, e.g. at the poles, the formula blows up).
    if not (
        72.004 - _BOX_MARGIN_DEG <= lon <= 137.8347 + _BOX_MARGIN_DEG
        and 0.8293 - _BOX_MARGIN_DEG <= lat <= 55.8271 + _BOX_MARGIN_DEG
    ):
        return lat, lon
    dlat, dlon = _gcj02_offset(lat, lon)
    candidate = _invert(_wgs84_to_gcj02_unboxed, lat, lon, (lat - dlat, lon - dlon))
    # Near the box edge a GCJ point can have two preimages (one shifted in from inside, one
    # untouched outside); prefer the inside one because that is where this service works.
    if in_china(*candidate):
        return candidate
    return lat, lon


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """Convert GCJ-02 (lat, lon) to BD-09."""
    lat, lon = _check(lat, lon)
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _X_PI)
    return z * math.sin(theta) + 0.006, z * math.cos(theta) + 0.0065


def _bd09_to_gcj02_approx(lat: float, lon: float) -> tuple[float, float]:
    """Return the usual closed-form (inexact) BD-09 to GCJ-02 conversion."""
    x, y = lon - 0.0065, lat - 0.006
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _X_PI)
    return z * math.sin(theta), z * math.cos(theta)


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """Convert BD-09 (lat, lon) to GCJ-02 exactly, inverting the forward transform."""
    lat, lon = _check(lat, lon)
    return _invert(gcj02_to_bd09, lat, lon, _bd09_to_gcj02_approx(lat, lon))


def wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """Convert WGS-84 (lat, lon) to BD-09."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """Convert BD-09 (lat, lon) to WGS-84."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


_TO_WGS84: dict[str, _Transform] = {
    "wgs84": lambda lat, lon: _check(lat, lon),
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}

_FROM_WGS84: dict[str, _Transform] = {
    "wgs84": lambda lat, lon: _check(lat, lon),
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}


def _lookup(table: dict[str, _Transform], coordsys: str) -> _Transform:
    """Return the converter for coordsys, raising ValueError for unknown names."""
    try:
        return table[coordsys]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown coordinate system {coordsys!r}; expected one of {', '.join(COORDSYS)}"
        ) from None


def to_wgs84(lat: float, lon: float, coordsys: str) -> tuple[float, float]:
    """Convert (lat, lon) given in coordsys to WGS-84."""
    return _lookup(_TO_WGS84, coordsys)(lat, lon)


def from_wgs84(lat: float, lon: float, coordsys: str) -> tuple[float, float]:
    """Convert WGS-84 (lat, lon) to coordsys."""
    return _lookup(_FROM_WGS84, coordsys)(lat, lon)
