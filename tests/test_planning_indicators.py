"""Planning figures: indicators worked out by hand, coverage against brute-force geodesics,
greedy site selection against exhaustive search, and the `coverage report` command."""

import itertools
import json
from datetime import date, datetime, time, timedelta
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import Geod

from extensions import db
from planning import coverage, definitions, indicators, queries, sites

GEOD = Geod(ellps="WGS84")
ORIGIN = (29.6, 106.52)
TODAY = date(2026, 11, 20)


def _at(north_m: float = 0.0, east_m: float = 0.0) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(ORIGIN[1], ORIGIN[0], 0.0, north_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 90.0, east_m)
    return lat, lon


def _approx(value) -> object:
    return pytest.approx(float(value), rel=1e-12)


@pytest.fixture
def district(app):
    """Three streets (A and B 街道, C a 镇), four communities, two filed nurseries and one
    unfiled, six bookings.

    c1 (A) 100 m from n1 → 5 min; c2 (A) 400 m from n1 → 15 min; c3 (B) 250 m from n2 → 5 min;
    c4 (B, 农村) about 3 km from n2 → not covered. Street C has nothing. n1 is graded and a
    示范单位.
    """
    from accounts.models import User
    from booking.models import Booking, Child
    from maps.models import Community, Nursery, NurseryClass, Offer, Street

    with app.app_context():
        a, b, c = (
            Street(code=code, name=name, kind=kind)
            for code, name, kind in [("A", "甲", "subdistrict"), ("B", "乙", "subdistrict"),
                                     ("C", "丙镇", "town")]
        )  # fmt: skip
        db.session.add_all([a, b, c])
        for name, street, (lat, lon), pop, u3, urban in [
            ("c1", a, _at(0, 0), 1000, 30, True),
            ("c2", a, _at(500, 0), 2000, 50, True),
            ("c3", b, _at(0, 2000), 3000, 90, True),
            ("c4", b, _at(0, 5000), 4000, 120, False),
        ]:
            db.session.add(Community(name=name, street=street, lat=lat, lon=lon, urban=urban,
                                     population=pop, children_under_3=u3))  # fmt: skip

        def nursery(name, street, point, kind, inclusive, capacity, classes, filed=True):
            n = Nursery(name=name, address="路", street=street, kind=kind, inclusive=inclusive,
                        filing_no=f"备{name}" if filed else None, lat=point[0], lon=point[1],
                        capacity=capacity, opens_at=time(8), closes_at=time(17))  # fmt: skip
            for class_type, places in classes:
                n.classes.append(NurseryClass(class_type=class_type, name=class_type,
                                              carers=5, capacity=places))  # fmt: skip
            n.offers.append(Offer(care_type="full_day", price_unit="month", capacity=capacity))
            n.offers.append(Offer(care_type="half_day", price_unit="month", capacity=capacity))
            db.session.add(n)
            return n

        n1 = nursery("n1", a, _at(100, 0), "public", True, 40,
                     [("infant", 10), ("toddler", 15), ("older", 15)])  # fmt: skip
        n1.grade, n1.demonstration = "一级", True
        n2 = nursery("n2", b, _at(250, 2000), "private", False, 60, [("mixed", 18), ("older", 20)])
        nursery("n3", b, _at(0, 5000), "public", True, 500, [("older", 20)], filed=False)
        parent = User(username="p1", password_hash="x", role="parent")
        db.session.add(parent)
        db.session.flush()
        now = datetime(2026, 11, 1)

        def book(n, care_type, status, start, end=None):
            child = Child(parent_id=parent.id, name="孩", birth_date=date(2025, 1, 1),
                          consent_version="t", consent_at=now)  # fmt: skip
            db.session.add(child)
            db.session.flush()
            offer = next(o for o in n.offers if o.care_type == care_type)
            db.session.add(Booking(child_id=child.id, parent_id=parent.id, nursery_id=n.id,
                                   offer_id=offer.id, care_type=care_type, status=status,
                                   start_date=start, end_date=end, created_at=now,
                                   updated_at=now))  # fmt: skip

        book(n1, "full_day", "confirmed", TODAY - timedelta(days=30))
        book(n1, "full_day", "pending", TODAY, TODAY + timedelta(days=60))
        book(n1, "full_day", "waitlisted", TODAY)  # waiting: holds no place
        book(n1, "full_day", "confirmed", TODAY - timedelta(days=60), TODAY - timedelta(days=1))
        book(n2, "half_day", "confirmed", TODAY - timedelta(days=3))
        book(n2, "full_day", "confirmed", TODAY + timedelta(days=5))  # not begun yet
        db.session.commit()
        return {"A": a.id, "B": b.id, "C": c.id}


def _figures(app, street_id=None):
    with app.app_context():
        data = indicators.load(TODAY)
        dist = data.straight_distances(1000.0)
        return indicators.compute(data, dist, 300.0, 1000.0, street_id)


def test_district_indicators_match_the_hand_computed_figures(app, district):
    f = _figures(app)
    # places 40 + 60 (n3 is not filed); population 10,000; children under three 290.
    assert f["places_per_1000"]["value"] == _approx(Fraction(100, 10000) * 1000)
    assert f["inclusive_share"]["value"] == _approx(Fraction(40, 100))
    assert f["public_share"]["value"] == _approx(Fraction(40, 100))
    # in care today: n1's confirmed open-ended enrolment and n2's begun half day → 2 children
    # (n1's pending request holds a place but no child; n2's full day has not begun)
    assert f["occupancy"]["value"] == _approx(Fraction(2, 100))
    assert f["enrolment_rate"]["value"] == _approx(Fraction(2, 290))
    # 街道 only: A has an inclusive nursery, B none; the 镇 C is counted apart
    assert f["streets_with_inclusive"]["value"] == _approx(Fraction(1, 2))
    assert (
        f["streets_with_inclusive"]["numerator"],
        f["streets_with_inclusive"]["denominator"],
    ) == (1, 2)
    assert f["towns_with_inclusive"]["value"] == 0.0
    assert f["townships_with_nursery"]["value"] == _approx(Fraction(2, 3))  # A and B of A, B, C
    assert f["large_towns_with_public_demo"]["value"] is None  # no 镇街 of 50,000 people
    # 绍兴's life circles: the urban communities c1, c2, c3, of which c1 and c3 within 300 m
    assert f["facility_5min"]["value"] == _approx(Fraction(2, 3))
    assert f["coverage_5min"]["value"] == _approx(Fraction(1000 + 3000, 10000))
    assert f["coverage_15min"]["value"] == _approx(Fraction(1000 + 2000 + 3000, 10000))
    # under two: infant 10 + toddler 15 + a third of mixed 18 = 31 of the 100 filed places
    assert f["under2_share"]["value"] == _approx(Fraction(31, 100))
    assert f["grade_coverage"]["value"] == _approx(Fraction(1, 2))
    assert (
        f["demonstration_units"]["value"] == 1 and f["demonstration_units"]["denominator"] is None
    )


def test_street_indicators_count_only_the_streets_own_places_and_homes(app, district):
    a = _figures(app, district["A"])
    assert a["places_per_1000"]["value"] == _approx(Fraction(40, 3000) * 1000)
    assert a["coverage_5min"]["value"] == _approx(Fraction(1000, 3000))
    assert a["coverage_15min"]["value"] == 1.0
    assert a["streets_with_inclusive"]["value"] == 1.0
    assert a["enrolment_rate"]["value"] == _approx(Fraction(1, 80))
    b = _figures(app, district["B"])
    assert b["inclusive_share"]["value"] == 0.0
    assert b["streets_with_inclusive"]["value"] == 0.0
    assert b["coverage_5min"]["value"] == _approx(Fraction(3000, 7000))
    assert b["facility_5min"]["value"] == 1.0  # c3; the rural c4 is not a 城镇 life circle
    empty = _figures(app, district["C"])
    assert empty["places_per_1000"]["value"] is None  # no population: no figure, no crash
    assert empty["coverage_5min"]["value"] is None
    assert empty["streets_with_inclusive"]["value"] is None  # a 镇 is no 街道
    assert empty["towns_with_inclusive"]["value"] == 0.0


def test_report_carries_targets_mode_and_gap_list(app, district):
    with app.app_context():
        result = queries.report(today=TODAY)
    assert result["mode"] == "straight" and result["mode_label"] == "直线距离"
    assert result["coverage_5min"] == _approx(0.4)
    five = result["indicators"]["facility_5min"]
    assert [(t["value"], t["source"]) for t in five["targets"]] == [
        (0.40, "绍兴 具体目标第5项，2024年"),
        (0.65, "绍兴 具体目标第5项，2027年"),
    ]
    assert five["meets_target"] is True  # 2 of 3 urban life circles: past 2027's 65 % (the last)
    assert five["sources"] == ["绍兴 具体目标第5项"] and "城镇小区" in five["definition"]
    # population coverage is this service's figure: no target is made up for it
    assert result["indicators"]["coverage_5min"]["targets"] == []
    assert result["indicators"]["coverage_5min"]["sources"] == []
    # 荣昌's 15-minute circle has no number: shown as text, never compared
    fifteen = result["indicators"]["coverage_15min"]
    assert [(t["value"], t["seed"]) for t in fifteen["targets"]] == [(None, "荣昌")]
    assert fifteen["meets_target"] is None
    streets = result["indicators"]["streets_with_inclusive"]
    assert [t["op"] for t in streets["targets"]] == [">", ">"]  # 荣昌, 大足: ＞90 %
    assert [g["name"] for g in result["gaps"]] == ["c4", "c2"]  # by children under three
    assert result["gaps"][0]["coverage"] == "none" and result["gaps"][1]["coverage"] == "15min"
    assert {s["code"] for s in result["streets"]} == {"A", "B", "C"}
    c2 = next(c for c in result["communities"] if c["name"] == "c2")
    assert c2["distance_m"] == pytest.approx(400.0, abs=0.1)
    assert c2["walk_minutes"] == 7  # 400 m × 1.25 (detour) ÷ 75 m/min = 6.7 → 7


def test_unknown_street_and_mode_are_refused(app, district):
    from errors import DomainError

    with app.app_context():
        with pytest.raises(DomainError) as street:
            queries.report(street_code="NOPE")
        with pytest.raises(DomainError) as mode:
            queries.report(mode="crow")
    assert street.value.status == 404 and "NOPE" in street.value.message
    assert mode.value.status == 400


# --- coverage against brute force -----------------------------------------------------------


def _brute_nearest(point_lats, point_lons, site_lats, site_lons) -> np.ndarray:
    out = np.empty(len(point_lats))
    for i, (lat, lon) in enumerate(zip(point_lats, point_lons, strict=True)):
        _, _, d = GEOD.inv(np.full(len(site_lats), lon), np.full(len(site_lats), lat),
                           site_lons, site_lats)  # fmt: skip
        out[i] = np.min(d)
    return out


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_sites=st.integers(1, 60),
    spread_deg=st.sampled_from([0.005, 0.02, 0.1]),
    radius=st.sampled_from([300.0, 1000.0]),
)
def test_coverage_equals_a_brute_force_geodesic_computation(seed, n_sites, spread_deg, radius):
    rng = np.random.default_rng(seed)
    lat0, lon0 = 29.0 + rng.random() * 2, 105.0 + rng.random() * 3
    s_lat = lat0 + rng.random(n_sites) * spread_deg
    s_lon = lon0 + rng.random(n_sites) * spread_deg
    p_lat = lat0 + rng.random(300) * spread_deg
    p_lon = lon0 + rng.random(300) * spread_deg
    exact = _brute_nearest(p_lat, p_lon, s_lat, s_lon)
    fast = coverage.covered(p_lat, p_lon, s_lat, s_lon, radius)
    clear = np.abs(exact - radius) > 0.001  # within a millimetre of the edge either answer is fine
    assert np.array_equal(fast[clear], (exact <= radius)[clear])
    dist, _ = coverage.SiteTree(s_lat, s_lon).nearest_m(p_lat, p_lon, radius)
    inside = exact <= radius
    assert np.allclose(dist[inside & clear], exact[inside & clear], atol=0.001)
    assert np.all(np.isinf(dist[~inside & clear]))


def test_coverage_with_no_sites_or_no_points():
    assert coverage.covered([29.6], [106.5], [], [], 300.0).tolist() == [False]
    assert coverage.covered([], [], [29.6], [106.5], 300.0).size == 0
    assert coverage.weighted_share(np.array([True]), [0]) is None


# --- greedy site selection against exhaustive search -----------------------------------------


def _data(points, weights):
    rows = [
        indicators.CommunityRow(i + 1, f"c{i + 1}", None, lat, lon, w * 10, w)
        for i, ((lat, lon), w) in enumerate(zip(points, weights, strict=True))
    ]
    return indicators.DistrictData({}, [], rows)


def _exhaustive_best(data, k, radius):
    lats = np.array([c.lat for c in data.communities])
    lons = np.array([c.lon for c in data.communities])
    weights = np.array([c.children_under_3 for c in data.communities])
    reach = []
    for c in data.communities:
        _, _, d = GEOD.inv(np.full(len(lats), c.lon), np.full(len(lats), c.lat), lons, lats)
        reach.append(set(np.flatnonzero(np.asarray(d) <= radius)))
    best = 0
    for combo in itertools.combinations(range(len(reach)), k):
        covered_set = set().union(*(reach[i] for i in combo))
        best = max(best, int(weights[list(covered_set)].sum()))
    return best, reach, weights


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 9), k=st.integers(1, 3))
def test_greedy_sites_take_the_best_gain_each_step_and_stay_near_the_optimum(seed, n, k):
    rng = np.random.default_rng(seed)
    points = [_at(rng.random() * 1500, rng.random() * 1500) for _ in range(n)]
    weights = [int(w) for w in rng.integers(1, 100, n)]
    data = _data(points, weights)
    far = np.full(n, np.inf)  # nothing covered today
    chosen = sites.suggest(data, far, k, 300.0)
    best, reach, w = _exhaustive_best(data, min(k, n), 300.0)
    total = sum(s.gain_children for s in chosen)
    # each step: the largest marginal gain among all candidates (checked by brute force)
    done: set[int] = set()
    for s in chosen:
        gains = [int(w[list(r - done)].sum()) for r in reach]
        assert s.gain_children == max(gains)
        done |= {c.id - 1 for c in data.communities if c.id in s.community_ids}
    assert total <= best
    assert total >= (1 - 1 / np.e) * best - 1e-9
    if k == 1:
        assert total == best  # one site: greedy is exact


def test_greedy_skips_covered_communities_and_stops_when_nothing_is_left():
    points = [_at(0, 0), _at(100, 0), _at(5000, 0)]
    data = _data(points, [10, 20, 30])
    dist = np.array([50.0, np.inf, np.inf])  # the first is covered today
    chosen = sites.suggest(data, dist, 5, 300.0)
    assert [s.gain_children for s in chosen] == [30, 20]  # then nothing left: 2 sites, not 5
    assert chosen[0].community_ids == (3,)


@pytest.mark.parametrize("k", [0, -1, 51, 1.5, "3", True])
def test_k_out_of_range_is_refused(k):
    from errors import DomainError

    with pytest.raises(DomainError) as exc:
        sites.check_k(k)
    assert "新增机构数" in exc.value.message


# --- the command ------------------------------------------------------------------------------


def test_coverage_report_json_has_the_contract_fields(app, runner, district):
    result = runner.invoke(args=["coverage", "report", "--format", "json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    # the mode and both coverages as population-weighted shares (DESIGN §6)
    assert payload["mode"] == "straight"
    assert 0 <= payload["coverage_5min"] <= payload["coverage_15min"] <= 1
    assert "communities" not in payload and len(payload["gaps"]) >= 1


def test_coverage_report_for_one_street_as_text(app, runner, district):
    result = runner.invoke(args=["coverage", "report", "--street", "A"])
    assert result.exit_code == 0, result.output
    assert "甲 · 直线距离" in result.stdout
    assert "城镇5分钟社区生活圈托育服务设施配置率：50.0%" in result.stdout  # c1 of c1, c2
    assert "5分钟托育服务圈人口覆盖率：33.3%" in result.stdout


def test_coverage_report_refuses_an_unknown_street(app, runner, district):
    result = runner.invoke(args=["coverage", "report", "--street", "ZZ"])
    assert result.exit_code != 0 and "未知的镇街代码" in result.output


def test_a_streets_suggestions_fill_only_its_own_gaps(app, district):
    from errors import DomainError

    with app.app_context():
        names = {c.id: c.name for c in indicators.load(TODAY).communities}
        whole = queries.suggestions(5, data=indicators.load(TODAY))
        street_a = queries.suggestions(5, street_code="A", data=indicators.load(TODAY))
        with pytest.raises(DomainError) as unknown:
            queries.suggestions(1, street_code="NOPE")
    picked = {names[i] for s in whole["sites"] for i in s["community_ids"]}
    assert picked == {"c2", "c4"}  # the district's gaps
    assert [names[i] for s in street_a["sites"] for i in s["community_ids"]] == ["c2"]
    assert street_a["uncovered_children"] == 50 and unknown.value.status == 404


# --- definitions and targets as the seeds give them ----------------------------------------------


def test_large_towns_count_only_those_of_50000_people_with_a_public_inclusive_demonstration():
    """绍兴 具体目标第11项: of the 乡镇（街道） with 50,000 people or more, the share with a public
    (公建民营 included), inclusive, demonstration nursery. Pure arithmetic over plain rows."""
    from planning.indicators import CommunityRow, DistrictData, NurseryRow

    def nursery(i, street, kind="public", inclusive=True, demonstration=True):
        return NurseryRow(i, f"n{i}", street, 0.0, 0.0, kind, inclusive, 10, 10.0, 0.0, 0,
                          demonstration=demonstration)  # fmt: skip

    communities = [
        CommunityRow(1, "a", 1, 0.0, 0.0, 50_000, 0),  # 镇街 1: exactly 50,000
        CommunityRow(2, "b", 2, 0.0, 0.0, 30_000, 0),  # 镇街 2: 60,000 over two communities
        CommunityRow(3, "c", 2, 0.0, 0.0, 30_000, 0),
        CommunityRow(4, "d", 3, 0.0, 0.0, 70_000, 0),  # 镇街 3
        CommunityRow(5, "e", 4, 0.0, 0.0, 49_999, 0),  # 镇街 4: too small to count
    ]
    nurseries = [
        nursery(1, 1, kind="public_private"),  # counts: 公建民营 is public
        nursery(2, 2, inclusive=False),  # not inclusive
        nursery(3, 3, kind="private"),  # not public
        nursery(4, 3, demonstration=False),  # not a demonstration unit
        nursery(5, 4),  # in a 镇街 under 50,000 people
    ]
    streets = {i: (f"S{i}", f"镇街{i}") for i in (1, 2, 3, 4)}
    data = DistrictData(streets, nurseries, communities, {i: "town" for i in streets})
    far = np.full(len(communities), np.inf)
    f = indicators.compute(data, far, 300.0, 1000.0)["large_towns_with_public_demo"]
    assert (f["numerator"], f["denominator"]) == (1, 3)
    assert f["sources"] == ["绍兴 具体目标第11项"]


def _targets_file(tmp_path, targets) -> str:
    path = tmp_path / "targets.json"
    path.write_text(json.dumps({"district": "测试区", "targets": targets}), encoding="utf-8")
    return str(path)


def test_every_shipped_target_cites_a_seed_item_and_year_and_every_indicator_has_a_definition():
    doc = indicators.load_targets()
    for key, targets in doc["targets"].items():
        for t in targets:
            assert t["seed"] in definitions.SEEDS and t["source"].endswith("年"), (key, t)
    for key, d in definitions.INDICATORS.items():
        assert d.definition and d.label, key
        assert all(c.split()[0] in definitions.SEEDS for c in d.cites), key
    # no made-up goal: the figures no seed sets have no target, 15 minutes has no number
    assert "coverage_5min" not in doc["targets"] and "towns_with_inclusive" not in doc["targets"]
    assert [t["value"] for t in doc["targets"]["coverage_15min"]] == [None]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ({"value": 0.5}, "needs a 'seed'"),
        ({"value": 0.5, "seed": "上海", "item": "第1项", "year": 2025}, "unknown seed"),
        ({"value": 0.5, "seed": "荣昌", "item": "第1项"}, "item and year"),
        ({"value": -1, "seed": "荣昌", "item": "第1项", "year": 2025}, "non-negative"),
        ({"seed": "荣昌", "item": "第1项", "year": 2025}, "a value or a text"),
        ({"value": 0.5, "op": "<", "label": "本区自定"}, "op must be"),
        ({"value": 0.5, "label": "本区", "source": "x"}, "a target has only"),
    ],
)
def test_a_bad_target_is_refused_naming_the_indicator(tmp_path, target, message):
    with pytest.raises(ValueError, match=message) as info:
        indicators.load_targets(_targets_file(tmp_path, {"occupancy": [target]}))
    assert "occupancy" in str(info.value)


def test_a_district_may_set_and_label_its_own_goal_and_strict_targets_compare_strictly(tmp_path):
    doc = indicators.load_targets(
        _targets_file(
            tmp_path,
            {
                "coverage_15min": [{"value": 0.8, "label": "本区自定目标（区卫健委 2026 年要点）"}],
                "streets_with_inclusive": [
                    {"value": 0.9, "op": ">", "seed": "荣昌", "item": "主要指标第4项", "year": 2025}
                ],
            },
        )
    )
    [own] = doc["targets"]["coverage_15min"]
    assert own["source"] == "本区自定目标（区卫健委 2026 年要点）" and own["seed"] is None
    [strict] = doc["targets"]["streets_with_inclusive"]
    assert indicators.meets(0.9, strict) is False and indicators.meets(0.91, strict) is True
    assert indicators.meets(0.8, own) is True and indicators.meets(None, own) is None


def test_walking_network_mode_walks_the_standards_metres():
    """GB 50180-2018: 300 m for the 5-minute circle, 800–1000 m (1000 by default) for 15 — the
    same metres along the network as in a straight line, not minutes at a walking speed."""
    settings = queries.Settings()
    assert settings.radii("network") == settings.radii("straight") == (300.0, 1000.0)
    assert queries.Settings(radius_15min_m=800.0).radii("network") == (300.0, 800.0)
