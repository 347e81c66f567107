"""Walking distances on a street network loaded from OpenStreetMap (network mode, issue 5).

Straight-line circles over-promise where streets wind and climb (DESIGN §3.4). A district loads
its OSM extract once (`flask --app app maps load-network FILE`); every process then walks the
same graph:

- **Reading** (`from_osm_bytes`): planning/osm.py reads OSM XML, .osm.gz or .osm.pbf with
  pyosmium and returns the walkable edges (ways cut where a clipped extract lacks their nodes,
  pedestrian areas and platforms with crossings between their entrances, corridors, elevators,
  one-way escalators). Each edge gets its geodesic length (pyproj Geod).
- **Cost.** OSM has no heights, so hills are only seen where they are mapped as steps: an edge of
  highway=steps costs STEPS_FACTOR × its (horizontal) length, in both directions (climbing
  roughly halves one's pace; going down a long flight is not much faster); an elevator adds a
  fixed cost. With an elevation model (planning/elevation.py) street-level edges also cost
  more uphill, so each edge has a cost each way (`cost` u → v, `back` v → u). Distances on the
  network are these flat-walking metres.
- **Largest connected part only.** Fragments not joined to the main network (a footway inside a
  compound, a clipped road at the extract's edge) would trap every home snapped to them with
  no route anywhere, so they are dropped, and the number of dropped nodes is reported.
- **All or nothing.** Any error leaves the stored network untouched; a good file replaces it in
  one transaction and bumps the version every process's cached graph is keyed by.
- **Searching** (`WalkGraph`): scipy's Dijkstra over a sparse matrix of arcs (one-way for
  escalators). Points are projected onto their nearest walkable edge (shapely's STRtree over
  the edges in local metres; street level preferred over a tunnel or bridge within
  PREFER_GROUND_M), walk the straight line to it, and enter the graph there with the two
  partial lengths of that edge; a point and a site on the same edge may walk straight along
  it. A point farther than MAX_SNAP_M from every way is off the network (inf).
"""

from __future__ import annotations

import math
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from sqlalchemy import delete, insert

from database import raw_read
from extensions import db
from maps.coords import in_china
from maps.geo import GEOD

from . import elevation, osm
from .models import WalkEdge, WalkNetwork, WalkNode

# The reader's rules and refusals (planning/osm.py), used here and by the tests.
STEPS_FACTOR = osm.STEPS_FACTOR
MAX_OSM_BYTES = osm.MAX_OSM_BYTES
refuse, too_large = osm.refuse, osm.too_large
# A point farther than this from every walkable way is not on the network: refused with the
# reason, never walked by a detour (WALK_MAX_SNAP_M overrides it).
MAX_SNAP_M = 200.0
# A street-level way at most this much farther than the nearest tunnel or bridge is taken
# instead: a home beside a street is not on the metro tunnel under it.
PREFER_GROUND_M = 5.0
# snap()'s first search radius (most homes are this close to a street) and its batch size.
SNAP_FIRST_M = 25.0
SNAP_CHUNK = 200_000
ISOCHRONE_BUFFER_M = 25.0  # half the width of the strip drawn along each reached street
BOUNDARY_EPS_M = 1e-6  # a point exactly on the limit counts as inside (as maps.index does)


# ---------------------------------------------------------------------------------------------
# Parsing


@dataclass
class ParsedNetwork:
    """A walking network as arrays: nodes 0..n-1 and undirected edges between them."""

    osm_ids: np.ndarray  # int64
    lats: np.ndarray
    lons: np.ndarray
    u: np.ndarray  # int64 node positions
    v: np.ndarray
    length_m: np.ndarray  # geodesic length of the straight piece
    cost_m: np.ndarray  # flat-walking metres u → v (length × STEPS_FACTOR on steps)
    cost_back_m: np.ndarray  # v → u: the same, unless a slope (DEM) makes one way uphill
    way_count: int  # walkable ways read
    ignored_ways: int  # ways that are not walkable (or have fewer than two nodes)
    dropped_nodes: int  # nodes outside the largest connected part
    oneway: np.ndarray  # bool: walkable u → v only (escalators)
    ground: np.ndarray  # bool: at street level (not a tunnel, bridge, indoors)
    cut_ways: int  # ways cut at nodes a clipped extract lacks (planning/osm.py)
    missing_refs: int
    areas: int  # pedestrian areas and platforms walked across
    dem: str | None  # the elevation model's file name, where slopes were counted
    heights: int  # nodes the elevation model gave a height

    def graph(self, max_snap_m: float = MAX_SNAP_M) -> WalkGraph:
        return WalkGraph(
            self.lats, self.lons, self.u, self.v, self.length_m, self.cost_m,
            cost_back_m=self.cost_back_m, oneway=self.oneway, ground=self.ground,
            max_snap_m=max_snap_m,
        )  # fmt: skip


def from_osm_bytes(
    data: bytes, filename: str, in_china: bool = True, dem: str | Path | None = None
) -> ParsedNetwork:
    """Read an OSM file (.osm, .osm.gz or .osm.pbf) into a walking network; one outside China
    is refused (a wrong file, or latitude and longitude swapped) unless in_china=False (the
    tests' real extract is Helsinki's). With `dem` (a GeoTIFF of terrain heights), street-level
    edges cost more uphill than down (planning/elevation.py).

    Raises DomainError (in Chinese) for anything that is not a usable walking network.
    """
    return _build(osm.read_walkways(data, filename), in_china, dem)


def _build(ways: osm.Walkways, in_china: bool = True, dem=None) -> ParsedNetwork:
    """Measure the reader's edges (with their slopes, given a DEM) and keep the largest
    connected part."""
    if in_china:
        _check_in_china(ways.osm_ids, ways.lats, ways.lons)
    lats, lons, a, b = ways.lats, ways.lons, ways.u, ways.v
    length = np.asarray(GEOD.inv(lons[a], lats[a], lons[b], lats[b])[2], dtype=float)
    cost = length * ways.factor + ways.extra_m
    cost_back, heights = cost, 0
    if dem is not None:
        h = elevation.node_heights(dem, lats, lons)
        heights = int(np.isfinite(h).sum())
        if heights == 0:  # another place's model: a flat network would pass for a hilly one
            raise elevation.refuse(
                f"高程文件 {Path(dem).name} 不覆盖路网范围（没有一个节点有高程）："
                "请换用本区的数字高程模型。"
            )
        # Terrain is walked on street-level ways only; steps, escalators and lifts keep theirs.
        on_terrain = ways.ground & (ways.factor == 1.0) & (ways.extra_m == 0) & ~ways.oneway
        cost, cost_back = elevation.slope_costs(length, cost, h[a], h[b], on_terrain)
    a, b, length, cost, cost_back, oneway, ground = _dedupe(
        a, b, length, cost, cost_back, oneway=ways.oneway, ground=ways.ground
    )
    if a.size == 0:  # every way went from a node back to itself
        raise refuse("文件中没有可步行的道路（道路都只有一个节点）。")
    keep = _largest_component(ways.osm_ids.size, a, b)
    new_pos = np.cumsum(keep) - 1
    edge_keep = keep[a]  # both ends share a component
    return ParsedNetwork(
        osm_ids=ways.osm_ids[keep],
        lats=lats[keep],
        lons=lons[keep],
        u=new_pos[a[edge_keep]],
        v=new_pos[b[edge_keep]],
        length_m=length[edge_keep],
        cost_m=cost[edge_keep],
        cost_back_m=cost_back[edge_keep],
        way_count=ways.way_count,
        ignored_ways=ways.ignored_ways,
        dropped_nodes=int((~keep).sum()),
        oneway=oneway[edge_keep],
        ground=ground[edge_keep],
        cut_ways=ways.cut_ways,
        missing_refs=ways.missing_refs,
        areas=ways.areas,
        dem=None if dem is None else Path(dem).name[:255],
        heights=heights,
    )


def _check_in_china(osm_ids, lats, lons) -> None:
    # in_china is a longitude/latitude box, so the corners of the data's own box decide for all.
    if in_china(lats.min(), lons.min()) and in_china(lats.max(), lons.max()):
        return
    for osm_id, lat, lon in zip(osm_ids, lats, lons, strict=True):
        if not in_china(float(lat), float(lon)):
            raise refuse(
                f"节点 {osm_id}（{lat:.6f}, {lon:.6f}）不在中国境内："
                "请载入本区的 OpenStreetMap 数据（WGS-84 经纬度）。"
            )


def _dedupe(a, b, length, cost, cost_back=None, oneway=None, ground=None):
    """Edges without self-loops, one per node pair and direction rule (the cheapest): two-way
    edges are keyed by their unordered pair (turned round, with their two costs swapped, where
    u > v), one-way edges by (from, to).

    Needed for correctness, not only size: building a sparse matrix adds up duplicate entries,
    which would turn two parallel pieces into one twice as long.
    """
    cost_back = cost if cost_back is None else np.asarray(cost_back, dtype=float)
    oneway = np.zeros(a.size, dtype=bool) if oneway is None else np.asarray(oneway, dtype=bool)
    ground = np.ones(a.size, dtype=bool) if ground is None else np.asarray(ground, dtype=bool)
    turn = ~oneway & (a > b)
    lo, hi = np.where(turn, b, a), np.where(turn, a, b)
    fwd, back = np.where(turn, cost_back, cost), np.where(turn, cost, cost_back)
    keep = lo != hi
    lo, hi, length, fwd, back = lo[keep], hi[keep], length[keep], fwd[keep], back[keep]
    oneway, ground = oneway[keep], ground[keep]
    order = np.lexsort((np.where(oneway, fwd, fwd + back), oneway, hi, lo))
    lo, hi, length, fwd, back = lo[order], hi[order], length[order], fwd[order], back[order]
    oneway, ground = oneway[order], ground[order]
    first = np.ones(lo.size, dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1]) | (oneway[1:] != oneway[:-1])
    return (lo[first], hi[first], length[first], fwd[first], back[first], oneway[first],
            ground[first])  # fmt: skip


def _first_per(group, value, n: int) -> np.ndarray:
    """For each group 0..n-1, the position of its smallest value in the arrays (sorted by
    group, as STRtree.query returns them), or -1 for a group with none."""
    out = np.full(n, -1, dtype=np.int64)
    if group.size:
        starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
        lowest = np.minimum.reduceat(value, starts)
        ends = np.r_[starts[1:], group.size]
        # Positions holding their group's minimum; the first of each group wins a tie.
        at_min = np.flatnonzero(value == np.repeat(lowest, ends - starts))
        first = np.r_[True, group[at_min][1:] != group[at_min][:-1]]
        out[group[at_min[first]]] = at_min[first]
    return out


def _largest_component(n: int, a, b) -> np.ndarray:
    """Mask of the nodes in the largest connected part (directions ignored: an escalator up
    and the stairs beside it belong to one network)."""
    matrix = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _count, labels = connected_components(matrix, directed=False)
    return labels == np.argmax(np.bincount(labels))


# ---------------------------------------------------------------------------------------------
# The graph in memory


@dataclass(frozen=True)
class Snap:
    """Where points enter the network: the projection onto their nearest walkable edge."""

    edge: np.ndarray  # int64 edge index, -1 where no walkable way lies within max_snap_m
    t: np.ndarray  # fraction along the edge from its u to its v (0..1)
    dist_m: np.ndarray  # metres from the point to its projection (inf where refused)
    xy: np.ndarray  # the points in the graph's local metres, (k, 2)

    @property
    def ok(self) -> np.ndarray:
        return self.edge >= 0


class WalkGraph:
    """A walking graph, immutable once built; safe to share between threads.

    Edges are straight pieces between nodes, walkable both ways unless `oneway` (an escalator:
    u → v only). Points enter it by projection onto the nearest walkable edge (a shapely
    STRtree over the edges in a local transverse Mercator, true to scale within a district),
    preferring a street-level edge within PREFER_GROUND_M of a nearer tunnel or bridge, and
    walk the two parts of that edge to its ends; a point farther than max_snap_m from every
    walkable way is not on the network (inf), never silently detoured.
    """

    def __init__(
        self, lats, lons, u, v, length_m, cost_m=None, key=None, oneway=None, ground=None,
        max_snap_m=MAX_SNAP_M, cost_back_m=None,
    ):  # fmt: skip
        lats = np.asarray(lats, dtype=float)
        lons = np.asarray(lons, dtype=float)
        length = np.asarray(length_m, dtype=float)
        cost = length if cost_m is None else np.asarray(cost_m, dtype=float)
        back = cost if cost_back_m is None else np.asarray(cost_back_m, dtype=float)
        u, v, length, cost, back, oneway, ground = _dedupe(
            np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64), length, cost, back,
            oneway=oneway, ground=ground,
        )  # fmt: skip
        self.key = key
        self.max_snap_m = float(max_snap_m)
        self.lats, self.lons = lats, lons
        # cost: metres walking u → v; back: v → u (uphill one way where a DEM gave heights)
        self.u, self.v, self.cost, self.back = u, v, cost, back
        self.oneway, self.ground = oneway, ground
        n = self.lats.size
        self.node_count = n
        # Arcs u → v for every edge, v → u for the two-way ones; one spare row and column
        # (index n) for the virtual source that seeds searches. Parallel arcs would add up in
        # the sparse matrix: only the cheapest of each (from, to) is kept.
        two = ~oneway
        frm = np.concatenate((u, v[two]))
        to = np.concatenate((v, u[two]))
        w = np.concatenate((cost, back[two]))
        order = np.lexsort((w, to, frm))
        frm, to, w = frm[order], to[order], w[order]
        first = np.ones(frm.size, dtype=bool)
        first[1:] = (frm[1:] != frm[:-1]) | (to[1:] != to[:-1])
        self._forward = csr_matrix((w[first], (frm[first], to[first])), shape=(n + 1, n + 1))
        self._backward = self._forward.T.tocsr()  # walking *to* a place: arcs reversed
        # Planar metres for snapping and drawing.
        lat0 = float(lats.mean()) if n else 0.0
        lon0 = float(lons.mean()) if n else 0.0
        self._local = (
            f"+proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +datum=WGS84 +units=m"
        )
        self._to_local = Transformer.from_crs("EPSG:4326", self._local, always_xy=True)
        x, y = self._to_local.transform(lons, lats)
        self.xy = np.column_stack((np.asarray(x, dtype=float), np.asarray(y, dtype=float)))
        self._segments = shapely.linestrings(np.stack((self.xy[u], self.xy[v]), axis=1))
        self._tree = shapely.STRtree(self._segments)

    @property
    def edge_count(self) -> int:
        return int(self.u.size)

    def local_points(self, lats, lons) -> np.ndarray:
        lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
        x, y = self._to_local.transform(lons, lats)
        return np.column_stack((np.atleast_1d(x), np.atleast_1d(y)))

    def to_lonlat(self, geometry):
        """A shapely geometry in the graph's local metres, back in lon/lat."""
        back = Transformer.from_crs(self._local, "EPSG:4326", always_xy=True)
        return shapely.transform(geometry, lambda pts: np.column_stack(back.transform(*pts.T)))

    def snap(self, lats, lons) -> Snap:
        """Each point's projection onto its nearest walkable edge (street level preferred).

        In rounds: every point still open asks the STRtree (one vectorised query) for the
        edges whose boxes meet a square of its radius, and each pair is projected exactly.
        A point is settled once its radius covers its nearest edge and, where that is a
        tunnel or bridge, any street within PREFER_GROUND_M more; otherwise its radius grows
        (×4 up to max_snap_m, or to what the street rule needs). Almost every home settles in
        the first round, ~20× faster than shapely's per-point nearest search.
        """
        lats = np.atleast_1d(np.asarray(lats, dtype=float))
        lons = np.atleast_1d(np.asarray(lons, dtype=float))
        n = lats.size
        edge = np.full(n, -1, dtype=np.int64)
        dist = np.full(n, np.inf)
        t = np.zeros(n)
        xy = self.local_points(lats, lons) if n else np.empty((0, 2))
        if n == 0 or self.edge_count == 0:
            return Snap(edge, t, dist, xy)
        limit = self.max_snap_m + BOUNDARY_EPS_M
        radius = np.full(n, min(SNAP_FIRST_M, limit))
        todo = np.arange(n)
        while todo.size:
            again = []
            for chunk in np.array_split(todo, -(-todo.size // SNAP_CHUNK)):
                e, d, tt, grow = self._snap_within(xy[chunk], radius[chunk], limit)
                edge[chunk], dist[chunk], t[chunk] = e, d, tt
                open_ = grow > radius[chunk]
                radius[chunk] = grow
                again.append(chunk[open_])
            todo = np.concatenate(again)
        return Snap(edge, t, dist, xy)

    def _snap_within(self, xy, radius, limit):
        """One round of snap() for points xy, each searching its own radius: (edge, metres,
        fraction along, the radius it needs), where a needed radius above the one searched
        means "not settled, search again"."""
        n = xy.shape[0]
        # Each square as its diagonal: the same box for the tree, 7× faster to build.
        corners = np.stack((xy - radius[:, None], xy + radius[:, None]), axis=1)
        point, e = self._tree.query(shapely.linestrings(corners))
        if point.size and (np.diff(point) < 0).any():
            order = np.argsort(point, kind="stable")
            point, e = point[order], e[order]
        a, b = self.xy[self.u[e]], self.xy[self.v[e]]
        ab, ap = b - a, xy[point] - a
        den = np.einsum("ij,ij->i", ab, ab)
        with np.errstate(invalid="ignore", divide="ignore"):
            t = np.where(den > 0, np.clip(np.einsum("ij,ij->i", ap, ab) / den, 0.0, 1.0), 0.0)
        d = np.hypot(*(ap - t[:, None] * ab).T)
        # The nearest edge of each point, and the nearest at street level.
        nearest = _first_per(point, d, n)
        on_ground = self.ground[e]
        g_d, g_e, g_t = d[on_ground], e[on_ground], t[on_ground]
        street = _first_per(point[on_ground], g_d, n)
        has = nearest >= 0
        best, edge, along = np.full(n, np.inf), np.full(n, -1, dtype=np.int64), np.zeros(n)
        best[has], edge[has], along[has] = d[nearest[has]], e[nearest[has]], t[nearest[has]]
        street_d = np.full(n, np.inf)
        street_d[street >= 0] = g_d[street[street >= 0]]
        # Settled when the nearest edge lies within the square's inscribed circle; a tunnel or
        # bridge also needs the circle to reach PREFER_GROUND_M beyond it (capped at the limit).
        found = best <= radius
        need = np.where(found, radius, np.minimum(radius * 4, limit))
        below = found & ~self.ground[np.maximum(edge, 0)]
        want = np.minimum(best + PREFER_GROUND_M, limit)
        need = np.where(below & (want > radius), want, need)
        take = below & (street_d <= best + PREFER_GROUND_M) & (street_d <= limit)
        if take.any():
            edge[take], along[take] = g_e[street[take]], g_t[street[take]]
            best[take] = street_d[take]
        unsettled = need > radius
        lost = ~found & (radius >= limit)  # nothing within max_snap_m: off the network
        edge[unsettled | lost] = -1
        need[lost] = radius[lost]
        return edge, np.where(edge >= 0, best, np.inf), np.where(edge >= 0, along, 0.0), need

    def _seeds(self, s: Snap, leaving: bool) -> tuple[np.ndarray, np.ndarray]:
        """Graph nodes and metres for points entering the network: walking away from the
        points (leaving) or walking to them. Along an edge u → v every point may go towards v
        (leaving) or be reached from u; the other way only on a two-way edge, or where the
        point stands on that end's node itself."""
        e = s.edge[s.ok]
        t, d = s.t[s.ok], s.dist_m[s.ok]
        c, cb, two = self.cost[e], self.back[e], ~self.oneway[e]
        if leaving:  # to v is u → v; to u is v → u
            ahead, behind, part_ahead, part_behind = self.v[e], self.u[e], (1 - t) * c, t * cb
            back = two | (t <= 0.0)
        else:  # from u is u → v; from v is v → u
            ahead, behind, part_ahead, part_behind = self.u[e], self.v[e], t * c, (1 - t) * cb
            back = two | (t >= 1.0)
        nodes = np.concatenate((ahead, behind[back]))
        metres = np.concatenate((d + part_ahead, (d + part_behind)[back]))
        return nodes, metres

    def node_distances(self, nodes, offsets, max_m: float = math.inf, towards=False):
        """Walking metres from the nearest of several starts to every node (inf beyond max_m);
        `towards`: from every node to the nearest start instead (arcs reversed).

        Start k sits at node nodes[k], offsets[k] metres away. scipy's Dijkstra cannot start
        with distances already walked, so a virtual source node is joined to each start node
        by an arc of that length, and one search runs from it.
        """
        n = self.node_count
        nodes = np.asarray(nodes, dtype=np.int64)
        best = np.full(n, np.inf)
        np.minimum.at(best, nodes, np.asarray(offsets, dtype=float))
        seeds = np.flatnonzero(best <= max_m + BOUNDARY_EPS_M)
        if seeds.size == 0:
            return np.full(n, np.inf)
        m = self._backward if towards else self._forward
        # The virtual source is the last row: its arcs go at the end of the CSR arrays.
        indptr = m.indptr.copy()
        indptr[-1] += seeds.size
        graph = csr_matrix(
            (
                np.concatenate((m.data, best[seeds])),
                np.concatenate((m.indices, seeds.astype(m.indices.dtype))),
                indptr,
            ),
            shape=m.shape,
        )
        limit = max_m + BOUNDARY_EPS_M if math.isfinite(max_m) else np.inf
        dist = dijkstra(graph, directed=True, indices=n, limit=limit)
        return dist[:n]

    def _along_same_edge(self, dist, a: Snap, b: Snap, a_to_b: bool) -> None:
        """Lower dist[k] (from point k of `a`, or to it) by the walk along a shared edge with
        any point of `b`, where that is shorter than going round by the edge's ends."""
        if not (a.ok.any() and b.ok.any()):
            return
        by_edge: dict[int, list[tuple[float, float]]] = {}
        rows = zip(b.edge[b.ok].tolist(), b.t[b.ok].tolist(), b.dist_m[b.ok].tolist(), strict=True)
        for e, t, d in rows:
            by_edge.setdefault(e, []).append((t, d))
        for k in np.flatnonzero(a.ok).tolist():
            others = by_edge.get(int(a.edge[k]))
            if not others:
                continue
            e, t = int(a.edge[k]), float(a.t[k])
            c, cb, two = float(self.cost[e]), float(self.back[e]), not self.oneway[e]
            for t2, d2 in others:
                forward = t2 >= t if a_to_b else t >= t2  # the walk goes u → v
                if forward or two:
                    along = abs(t2 - t) * (c if forward else cb)
                    dist[k] = min(dist[k], a.dist_m[k] + along + d2)

    def _to_points(self, node_dist, s: Snap, max_m: float, towards: bool) -> np.ndarray:
        """Metres to (or from, `towards`) each snapped point, from node distances."""
        dist = np.full(s.edge.size, np.inf)
        if s.ok.any():
            e, t, d = s.edge[s.ok], s.t[s.ok], s.dist_m[s.ok]
            c, cb, two = self.cost[e], self.back[e], ~self.oneway[e]
            # Arriving at a point (from the search's starts) comes in from u (u → v), or from v
            # (v → u) on a two-way edge; leaving it (towards the starts) goes out to v (u → v),
            # or to u (v → u) if two-way.
            near_u, near_v = (t * cb, (1 - t) * c) if towards else (t * c, (1 - t) * cb)
            via_u, via_v = node_dist[self.u[e]] + near_u, node_dist[self.v[e]] + near_v
            if towards:  # a point standing on u itself may leave by any of u's arcs
                best = np.minimum(via_v, np.where(two | (t <= 0.0), via_u, np.inf))
            else:
                best = np.minimum(via_u, np.where(two | (t >= 1.0), via_v, np.inf))
            dist[s.ok] = best + d
        return dist

    def nearest_site_m(self, site_lats, site_lons, point_lats, point_lons, max_m=math.inf):
        """Each point's walking metres to its nearest site, inf beyond max_m or off the
        network (a point or site farther than max_snap_m from every way).

        One search from all sites over the reversed arcs gives every node its metres to the
        nearest site (the site's own part of its edge and snap included); a point adds its
        own. A point on the same edge as a site may also walk straight along it.
        """
        return self.nearest_site_m_snapped(
            self.snap(site_lats, site_lons), self.snap(point_lats, point_lons), max_m
        )

    def nearest_site_m_snapped(self, sites: Snap, points: Snap, max_m=math.inf) -> np.ndarray:
        """nearest_site_m() for sites and points already snapped (a caller that also reports
        the points' snaps snaps them once)."""
        if not sites.ok.any() or points.edge.size == 0:
            return np.full(points.edge.size, np.inf)
        nodes, metres = self._seeds(sites, leaving=False)
        node_dist = self.node_distances(nodes, metres, max_m, towards=True)
        dist = self._to_points(node_dist, points, max_m, towards=True)
        self._along_same_edge(dist, points, sites, a_to_b=True)
        dist[dist > max_m + BOUNDARY_EPS_M] = np.inf
        return dist

    def distances_from(self, lat: float, lon: float, lats, lons, max_m=math.inf) -> np.ndarray:
        """Walking metres from one point (a home) to each of many (nurseries), inf beyond
        max_m or off the network."""
        origin = self.snap([lat], [lon])
        targets = self.snap(lats, lons)
        if targets.edge.size == 0:
            return np.empty(0)
        if not origin.ok[0]:
            return np.full(targets.edge.size, np.inf)
        nodes, metres = self._seeds(origin, leaving=True)
        dist = self._to_points(self.node_distances(nodes, metres, max_m), targets, max_m, False)
        self._along_same_edge(dist, targets, origin, a_to_b=False)
        dist[dist > max_m + BOUNDARY_EPS_M] = np.inf
        return dist

    def reached_pieces(self, s: Snap, max_m: float, towards: bool) -> np.ndarray:
        """The street pieces within max_m of the snapped points (walking from them, or
        `towards` them), as (k, 2, 2) local segments: whole edges, edges walked in part from
        either end, the points' own edges either side of them, and each point's walk to its
        street."""
        node_dist = self.node_distances(*self._seeds(s, leaving=not towards), max_m, towards)
        two = ~self.oneway
        # Metres per whole edge walked from its u end inwards and from its v end inwards (or,
        # towards the starts, out to that end): u → v is `cost`, v → u is `back`.
        c_u, c_v = (self.back, self.cost) if towards else (self.cost, self.back)
        left_u, left_v = max_m - node_dist[self.u], max_m - node_dist[self.v]
        # Walking from the starts, an edge is entered at u (any edge) or at v (two-way);
        # walking to them, it is left at v (any edge) or at u (two-way).
        if towards:
            left_u = np.where(two, left_u, -np.inf)
        else:
            left_v = np.where(two, left_v, -np.inf)
        with np.errstate(divide="ignore", invalid="ignore"):
            part_u = np.where(c_u > 0, np.clip(left_u / c_u, 0, 1), left_u >= 0)
            part_v = np.where(c_v > 0, np.clip(left_v / c_v, 0, 1), left_v >= 0)
        whole = part_u + part_v >= 1
        from_u, from_v = ~whole & (part_u > 0), ~whole & (part_v > 0)
        pu, pv = self.xy[self.u], self.xy[self.v]
        starts = [pu[whole], pu[from_u], pv[from_v]]
        ends = [
            pv[whole],
            pu[from_u] + part_u[from_u, None] * (pv[from_u] - pu[from_u]),
            pv[from_v] + part_v[from_v, None] * (pu[from_v] - pv[from_v]),
        ]
        near = s.ok & (s.dist_m <= max_m + BOUNDARY_EPS_M)
        if near.any():
            e, t, d = s.edge[near], s.t[near], s.dist_m[near]
            a, b = self.xy[self.u[e]], self.xy[self.v[e]]
            at = a + t[:, None] * (b - a)
            # The point's side towards v is walked u → v leaving it, v → u arriving at it.
            c_tv, c_tu = (self.back[e], self.cost[e]) if towards else (self.cost[e], self.back[e])
            with np.errstate(divide="ignore", invalid="ignore"):
                reach_v = np.where(c_tv > 0, (max_m - d) / c_tv, 1.0)
                reach_u = np.where(c_tu > 0, (max_m - d) / c_tu, 1.0)
            # Towards v: allowed leaving (u → v), or arriving from v on a two-way edge.
            go_v = np.clip(t + reach_v, 0, 1)
            go_u = np.clip(t - reach_u, 0, 1)
            ok_v = np.ones(e.size, dtype=bool) if not towards else two[e]
            ok_u = two[e] if not towards else np.ones(e.size, dtype=bool)
            starts += [at[ok_v], at[ok_u], s.xy[near]]
            ends += [
                (a + go_v[:, None] * (b - a))[ok_v],
                (a + go_u[:, None] * (b - a))[ok_u],
                at,
            ]
        return np.stack((np.concatenate(starts), np.concatenate(ends)), axis=1)

    def isochrone(self, lat: float, lon: float, max_m: float, buffer_m=ISOCHRONE_BUFFER_M):
        """The area reachable on foot within max_m from a point, as a lon/lat (Multi)Polygon:
        every street piece walked, drawn as a strip buffer_m either side. None when the point
        is off the network or its street is farther than max_m."""
        origin = self.snap([lat], [lon])
        if not origin.ok[0] or origin.dist_m[0] > max_m:
            return None
        pieces = shapely.linestrings(self.reached_pieces(origin, max_m, towards=False))
        # Joining pieces into whole streets first (4× fewer shapes), then buffering each street
        # and merging the strips: much faster than buffering one overlapping multi-line at once.
        # Simplifying to 1 m keeps the outline light for the map.
        streets = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(pieces)))
        area = shapely.union_all(shapely.buffer(streets, buffer_m, quad_segs=4)).simplify(1.0)
        return self.to_lonlat(area)


def walk_minutes(metres: float, speed_kmh: float) -> int | None:
    """Whole minutes to walk metres of path at speed_kmh (no detour factor: the path is real).

    None when there is no route within reach (infinite distance).
    """
    if not math.isfinite(metres):
        return None
    return math.ceil(round(metres / (speed_kmh * 1000.0 / 60.0), 6))


# ---------------------------------------------------------------------------------------------
# The stored network


def store_network(parsed: ParsedNetwork, source: str) -> int:
    """Replace the stored network by `parsed` in the caller's use case; returns its version."""
    conn = db.session.connection()
    conn.execute(delete(WalkEdge))
    conn.execute(delete(WalkNode))
    _bulk_insert(
        conn,
        WalkNode.__table__,
        ("id", "osm_id", "lat", "lon"),
        (np.arange(parsed.lats.size), parsed.osm_ids, parsed.lats, parsed.lons),
    )
    _bulk_insert(
        conn,
        WalkEdge.__table__,
        ("id", "u", "v", "length_m", "cost_m", "cost_back_m", "oneway", "ground"),
        (
            np.arange(parsed.u.size), parsed.u, parsed.v, parsed.length_m, parsed.cost_m,
            parsed.cost_back_m, parsed.oneway, parsed.ground,
        ),
    )  # fmt: skip
    meta = db.session.get(WalkNetwork, 1)
    if meta is None:
        meta = WalkNetwork(id=1, version=0)
        db.session.add(meta)
    meta.version += 1
    meta.load_id = uuid.uuid4().hex
    meta.source = source
    meta.loaded_at = datetime.now().replace(microsecond=0)
    meta.node_count = int(parsed.lats.size)
    meta.edge_count = int(parsed.u.size)
    meta.way_count = parsed.way_count
    meta.dropped_nodes = parsed.dropped_nodes
    meta.dem_source = parsed.dem
    return meta.version


_CHUNK = 50_000


def _bulk_insert(conn, table, columns: tuple[str, ...], arrays) -> None:
    """Insert many rows fast, inside the session's transaction.

    PostgreSQL: COPY (the bulk loader made for this; 100k+ rows in well under a second).
    Elsewhere (SQLite): the driver's executemany with plain tuples, in chunks.
    """
    rows = zip(*(a.tolist() for a in arrays), strict=True)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.close()
        return
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.driver_connection.cursor()
        marks = ", ".join("?" * len(columns))
        names = ", ".join(columns)
        # the table's and columns' names come from the models, never from input
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # nosec B608
        cursor.executemany(sql, rows)
        cursor.close()
        return
    batch = []
    for row in rows:  # any other database: SQLAlchemy's own executemany
        batch.append(dict(zip(columns, row, strict=True)))
        if len(batch) == _CHUNK:
            conn.execute(insert(table), batch)
            batch = []
    if batch:
        conn.execute(insert(table), batch)


def describe(summary: dict) -> str:
    """The CLI's one-line report of a load."""
    text = (
        f"已载入步行路网 {summary['source']}（版本 {summary['version']}）："
        f"{summary['nodes']} 个节点、{summary['edges']} 条路段，"
        f"来自 {summary['ways']} 条可步行道路"
    )
    if summary.get("areas"):
        text += f"（含 {summary['areas']} 处步行广场或站台）"
    if summary.get("cut_ways"):
        text += (
            f"；{summary['cut_ways']} 条道路在文件边界处被裁剪（缺少 {summary['missing_refs']} 个"
            "节点），已在缺失处截断"
        )
    if summary.get("dem"):
        text += f"；按高程模型 {summary['dem']} 计入坡度（{summary['heights']} 个节点有高程）"
    if summary["dropped_nodes"]:
        text += f"；舍弃与主路网不连通的 {summary['dropped_nodes']} 个节点"
    return text + "。"


def network_info() -> dict | None:
    """What the dashboard says about the network in force, or None when none is loaded."""
    meta = db.session.get(WalkNetwork, 1)
    if meta is None:
        return None
    return {
        "version": meta.version,
        "source": meta.source,
        "loaded_at": meta.loaded_at,
        "nodes": meta.node_count,
        "edges": meta.edge_count,
        "ways": meta.way_count,
        "dropped_nodes": meta.dropped_nodes,
        "dem": meta.dem_source,
    }


# ---------------------------------------------------------------------------------------------
# The per-process cache, like the nursery index (maps/index.py)

_lock = threading.Lock()
_current: WalkGraph | None = None


def _key():
    rows = raw_read("SELECT version, load_id FROM walk_network WHERE id = 1")
    return (str(db.engine.url), rows[0][0], rows[0][1]) if rows else None


def current_graph() -> WalkGraph | None:
    """This process's graph of the network in force (rebuilt when another is loaded), or None."""
    global _current
    key = _key()
    if key is None:
        return None
    graph = _current
    if graph is not None and graph.key == key:
        return graph
    with _lock:
        if _current is None or _current.key != key:
            _current = _read_graph()
        return _current


def _read_graph() -> WalkGraph | None:
    """Read nodes and edges; the version is read again after, and the read repeated if a load
    committed in between (the reads are separate statements), so nodes and edges always belong
    to one load."""
    for _attempt in range(5):
        before = _key()
        nodes = raw_read("SELECT lat, lon FROM walk_nodes ORDER BY id")
        edges = raw_read(
            "SELECT u, v, length_m, cost_m, oneway, ground, cost_back_m FROM walk_edges ORDER BY id"
        )
        if before is None:
            return None
        if _key() == before:
            node_arr = np.array(nodes, dtype=float).reshape(-1, 2)
            edge_arr = np.array(edges, dtype=float).reshape(-1, 7)
            return WalkGraph(
                node_arr[:, 0],
                node_arr[:, 1],
                edge_arr[:, 0].astype(np.int64),
                edge_arr[:, 1].astype(np.int64),
                edge_arr[:, 2],
                edge_arr[:, 3],
                key=before,
                oneway=edge_arr[:, 4] != 0,
                ground=edge_arr[:, 5] != 0,
                max_snap_m=_max_snap_m(),
                cost_back_m=edge_arr[:, 6],
            )
    raise RuntimeError("the walking network kept changing while being read")


def _max_snap_m() -> float:
    from flask import current_app, has_app_context

    return current_app.config["WALK_MAX_SNAP_M"] if has_app_context() else MAX_SNAP_M


def reset() -> None:
    """Forget the cached graph (tests switch databases under one process)."""
    global _current
    with _lock:
        _current = None


# --- the area within reach of any site (the planner's map) ---------------------------------

AREA_BUFFER_M = ISOCHRONE_BUFFER_M
AREA_SIMPLIFY_M = 4.0  # outline detail kept for display
# Above this many reached pieces (a city's nurseries at 15 minutes) merging the strips as
# vectors takes minutes (92 s for 1,000 sites on a 1M-node city, past the request timeout);
# they are drawn on a grid instead (_grid_strips).
GRID_ABOVE_PIECES = 60_000
GRID_CELL_M = 5.0  # the grid's cell, coarser where the area would need more than GRID_MAX_CELLS
GRID_MAX_CELLS = 16_000_000


def reach_area(graph: WalkGraph, site_lats, site_lons, max_m: float):
    """The area from which some site is within max_m walking metres, as a WGS-84 shapely
    geometry, or None when no street is within reach.

    The union of every site's isochrone at once: one multi-source search over the reversed
    arcs gives each node its walking metres to the nearest site, and the street pieces within
    max_m are drawn as strips (as WalkGraph.isochrone does for one start) — ~1 s for the
    demo's 143 nurseries at 5 minutes, where 143 isochrones and their union took ~35 s.
    """
    site_lats = np.asarray(site_lats, dtype=float)
    site_lons = np.asarray(site_lons, dtype=float)
    if site_lats.size == 0:
        return None
    sites = graph.snap(site_lats, site_lons)
    if not (sites.ok & (sites.dist_m <= max_m)).any():
        return None
    segments = graph.reached_pieces(sites, max_m, towards=True)
    if segments.shape[0] == 0:
        return None
    if segments.shape[0] > GRID_ABOVE_PIECES:
        return graph.to_lonlat(_grid_strips(segments, AREA_BUFFER_M).simplify(AREA_SIMPLIFY_M))
    pieces = shapely.linestrings(segments)
    # Joining the pieces into longer lines first makes buffering and merging ~3× faster.
    lines = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(pieces)))
    lines = shapely.simplify(lines, AREA_SIMPLIFY_M / 2)
    area = shapely.union_all(shapely.buffer(lines, AREA_BUFFER_M, quad_segs=2))
    return graph.to_lonlat(area.simplify(AREA_SIMPLIFY_M))


def _grid_strips(segments: np.ndarray, half_width_m: float):
    """The area within half_width_m of any of the (k, 2, 2) local segments, drawn on a grid:
    the segments burnt into cells (rasterio), each cell's distance to the nearest burnt one
    (scipy's exact Euclidean distance transform), and the cells within reach as polygons.
    Its outline is within about one cell of the exact strips' (5 m, where the exact way
    simplifies to 4 m anyway), in a few seconds for a whole city."""
    # rasterio loads GDAL (~130 ms): only workers that draw a city-wide area pay for it.
    from affine import Affine
    from rasterio import features
    from scipy import ndimage

    margin = half_width_m + 2 * GRID_CELL_M
    lo = segments.reshape(-1, 2).min(axis=0) - margin
    hi = segments.reshape(-1, 2).max(axis=0) + margin
    cell = max(GRID_CELL_M, math.sqrt(float(np.prod(hi - lo)) / GRID_MAX_CELLS))
    width, height = (int(math.ceil(x)) for x in (hi - lo) / cell)
    to_grid = Affine(cell, 0.0, float(lo[0]), 0.0, -cell, float(lo[1]) + height * cell)
    # As a GeoJSON mapping built by numpy: shapely's __geo_interface__ walks every coordinate.
    lines = {"type": "MultiLineString", "coordinates": segments.tolist()}
    burnt = features.rasterize([(lines, 1)], out_shape=(height, width), transform=to_grid,
                               fill=0, dtype="uint8", all_touched=True)  # fmt: skip
    near = ndimage.distance_transform_edt(burnt == 0, sampling=cell) <= half_width_m
    polygons = [
        shapely.geometry.shape(shape)
        for shape, _value in features.shapes(near.astype("uint8"), mask=near, transform=to_grid)
    ]
    return shapely.union_all(polygons)
