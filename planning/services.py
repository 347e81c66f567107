"""Planning use cases: loading the walking network (OpenStreetMap) that network mode walks."""

from pathlib import Path

from flask import current_app

from database import use_case

from . import elevation, network


def load_network(data: bytes, filename: str, dem: str | Path | None = None) -> dict:
    """Parse an OSM file and make it the walking network, replacing the old one (all or nothing);
    with `dem` (a GeoTIFF elevation model) street-level edges cost more uphill.

    Returns a summary: nodes, edges, ways, ignored_ways, dropped_nodes, cut_ways (ways a
    clipped extract cut at missing nodes), missing_refs, areas, dem (the model's file name or
    None), heights (nodes it gave a height), version, source.
    """
    parsed = network.from_osm_bytes(data, filename, dem=_dem_file(dem))
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
        "dem": parsed.dem,
        "heights": parsed.heights,
    }


def load_network_file(path: str | Path, dem: str | Path | None = None) -> dict:
    """load_network() for a file on disk, refusing oversized files before reading them."""
    path = Path(path)
    if path.stat().st_size > network.MAX_OSM_BYTES:  # before reading it into memory
        raise network.refuse(network.too_large())
    return load_network(path.read_bytes(), path.name, dem)


def _dem_file(dem: str | Path | None) -> Path | None:
    """The elevation model to use: the one given, else WALK_DEM_FILE, else none."""
    dem = dem or current_app.config.get("WALK_DEM_FILE") or None
    if dem is None:
        return None
    if not Path(dem).is_file():
        raise elevation.refuse(f"找不到高程文件 {dem}（WALK_DEM_FILE 或 --dem）。")
    return Path(dem)
