"""A deterministic, entirely FICTIONAL walking network for the demo district (渝星区, demo.py).

`flask --app app maps demo-network FILE` writes it as OpenStreetMap XML, the format a district
loads its real extract in, so the demo goes through the same loader. It is built to show why
straight-line circles over-promise in a Chongqing-like town:

- a street grid (blocks of SPACING_M) over the whole district, every block side bending through
  a middle node (streets wind), with some block sides missing (dead ends, walls);
- a river meandering west to east between the middle and southern streets, crossed only by a
  bridge every few blocks, so homes facing each other across it are far apart on foot;
- hills where the north-south streets become flights of steps (highway=steps, costed double by
  the loader) or zigzag footways climbing the slope;
- ways a pedestrian may not use, which the loader must ignore: an expressway (motorway), private
  compound roads (access=private), a footpath closed to walkers (foot=no) and a square mapped as
  an area (area=yes). All of them would be shortcuts if they were wrongly walked.
"""

from __future__ import annotations

import gzip
import math
import random
import xml.etree.ElementTree as ET
from pathlib import Path

from demo.district import CENTRE, HALF_SPAN_M, ROAD_WORDS, _offset
from planning import network

SPACING_M = 150.0  # a block side
JITTER_M = 20.0  # junctions are not on a perfect grid
WIGGLE_M = 25.0  # how far a street bends sideways at the middle of a block
MISSING_SHARE = 0.12  # block sides with no street
MAIN_EVERY = 8  # every 8th row and column is a main road (secondary)
BRIDGE_EVERY = 9  # columns with a bridge over the river
RIVER = (-1500.0, 600.0, 1800.0)  # north offset (m) of the river: base + amplitude·sin(east/L)
# Hills: (north m, east m, radius m) from the district centre.
HILLS = [(2800.0, -4000.0, 1500.0), (-3400.0, 4200.0, 1400.0), (600.0, -1200.0, 900.0)]
ZIGZAG_M = 45.0  # how far a switchback footway swings sideways


def _river_north(east: float) -> float:
    base, amplitude, wavelength = RIVER
    return base + amplitude * math.sin(east / wavelength)


def _on_hill(north: float, east: float) -> bool:
    return any(math.hypot(north - n, east - e) <= r for n, e, r in HILLS)


class _Writer:
    """Collects nodes and ways with increasing ids (node and way ids are separate in OSM)."""

    def __init__(self):
        self.nodes: list[tuple[int, float, float]] = []  # id, north m, east m
        self.ways: list[tuple[int, list[int], dict[str, str]]] = []

    def node(self, north: float, east: float) -> int:
        self.nodes.append((len(self.nodes) + 1, north, east))
        return len(self.nodes)

    def way(self, refs: list[int], tags: dict[str, str]) -> None:
        self.ways.append((len(self.ways) + 1, refs, tags))

    def xml(self) -> bytes:
        root = ET.Element("osm", version="0.6", generator="tuoyu demo-network")
        root.append(ET.Comment(" 虚构演示数据：渝星区（虚构演示）的步行路网，不代表任何真实道路 "))
        lats, lons = [], []
        for _id, north, east in self.nodes:
            lat, lon = _offset(*CENTRE, north, east)
            lats.append(lat)
            lons.append(lon)
        ET.SubElement(
            root,
            "bounds",
            minlat=f"{min(lats):.7f}",
            minlon=f"{min(lons):.7f}",
            maxlat=f"{max(lats):.7f}",
            maxlon=f"{max(lons):.7f}",
        )
        for (node_id, _n, _e), lat, lon in zip(self.nodes, lats, lons, strict=True):
            ET.SubElement(
                root, "node", id=str(node_id), version="1", lat=f"{lat:.7f}", lon=f"{lon:.7f}"
            )
        for way_id, refs, tags in self.ways:
            way = ET.SubElement(root, "way", id=str(way_id), version="1")
            for ref in refs:
                ET.SubElement(way, "nd", ref=str(ref))
            for key, value in tags.items():
                ET.SubElement(way, "tag", k=key, v=value)
        ET.indent(root, space="")
        return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def demo_osm(seed: int = 2026) -> bytes:
    """The demo network as OSM XML bytes; the same seed gives the same bytes."""
    rng = random.Random(f"demo-network-{seed}")
    out = _Writer()
    half_n, half_e = HALF_SPAN_M
    rows = int((2 * half_n - SPACING_M) // SPACING_M) + 1
    cols = int((2 * half_e - SPACING_M) // SPACING_M) + 1
    # Junctions, kept half a block inside the district so that every node lies within it.
    pos = {}
    junction = {}
    for i in range(rows):
        for j in range(cols):
            north = -half_n + SPACING_M / 2 + i * SPACING_M + rng.uniform(-JITTER_M, JITTER_M)
            east = -half_e + SPACING_M / 2 + j * SPACING_M + rng.uniform(-JITTER_M, JITTER_M)
            pos[i, j] = (north, east)
            junction[i, j] = out.node(north, east)

    row_names = [rng.choice(ROAD_WORDS) + "路" for _ in range(rows)]
    col_names = [rng.choice(ROAD_WORDS) + "街" for _ in range(cols)]

    def side(a, b, along: str, index: int) -> None:
        """One block side from junction a to junction b (along 'row' = east-west)."""
        (n1, e1), (n2, e2) = pos[a], pos[b]
        north_bank = [n > _river_north(e) for n, e in (pos[a], pos[b])]
        crosses = north_bank[0] != north_bank[1]
        bridge = crosses and along == "col" and index % BRIDGE_EVERY == 4
        main = index % MAIN_EVERY == 0
        if crosses and not bridge:
            return  # the river
        if not (main or bridge) and rng.random() < MISSING_SHARE:
            return
        mid_n, mid_e = (n1 + n2) / 2, (e1 + e2) / 2
        # Unit vector across the street (perpendicular to a→b) for bends and zigzags.
        length = math.hypot(n2 - n1, e2 - e1)
        across = (-(e2 - e1) / length, (n2 - n1) / length)
        name = (row_names if along == "row" else col_names)[index]
        tags = {"highway": "secondary" if main else "residential", "name": name}
        if bridge:
            tags.update(highway="secondary", bridge="yes", layer="1", name=name + "大桥")
        hill = _on_hill(mid_n, mid_e) and not (main or bridge)
        if hill and along == "col":
            if rng.random() < 0.5:  # a flight of steps straight up the slope
                tags = {"highway": "steps", "name": name + "梯道"}
                middle = [out.node(mid_n, mid_e)]
            else:  # a footway zigzagging up: four bends, alternately left and right
                tags = {"highway": "footway", "name": name + "步道"}
                middle = []
                for k in range(1, 5):
                    t = k / 5
                    swing = ZIGZAG_M if k % 2 else -ZIGZAG_M
                    middle.append(
                        out.node(
                            n1 + t * (n2 - n1) + swing * across[0],
                            e1 + t * (e2 - e1) + swing * across[1],
                        )
                    )
        else:
            bend = rng.uniform(-WIGGLE_M, WIGGLE_M) * (1.6 if hill else 1.0)
            middle = [out.node(mid_n + bend * across[0], mid_e + bend * across[1])]
        out.way([junction[a], *middle, junction[b]], tags)

    for i in range(rows):
        for j in range(cols):
            if j + 1 < cols:
                side((i, j), (i, j + 1), "row", i)
            if i + 1 < rows:
                side((i, j), (i + 1, j), "col", j)

    # Ways a pedestrian may not use: diagonal shortcuts across some blocks that the loader must
    # ignore, and a few it may use (public footways through the block).
    for i in range(rows - 1):
        for j in range(cols - 1):
            roll = rng.random()
            a, b = junction[i, j], junction[i + 1, j + 1]
            if roll < 0.03:
                out.way([a, b], {"highway": "service", "access": "private", "name": "小区内部道路"})
            elif roll < 0.04:
                out.way([a, b], {"highway": "footway", "foot": "no", "name": "施工封闭步道"})
            elif roll < 0.07:
                out.way([a, b], {"highway": "footway", "name": "小区步道"})

    # An expressway across the district on its own nodes, just north of the middle row.
    mid_row = rows // 2
    expressway = [
        out.node(pos[mid_row, j][0] + 60.0, pos[mid_row, j][1]) for j in range(0, cols, 2)
    ]
    out.way(expressway, {"highway": "motorway", "name": "渝星快速路", "oneway": "yes"})

    # A square mapped by its outline: walking round its edge is not a route across it.
    i, j = rows // 2 - 3, cols // 2
    ring = [junction[i, j], junction[i, j + 1], junction[i + 1, j + 1], junction[i + 1, j]]
    out.way([*ring, ring[0]], {"highway": "pedestrian", "area": "yes", "name": "星湖广场"})

    return out.xml()


def write_demo_network(path: str | Path, seed: int = 2026) -> str:
    """Write the fictional demo district's walking network as OSM XML; returns the CLI report."""
    data = demo_osm(seed)
    path = Path(path)
    if path.name.lower().endswith(".gz"):
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    parsed = network.from_osm_bytes(data, path.name)  # also proves the file loads
    return (
        f"已写出虚构演示路网 {path}：{parsed.lats.size} 个节点、{parsed.u.size} 条路段、"
        f"{parsed.way_count} 条可步行道路（另有 {parsed.ignored_ways} 条不可步行的道路）。"
    )
