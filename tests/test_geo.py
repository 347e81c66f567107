"""Geodesic distances, service-circle boundaries and the spatial index against brute force."""

import math

import numpy as np
import pytest
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from maps.geo import GEOD, circle_polygon, distance_m, distances_m
from maps.index import IndexedNursery, NurseryIndex
from maps.queries import WalkModel

HOME = (29.6, 106.52)


def _point_at(lat, lon, bearing, metres):
    lon2, lat2, _ = GEOD.fwd(lon, lat, bearing, metres)
    return lat2, lon2


def _nursery(i, lat, lon, **kw):
    return IndexedNursery(
        i,
        f"园{i}",
        "",
        lat,
        lon,
        kw.get("kind", "private"),
        kw.get("inclusive", False),
        kw.get("care_types", ("full_day",)),
        frozenset(kw.get("months", range(6, 36))),
    )


@pytest.mark.parametrize("metres", [1, 299.9, 300, 1000, 5_000, 40_000])
@pytest.mark.parametrize("bearing", [0, 45, 90, 200])
def test_distances_agree_with_geopy_geodesic_to_a_millimetre(metres, bearing):
    lat, lon = _point_at(*HOME, bearing, metres)
    ours = distance_m(*HOME, lat, lon)
    assert ours == pytest.approx(geodesic(HOME, (lat, lon)).meters, abs=1e-3)
    assert ours == pytest.approx(metres, abs=1e-3)


def test_vectorised_distances_match_the_scalar_ones():
    rng = np.random.default_rng(1)
    lats = 29.5 + rng.random(50) * 0.2
    lons = 106.4 + rng.random(50) * 0.2
    many = distances_m(*HOME, lats, lons)
    for d, la, lo in zip(many, lats, lons, strict=True):
        assert d == pytest.approx(geodesic(HOME, (la, lo)).meters, abs=1e-3)


def test_web_mercator_would_have_overstated_distances_by_about_15_percent():
    # Guard against regressions to planar maths: 1000 m north is ~1150 Mercator metres here.
    lat, lon = _point_at(*HOME, 0, 1000)
    mercator = 6378137.0 * (
        math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
        - math.log(math.tan(math.pi / 4 + math.radians(HOME[0]) / 2))
    )
    assert mercator / distance_m(*HOME, lat, lon) > 1.14


@pytest.mark.parametrize(
    ("metres", "in5", "in15"),
    [
        (299.99, True, True),
        (300.0, True, True),
        (300.01, False, True),
        (999.99, False, True),
        (1000.0, False, True),
        (1000.01, False, False),
    ],
)
def test_circle_membership_at_the_boundary_includes_the_radius_itself(metres, in5, in15):
    lat, lon = _point_at(*HOME, 33, metres)
    index = NurseryIndex(1, [_nursery(7, lat, lon)])
    walk = WalkModel()
    got5 = index.within(*HOME, walk.radius_5min_m)[0].tolist()
    got15 = index.within(*HOME, walk.radius_15min_m)[0].tolist()
    assert (got5 == [0]) is in5
    assert (got15 == [0]) is in15


def test_walking_minutes_follow_the_walking_model():
    walk = WalkModel()  # 4.5 km/h with a detour factor of 1.25: 60 straight-line metres a minute
    assert walk.minutes(0) == 0
    assert walk.minutes(300) == 5
    assert walk.minutes(301) == 6
    assert walk.minutes(1000) == 17
    assert WalkModel(speed_kmh=3.6, detour_factor=1.0).minutes(600) == 10


def test_circle_polygon_vertices_lie_on_the_geodesic_circle():
    poly = circle_polygon(*HOME, 300, vertices=36)
    for lon, lat in list(poly.exterior.coords)[:-1]:
        assert distance_m(*HOME, lat, lon) == pytest.approx(300, abs=0.05)


def _random_index(seed, n=800):
    rng = np.random.default_rng(seed)
    lats = HOME[0] + (rng.random(n) - 0.5) * 0.06
    lons = HOME[1] + (rng.random(n) - 0.5) * 0.06
    care = ["full_day", "half_day", "hourly", "temporary"]
    items = [
        _nursery(
            i + 1,
            float(la),
            float(lo),
            inclusive=bool(i % 3 == 0),
            care_types=(care[i % 4],),
            months=range(6, 24) if i % 2 else range(24, 36),
        )
        for i, (la, lo) in enumerate(zip(lats, lons, strict=True))
    ]
    return NurseryIndex(1, items), lats, lons


@settings(max_examples=60, deadline=None)
@given(
    dlat=st.floats(-0.03, 0.03),
    dlon=st.floats(-0.03, 0.03),
    radius=st.floats(1, 3000),
    k=st.integers(1, 60),
)
def test_index_answers_equal_brute_force_geodesics(dlat, dlon, radius, k):
    index, lats, lons = INDEX
    lat, lon = HOME[0] + dlat, HOME[1] + dlon
    dist = distances_m(lat, lon, lats, lons)
    positions, got = index.within(lat, lon, radius)
    assert set(positions.tolist()) == set(np.flatnonzero(dist <= radius).tolist())
    assert np.all(np.diff(got) >= 0)
    nearest, nd = index.nearest(lat, lon, k)
    assert nd.tolist() == pytest.approx(np.sort(dist)[:k].tolist(), abs=1e-6)
    assert len(nearest) == k


INDEX = _random_index(7)


def test_filters_select_by_care_type_age_and_inclusive():
    index, lats, lons = INDEX
    mask = index.filter_mask(care_type="hourly", age_months=30, inclusive_only=True)
    positions, _ = index.nearest(*HOME, 1000, mask)
    assert positions.size > 0
    for p in positions.tolist():
        n = index.nurseries[p]
        assert "hourly" in n.care_types and 30 in n.months and n.inclusive
    expected = sum(
        1 for n in index.nurseries if "hourly" in n.care_types and 30 in n.months and n.inclusive
    )
    assert positions.size == expected


def test_an_empty_index_finds_nothing():
    index = NurseryIndex(1, [])
    assert index.within(*HOME, 1000)[0].size == 0
    assert index.nearest(*HOME, 5)[0].size == 0


@settings(max_examples=40, deadline=None)
@given(dlat=st.floats(-0.02, 0.02), dlon=st.floats(-0.02, 0.02), stop=st.integers(1, 80))
def test_a_page_of_a_circle_is_the_nearest_part_of_the_whole_answer(dlat, dlon, stop):
    index, _, _ = INDEX
    lat, lon = HOME[0] + dlat, HOME[1] + dlon
    everything, dist = index.within(lat, lon, 1500)
    count, page, page_dist = index.within_page(lat, lon, 1500, stop)
    assert count == everything.size
    assert page.tolist() == everything[:stop].tolist()
    assert page_dist.tolist() == pytest.approx(dist[:stop].tolist())


@pytest.mark.parametrize(("lat", "lon"), [(-90, -180), (89.9, 0), (0, 180), (10, -179.999)])
def test_no_circle_outline_where_lon_lat_cannot_draw_one(lat, lon):
    assert circle_polygon(lat, lon, 1000) is None
