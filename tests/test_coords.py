"""Tests for WGS-84 / GCJ-02 / BD-09 coordinate conversion."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from maps import coords

GEOD = Geod(ellps="WGS84")
CENTIMETRE = 0.01

CHONGQING_POINTS = [
    (float(lat), float(lon))
    for lat in np.linspace(29.3, 30.0, 15)
    for lon in np.linspace(106.2, 106.9, 15)
]
CHINA_POINTS = [
    (float(lat), float(lon))
    for lat in np.arange(1.0, 55.8, 0.9)
    for lon in np.arange(72.1, 137.8, 1.1)
]
OUTSIDE_CHINA_POINTS = [
    (51.5074, -0.1278),  # London
    (40.7128, -74.0060),  # New York
    (-33.8688, 151.2093),  # Sydney
    (-0.5, 110.0),  # just south of the box
    (60.0, 100.0),  # just north of the box
    (30.0, 71.9),  # just west of the box
    (35.0, 138.0),  # just east of the box
]


def metres_between(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Return the WGS-84 geodesic distance in metres between two (lat, lon) points."""
    return GEOD.inv(a[1], a[0], b[1], b[0])[2]


def max_round_trip_error(points, forward, inverse) -> float:
    """Return the largest geodesic distance between a point and inverse(forward(point))."""
    return max(metres_between(p, inverse(*forward(*p))) for p in points)


def test_gcj02_round_trip_is_within_a_centimetre_in_chongqing():
    error = max_round_trip_error(CHONGQING_POINTS, coords.wgs84_to_gcj02, coords.gcj02_to_wgs84)
    assert error < CENTIMETRE


def test_bd09_round_trip_is_within_a_centimetre_in_chongqing():
    error = max_round_trip_error(CHONGQING_POINTS, coords.wgs84_to_bd09, coords.bd09_to_wgs84)
    assert error < CENTIMETRE


def test_gcj02_round_trip_is_within_a_centimetre_across_china():
    error = max_round_trip_error(CHINA_POINTS, coords.wgs84_to_gcj02, coords.gcj02_to_wgs84)
    assert error < CENTIMETRE


def test_bd09_round_trip_is_within_a_centimetre_across_china():
    error = max_round_trip_error(CHINA_POINTS, coords.wgs84_to_bd09, coords.bd09_to_wgs84)
    assert error < CENTIMETRE


def test_gcj02_offset_in_chongqing_is_a_few_hundred_metres():
    for point in CHONGQING_POINTS:
        shifted = coords.wgs84_to_gcj02(*point)
        assert 100 < metres_between(point, shifted) < 700


def test_bd09_is_further_offset_than_gcj02_in_chongqing():
    # BD-09 adds roughly another 0.006/0.0065 degrees (several hundred metres) on top of GCJ-02.
    for point in CHONGQING_POINTS:
        gcj = coords.wgs84_to_gcj02(*point)
        bd = coords.gcj02_to_bd09(*gcj)
        assert 500 < metres_between(gcj, bd) < 1500


def test_forward_transforms_match_published_reference_values():
    # Independent reference outputs for (39.915 N, 116.404 E) from the widely used
    # wandergis/coordtransform JS library's README and tests (which use lon, lat order).
    assert coords.wgs84_to_gcj02(39.915, 116.404) == pytest.approx(
        (39.91640428150164, 116.41024449916938), abs=1e-12
    )
    assert coords.gcj02_to_bd09(39.915, 116.404) == pytest.approx(
        (39.92133699351021, 116.41036949371029), abs=1e-12
    )


def test_closed_form_bd09_approximation_matches_published_reference_value():
    assert coords._bd09_to_gcj02_approx(39.915, 116.404) == pytest.approx(
        (39.90865673957631, 116.39762729119315), abs=1e-12
    )


@pytest.mark.parametrize("point", OUTSIDE_CHINA_POINTS)
def test_points_outside_china_are_unchanged_by_gcj02(point):
    assert coords.wgs84_to_gcj02(*point) == point
    assert coords.gcj02_to_wgs84(*point) == point


@pytest.mark.parametrize(
    ("point", "expected"),
    [
        ((29.56, 106.55), True),
        ((39.9, 116.4), True),
        ((51.5, -0.1), False),
        ((-10.0, 110.0), False),
        ((0.8293, 72.004), True),
        ((55.8271, 137.8347), True),
        ((55.83, 137.8347), False),
    ],
)
def test_in_china_uses_the_gcj02_bounding_box(point, expected):
    assert coords.in_china(*point) is expected


def test_bd09_to_gcj02_is_an_exact_inverse_of_gcj02_to_bd09():
    for point in CHINA_POINTS + CHONGQING_POINTS:
        back = coords.bd09_to_gcj02(*coords.gcj02_to_bd09(*point))
        assert back == pytest.approx(point, abs=1e-9)


def test_gcj02_to_bd09_is_an_exact_inverse_of_bd09_to_gcj02():
    for point in CHINA_POINTS:
        again = coords.gcj02_to_bd09(*coords.bd09_to_gcj02(*point))
        assert again == pytest.approx(point, abs=1e-9)


def test_wgs84_to_gcj02_is_an_exact_inverse_of_gcj02_to_wgs84():
    for point in CHINA_POINTS:
        again = coords.wgs84_to_gcj02(*coords.gcj02_to_wgs84(*point))
        assert again == pytest.approx(point, abs=1e-9)


def test_exact_bd09_inverse_beats_the_closed_form_approximation():
    # Guards against the iteration silently degrading to the decimetre-level closed form.
    point = (29.5583, 106.5770)
    bd = coords.gcj02_to_bd09(*point)
    exact = coords.bd09_to_gcj02(*bd)
    approx = coords._bd09_to_gcj02_approx(*bd)
    assert metres_between(point, exact) < 1e-4
    assert metres_between(point, exact) < metres_between(point, approx)


@pytest.mark.parametrize("coordsys", coords.COORDSYS)
def test_from_then_to_wgs84_round_trips_for_every_coordsys(coordsys):
    point = (29.5630, 106.5516)
    converted = coords.from_wgs84(*point, coordsys)
    assert metres_between(point, coords.to_wgs84(*converted, coordsys)) < CENTIMETRE


def test_wgs84_coordsys_is_the_identity():
    assert coords.to_wgs84(29.5, 106.5, "wgs84") == (29.5, 106.5)
    assert coords.from_wgs84(29.5, 106.5, "wgs84") == (29.5, 106.5)


def test_dispatch_matches_the_direct_converters():
    point = (29.5630, 106.5516)
    assert coords.from_wgs84(*point, "gcj02") == coords.wgs84_to_gcj02(*point)
    assert coords.from_wgs84(*point, "bd09") == coords.wgs84_to_bd09(*point)
    assert coords.to_wgs84(*point, "gcj02") == coords.gcj02_to_wgs84(*point)
    assert coords.to_wgs84(*point, "bd09") == coords.bd09_to_wgs84(*point)


@pytest.mark.parametrize("coordsys", ["WGS84", "gcj-02", "baidu", "", None])
def test_unknown_coordsys_raises_value_error(coordsys):
    with pytest.raises(ValueError, match="unknown coordinate system"):
        coords.to_wgs84(29.5, 106.5, coordsys)
    with pytest.raises(ValueError, match="unknown coordinate system"):
        coords.from_wgs84(29.5, 106.5, coordsys)


NON_FINITE = [math.nan, math.inf, -math.inf]
CONVERTERS = [
    coords.in_china,
    coords.wgs84_to_gcj02,
    coords.gcj02_to_wgs84,
    coords.gcj02_to_bd09,
    coords.bd09_to_gcj02,
    coords.wgs84_to_bd09,
    coords.bd09_to_wgs84,
]


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("convert", CONVERTERS)
def test_non_finite_coordinates_raise_value_error(convert, bad):
    with pytest.raises(ValueError, match="finite"):
        convert(bad, 106.5)
    with pytest.raises(ValueError, match="finite"):
        convert(29.5, bad)


@pytest.mark.parametrize("coordsys", coords.COORDSYS)
def test_dispatch_rejects_nan_for_every_coordsys(coordsys):
    with pytest.raises(ValueError):
        coords.to_wgs84(math.nan, 106.5, coordsys)
    with pytest.raises(ValueError):
        coords.from_wgs84(29.5, math.nan, coordsys)


@pytest.mark.parametrize("bad", ["29.5", None, b"1"])
def test_non_numeric_coordinates_raise_value_error(bad):
    with pytest.raises(ValueError, match="numbers"):
        coords.wgs84_to_gcj02(bad, 106.5)


def test_numpy_floats_and_ints_are_accepted():
    assert coords.wgs84_to_gcj02(np.float64(29.5), 106) == coords.wgs84_to_gcj02(29.5, 106.0)


CHINA_INTERIOR_LAT = st.floats(min_value=1.0, max_value=55.5, allow_nan=False)
CHINA_INTERIOR_LON = st.floats(min_value=72.5, max_value=137.5, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(lat=CHINA_INTERIOR_LAT, lon=CHINA_INTERIOR_LON)
def test_round_trips_are_within_a_centimetre_anywhere_in_china(lat, lon):
    point = (lat, lon)
    gcj = coords.wgs84_to_gcj02(lat, lon)
    assert gcj != point
    assert metres_between(point, coords.gcj02_to_wgs84(*gcj)) < CENTIMETRE
    assert metres_between(point, coords.bd09_to_wgs84(*coords.wgs84_to_bd09(lat, lon))) < CENTIMETRE
    assert coords.bd09_to_gcj02(*coords.gcj02_to_bd09(*gcj)) == pytest.approx(gcj, abs=1e-9)
