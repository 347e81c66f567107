"""Planning use cases: loading the walking network (OpenStreetMap) that network mode walks."""

from pathlib import Path

from database import use_case

from . import network


def load_network(data: bytes, filename: str) -> dict:
    """Parse an OSM file and make it the walking network, replacing the old one (all or nothing).

    Returns a summary: nodes, edges, ways, ignored_ways, dropped_nodes, cut_ways (ways a
    clipped extract cut at missing nodes), missing_refs, areas, version, source.
    """
    parsed = network.from_osm_bytes(data, filename)
    source = Path(filename).name[:255]
    with use_case(deliver=False):
        version = network.store_network(parsed, source)
    return {
        "source": source,
        "version": version,
        "nodes": int(parsed.lats.size),
        "edges": int(parsed.u.size),
        "ways": parsed.way_count,
        "ignored_ways": parsed.ignored_ways,
        "dropped_nodes": parsed.dropped_nodes,
        "cut_ways": parsed.cut_ways,
        "missing_refs": parsed.missing_refs,
        "areas": parsed.areas,
    }


def load_network_file(path: str | Path) -> dict:
    """load_network() for a file on disk, refusing oversized files before reading them."""
    path = Path(path)
    if path.stat().st_size > network.MAX_OSM_BYTES:  # before reading it into memory
        raise network.refuse(network.too_large())
    return load_network(path.read_bytes(), path.name)
