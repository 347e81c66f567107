"""The search and circles services against a real database (SQLite and PostgreSQL)."""

import pytest

from extensions import db
from maps.geo import GEOD, distance_m
from maps.models import Nursery, bump_registry_version
from maps.queries import SearchParams, WalkModel, check_circles, search_nurseries

HOME = (29.6, 106.52)
WALK = WalkModel()


def at(bearing, metres):
    lon, lat, _ = GEOD.fwd(HOME[1], HOME[0], bearing, metres)
    return {"lat": lat, "lon": lon}


def search(app, **kw):
    with app.app_context():
        return search_nurseries(SearchParams(*HOME, **kw), WALK)


def test_results_are_sorted_by_geodesic_distance_with_circle_flags(app, make_nursery):
    far = make_nursery(**at(90, 900), name="远处园")
    near = make_nursery(**at(10, 120), name="近处园")
    mid = make_nursery(**at(200, 450), name="中间园")
    count, hits = search(app)
    assert count == 3
    assert [h.id for h in hits] == [near, mid, far]
    assert [h.distance_m for h in hits] == pytest.approx([120, 450, 900], abs=0.1)
    assert [h.within_5min for h in hits] == [True, False, False]
    assert [h.within_15min for h in hits] == [True, True, True]
    assert [h.walk_minutes for h in hits] == [2, 8, 15]


def test_unfiled_nurseries_never_appear(app, make_nursery):
    make_nursery(**at(0, 100), filed=False, name="未备案园")
    filed = make_nursery(**at(0, 200))
    count, hits = search(app)
    assert (count, [h.id for h in hits]) == (1, [filed])


def test_within_limits_the_radius_and_counts_only_inside(app, make_nursery):
    inside = make_nursery(**at(0, 299))
    make_nursery(**at(0, 301))
    make_nursery(**at(0, 5000))
    count, hits = search(app, within_m=300)
    assert (count, [h.id for h in hits]) == (1, [inside])
    count, _ = search(app, within_m=1000)
    assert count == 2


def test_filters_by_care_type_age_inclusive_and_free_places(app, make_nursery):
    hourly = make_nursery(**at(0, 100), care={"hourly": (5, 0)})
    full = make_nursery(**at(0, 200), care={"full_day": (10, 10)}, inclusive=True)
    older = make_nursery(
        **at(0, 300), kind="kindergarten_class", class_types=("older",), care={"full_day": (20, 3)}
    )
    assert [h.id for h in search(app, care_type="hourly")[1]] == [hourly]
    assert [h.id for h in search(app, inclusive_only=True)[1]] == [full]
    assert [h.id for h in search(app, free_only=True)[1]] == [hourly, older]
    assert [h.id for h in search(app, free_only=True, care_type="full_day")[1]] == [older]
    # 30 months: toddler classes (12–24) do not admit, the kindergarten class (24–36) does.
    assert [h.id for h in search(app, age_months=30)[1]] == [older]
    assert [h.id for h in search(app, age_months=13)[1]] == [hourly, full]
    assert search(app, age_months=3)[1] == []


def test_free_places_are_reported_per_care_type(app, make_nursery):
    make_nursery(**at(0, 100), care={"full_day": (20, 5), "half_day": (10, 10)})
    _, [hit] = search(app)
    assert hit.free_places == {"full_day": 15, "half_day": 0}
    assert hit.care_types == ["full_day", "half_day"]


def test_paging_keeps_the_distance_order(app, make_nursery):
    ids = [make_nursery(**at(45, 100 * (i + 1))) for i in range(7)]
    count, first = search(app, limit=3)
    _, second = search(app, limit=3, offset=3)
    _, last = search(app, limit=3, offset=6)
    assert count == 7
    assert [h.id for h in first + second + last] == ids


def test_the_index_sees_a_registry_change_on_the_next_search(app, make_nursery):
    make_nursery(**at(0, 100))
    assert search(app)[0] == 1
    nid = make_nursery(**at(0, 150))
    assert search(app)[0] == 2
    with app.app_context():
        db.session.get(Nursery, nid).filing_no = None
        bump_registry_version()
        db.session.commit()
    assert search(app)[0] == 1


def test_check_circles_names_the_nurseries_whose_circles_hold_the_home(app, make_nursery):
    a = make_nursery(**at(0, 250), name="甲园")
    b = make_nursery(**at(180, 800), name="乙园")
    make_nursery(**at(90, 1200), name="丙园")
    with app.app_context():
        report = check_circles(*HOME, WALK)
    assert report.covered_5min and report.covered_15min
    assert [x["id"] for x in report.within_5min] == [a]
    assert [x["id"] for x in report.within_15min] == [a, b]
    with app.app_context():
        lonely = check_circles(29.7, 106.7, WALK)
    assert not lonely.covered_5min and not lonely.covered_15min


def test_distances_in_results_are_geodesic_to_a_metre(app, make_nursery):
    nid = make_nursery(lat=29.61234, lon=106.53456)
    _, [hit] = search(app)
    assert hit.id == nid
    assert hit.distance_m == pytest.approx(distance_m(*HOME, 29.61234, 106.53456), abs=0.1)
