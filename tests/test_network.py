"""Walking-network mode (issue 5): OSM parsing, distances on a hand-checked graph, the
multi-source search against a plain Dijkstra, snapping, isochrones, all-or-nothing loading on
both databases, the CLI, and the demo network against straight lines."""

import gzip
import heapq
import math
import random

import numpy as np
import pytest
import shapely
from shapely.geometry import Point
from sqlalchemy import func, select

from demo import district as demo
from demo.network import demo_osm
from errors import DomainError
from extensions import db
from maps.geo import GEOD, distance_m
from planning import network
from planning import services as planning_services
from planning.coverage import SiteTree
from planning.models import WalkEdge, WalkNetwork, WalkNode
from planning.network import (
    PREFER_GROUND_M,
    STEPS_FACTOR,
    WalkGraph,
    from_osm_bytes,
    walk_minutes,
)

# The tiny network, in Chongqing (WGS-84). Letters name the nodes; ids are OSM ids.
#
#   E(5) ······steps······ D(4) ── path ── F(6)
#    │                      │
#  resid.                footway
#    │                      │
#   A(1) ── B(2) ───────── C(3)          (C ═ trunk, no sidewalk ═ F: not walkable)
#
# Not walkable, each a shortcut if wrongly walked: A–D footway with foot=no, B–D private
# service road, C–F trunk road without sidewalk, a park's outline E–C–D (pedestrian
# squares are walked: tests/test_osm.py). A duplicate footway
# A–B (parallel to the street) must not add up with it. H–I is a fragment on its own.
NODES = {
    "A": (1, 29.6000, 106.5200),
    "B": (2, 29.6000, 106.5210),
    "C": (3, 29.6000, 106.5220),
    "D": (4, 29.6010, 106.5220),
    "E": (5, 29.6010, 106.5200),
    "F": (6, 29.6005, 106.5230),
    "H": (8, 29.6100, 106.5300),
    "I": (9, 29.6101, 106.5300),
}
WAYS = [
    (101, "AABC", {"highway": "residential", "name": "星光路"}),  # "AA": a repeated node
    (102, "CD", {"highway": "footway"}),
    (103, "ED", {"highway": "steps"}),
    (104, "EA", {"highway": "residential"}),
    (105, "DF", {"highway": "path"}),
    (106, "AB", {"highway": "footway"}),
    (107, "HI", {"highway": "residential"}),
    (201, "AD", {"highway": "footway", "foot": "no"}),
    (202, "BD", {"highway": "service", "access": "private"}),
    (203, "CF", {"highway": "trunk"}),
    (204, "ECDE", {"leisure": "park", "area": "yes"}),
    (205, "AE", {"waterway": "stream"}),
]


def osm_xml(nodes=NODES, ways=WAYS, root="osm") -> bytes:
    lines = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} version="0.6">']
    for osm_id, lat, lon in nodes.values():
        lines.append(f'<node id="{osm_id}" lat="{lat}" lon="{lon}" version="1"/>')
    lines.append('<node id="10" lat="29.6003" lon="106.5203"><tag k="shop" v="bakery"/></node>')
    for way_id, letters, tags in ways:
        refs = "".join(
            f'<nd ref="{nodes[c][0] if c in nodes else c}"/>'
            for c in (letters if isinstance(letters, str) else letters)
        )
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way_id}">{refs}{tag_xml}</way>')
    lines.append('<relation id="1"><member type="way" ref="101" role=""/></relation>')
    lines.append(f"</{root}>")
    return "\n".join(lines).encode()


def seg(p: str, q: str) -> float:
    """Geodesic metres between two named nodes."""
    return distance_m(NODES[p][1], NODES[p][2], NODES[q][1], NODES[q][2])


def at(name: str) -> tuple[float, float]:
    return NODES[name][1], NODES[name][2]


def moved(name: str, north_m: float, east_m: float = 0.0) -> tuple[float, float]:
    """A point north_m north and east_m east of a node (geodesic)."""
    lat, lon = at(name)
    if north_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 0.0 if north_m > 0 else 180.0, abs(north_m))
    if east_m:
        lon, lat, _ = GEOD.fwd(lon, lat, 90.0 if east_m > 0 else 270.0, abs(east_m))
    return lat, lon


@pytest.fixture(scope="module")
def tiny():
    return from_osm_bytes(osm_xml(), "tiny.osm")


# Walking metres between the nodes, reasoned out by hand on the drawing above:
# A→D goes round by B and C (the foot=no diagonal is closed); E→D climbs the steps (2 × ED =
# 387 m) rather than go round by A, B, C (415 m); E→C goes round by A (the park is no route).
def expected_from_a() -> dict[str, float]:
    abc = seg("A", "B") + seg("B", "C")
    return {
        "A": 0.0,
        "B": seg("A", "B"),
        "C": abc,
        "D": abc + seg("C", "D"),
        "E": seg("A", "E"),
        "F": abc + seg("C", "D") + seg("D", "F"),
    }


def test_parsing_keeps_walkable_ways_on_the_largest_connected_part(tiny):
    by_osm = dict(zip(tiny.osm_ids.tolist(), range(tiny.osm_ids.size), strict=True))
    assert set(by_osm) == {1, 2, 3, 4, 5, 6}  # H–I dropped, the shop and the stream unused
    assert tiny.dropped_nodes == 2
    assert tiny.way_count == 7 and tiny.ignored_ways == 5
    # AB (street and footway, merged), BC, CD, ED, EA, DF.
    pairs = {
        frozenset((int(tiny.osm_ids[a]), int(tiny.osm_ids[b])))
        for a, b in zip(tiny.u, tiny.v, strict=True)
    }
    assert pairs == {frozenset(p) for p in [(1, 2), (2, 3), (3, 4), (5, 4), (5, 1), (4, 6)]}
    steps = [
        k
        for k, (a, b) in enumerate(zip(tiny.u, tiny.v, strict=True))
        if {int(tiny.osm_ids[a]), int(tiny.osm_ids[b])} == {4, 5}
    ][0]
    assert tiny.length_m[steps] == pytest.approx(seg("E", "D"), abs=1e-6)
    assert tiny.cost_m[steps] == pytest.approx(STEPS_FACTOR * seg("E", "D"), abs=1e-6)


def test_walking_distances_on_the_tiny_graph_match_the_hand_reckoning(tiny):
    graph = tiny.graph()
    expected = expected_from_a()
    names = list(expected)
    lats = [at(n)[0] for n in names]
    lons = [at(n)[1] for n in names]
    got = graph.distances_from(*at("A"), lats, lons)
    assert got == pytest.approx([expected[n] for n in names], abs=1e-6)
    # Checks that tell the rules apart: steps cost double, and beat the long way round.
    e_to = graph.distances_from(*at("E"), [at("D")[0], at("C")[0]], [at("D")[1], at("C")[1]])
    assert e_to[0] == pytest.approx(2 * seg("E", "D"), abs=1e-6)
    assert e_to[0] < seg("E", "A") + seg("A", "B") + seg("B", "C") + seg("C", "D")
    assert e_to[1] == pytest.approx(seg("E", "A") + seg("A", "B") + seg("B", "C"), abs=1e-6)
    # And the network is never shorter than the straight line.
    for name in names:
        assert expected[name] >= distance_m(*at("A"), *at(name)) - 1e-9


def _projection(graph: WalkGraph, snap, k: int) -> np.ndarray:
    """Where point k entered the network, in the graph's local metres."""
    e, t = int(snap.edge[k]), float(snap.t[k])
    return graph.xy[graph.u[e]] + t * (graph.xy[graph.v[e]] - graph.xy[graph.u[e]])


def test_points_off_the_network_walk_to_their_street(tiny):
    graph = tiny.graph()
    home = moved("C", -10.0)  # 10 m south of C, off the street
    site = moved("A", 0.0, -8.0)  # 8 m west of A
    snap = graph.snap([home[0], site[0]], [home[1], site[1]])
    assert snap.dist_m == pytest.approx([10.0, 8.0], abs=1e-3)
    c = graph.local_points(*zip(at("C"), strict=True))[0]
    assert np.abs(_projection(graph, snap, 0) - c).max() < 1e-3  # enters the network at C
    want = 8.0 + seg("A", "B") + seg("B", "C") + 10.0
    got = graph.nearest_site_m([site[0]], [site[1]], [home[0]], [home[1]])
    assert got[0] == pytest.approx(want, abs=1e-3)
    # The limit: exactly at it counts, a centimetre short of it does not.
    assert graph.nearest_site_m([site[0]], [site[1]], [home[0]], [home[1]], got[0])[0] < math.inf
    assert (
        graph.nearest_site_m([site[0]], [site[1]], [home[0]], [home[1]], got[0] - 0.01)[0]
        == math.inf
    )
    # No sites: nothing is reachable.
    assert graph.nearest_site_m([], [], [home[0]], [home[1]], 1000.0).tolist() == [math.inf]


def test_a_home_halfway_along_a_long_street_enters_it_beside_itself(tiny):
    graph = tiny.graph()
    # Halfway from A to B (97 m apart), 5 m north of the street: projected onto the street
    # beside the home, it walks half the street to B, not round by a corner.
    lat, lon = moved("A", 5.0, seg("A", "B") / 2)
    snap = graph.snap([lat], [lon])
    assert snap.dist_m[0] == pytest.approx(5.0, abs=0.01)
    assert snap.t[0] == pytest.approx(0.5, abs=1e-3)
    assert graph.distances_from(lat, lon, [at("B")[0]], [at("B")[1]])[0] == pytest.approx(
        5.0 + seg("A", "B") / 2, abs=0.05
    )


def test_two_points_on_one_street_walk_straight_along_it(tiny):
    """A home and a nursery between the same two corners walk the piece between them, in
    either direction, not out to a corner and back."""
    graph = tiny.graph()
    home = moved("A", 4.0, 20.0)
    site = moved("A", -6.0, 70.0)
    there = graph.distances_from(*home, [site[0]], [site[1]])[0]
    back = graph.nearest_site_m([home[0]], [home[1]], [site[0]], [site[1]])[0]
    assert there == pytest.approx(4.0 + 50.0 + 6.0, abs=0.05)
    assert back == pytest.approx(there, abs=1e-6)


def _street_and_tunnel(street_offset_m: float) -> WalkGraph:
    """A tunnel (layer -1) 400 m long along lat 29.6, and a street parallel to it
    street_offset_m to the north; joined at both ends."""
    lat0, lon0 = 29.6, 106.52
    east, _, _ = GEOD.fwd(lon0, lat0, 90.0, 400.0)
    north = GEOD.fwd(lon0, lat0, 0.0, street_offset_m)[1]
    lats = [lat0, lat0, north, north]
    lons = [lon0, east, lon0, east]
    u, v = [0, 2, 0, 1], [1, 3, 2, 3]
    length = GEOD.inv(np.array(lons)[u], np.array(lats)[u], np.array(lons)[v], np.array(lats)[v])[2]
    return WalkGraph(lats, lons, u, v, length, ground=[False, True, True, True])


def test_a_street_within_a_few_metres_wins_over_the_tunnel_under_the_home():
    lat0, lon0 = 29.6, 106.52
    mid = GEOD.fwd(lon0, lat0, 90.0, 200.0)
    near = _street_and_tunnel(3.0)
    snap = near.snap([mid[1]], [mid[0]])  # right above the tunnel, 3 m from the street
    assert near.ground[snap.edge[0]] and snap.dist_m[0] == pytest.approx(3.0, abs=0.01)
    far = _street_and_tunnel(12.0)  # 12 m to the street: the tunnel it is (an entrance)
    snap = far.snap([mid[1]], [mid[0]])
    assert not far.ground[snap.edge[0]] and snap.dist_m[0] == pytest.approx(0.0, abs=0.01)
    # 23 m south of the tunnel, 27 m from the street 4 m north of it: beyond the first search
    # radius (25 m), the street rule still finds the street.
    south = GEOD.fwd(mid[0], mid[1], 180.0, 23.0)
    four = _street_and_tunnel(4.0)
    snap = four.snap([south[1]], [south[0]])
    assert four.ground[snap.edge[0]] and snap.dist_m[0] == pytest.approx(27.0, abs=0.01)
    # And no street at all within 5 m more: the tunnel.
    snap = far.snap([south[1]], [south[0]])
    assert not far.ground[snap.edge[0]] and snap.dist_m[0] == pytest.approx(23.0, abs=0.01)


def test_a_point_too_far_from_every_way_is_off_the_network(tiny):
    graph = tiny.graph(max_snap_m=200.0)
    lost = moved("A", -250.0)
    snap = graph.snap([lost[0]], [lost[1]])
    assert not snap.ok[0] and snap.dist_m[0] == math.inf
    assert graph.distances_from(*lost, [at("B")[0]], [at("B")[1]]).tolist() == [math.inf]
    assert graph.nearest_site_m([lost[0]], [lost[1]], [at("B")[0]], [at("B")[1]]).tolist() == [
        math.inf
    ]
    assert graph.snap([moved("A", -150.0)[0]], [moved("A", -150.0)[1]]).ok[0]


def test_an_escalator_is_walked_one_way_only():
    lats, lons = [29.6, 29.6, 29.601], [106.52, 106.521, 106.5205]
    length = GEOD.inv(lons[:2] + [lons[2], lons[2]], lats[:2] + [lats[2], lats[2]],
                      lons[1:] + lons[:1] + [lons[1]],
                      lats[1:] + lats[:1] + [lats[1]])[2]  # fmt: skip
    # 0 → 1 an escalator (one way); 0–2–1 stairs round the other way, both ways.
    graph = WalkGraph(lats, lons, [0, 2, 0], [1, 1, 2],
                      [length[0], length[3], length[2]], oneway=[True, False, False])  # fmt: skip
    up = graph.distances_from(lats[0], lons[0], [lats[1]], [lons[1]])[0]
    down = graph.distances_from(lats[1], lons[1], [lats[0]], [lons[0]])[0]
    assert up == pytest.approx(length[0], abs=1e-6)
    assert down == pytest.approx(length[3] + length[2], abs=1e-6)
    # The multi-source search walks to the sites: the same directions.
    assert graph.nearest_site_m([lats[1]], [lons[1]], [lats[0]], [lons[0]])[0] == pytest.approx(up)
    assert graph.nearest_site_m([lats[0]], [lons[0]], [lats[1]], [lons[1]])[0] == pytest.approx(
        down
    )


def test_an_edge_given_twice_is_walked_once_by_its_cheaper_copy():
    # A sparse matrix built from repeated entries adds them up: 0–1 would cost 100 + 100 + 150.
    lats, lons = [29.6, 29.6, 29.6], [106.52, 106.5203, 106.5206]
    graph = WalkGraph(lats, lons, [0, 1, 0, 1], [1, 0, 1, 2], [29.0] * 4, [100.0, 100.0, 150.0, 7])
    got = graph.distances_from(lats[0], lons[0], lats, lons)
    assert got.tolist() == pytest.approx([0.0, 100.0, 107.0])


def _point_segments_m(lat, lon, lat1, lon1, lat2, lon2) -> np.ndarray:
    """Metres from a point to each straight piece, measured independently: in an azimuthal
    equidistant projection centred on the point (true distances from it), by the textbook
    clamp-and-project formula."""
    from pyproj import Transformer

    local = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84", always_xy=True
    )
    x1, y1 = local.transform(lon1, lat1)
    x2, y2 = local.transform(lon2, lat2)
    dx, dy = x2 - x1, y2 - y1
    den = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(den == 0, 0.0, np.clip(-(x1 * dx + y1 * dy) / den, 0.0, 1.0))
    return np.hypot(x1 + t * dx, y1 + t * dy)


def test_snapping_finds_the_nearest_point_on_any_edge():
    rng = np.random.default_rng(7)
    graph = _random_graph(rng, 60)
    lats = 29.6 + rng.uniform(-0.012, 0.012, 120)
    lons = 106.5 + rng.uniform(-0.012, 0.012, 120)
    snap = graph.snap(lats, lons)
    a, b = graph.u, graph.v
    for k in range(lats.size):
        brute = _point_segments_m(
            lats[k], lons[k], graph.lats[a], graph.lons[a], graph.lats[b], graph.lons[b]
        ).min()
        if brute <= graph.max_snap_m:
            assert snap.dist_m[k] == pytest.approx(brute, abs=0.01)
        else:
            assert not snap.ok[k]


def test_snapping_prefers_a_street_within_a_few_metres_of_a_tunnel_anywhere():
    """The street rule against brute force on random ways, a third of them tunnels or bridges:
    the nearest way, unless it is off the ground and a street is at most PREFER_GROUND_M
    farther (and within max_snap_m)."""
    rng = np.random.default_rng(11)
    base = _random_graph(rng, 40)
    ground = rng.random(base.edge_count) > 0.35
    graph = WalkGraph(base.lats, base.lons, base.u, base.v, base.cost, ground=ground,
                      max_snap_m=120.0)  # fmt: skip
    lats = 29.6 + rng.uniform(-0.012, 0.012, 300)
    lons = 106.5 + rng.uniform(-0.012, 0.012, 300)
    snap = graph.snap(lats, lons)
    a, b = graph.u, graph.v
    took_street = 0
    for k in range(lats.size):
        d = _point_segments_m(lats[k], lons[k], graph.lats[a], graph.lons[a],
                              graph.lats[b], graph.lons[b])  # fmt: skip
        nearest = int(d.argmin())
        if d[nearest] > graph.max_snap_m:
            assert not snap.ok[k]
            continue
        street = d[graph.ground].min(initial=math.inf)
        to_street = not graph.ground[nearest] and street <= min(d[nearest] + PREFER_GROUND_M, 120)
        want = street if to_street else d[nearest]
        took_street += to_street and street > d[nearest] + 0.01
        assert snap.dist_m[k] == pytest.approx(want, abs=0.01)
        assert graph.ground[snap.edge[k]] == (to_street or graph.ground[nearest])
    assert took_street > 0  # the case the rule is for did come up


def _random_graph(rng, n: int) -> WalkGraph:
    lats = 29.6 + rng.uniform(-0.01, 0.01, n)
    lons = 106.5 + rng.uniform(-0.01, 0.01, n)
    u = rng.integers(0, n, 3 * n)
    v = rng.integers(0, n, 3 * n)  # self-loops and repeated pairs included on purpose
    length = GEOD.inv(lons[u], lats[u], lons[v], lats[v])[2]
    cost = length * np.where(rng.random(u.size) < 0.2, STEPS_FACTOR, 1.0)
    return WalkGraph(lats, lons, u, v, length, cost)


def _directed_reference(graph: WalkGraph, snaps) -> tuple[int, list, list[list[int]]]:
    """A reference graph with every snapped point as a node of its own: each edge is split at
    the projections on it (sorted along it); each piece of an edge u → v is an arc u → v at its
    share of `cost` and, unless the edge is one-way, an arc back at its share of `back`; each
    point hangs off its projection by its snap distance, both ways. Returns (node count, arcs,
    the point nodes of each snap)."""
    n = graph.node_count
    cuts: dict[int, list[tuple[float, int]]] = {}
    arcs, owners = [], []
    for snap in snaps:
        mine = []
        for k in range(snap.edge.size):
            projection, point = n, n + 1
            n += 2
            cuts.setdefault(int(snap.edge[k]), []).append((float(snap.t[k]), projection))
            arcs += [(projection, point, float(snap.dist_m[k])),
                     (point, projection, float(snap.dist_m[k]))]  # fmt: skip
            mine.append(point)
        owners.append(mine)
    for e in range(graph.edge_count):
        a, b = int(graph.u[e]), int(graph.v[e])
        stops = [(0.0, a)] + sorted(cuts.get(e, [])) + [(1.0, b)]
        for (t1, p1), (t2, p2) in zip(stops, stops[1:], strict=False):
            arcs.append((p1, p2, (t2 - t1) * float(graph.cost[e])))
            if not graph.oneway[e]:
                arcs.append((p2, p1, (t2 - t1) * float(graph.back[e])))
    return n, arcs, owners


def _arc_dijkstra(n: int, arcs, source: int, reverse: bool = False) -> list[float]:
    """Textbook Dijkstra over directed arcs; `reverse`: metres *to* the source instead."""
    adjacency = [[] for _ in range(n)]
    for a, b, w in arcs:
        if reverse:
            a, b = b, a
        adjacency[a].append((b, w))
    dist = [math.inf] * n
    dist[source] = 0.0
    heap = [(0.0, source)]
    while heap:
        d, a = heapq.heappop(heap)
        if d > dist[a]:
            continue
        for b, w in adjacency[a]:
            if d + w < dist[b]:
                dist[b] = d + w
                heapq.heappush(heap, (d + w, b))
    return dist


@pytest.mark.parametrize("seed", range(6))
def test_multi_source_search_equals_the_best_single_source_run(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(20, 70))
    lats = 29.6 + rng.uniform(-0.01, 0.01, n)
    lons = 106.5 + rng.uniform(-0.01, 0.01, n)
    u, v = rng.integers(0, n, 2 * n), rng.integers(0, n, 2 * n)
    length = GEOD.inv(lons[u], lats[u], lons[v], lats[v])[2]
    cost = length * np.where(rng.random(u.size) < 0.3, STEPS_FACTOR, 1.0)
    graph = WalkGraph(lats, lons, u, v, length, cost)
    # The reference walks the input edges (a pair given twice is walked by its cheaper copy);
    # sites and points stand exactly on nodes of some edge, so they enter the network there.
    # (A node on no edge is not on the network: it is projected onto the nearest street.)
    edges = [(int(a), int(b), float(w)) for a, b, w in zip(u, v, cost, strict=True) if a != b]
    on_edge = np.zeros(n, dtype=bool)
    on_edge[[a for a, _, _ in edges] + [b for _, b, _ in edges]] = True
    sites = rng.choice(np.flatnonzero(on_edge), size=int(rng.integers(1, 6)), replace=False)
    arcs = edges + [(b, a, w) for a, b, w in edges]  # every edge both ways
    runs = [_arc_dijkstra(n, arcs, int(s)) for s in sites]
    lats, lons = lats[on_edge], lons[on_edge]
    want = np.array([min(run[p] for run in runs) for p in np.flatnonzero(on_edge)])
    got = graph.nearest_site_m(graph.lats[sites], graph.lons[sites], lats, lons)
    assert np.allclose(got, want, rtol=1e-9, atol=1e-6, equal_nan=False)
    assert np.array_equal(np.isinf(got), np.isinf(want))
    # With a limit, what lies beyond it is inf and the rest is unchanged.
    limit = float(np.median(want[np.isfinite(want)]))
    capped = graph.nearest_site_m(graph.lats[sites], graph.lons[sites], lats, lons, limit)
    inside = want <= limit
    assert np.allclose(capped[inside], want[inside], atol=1e-6)
    assert np.isinf(capped[~inside]).all()


def test_multi_source_search_counts_the_sites_and_points_entry_into_the_network():
    rng = np.random.default_rng(11)
    graph = _random_graph(rng, 50)
    site_lats = 29.6 + rng.uniform(-0.01, 0.01, 4)
    site_lons = 106.5 + rng.uniform(-0.01, 0.01, 4)
    point_lats = 29.6 + rng.uniform(-0.01, 0.01, 30)
    point_lons = 106.5 + rng.uniform(-0.01, 0.01, 30)
    sites = graph.snap(site_lats, site_lons)
    points = graph.snap(point_lats, point_lons)
    assert sites.ok.all() and points.ok.all()
    # Reference: a plain Dijkstra from each site on the graph split at every projection.
    n, arcs, (site_nodes, point_nodes) = _directed_reference(graph, [sites, points])
    runs = [_arc_dijkstra(n, arcs, s, reverse=True) for s in site_nodes]
    want = [min(run[p] for run in runs) for p in point_nodes]
    got = graph.nearest_site_m(site_lats, site_lons, point_lats, point_lons)
    assert got == pytest.approx(want, abs=1e-6)
    # One point to many sites is the same search the other way round.
    one = graph.distances_from(point_lats[0], point_lons[0], site_lats, site_lons)
    assert one.min() == pytest.approx(got[0], abs=1e-6)


def _uphill_graph(rng, n: int) -> WalkGraph:
    """A random graph whose edges cost more one way than the other (a slope), some one-way."""
    base = _random_graph(rng, n)
    back = base.cost * rng.uniform(0.5, 2.0, base.edge_count)
    oneway = rng.random(base.edge_count) < 0.15
    return WalkGraph(base.lats, base.lons, base.u, base.v, base.cost, base.cost,
                     oneway=oneway, cost_back_m=back)  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_a_slope_is_walked_at_its_own_cost_each_way(seed):
    """Uphill and downhill costs differ: the distances to the nearest site, and from a point to
    each site, against a directed reference split at every projection."""
    rng = np.random.default_rng(100 + seed)
    graph = _uphill_graph(rng, 45)
    assert (graph.back != graph.cost).any()
    site_lats = 29.6 + rng.uniform(-0.01, 0.01, 4)
    site_lons = 106.5 + rng.uniform(-0.01, 0.01, 4)
    point_lats = 29.6 + rng.uniform(-0.01, 0.01, 25)
    point_lons = 106.5 + rng.uniform(-0.01, 0.01, 25)
    # Two points on a site's own edge, either side of it: the walk along the edge counts.
    sites = graph.snap(site_lats, site_lons)
    for shift in (-0.2, 0.2):
        e, t = int(sites.edge[0]), min(max(float(sites.t[0]) + shift, 0.0), 1.0)
        a, b = graph.xy[graph.u[e]], graph.xy[graph.v[e]]
        lon, lat = graph.to_lonlat(Point(*(a + t * (b - a)))).coords[0]
        point_lats, point_lons = np.append(point_lats, lat), np.append(point_lons, lon)
    points = graph.snap(point_lats, point_lons)
    n, arcs, (site_nodes, point_nodes) = _directed_reference(graph, [sites, points])
    to_sites = [_arc_dijkstra(n, arcs, s, reverse=True) for s in site_nodes]
    want = [min(run[p] for run in to_sites) for p in point_nodes]
    got = graph.nearest_site_m(site_lats, site_lons, point_lats, point_lons)
    assert got == pytest.approx(want, abs=1e-6)
    from_point = _arc_dijkstra(n, arcs, point_nodes[0])
    got = graph.distances_from(point_lats[0], point_lons[0], site_lats, site_lons)
    assert got == pytest.approx([from_point[s] for s in site_nodes], abs=1e-6)


@pytest.mark.parametrize("share", [0.05, 0.4])
@pytest.mark.parametrize("towards", [False, True])
def test_the_reached_pieces_are_what_the_budget_reaches_each_way(towards, share):
    """Places along the edges lie on a reached piece exactly when the directed reference
    reaches them (from the start, or from them to a start) within the budget."""
    rng = np.random.default_rng(7 if towards else 8)
    graph = _uphill_graph(rng, 45)
    starts = graph.snap(29.6 + rng.uniform(-0.008, 0.008, 8), 106.5 + rng.uniform(-0.008, 0.008, 8))
    # 400 places on the edges, entered exactly (no walk to the street).
    e = rng.integers(0, graph.edge_count, 400)
    t = rng.uniform(0, 1, 400)
    a, b = graph.xy[graph.u[e]], graph.xy[graph.v[e]]
    xy = a + t[:, None] * (b - a)
    places = network.Snap(e, t, np.zeros(400), xy)
    n, arcs, (start_nodes, place_nodes) = _directed_reference(graph, [starts, places])
    runs = [_arc_dijkstra(n, arcs, s, reverse=towards) for s in start_nodes]
    want = np.array([min(run[p] for run in runs) for p in place_nodes])
    budget = float(np.quantile(want[np.isfinite(want)], share))  # reaches that share of them
    pieces = shapely.linestrings(graph.reached_pieces(starts, budget, towards))
    covered = shapely.dwithin(pieces.reshape(1, -1), shapely.points(xy)[:, None], 1e-6).any(1)
    clear = np.abs(want - budget) > 0.5  # not within half a metre of the limit
    assert clear.sum() > 300 and (want[clear] <= budget).any() and (want[clear] > budget).any()
    assert np.array_equal(covered[clear], want[clear] <= budget)


def test_isochrone_holds_what_is_reached_and_not_what_is_not(tiny):
    graph = tiny.graph()
    budget = 250.0
    # From A: B (97 m), C (194 m) and E (111 m) are reached; 56 m of the footway up to D and
    # (250 − 111) / 2 = 70 m of the steps from E (steps cost double); D and F are not.
    area = graph.isochrone(*at("A"), budget)
    assert area.geom_type in ("Polygon", "MultiPolygon") and area.is_valid

    def inside(lat, lon):
        return area.covers(Point(lon, lat))

    for name in "ABCE":
        assert inside(*at(name)), name
    for name in "DF":
        assert not inside(*at(name)), name
    steps_left = (budget - seg("A", "E")) / STEPS_FACTOR  # metres of stairs climbed
    ed = seg("E", "D")
    assert steps_left < 0.4 * ed
    azimuth = GEOD.inv(at("E")[1], at("E")[0], at("D")[1], at("D")[0])[0]
    for share, want in ((0.25, True), (0.6, False)):
        lon, lat, _ = GEOD.fwd(at("E")[1], at("E")[0], azimuth, share * ed)
        assert inside(lat, lon) is want, share
    # The strip is ~25 m wide either side of the street, not a disc around A.
    assert not inside(*moved("B", 60.0))
    assert inside(*moved("B", 15.0))
    # Too far from any street: nothing is reachable.
    assert graph.isochrone(*moved("A", -500.0), 300.0) is None


def _street_grid(side: int, spacing_m: float = 60.0) -> WalkGraph:
    """A side × side grid of streets near Chongqing, spacing_m apart."""
    north, east = np.meshgrid(np.arange(side) * spacing_m, np.arange(side) * spacing_m)
    lats = 29.6 + north.ravel() / 110_850.0
    lons = 106.5 + east.ravel() / (111_320.0 * math.cos(math.radians(29.6)))
    ids = np.arange(side * side).reshape(side, side)
    u = np.concatenate((ids[:, :-1].ravel(), ids[:-1, :].ravel()))
    v = np.concatenate((ids[:, 1:].ravel(), ids[1:, :].ravel()))
    return WalkGraph(lats, lons, u, v, GEOD.inv(lons[u], lats[u], lons[v], lats[v])[2])


def test_a_city_wide_reach_area_is_drawn_on_a_grid_like_the_exact_strips(monkeypatch):
    """Past GRID_ABOVE_PIECES the area is drawn on a 5 m grid: the same area within a few
    per cent, and every place more than a cell and a half from the exact outline on the same
    side of it."""
    graph = _street_grid(40)
    rng = np.random.default_rng(5)
    nodes = rng.choice(graph.node_count, 12, replace=False)
    lats, lons = graph.lats[nodes] + 1e-4, graph.lons[nodes]
    exact = network.reach_area(graph, lats, lons, 300.0)
    monkeypatch.setattr(network, "GRID_ABOVE_PIECES", 0)
    drawn = network.reach_area(graph, lats, lons, 300.0)
    assert drawn.is_valid and drawn.geom_type in ("Polygon", "MultiPolygon")
    local = graph.local_points  # compare in metres
    to_m = lambda g: shapely.transform(g, lambda pts: local(pts[:, 1], pts[:, 0]))  # noqa: E731
    exact_m, drawn_m = to_m(exact), to_m(drawn)
    assert shapely.symmetric_difference(exact_m, drawn_m).area / exact_m.area < 0.05
    x0, y0, x1, y1 = exact_m.bounds
    places = shapely.points(rng.uniform(x0, x1, 3000), rng.uniform(y0, y1, 3000))
    clear = shapely.distance(places, exact_m.boundary) > 1.5 * network.GRID_CELL_M
    inside = shapely.contains(exact_m, places)
    assert inside[clear].any() and (~inside[clear]).any()
    assert np.array_equal(shapely.contains(drawn_m, places)[clear], inside[clear])


def test_isochrone_is_drawn_in_lonlat_near_the_start(tiny):
    area = tiny.graph().isochrone(*at("A"), 1000.0)
    minx, miny, maxx, maxy = area.bounds
    assert 106.51 < minx < maxx < 106.53 and 29.59 < miny < maxy < 29.61
    assert shapely.get_num_coordinates(area) < 2000


def test_walk_minutes():
    assert walk_minutes(0.0, 4.5) == 0
    assert walk_minutes(375.0, 4.5) == 5  # 75 m a minute
    assert walk_minutes(375.01, 4.5) == 6
    assert walk_minutes(1125.0, 4.5) == 15
    assert walk_minutes(math.inf, 4.5) is None


def test_gzip_files_load_like_plain_ones(tiny):
    packed = from_osm_bytes(gzip.compress(osm_xml()), "tiny.osm.gz")
    assert np.array_equal(packed.osm_ids, tiny.osm_ids)
    assert np.array_equal(packed.cost_m, tiny.cost_m)


# The reader's own refusals are tested in tests/test_osm.py; these are the network's, and one
# of the reader's to show that they reach the caller the same way.
BAD_FILES = [
    (b"", "文件为空"),
    (
        osm_xml(
            nodes={"A": (1, 29.6, 106.52), "B": (2, 51.5, -0.12)},
            ways=[(1, "AB", {"highway": "path"})],
        ),
        "不在中国境内",
    ),
]


@pytest.mark.parametrize(("data", "words"), BAD_FILES)
def test_bad_files_are_refused_in_chinese(data, words):
    with pytest.raises(DomainError) as caught:
        from_osm_bytes(data, "bad.osm")
    assert words in caught.value.message
    assert caught.value.code == "invalid_network" and caught.value.status == 422


def test_a_clipped_way_is_cut_at_the_missing_node_and_counted():
    """A regional extract lacks the nodes beyond its edge: the way keeps what it has."""
    ways = [*WAYS, (42, ["3", "77", "78", "6"], {"highway": "footway"})]
    parsed = from_osm_bytes(osm_xml(ways=ways), "clipped.osm")
    assert parsed.cut_ways == 1 and parsed.missing_refs == 2
    assert parsed.u.size == 6  # C–77–78–F has no two present nodes in a row: nothing added


# ---------------------------------------------------------------------------------------------
# The stored network (SQLite and PostgreSQL)


def _stored():
    meta = db.session.get(WalkNetwork, 1)
    return (
        None if meta is None else (meta.version, meta.load_id, meta.node_count),
        db.session.scalar(select(func.count()).select_from(WalkNode)),
        db.session.scalar(select(func.count()).select_from(WalkEdge)),
    )


def test_load_network_stores_the_graph_and_every_process_sees_the_new_one(ctx, tiny):
    assert network.current_graph() is None and network.network_info() is None
    summary = planning_services.load_network(osm_xml(), "tiny.osm")
    assert summary == {
        "source": "tiny.osm",
        "version": 1,
        "nodes": 6,
        "edges": 6,
        "ways": 7,
        "ignored_ways": 5,
        "dropped_nodes": 2,
        "cut_ways": 0,
        "missing_refs": 0,
        "areas": 0,
        "dem": None,
        "heights": 0,
    }
    db.session.remove()
    assert _stored()[1:] == (6, 6)
    graph = network.current_graph()
    assert graph is network.current_graph()  # cached while the version stands
    expected = expected_from_a()
    got = graph.distances_from(*at("A"), [at(n)[0] for n in expected], [at(n)[1] for n in expected])
    assert got == pytest.approx(list(expected.values()), abs=1e-6)  # as read back from the DB

    # Reload without the steps: version 2, and the cached graph is replaced.
    no_steps = [w for w in WAYS if w[0] != 103]
    assert planning_services.load_network(osm_xml(ways=no_steps), "v2.osm")["version"] == 2
    db.session.remove()
    fresh = network.current_graph()
    assert fresh is not graph and fresh.key[1] == 2
    e_to_d = fresh.distances_from(*at("E"), [at("D")[0]], [at("D")[1]])[0]
    assert e_to_d == pytest.approx(
        seg("E", "A") + seg("A", "B") + seg("B", "C") + seg("C", "D"), abs=1e-6
    )
    assert network.network_info()["source"] == "v2.osm"


@pytest.mark.parametrize(("data", "words"), BAD_FILES[:7])
def test_a_bad_file_leaves_the_loaded_network_untouched(ctx, data, words):
    planning_services.load_network(osm_xml(), "good.osm")
    db.session.remove()
    before = _stored()
    with pytest.raises(DomainError, match=words):
        planning_services.load_network(data, "bad.osm")
    db.session.remove()
    assert _stored() == before


def test_a_failure_while_writing_rolls_back_every_row(ctx, monkeypatch):
    planning_services.load_network(osm_xml(), "good.osm")
    db.session.remove()
    before = _stored()
    real = network._bulk_insert

    def fail_on_edges(conn, table, columns, arrays):
        real(conn, table, columns, arrays)  # the nodes (and then the edges) really are written
        if table.name == "walk_edges":
            raise RuntimeError("disk full")

    monkeypatch.setattr(network, "_bulk_insert", fail_on_edges)
    with pytest.raises(RuntimeError):
        planning_services.load_network(demo_osm(), "demo.osm")
    db.session.remove()
    assert _stored() == before


def test_cli_writes_and_loads_the_demo_network(runner, app, tmp_path):
    path = tmp_path / "demo.osm.gz"
    made = runner.invoke(args=["maps", "demo-network", str(path)])
    assert made.exit_code == 0, made.output
    assert "虚构演示路网" in made.output and path.stat().st_size > 0
    loaded = runner.invoke(args=["maps", "load-network", str(path)])
    assert loaded.exit_code == 0, loaded.output
    with app.app_context():
        version, _, nodes = _stored()[0]
    assert f"{nodes} 个节点" in loaded.output and "版本 1" in loaded.output

    bad = tmp_path / "bad.osm"
    bad.write_bytes(b"<html><body>not a map</body></html>")
    refused = runner.invoke(args=["maps", "load-network", str(bad)])
    assert refused.exit_code != 0 and "根元素应为 <osm>" in refused.output
    with app.app_context():
        assert _stored()[0][0] == version == 1  # still the demo network


def test_demo_network_is_deterministic_and_lies_in_the_demo_district():
    data = demo_osm()
    assert data == demo_osm() and data != demo_osm(seed=7)
    parsed = from_osm_bytes(data, "demo.osm")
    south, west, north, east = demo.DISTRICT_BBOX
    assert parsed.lats.min() >= south and parsed.lats.max() <= north
    assert parsed.lons.min() >= west and parsed.lons.max() <= east
    assert parsed.lats.size > 10_000 and parsed.ignored_ways > 100
    assert (parsed.cost_m > parsed.length_m).any()  # it has steps


def test_demo_network_distances_are_never_shorter_than_straight_lines(ctx, runner, tmp_path):
    path = tmp_path / "demo.osm"
    assert runner.invoke(args=["maps", "demo-network", str(path)]).exit_code == 0
    assert runner.invoke(args=["maps", "load-network", str(path)]).exit_code == 0
    graph = network.current_graph()
    # The demo district's own communities and nurseries, laid out as demo.load_demo does.
    rng = random.Random(2026)
    streets = demo._streets(rng)
    communities = demo._communities(rng, streets)
    nurseries = demo._nurseries(rng, streets, communities)
    c_lat = np.array([c["lat"] for c in communities])
    c_lon = np.array([c["lon"] for c in communities])
    n_lat = np.array([n["lat"] for n in nurseries])
    n_lon = np.array([n["lon"] for n in nurseries])
    walk = graph.nearest_site_m(n_lat, n_lon, c_lat, c_lon, 20_000.0)
    straight, _ = SiteTree(n_lat, n_lon).nearest_m(c_lat, c_lon, 20_000.0)
    assert np.isfinite(walk).all()
    assert (walk >= straight - 1e-6).all()
    assert np.median(walk / straight) > 1.2  # winding streets, missing links, river, steps
    # Fewer communities lie within a 15-minute walk than within the 1000 m straight circle.
    assert (walk <= 1125).sum() < (straight <= 1000).sum()
