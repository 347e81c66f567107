"""Reading the walkable ways of an OpenStreetMap file (issue 15), for the walking network.

`read_walkways(data, filename)` takes the bytes of an OSM XML file, the same gzip-compressed
(.osm.gz) or a .osm.pbf, and returns the edges a person may walk on as arrays (`Walkways`);
planning/network.py measures, dedupes and joins them into the graph. The file is read with
pyosmium (libosmium) in one pass that keeps every node's position in osmium's own store, so
only the tagged elevator nodes and the ways reach Python.

- **Which ways.** The roads and paths of WALKABLE_HIGHWAYS, corridors, platforms
  (highway=platform, railway=platform, public_transport=platform) and elevator ways, unless
  foot=no / access=private; an explicit foot=yes admits any road. Pedestrians ignore oneway.
- **Clipped extracts.** A regional extract cuts the ways at its boundary and leaves out the
  nodes beyond it. A way is cut at each node the file lacks: its runs of two or more present
  nodes are kept, and the cut ways and missing refs are counted, never refused.
- **Pedestrian areas** (closed highway=pedestrian/footway ways with area=yes, and closed
  platforms): their outline is walked like a way, and each pair of entrances (outline nodes
  that another walkable way uses) is joined by a straight crossing when the straight line
  stays inside the outline. Multipolygon relations are not read (a square with a hole is
  walked round its outer ways only if those are tagged as ways).
- **Cost.** Edges carry a cost per metre (`factor`: STEPS_FACTOR on steps, 1 on escalators) and
  a fixed cost in flat-walking metres (`extra_m`: elevators, ELEVATOR_M to pass through).
  Escalators and moving walkways (conveying=*) are one-way where their tags say so.
- **Street level.** `ground` is False on tunnels, bridges, layer ≠ 0, indoor and level ≠ 0 ways,
  so that a home is snapped to the street beside it rather than to the tunnel below.
- **Safety.** Files larger than MAX_OSM_BYTES are refused, and so is gzip that inflates past
  it; XML with a DOCTYPE (entity declarations, which expat would expand) is refused before
  parsing; anything osmium cannot read becomes a refusal in Chinese, never a stack trace.
"""

from __future__ import annotations

import codecs
import re
import zlib
from array import array
from dataclasses import dataclass, field

import numpy as np
import osmium
import shapely

from errors import DomainError

# Roads and paths people walk on. Motorways and trunk roads are not (trunk only with foot=yes
# or a mapped sidewalk); tracks and cycleways are, unless foot=no says otherwise. Corridors,
# platforms and elevators are indoor or station ways that connect the streets.
WALKABLE_HIGHWAYS = frozenset(
    """footway path pedestrian steps living_street residential service unclassified road
    tertiary tertiary_link secondary secondary_link primary primary_link track cycleway
    corridor platform elevator
    """.split()
)
PERMITTED_ONLY = frozenset({"trunk", "trunk_link", "bridleway"})  # walkable if foot=yes
FOOT_YES = frozenset({"yes", "designated", "permissive", "destination"})
FOOT_NO = frozenset({"no", "private", "use_sidepath"})
SURFACE_HIGHWAYS = frozenset({"pedestrian", "footway"})  # with area=yes: walked across
STEPS_FACTOR = 2.0  # climbing steps roughly halves one's pace
# An elevator costs the flat-walking metres of its waiting and ride: ~50 s (half a minute's
# wait, a few floors' ride) at the planners' 4.5 km/h (75 m a minute) is about 60 m.
ELEVATOR_M = 60.0
CONVEYING = frozenset({"yes", "forward", "backward", "reversible"})
ONEWAY_YES = frozenset({"yes", "true", "1"})
ONEWAY_BACK = frozenset({"-1", "reverse"})
# A district's extract is tens of MB; a whole province is well over this and should be cut
# down (osmium extract) before loading. Checked after decompression too.
MAX_OSM_BYTES = 256 * 1024 * 1024

_UNDEFINED = 2**31 - 1  # osmium's coordinate of a node it has not read
_NOWHERE = (_UNDEFINED, _UNDEFINED)
_MAX_X, _MAX_Y = 180 * 10**7, 90 * 10**7  # ±180°, ±90° in osmium's fixed point (1e-7°)


def refuse(message: str) -> DomainError:
    return DomainError("invalid_network", message, status=422, field="file")


def too_large() -> str:
    return (
        f"路网文件过大（超过 {MAX_OSM_BYTES // 2**20} MB）：请先裁剪到本区范围，"
        "例如 osmium extract -b 西,南,东,北 输入.osm.pbf -o 本区.osm.pbf"
    )


@dataclass
class Walkways:
    """The walkable edges of a file. Nodes 0..n-1 are the nodes the edges use, in OSM id
    order; an edge joins two consecutive nodes of a way (or two entrances of an area)."""

    osm_ids: np.ndarray  # int64
    lats: np.ndarray  # float64, WGS-84 degrees
    lons: np.ndarray
    u: np.ndarray  # int64 node positions
    v: np.ndarray
    factor: np.ndarray  # float64: cost per metre (STEPS_FACTOR on steps, else 1)
    extra_m: np.ndarray  # float64: fixed cost in flat-walking metres (elevators)
    oneway: np.ndarray  # bool: walkable from u to v only (escalators)
    ground: np.ndarray  # bool: at street level (not a tunnel, bridge, upper or lower level)
    way_count: int  # walkable ways with at least one edge
    ignored_ways: int  # ways that are not walkable (or have fewer than two nodes)
    cut_ways: int  # walkable ways cut because the file lacks some of their nodes
    missing_refs: int  # node refs of walkable ways that are not in the file
    areas: int  # pedestrian areas (and platforms) walked across


def read_walkways(data: bytes, filename: str) -> Walkways:
    """The walkable edges of an OSM file (.osm, .osm.gz or .osm.pbf) given as bytes.

    Raises DomainError (in Chinese) for anything that is not a readable OSM file with
    walkable ways.
    """
    source, fmt = _source(data, filename)
    deleted = _deleted_ids(source) if fmt == "osm" else (set(), set())
    return _assemble(_scan(source, fmt, *deleted))


# ---------------------------------------------------------------------------------------------
# The bytes


def _source(data: bytes, filename: str) -> tuple[bytes, str]:
    """The bytes osmium reads and their format ("osm" or "pbf"), size- and safety-checked."""
    if len(data) > MAX_OSM_BYTES:
        raise refuse(too_large())
    if not data.strip():
        raise refuse("文件为空。")
    if data[:2] == b"\x1f\x8b":  # gzip magic, whatever the name says
        data = _gunzip(data)
        if not data.strip():
            raise refuse("文件为空。")
    elif data[:3] == b"BZh":
        raise refuse("暂不支持 bzip2 压缩：请先解压，或改用 .osm.pbf / .osm.gz 文件。")
    # PBF: a 4-byte length, then a protobuf BlobHeader whose type is "OSMHeader". The content
    # decides; the name only for what is neither (osmium then says what is wrong with it).
    elif b"OSMHeader" in data[4:20] or (
        filename.lower().endswith(".pbf") and not data.lstrip().startswith((b"<", codecs.BOM_UTF8))
    ):
        return data, "pbf"
    _check_prolog(data)
    return data, "osm"


def _gunzip(data: bytes) -> bytes:
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


_NAME = re.compile(rb"<([^\s/>]{1,40})")


def _check_prolog(xml: bytes) -> None:
    """Refuse XML whose root is not <osm>, or that declares a DOCTYPE, before parsing.

    osmium parses with expat, which expands internal entities ("billion laughs"); a DOCTYPE
    can only stand before the root element, so reading the prolog up to the root is enough.
    Whatever is not plainly an ASCII-compatible prolog then <osm (UTF-16, binary) is refused
    here too, so that expat never sees a prolog this check could not read.
    """
    pos = 3 if xml.startswith(codecs.BOM_UTF8) else 0
    while True:
        while pos < len(xml) and xml[pos] in b" \t\r\n":
            pos += 1
        if xml.startswith(b"<?", pos):  # the XML declaration, processing instructions
            close = b"?>"
        elif xml.startswith(b"<!--", pos):
            close = b"-->"
        elif xml.startswith(b"<!", pos):  # <!DOCTYPE … [<!ENTITY …>]>
            raise refuse(
                "XML 文件含实体定义或外部引用，出于安全原因拒绝读取（OSM 文件不需要它们）。"
            )
        else:
            break
        end = xml.find(close, pos + 2)
        if end < 0:
            raise refuse("不是有效的 XML 文件（文件头不完整）。")
        pos = end + len(close)
    name = _NAME.match(xml, pos)
    if name is None:
        raise refuse("不是有效的 XML 文件：应为 OpenStreetMap XML（.osm）、.osm.gz 或 .osm.pbf。")
    if name.group(1) != b"osm":
        tag = name.group(1).decode("utf-8", "replace")
        raise refuse(f"不是 OpenStreetMap XML 文件：根元素应为 <osm>，而不是 <{tag}>。")


# JOSM saves the objects deleted in an edit with action="delete"; osmium does not read that
# attribute, so those ids are found here (visible="false" too, for the untagged nodes that
# never reach Python). Only files that say either are scanned.
_DELETION = re.compile(rb"""\s(?:action\s*=\s*["']delete["']|visible\s*=\s*["']false["'])""")
_START_TAG = re.compile(rb"""<(node|way)((?:\s+[^\s=/<>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*/?>""")
_ATTRIBUTE = re.compile(rb"""([^\s=/<>]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")


def _deleted_ids(xml: bytes) -> tuple[set[int], set[int]]:
    """The ids of the nodes and ways an XML file marks as deleted."""
    nodes: set[int] = set()
    ways: set[int] = set()
    if _DELETION.search(xml) is None:
        return nodes, ways
    for tag in _START_TAG.finditer(xml):
        if _DELETION.search(tag.group(2)) is None:
            continue
        attrs = {m[1]: m[2] or m[3] for m in _ATTRIBUTE.finditer(tag.group(2))}
        if attrs.get(b"action") == b"delete" or attrs.get(b"visible") == b"false":
            try:
                osm_id = int(attrs.get(b"id", b""))
            except ValueError:
                continue  # osmium refuses the id itself
            (nodes if tag.group(1) == b"node" else ways).add(osm_id)
    return nodes, ways


# ---------------------------------------------------------------------------------------------
# The tags


@dataclass(frozen=True)
class _Rule:
    """How a walkable way is walked."""

    factor: float
    extra_m: float  # for the whole way
    direction: int  # 1: only along the way, -1: only against it, 0: both ways
    ground: bool
    surface: bool  # walked across when closed


def _is_platform(tags) -> bool:
    return (
        tags.get("highway") == "platform"
        or tags.get("railway") == "platform"
        or tags.get("public_transport") == "platform"
    )


def _walkable(tags) -> bool:
    highway = tags.get("highway")
    platform = _is_platform(tags)
    if highway is None and not platform:
        return False  # not a road
    if tags.get("area") == "yes" and not (platform or highway in SURFACE_HIGHWAYS):
        return False  # a parking lot or the like mapped by its outline
    foot = tags.get("foot")
    if foot in FOOT_NO:
        return False
    if foot in FOOT_YES:  # foot=* overrides access=* (OSM access rules)
        return platform or highway in WALKABLE_HIGHWAYS or highway in PERMITTED_ONLY
    if tags.get("access") in ("no", "private"):
        return False
    if highway in PERMITTED_ONLY:
        return tags.get("sidewalk", "no") not in ("no", "none", "separate")
    return platform or highway in WALKABLE_HIGHWAYS


def _rule(tags) -> _Rule | None:
    """How a way is walked, or None when it is not walkable."""
    if not _walkable(tags):
        return None
    highway = tags.get("highway")
    conveying = tags.get("conveying")
    if conveying in CONVEYING:  # escalators, moving walkways: their direction binds
        oneway = tags.get("oneway")
        if conveying == "forward" or (conveying == "yes" and oneway in ONEWAY_YES):
            direction = 1
        elif conveying == "backward" or (conveying == "yes" and oneway in ONEWAY_BACK):
            direction = -1
        else:  # reversible, or no direction given
            direction = 0
        factor = 1.0
    else:
        direction = 0  # pedestrians ignore oneway on ordinary footways and roads
        factor = STEPS_FACTOR if highway == "steps" else 1.0
    return _Rule(
        factor=factor,
        extra_m=ELEVATOR_M if highway == "elevator" else 0.0,
        direction=direction,
        ground=_on_ground(tags),
        surface=(_is_platform(tags) and tags.get("area") != "no")
        or (tags.get("area") == "yes" and highway in SURFACE_HIGHWAYS),
    )


def _on_ground(tags) -> bool:
    """Whether a way is at street level (tunnels, bridges, other levels and indoor ways are
    not); used to prefer the street when snapping."""
    if tags.get("tunnel") not in (None, "no", "building_passage", "covered"):
        return False
    if tags.get("bridge", "no") != "no":
        return False
    if not _zero(tags.get("layer")):
        return False
    level, indoor = tags.get("level"), tags.get("indoor")
    if tags.get("highway") == "corridor":  # indoor by definition, unless said otherwise
        return indoor == "no" or (level is not None and _zero(level))
    return indoor in (None, "no") and _zero(level)


def _zero(value: str | None) -> bool:
    """Whether a layer or level tag means 0 (absent, or unreadable: taken as street level);
    "0;1" (an elevator or stairs spanning two levels) does not."""
    if value is None:
        return True
    try:
        return all(float(part) == 0 for part in value.split(";"))
    except ValueError:
        return True


# ---------------------------------------------------------------------------------------------
# The pass over the file


@dataclass
class _Raw:
    """What the pass keeps: compact arrays, not osmium objects or dicts."""

    refs: array = field(default_factory=lambda: array("q"))  # walkable ways' refs, end to end
    x: array = field(default_factory=lambda: array("i"))  # lon × 1e7 (osmium's fixed point)
    y: array = field(default_factory=lambda: array("i"))  # lat × 1e7
    present: array = field(default_factory=lambda: array("b"))  # the file has the node
    way_starts: array = field(default_factory=lambda: array("q"))
    factor: array = field(default_factory=lambda: array("d"))
    extra_m: array = field(default_factory=lambda: array("d"))
    direction: array = field(default_factory=lambda: array("b"))
    ground: array = field(default_factory=lambda: array("b"))
    surface: array = field(default_factory=lambda: array("b"))
    elevators: array = field(default_factory=lambda: array("q"))  # highway=elevator nodes
    negative: dict = field(default_factory=dict)  # id → (x, y), for ids < 0
    ignored: int = 0


def _scan(source: bytes, fmt: str, deleted_nodes: set[int], deleted_ways: set[int]) -> _Raw:
    raw = _Raw()
    processor = osmium.FileProcessor(
        osmium.io.FileBuffer(source, fmt), osmium.osm.NODE | osmium.osm.WAY
    ).with_locations()  # every node's position, kept by osmium, not by Python
    # osmium's store keeps positive ids only; the new nodes of an unsaved edit (JOSM numbers
    # them -1, -2, …) are kept here, and only XML files that have such nodes pass all their
    # nodes through Python.
    negative = fmt == "osm" and _NEGATIVE_NODE.search(source) is not None
    if not negative:
        elevator = osmium.filter.TagFilter(("highway", "elevator"))
        processor.with_filter(elevator.enable_for(osmium.osm.NODE))
    try:
        if processor.header.has_multiple_object_versions:
            raise refuse("这是含历史版本的文件（.osh）：请改用当前数据的提取文件（.osm.pbf）。")
        for obj in processor:
            if obj.is_way():
                _way(raw, obj, deleted_nodes, deleted_ways)
            elif obj.deleted or obj.id in deleted_nodes:
                continue
            else:
                if obj.id < 0:
                    raw.negative[obj.id] = (obj.location.x, obj.location.y)
                if obj.tags.get("highway") == "elevator":
                    raw.elevators.append(obj.id)
    except osmium.InvalidLocationError as exc:
        raise refuse(f"节点坐标无效（{str(exc)[:80]}）。") from None
    except (RuntimeError, ValueError) as exc:
        raise _unreadable(str(exc), fmt) from None
    return raw


_NEGATIVE_NODE = re.compile(rb"""<node\b[^<]*?\sid\s*=\s*["']-""")


_XML_ERROR = re.compile(r"XML parsing error at line (\d+), column (\d+)")


def _unreadable(message: str, fmt: str) -> DomainError:
    """osmium's error, said in Chinese."""
    if (where := _XML_ERROR.match(message)) is not None:
        line, column = where.group(1), int(where.group(2)) + 1
        return refuse(f"不是有效的 XML 文件（第 {line} 行第 {column} 列无法解析）。")
    if fmt == "pbf":
        return refuse(f"不是有效的 PBF 文件：文件损坏或不完整（{message[:80]}）。")
    if message.startswith("illegal id"):
        return refuse(f"编号无效（{message[:80]}）。")
    return refuse(f"不是有效的 OpenStreetMap XML 文件（{message[:80]}）。")


def _way(raw: _Raw, way, deleted_nodes: set[int], deleted_ways: set[int]) -> None:
    if way.deleted or way.id in deleted_ways:
        return
    tags = way.tags
    # Most ways are buildings and the like: a quick look for the keys that can make a way
    # walkable spares them the rules.
    walkable_key = "highway" in tags or "railway" in tags or "public_transport" in tags
    rule = _rule(tags) if walkable_key else None
    nodes = way.nodes
    if rule is None or len(nodes) < 2:
        raw.ignored += 1
        return
    raw.way_starts.append(len(raw.refs))
    raw.factor.append(rule.factor)
    raw.extra_m.append(rule.extra_m)
    raw.direction.append(rule.direction)
    raw.ground.append(rule.ground)
    raw.surface.append(rule.surface)
    for node in nodes:
        ref = node.ref
        if ref < 0:
            x, y = raw.negative.get(ref, _NOWHERE)
        else:
            location = node.location
            x, y = location.x, location.y
        missing = x == _UNDEFINED or ref in deleted_nodes
        if not missing and not (abs(x) <= _MAX_X and abs(y) <= _MAX_Y):
            raise refuse(f"节点 {ref} 的坐标无效：({y / 1e7}, {x / 1e7})。")
        raw.refs.append(ref)
        raw.x.append(0 if missing else x)
        raw.y.append(0 if missing else y)
        raw.present.append(not missing)


# ---------------------------------------------------------------------------------------------
# The edges


def _assemble(raw: _Raw) -> Walkways:
    refs = np.frombuffer(raw.refs, dtype=np.int64)
    present = np.frombuffer(raw.present, dtype=np.int8).astype(bool)
    starts = np.frombuffer(raw.way_starts, dtype=np.int64)
    ways = starts.size
    if ways == 0:
        raise refuse(
            "文件中没有可步行的道路（highway=footway、path、steps、residential 等，且未禁止步行）。"
        )
    lengths = np.diff(np.append(starts, refs.size))
    way_of = np.repeat(np.arange(ways), lengths)  # the way each ref belongs to

    # Segments join each ref to the next one of the same way; those whose two ends the file
    # has are kept, which cuts a clipped way into its runs of present nodes.
    last = np.zeros(refs.size, dtype=bool)
    last[starts + lengths - 1] = True
    first = np.flatnonzero(~last)
    kept = present[first] & present[first + 1]
    seg = first[kept]
    seg_way = way_of[seg]
    edges_per_way = np.bincount(seg_way, minlength=ways)
    missing_per_way = np.bincount(way_of[~present], minlength=ways)
    if not edges_per_way.any():
        raise refuse(
            "可步行道路的节点都不在文件中：请导出含节点的完整数据"
            "（如 osmium extract --strategy complete_ways）。"
        )

    # An elevator way's fixed cost is shared by its segments (self-loops aside).
    proper = refs[first] != refs[first + 1]
    proper_per_way = np.bincount(way_of[first], weights=proper, minlength=ways)
    way_extra = np.frombuffer(raw.extra_m, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(proper_per_way > 0, way_extra / proper_per_way, 0.0)
    seg_extra = np.where(proper[kept], share[seg_way], 0.0)

    a, b = refs[seg], refs[seg + 1]
    surface = np.frombuffer(raw.surface, dtype=np.int8).astype(bool)
    closed = surface & (missing_per_way == 0) & (refs[starts] == refs[starts + lengths - 1])
    closed &= lengths >= 4  # three corners at least
    lon = np.frombuffer(raw.x, dtype=np.int32) / 1e7
    lat = np.frombuffer(raw.y, dtype=np.int32) / 1e7
    ca, cb, cway = _crossings(
        refs, lon, lat, starts, lengths, np.flatnonzero(closed), a, b, seg_way
    )
    a, b = np.concatenate((a, ca)), np.concatenate((b, cb))
    edge_way = np.concatenate((seg_way, cway))
    extra = np.concatenate((seg_extra, np.zeros(ca.size)))

    # Escalators walked against the way: the edge is turned round.
    direction = np.frombuffer(raw.direction, dtype=np.int8)[edge_way]
    back = direction < 0
    a, b = np.where(back, b, a), np.where(back, a, b)
    elevators = np.frombuffer(raw.elevators, dtype=np.int64)
    extra = extra + ELEVATOR_M / 2 * (np.isin(a, elevators) + np.isin(b, elevators))

    # Dense positions 0..n-1 for the nodes the edges use, in OSM id order.
    ids, position = np.unique(np.concatenate((a, b)), return_inverse=True)
    known, where = np.unique(refs[present], return_index=True)
    row = np.flatnonzero(present)[where[np.searchsorted(known, ids)]]
    return Walkways(
        osm_ids=ids,
        lats=lat[row],
        lons=lon[row],
        u=position[: a.size].astype(np.int64),
        v=position[a.size :].astype(np.int64),
        factor=np.frombuffer(raw.factor, dtype=float)[edge_way],
        extra_m=extra,
        oneway=direction != 0,
        ground=np.frombuffer(raw.ground, dtype=np.int8).astype(bool)[edge_way],
        way_count=int((edges_per_way > 0).sum()),
        ignored_ways=raw.ignored,
        cut_ways=int((missing_per_way > 0).sum()),
        missing_refs=int((~present).sum()),
        areas=int(closed.sum()),
    )


def _crossings(refs, lon, lat, starts, lengths, areas, a, b, seg_way):
    """Straight edges across pedestrian areas: between each pair of entrances (outline nodes
    that another walkable way's edges use) whose straight line stays inside the outline.

    Tested in longitude/latitude: over a square or a platform (hundreds of metres) a straight
    line in degrees lies within centimetres of the geodesic, and "inside" does not change.
    Entrances next to each other on the outline are joined by the outline already. An
    invalid outline (crossing itself) is walked round only.
    """
    none = np.empty(0, dtype=np.int64)
    if areas.size == 0:
        return none, none, none
    # How many ways' edges meet at each node.
    node_way = np.unique(
        np.stack((np.concatenate((a, b)), np.concatenate((seg_way, seg_way))), axis=1), axis=0
    )
    ids, count = np.unique(node_way[:, 0], return_counts=True)
    shared = np.isin(refs, ids[count > 1])  # for each ref
    out_a, out_b, out_way = [], [], []
    for w in areas:
        ring = slice(starts[w], starts[w] + lengths[w] - 1)  # the closing node once
        ring_refs = refs[ring]
        entrances = np.flatnonzero(shared[ring])
        if entrances.size < 2:
            continue
        polygon = shapely.Polygon(np.column_stack((lon[ring], lat[ring])))
        if not polygon.is_valid:
            continue
        i, j = np.triu_indices(entrances.size, k=1)
        i, j = entrances[i], entrances[j]
        apart = (j - i > 1) & ~((i == 0) & (j == ring_refs.size - 1))
        apart &= ring_refs[i] != ring_refs[j]
        i, j = i[apart], j[apart]
        if i.size == 0:
            continue
        xy = np.column_stack((lon[ring], lat[ring]))
        lines = shapely.linestrings(np.stack((xy[i], xy[j]), axis=1))
        shapely.prepare(polygon)
        inside = shapely.covers(polygon, lines)
        out_a.append(ring_refs[i[inside]])
        out_b.append(ring_refs[j[inside]])
        out_way.append(np.full(int(inside.sum()), w, dtype=np.int64))
    if not out_a:
        return none, none, none
    return np.concatenate(out_a), np.concatenate(out_b), np.concatenate(out_way)
