"""Walking distances on a street network loaded from OpenStreetMap (network mode, issue 5).

Straight-line circles over-promise where streets wind and climb (DESIGN §3.4). A district loads
its OSM extract once (`flask --app app maps load-network FILE`); every process then walks the
same graph:

- **Parsing** (`from_osm_bytes`) streams the XML with ElementTree's iterparse and keeps the ways
  a person may walk on (WALKABLE_HIGHWAYS, unless foot=no / access=private / area=yes; an
  explicit foot=yes admits any road). Each way becomes straight edges between consecutive nodes
  with geodesic lengths (pyproj Geod). Pedestrians ignore oneway.
- **Cost.** OSM has no heights, so hills are only seen where they are mapped as steps: an edge of
  highway=steps costs STEPS_FACTOR × its (horizontal) length, in both directions (climbing
  roughly halves one's pace; going down a long flight is not much faster). Distances on the
  network are these flat-walking metres.
- **Largest connected part only.** Fragments not joined to the main network (a footway inside a
  compound, a clipped road at the extract's edge) would trap every home snapped to them with
  no route anywhere, so they are dropped, and the number of dropped nodes is reported.
- **All or nothing.** Any error leaves the stored network untouched; a good file replaces it in
  one transaction and bumps the version every process's cached graph is keyed by.
- **Searching** (`WalkGraph`): scipy's Dijkstra over a sparse matrix. Points are snapped to the
  nearest graph node (a KD-tree over Earth-centred coordinates) and the straight distance to it
  is walked too; long edges are cut into pieces of at most PIECE_M so that a home halfway along a
  long street snaps beside itself, not to a far corner.
"""

from __future__ import annotations

import io
import math
import threading
import uuid
import zlib
from array import array
from dataclasses import dataclass, field
from datetime import datetime

import defusedxml.ElementTree as ET  # no entity expansion, no external entities
import numpy as np
import shapely
from defusedxml import DefusedXmlException
from pyproj import Transformer
from scipy.sparse import coo_matrix, csr_matrix
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree
from sqlalchemy import delete, insert

from database import raw_read
from errors import DomainError
from extensions import db
from maps.coords import in_china
from maps.geo import GEOD, ecef

from .models import WalkEdge, WalkNetwork, WalkNode

# Roads and paths people walk on. Motorways and trunk roads are not (trunk only with foot=yes
# or a mapped sidewalk); tracks and cycleways are, unless foot=no says otherwise.
WALKABLE_HIGHWAYS = frozenset(
    """footway path pedestrian steps living_street residential service unclassified road
    tertiary tertiary_link secondary secondary_link primary primary_link track cycleway
    """.split()
)
PERMITTED_ONLY = frozenset({"trunk", "trunk_link", "bridleway"})  # walkable if foot=yes
FOOT_YES = frozenset({"yes", "designated", "permissive", "destination"})
FOOT_NO = frozenset({"no", "private", "use_sidepath"})
STEPS_FACTOR = 2.0
# A district's extract is tens of MB; a whole province is well over this and should be cut
# down (osmium extract) before loading. Checked after decompression too.
MAX_OSM_BYTES = 256 * 1024 * 1024
PIECE_M = 50.0  # longest edge piece in the in-memory graph (snapping precision)
ISOCHRONE_BUFFER_M = 25.0  # half the width of the strip drawn along each reached street
BOUNDARY_EPS_M = 1e-6  # a point exactly on the limit counts as inside (as maps.index does)


def refuse(message: str) -> DomainError:
    return DomainError("invalid_network", message, status=422, field="file")


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
    cost_m: np.ndarray  # flat-walking metres (length × STEPS_FACTOR on steps)
    way_count: int  # walkable ways read
    ignored_ways: int  # ways that are not walkable (or have fewer than two nodes)
    dropped_nodes: int  # nodes outside the largest connected part

    def graph(self) -> WalkGraph:
        return WalkGraph(self.lats, self.lons, self.u, self.v, self.length_m, self.cost_m)


def from_osm_bytes(data: bytes, filename: str) -> ParsedNetwork:
    """Parse OSM XML (.osm, or gzip-compressed .osm.gz) into a walking network.

    Raises DomainError (in Chinese) for anything that is not a usable walking network.
    """
    raw = _read_osm(_xml_bytes(data, filename))
    if not raw.way_ids:
        raise refuse(
            "文件中没有可步行的道路（highway=footway、path、steps、residential 等，且未禁止步行）。"
        )
    return _build(raw)


def _xml_bytes(data: bytes, filename: str) -> bytes:
    """The XML text of the file: size-checked, decompressed if gzip, PBF refused politely."""
    if len(data) > MAX_OSM_BYTES:
        raise refuse(too_large())
    name = filename.lower()
    if not data.strip():
        raise refuse("文件为空。")
    # PBF: a 4-byte length, then a protobuf BlobHeader whose type is "OSMHeader".
    if name.endswith(".pbf") or b"OSMHeader" in data[4:20]:
        raise refuse(
            "暂不支持 PBF 格式：请先转换为 OSM XML，例如 osmium cat 文件.osm.pbf -o 文件.osm"
        )
    if data[:2] == b"\x1f\x8b":  # gzip magic, whatever the name says
        # Decompress with a ceiling so that a small "zip bomb" cannot fill the memory.
        inflater = zlib.decompressobj(wbits=31)
        try:
            out = inflater.decompress(data, MAX_OSM_BYTES + 1)
        except zlib.error:
            raise refuse("不是有效的 gzip 压缩文件。") from None
        if len(out) > MAX_OSM_BYTES:
            raise refuse(too_large())
        if not inflater.eof:
            raise refuse("gzip 压缩文件不完整。")
        return out
    return data


def too_large() -> str:
    return (
        f"路网文件过大（超过 {MAX_OSM_BYTES // 2**20} MB）：请先裁剪到本区范围，"
        "例如 osmium extract -b 西,南,东,北 输入.osm.pbf -o 本区.osm"
    )


def _walkable(tags: dict[str, str]) -> bool:
    highway = tags.get("highway")
    if highway is None or tags.get("area") == "yes":
        return False  # not a road, or a square mapped by its outline (no route through it)
    foot = tags.get("foot")
    if foot in FOOT_NO:
        return False
    if foot in FOOT_YES:  # foot=* overrides access=* (OSM access rules)
        return highway in WALKABLE_HIGHWAYS or highway in PERMITTED_ONLY
    if tags.get("access") in ("no", "private"):
        return False
    if highway in PERMITTED_ONLY:
        return tags.get("sidewalk", "no") not in ("no", "none", "separate")
    return highway in WALKABLE_HIGHWAYS


@dataclass
class _RawOsm:
    """What the streaming pass keeps: compact arrays, not XML elements or dicts (an extract
    holds millions of building nodes; 24 bytes each here instead of ~150 in a dict)."""

    node_ids: array = field(default_factory=lambda: array("q"))
    node_lats: array = field(default_factory=lambda: array("d"))
    node_lons: array = field(default_factory=lambda: array("d"))
    refs: array = field(default_factory=lambda: array("q"))  # walkable ways' refs, end to end
    way_starts: array = field(default_factory=lambda: array("q"))  # where each way's refs begin
    way_ids: array = field(default_factory=lambda: array("q"))
    way_steps: array = field(default_factory=lambda: array("b"))
    ignored: int = 0  # ways that are not walkable (or have fewer than two nodes)


def _read_osm(xml: bytes) -> _RawOsm:
    """Stream the XML: every node's position, and the node refs of every walkable way.

    Elements are cleared as soon as they are read, so memory holds numbers, not the tree.
    """
    raw = _RawOsm()
    root = None
    try:
        for event, elem in ET.iterparse(io.BytesIO(xml), events=("start", "end")):
            if root is None:
                root = elem
                if elem.tag != "osm":
                    raise refuse(
                        f"不是 OpenStreetMap XML 文件：根元素应为 <osm>，而不是 <{elem.tag[:40]}>。"
                    )
                continue
            if event != "end" or elem.tag not in ("node", "way", "relation"):
                continue
            # Edits saved by JOSM keep deleted objects with action="delete"; skip them.
            if elem.get("action") != "delete" and elem.get("visible") != "false":
                if elem.tag == "node":
                    osm_id, lat, lon = _node(elem)
                    raw.node_ids.append(osm_id)
                    raw.node_lats.append(lat)
                    raw.node_lons.append(lon)
                elif elem.tag == "way":
                    _way(raw, elem)
            root.clear()  # drop the children read so far (they are direct children of <osm>)
    except ET.ParseError as exc:
        line, column = exc.position
        raise refuse(f"不是有效的 XML 文件（第 {line} 行第 {column} 列无法解析）。") from None
    except DefusedXmlException:
        raise refuse(
            "XML 文件含实体定义或外部引用，出于安全原因拒绝读取（OSM 文件不需要它们）。"
        ) from None
    return raw


def _way(raw: _RawOsm, elem) -> None:
    tags = {t.get("k"): t.get("v") for t in elem.iterfind("tag")}
    refs = [_int(nd.get("ref"), "节点引用") for nd in elem.iterfind("nd")]
    if not _walkable(tags) or len(refs) < 2:
        raw.ignored += 1
        return
    raw.way_ids.append(_int(elem.get("id"), "道路编号"))
    raw.way_starts.append(len(raw.refs))
    raw.way_steps.append(tags.get("highway") == "steps")
    raw.refs.extend(refs)


def _int(text: str | None, what: str) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        value = None
    if value is None or not -(2**63) <= value < 2**63:  # OSM ids are 64-bit
        raise refuse(f"{what}无效：{str(text)[:40]!r}")
    return value


def _node(elem) -> tuple[int, float, float]:
    osm_id = _int(elem.get("id"), "节点编号")
    try:
        lat, lon = float(elem.get("lat")), float(elem.get("lon"))
    except (TypeError, ValueError):
        raise refuse(f"节点 {osm_id} 的坐标无效。") from None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        raise refuse(f"节点 {osm_id} 的坐标无效：({lat}, {lon})。")
    return osm_id, lat, lon


def _build(raw: _RawOsm) -> ParsedNetwork:
    """Edges between consecutive nodes of the walkable ways, on the largest connected part."""
    refs = np.frombuffer(raw.refs, dtype=np.int64)
    starts = np.frombuffer(raw.way_starts, dtype=np.int64)
    # Look every ref up among the file's nodes (sorted ids; a node given twice: the last wins).
    ids = np.frombuffer(raw.node_ids, dtype=np.int64)
    order = np.argsort(ids, kind="stable")
    last = np.ones(order.size, dtype=bool)
    last[:-1] = ids[order][1:] != ids[order][:-1]
    order = order[last]
    sorted_ids = ids[order]
    at = np.minimum(np.searchsorted(sorted_ids, refs), max(sorted_ids.size - 1, 0))
    found = sorted_ids[at] == refs if sorted_ids.size else np.zeros(refs.size, dtype=bool)
    if not found.all():
        k = int(np.argmin(found))
        way_id = raw.way_ids[int(np.searchsorted(starts, k, side="right")) - 1]
        raise refuse(
            f"道路 {way_id} 引用了文件中不存在的节点 {refs[k]}：文件可能被裁剪过，"
            "请导出完整道路（如 osmium extract --strategy complete_ways）。"
        )
    # Dense positions 0..n-1 for the nodes the ways use, in OSM id order.
    used, position = np.unique(at, return_inverse=True)
    node_rows = order[used]
    osm_ids = ids[node_rows]
    lats = np.frombuffer(raw.node_lats, dtype=float)[node_rows]
    lons = np.frombuffer(raw.node_lons, dtype=float)[node_rows]
    _check_in_china(osm_ids, lats, lons)

    # An edge joins each ref to the next one of the same way.
    way_end = np.zeros(refs.size, dtype=bool)
    way_end[starts[1:] - 1] = True
    way_end[-1] = True
    first = np.flatnonzero(~way_end)
    a, b = position[first], position[first + 1]
    steps = np.frombuffer(raw.way_steps, dtype=np.int8).astype(bool)
    edge_steps = steps[np.searchsorted(starts, first, side="right") - 1]
    length = np.asarray(GEOD.inv(lons[a], lats[a], lons[b], lats[b])[2], dtype=float)
    cost = np.where(edge_steps, length * STEPS_FACTOR, length)
    a, b, length, cost = _dedupe(a, b, length, cost)
    if a.size == 0:  # every way went from a node back to itself
        raise refuse("文件中没有可步行的道路（道路都只有一个节点）。")

    keep = _largest_component(osm_ids.size, a, b)
    new_pos = np.cumsum(keep) - 1
    edge_keep = keep[a]  # both ends share a component
    return ParsedNetwork(
        osm_ids=osm_ids[keep],
        lats=lats[keep],
        lons=lons[keep],
        u=new_pos[a[edge_keep]],
        v=new_pos[b[edge_keep]],
        length_m=length[edge_keep],
        cost_m=cost[edge_keep],
        way_count=len(raw.way_ids),
        ignored_ways=raw.ignored,
        dropped_nodes=int((~keep).sum()),
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


def _dedupe(a, b, length, cost):
    """Undirected edges without self-loops, one per node pair (the cheapest).

    Needed for correctness, not only size: building a sparse matrix adds up duplicate entries,
    which would turn two parallel pieces into one twice as long.
    """
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    proper = lo != hi
    lo, hi, length, cost = lo[proper], hi[proper], length[proper], cost[proper]
    order = np.lexsort((cost, hi, lo))
    lo, hi, length, cost = lo[order], hi[order], length[order], cost[order]
    first = np.ones(lo.size, dtype=bool)
    first[1:] = (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])
    return lo[first], hi[first], length[first], cost[first]


def _largest_component(n: int, a, b) -> np.ndarray:
    """Mask of the nodes in the largest connected part."""
    matrix = coo_matrix((np.ones(a.size), (a, b)), shape=(n, n))
    _count, labels = connected_components(matrix, directed=False)
    return labels == np.argmax(np.bincount(labels))


# ---------------------------------------------------------------------------------------------
# The graph in memory


class WalkGraph:
    """An undirected walking graph, immutable once built; safe to share between threads."""

    def __init__(self, lats, lons, u, v, length_m, cost_m=None, key=None):
        lats = np.asarray(lats, dtype=float)
        lons = np.asarray(lons, dtype=float)
        length = np.asarray(length_m, dtype=float)
        cost = length if cost_m is None else np.asarray(cost_m, dtype=float)
        u, v, length, cost = _dedupe(
            np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64), length, cost
        )
        self.key = key
        self.input_nodes = lats.size  # nodes 0..input_nodes-1 are the input's, in its order
        self.lats, self.lons, self.u, self.v, self.cost = _cut_long_edges(
            lats, lons, u, v, length, cost
        )
        n = self.lats.size
        self.node_count = n
        # One spare row and column (index n) for the virtual source that seeds searches.
        self._matrix = csr_matrix(
            (
                np.concatenate((self.cost, self.cost)),
                (np.concatenate((self.u, self.v)), np.concatenate((self.v, self.u))),
            ),
            shape=(n + 1, n + 1),
        )
        self._tree = cKDTree(ecef(self.lats, self.lons))

    @property
    def edge_count(self) -> int:
        return int(self.u.size)

    def snap(self, lats, lons) -> tuple[np.ndarray, np.ndarray]:
        """The nearest graph node of each point and the geodesic metres to it.

        Nearest by chord through the Earth, which orders points as the geodesic does at these
        distances; the distance returned is the exact geodesic.
        """
        lats = np.atleast_1d(np.asarray(lats, dtype=float))
        lons = np.atleast_1d(np.asarray(lons, dtype=float))
        if lats.size == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        _, node = self._tree.query(ecef(lats, lons), k=1, workers=-1)
        node = np.asarray(node, dtype=np.int64)
        dist = GEOD.inv(lons, lats, self.lons[node], self.lats[node])[2]
        return node, np.asarray(dist, dtype=float)

    def node_distances(self, nodes, offsets, max_m: float = math.inf) -> np.ndarray:
        """Walking metres from the nearest of several starts to every node (inf beyond max_m).

        Start k sits at node nodes[k], offsets[k] metres away (its snap distance). scipy's
        Dijkstra cannot start with distances already walked, so a virtual source node is
        joined to each start node by an edge of that length, and one search runs from it.
        """
        n = self.node_count
        nodes = np.asarray(nodes, dtype=np.int64)
        best = np.full(n, np.inf)
        np.minimum.at(best, nodes, np.asarray(offsets, dtype=float))
        seeds = np.flatnonzero(best <= max_m)
        if seeds.size == 0:
            return np.full(n, np.inf)
        m = self._matrix
        # The virtual source is the last row: its edges go at the end of the CSR arrays.
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

    def nearest_site_m(self, site_lats, site_lons, point_lats, point_lons, max_m=math.inf):
        """Each point's walking metres to its nearest site, inf beyond max_m.

        One multi-source search from all sites gives every node its distance to the nearest
        site (snap distance of the site included); a point adds its own snap distance.
        """
        point_lats = np.atleast_1d(np.asarray(point_lats, dtype=float))
        site_node, site_snap = self.snap(site_lats, site_lons)
        if site_node.size == 0 or point_lats.size == 0:
            return np.full(point_lats.shape, np.inf)
        return self._to_points(
            self.node_distances(site_node, site_snap, max_m), point_lats, point_lons, max_m
        )

    def distances_from(self, lat: float, lon: float, lats, lons, max_m=math.inf) -> np.ndarray:
        """Walking metres from one point (a home) to each of many (nurseries), inf beyond max_m."""
        node, snap = self.snap([lat], [lon])
        lats = np.atleast_1d(np.asarray(lats, dtype=float))
        if lats.size == 0:
            return np.empty(0)
        return self._to_points(self.node_distances(node, snap, max_m), lats, lons, max_m)

    def _to_points(self, node_dist, lats, lons, max_m) -> np.ndarray:
        node, snap = self.snap(lats, lons)
        dist = snap + node_dist[node]
        dist[dist > max_m + BOUNDARY_EPS_M] = np.inf
        return dist

    def isochrone(self, lat: float, lon: float, max_m: float, buffer_m=ISOCHRONE_BUFFER_M):
        """The area reachable on foot within max_m from a point, as a lon/lat (Multi)Polygon.

        Every street piece walked is drawn as a strip buffer_m either side, pieces partly
        walked up to where the metres run out (from either end). Measured in an azimuthal
        equidistant projection centred on the point, true to scale around it. None when even
        the nearest street is farther than max_m.
        """
        origin, snap = self.snap([lat], [lon])
        if snap[0] > max_m:
            return None
        dist = self.node_distances(origin, snap, max_m)
        left_u = max_m - dist[self.u]  # metres left on arriving at each end (-inf: not reached)
        left_v = max_m - dist[self.v]
        with np.errstate(divide="ignore", invalid="ignore"):
            part_u = np.where(self.cost > 0, np.clip(left_u / self.cost, 0, 1), left_u >= 0)
            part_v = np.where(self.cost > 0, np.clip(left_v / self.cost, 0, 1), left_v >= 0)
        whole = part_u + part_v >= 1
        from_u = ~whole & (part_u > 0)
        from_v = ~whole & (part_v > 0)

        to_local = Transformer.from_crs(
            "EPSG:4326",
            f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m",
            always_xy=True,
        )
        x, y = to_local.transform(self.lons, self.lats)
        xy = np.column_stack((x, y))
        pu, pv = xy[self.u], xy[self.v]
        starts = np.concatenate((pu[whole], pu[from_u], pv[from_v], [[0.0, 0.0]]))
        ends = np.concatenate(
            (
                pv[whole],
                pu[from_u] + part_u[from_u, None] * (pv[from_u] - pu[from_u]),
                pv[from_v] + part_v[from_v, None] * (pu[from_v] - pv[from_v]),
                xy[origin],  # the walk from the point to the street
            )
        )
        pieces = shapely.linestrings(np.stack((starts, ends), axis=1))
        # Join pieces into whole streets first (4× fewer shapes), then buffer each street and
        # merge the strips: much faster than buffering one overlapping multi-line at once.
        # Simplifying to 1 m keeps the outline light for the map.
        streets = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(pieces)))
        area = shapely.union_all(shapely.buffer(streets, buffer_m, quad_segs=4)).simplify(1.0)
        to_lonlat = Transformer.from_crs(to_local.target_crs, "EPSG:4326", always_xy=True)
        return shapely.transform(area, lambda pts: np.column_stack(to_lonlat.transform(*pts.T)))


def _cut_long_edges(lats, lons, u, v, length, cost):
    """Cut edges longer than PIECE_M into equal pieces through new nodes (appended after the
    input's nodes), so that snapping to a node is never more than PIECE_M/2 along a street off.

    New nodes are placed by linear interpolation of latitude and longitude, which over a few
    hundred metres lies within millimetres of the geodesic; the pieces' costs add up exactly.
    """
    pieces = np.maximum(1, np.ceil(length / PIECE_M)).astype(np.int64)
    long = pieces > 1
    if not long.any():
        return lats, lons, u, v, cost
    k = pieces[long]
    lu, lv, lcost = u[long], v[long], cost[long]
    # New nodes: k-1 per long edge, numbered after the existing ones, edge after edge.
    inner = k - 1
    first_new = lats.size + np.cumsum(inner) - inner  # number of each edge's first new node
    edge_of = np.repeat(np.arange(k.size), inner)  # the long edge each new node lies on
    step = np.arange(int(inner.sum())) - np.repeat(np.cumsum(inner) - inner, inner) + 1
    t = step / k[edge_of]  # 1/k, 2/k, … of the way from u to v
    new_lats = lats[lu[edge_of]] + t * (lats[lv[edge_of]] - lats[lu[edge_of]])
    new_lons = lons[lu[edge_of]] + t * (lons[lv[edge_of]] - lons[lu[edge_of]])
    # Pieces: u → first new node → … → last new node → v, each costing cost/k.
    edge_of_piece = np.repeat(np.arange(k.size), k)
    piece = np.arange(int(k.sum())) - np.repeat(np.cumsum(k) - k, k)  # 0..k-1 along the edge
    base = first_new[edge_of_piece]
    chain_u = np.where(piece == 0, lu[edge_of_piece], base + piece - 1)
    chain_v = np.where(piece == k[edge_of_piece] - 1, lv[edge_of_piece], base + piece)
    chain_cost = lcost[edge_of_piece] / k[edge_of_piece]
    return (
        np.concatenate((lats, new_lats)),
        np.concatenate((lons, new_lons)),
        np.concatenate((u[~long], chain_u)),
        np.concatenate((v[~long], chain_v)),
        np.concatenate((cost[~long], chain_cost)),
    )


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
        ("id", "u", "v", "length_m", "cost_m"),
        (np.arange(parsed.u.size), parsed.u, parsed.v, parsed.length_m, parsed.cost_m),
    )
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
        edges = raw_read("SELECT u, v, length_m, cost_m FROM walk_edges ORDER BY id")
        if before is None:
            return None
        if _key() == before:
            node_arr = np.array(nodes, dtype=float).reshape(-1, 2)
            edge_arr = np.array(edges, dtype=float).reshape(-1, 4)
            return WalkGraph(
                node_arr[:, 0],
                node_arr[:, 1],
                edge_arr[:, 0].astype(np.int64),
                edge_arr[:, 1].astype(np.int64),
                edge_arr[:, 2],
                edge_arr[:, 3],
                key=before,
            )
    raise RuntimeError("the walking network kept changing while being read")


def reset() -> None:
    """Forget the cached graph (tests switch databases under one process)."""
    global _current
    with _lock:
        _current = None


# --- the area within reach of any site (the planner's map) ---------------------------------

AREA_BUFFER_M = ISOCHRONE_BUFFER_M
AREA_SIMPLIFY_M = 4.0  # outline detail kept for display


def reach_area(graph: WalkGraph, site_lats, site_lons, max_m: float):
    """The area within max_m walking metres of any site, as a WGS-84 shapely geometry, or None
    when no street is within reach.

    The union of every site's isochrone at once: one multi-source search gives each node its
    walking metres to the nearest site, and the street pieces walked within max_m are drawn as
    strips (as WalkGraph.isochrone does for one start) — ~1 s for the demo's 143 nurseries at
    5 minutes, where 143 isochrones and their union took ~35 s.
    """
    site_lats = np.asarray(site_lats, dtype=float)
    site_lons = np.asarray(site_lons, dtype=float)
    if site_lats.size == 0:
        return None
    node, snap = graph.snap(site_lats, site_lons)
    dist = graph.node_distances(node, snap, max_m)
    left_u, left_v = max_m - dist[graph.u], max_m - dist[graph.v]
    cost = graph.cost
    with np.errstate(divide="ignore", invalid="ignore"):
        part_u = np.where(cost > 0, np.clip(left_u / cost, 0, 1), left_u >= 0)
        part_v = np.where(cost > 0, np.clip(left_v / cost, 0, 1), left_v >= 0)
    whole = part_u + part_v >= 1
    from_u, from_v = ~whole & (part_u > 0), ~whole & (part_v > 0)
    reached = snap <= max_m
    if not (whole.any() or from_u.any() or from_v.any() or reached.any()):
        return None
    # A local azimuthal equidistant projection: true to scale within a district.
    local = f"+proj=aeqd +lat_0={site_lats.mean()} +lon_0={site_lons.mean()} +datum=WGS84 +units=m"
    to_local = Transformer.from_crs("EPSG:4326", local, always_xy=True)
    xy = np.column_stack(to_local.transform(graph.lons, graph.lats))
    sites_xy = np.column_stack(to_local.transform(site_lons, site_lats))
    pu, pv = xy[graph.u], xy[graph.v]
    starts = np.concatenate((pu[whole], pu[from_u], pv[from_v], sites_xy[reached]))
    ends = np.concatenate(
        (
            pv[whole],
            pu[from_u] + part_u[from_u, None] * (pv[from_u] - pu[from_u]),
            pv[from_v] + part_v[from_v, None] * (pu[from_v] - pv[from_v]),
            xy[node[reached]],  # from each nursery to its street
        )
    )
    pieces = shapely.linestrings(np.stack((starts, ends), axis=1))
    # Joining the pieces into longer lines first makes buffering and merging ~3× faster.
    lines = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(pieces)))
    lines = shapely.simplify(lines, AREA_SIMPLIFY_M / 2)
    area = shapely.union_all(shapely.buffer(lines, AREA_BUFFER_M, quad_segs=2))
    area = area.simplify(AREA_SIMPLIFY_M)
    to_lonlat = Transformer.from_crs(local, "EPSG:4326", always_xy=True)
    return shapely.transform(area, lambda pts: np.column_stack(to_lonlat.transform(*pts.T)))
