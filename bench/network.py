"""Benchmark of the walking-network mode (planning/network.py), issue 5.

    .venv/bin/python bench/network.py [--side 317] [--sites 1000,10000]
                                      [--points 100000,1000000] [--db sqlite,postgresql]

On a synthetic street grid near Chongqing written as OpenStreetMap XML (side × side junctions,
~100k nodes at the default, 45 m apart so that no edge needs cutting; streets bend, some links
are missing, one in twenty pieces is steps; deterministic seed) it measures:

1. parsing the XML (`from_osm_bytes`) and building the in-memory graph (`WalkGraph`);
2. the multi-source search from 1k and 10k nurseries (the virtual-source Dijkstra of
   `node_distances`), bounded by the 15-minute walk (1125 m) and unbounded, beside scipy's own
   multi-source run (`dijkstra(indices=sites, min_only=True)`) on sites placed exactly on nodes,
   as reference and cross-check (both must give the same distances);
3. snapping 100k and 1M points, and the whole `nearest_site_m` for 1M points;
4. one 15-minute isochrone polygon;
5. `load_network` into a temporary SQLite database and, when reachable, a temporary PostgreSQL
   database (TEST_POSTGRES_URL), and reading the graph back (`current_graph`).

Prints a report and writes the same figures to bench/out/network.json.
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
# bench/ for _server, with ROOT in front of it: bench/booking.py must not hide the booking package.
sys.path.insert(0, str(ROOT / "bench"))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import _server as srv  # noqa: E402
from scipy.sparse.csgraph import dijkstra  # noqa: E402

from maps.geo import GEOD  # noqa: E402
from planning.network import from_osm_bytes  # noqa: E402

OUT = ROOT / "bench" / "out" / "network.json"
SEED = 20260505
ORIGIN = (29.52, 106.45)  # south-west corner (WGS-84)
SPACING_M = 45.0
FIFTEEN_MIN_M = 1125.0  # 15 minutes at 4.5 km/h
PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def timed(fn, repeat: int = 1):
    """(best seconds of `repeat` runs, last result)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def grid_osm(side: int, rng: np.random.Generator) -> bytes:
    """A side × side grid of junctions as OSM XML: rows and columns are ways of 10 blocks."""
    m_lat = 110_850.0
    m_lon = 111_320.0 * np.cos(np.radians(ORIGIN[0]))
    north = np.arange(side)[:, None] * SPACING_M + rng.uniform(-8, 8, (side, side))
    east = np.arange(side)[None, :] * SPACING_M + rng.uniform(-8, 8, (side, side))
    lats = ORIGIN[0] + north / m_lat
    lons = ORIGIN[1] + east / m_lon
    ids = np.arange(1, side * side + 1).reshape(side, side)
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bench">\n']
    parts.extend(
        f'<node id="{i}" lat="{la:.7f}" lon="{lo:.7f}"/>\n'
        for i, la, lo in zip(ids.ravel(), lats.ravel(), lons.ravel(), strict=True)
    )
    way_id = 0
    for line in [*ids, *ids.T]:  # every row, then every column
        for start in range(0, side - 1, 10):
            chunk = line[start : start + 11]
            # A missing link now and then: the way stops short.
            if rng.random() < 0.08:
                chunk = chunk[: max(2, int(rng.integers(2, chunk.size + 1)))]
            highway = "steps" if rng.random() < 0.05 else "residential"
            way_id += 1
            refs = "".join(f'<nd ref="{r}"/>' for r in chunk)
            parts.append(f'<way id="{way_id}">{refs}<tag k="highway" v="{highway}"/></way>\n')
    parts.append("</osm>\n")
    return "".join(parts).encode()


def system_info() -> dict:
    import pyproj
    import scipy
    import shapely

    return {
        "nproc": os.cpu_count(),
        "cpu": srv.cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "shapely": shapely.__version__,
        "pyproj": pyproj.__version__,
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }


def bench_memory(args, data: bytes, rng) -> dict:
    figures: dict = {"xml_mb": round(len(data) / 2**20, 1)}
    t, parsed = timed(lambda: from_osm_bytes(data, "grid.osm"))
    figures["parse_s"] = round(t, 3)
    t, graph = timed(parsed.graph, repeat=3)
    figures.update(
        build_graph_s=round(t, 3),
        nodes=int(parsed.lats.size),
        edges=int(parsed.u.size),
        graph_nodes=graph.node_count,
        dropped_nodes=parsed.dropped_nodes,
    )
    print(
        f"graph: {figures['nodes']:,} nodes, {figures['edges']:,} edges "
        f"({parsed.dropped_nodes} dropped)"
    )
    print(f"parse {figures['xml_mb']} MB of XML: {figures['parse_s']:.3f} s; "
          f"build WalkGraph: {figures['build_graph_s']:.3f} s")  # fmt: skip

    search = []
    for n_sites in args.sites:
        nodes = rng.choice(graph.node_count, size=n_sites, replace=False)
        s_lat, s_lon = graph.lats[nodes], graph.lons[nodes]
        for limit in (FIFTEEN_MIN_M, np.inf):
            t_ours, ours = timed(
                lambda s_lat=s_lat, s_lon=s_lon, limit=limit: graph.node_distances(
                    *graph._seeds(graph.snap(s_lat, s_lon), leaving=True), limit
                ),
                repeat=3,
            )
            matrix = graph._forward[: graph.node_count, : graph.node_count]
            t_ref, ref = timed(
                lambda nodes=nodes, limit=limit, matrix=matrix: dijkstra(
                    matrix, directed=True, indices=nodes, min_only=True, limit=limit
                ),
                repeat=3,
            )
            same_inf = (np.isinf(ours) == np.isinf(ref)).all()
            agree = bool(same_inf and np.allclose(ours, ref, atol=1e-6))
            reached = float(np.isfinite(ours).mean())
            search.append(
                {
                    "sites": n_sites,
                    "limit_m": None if np.isinf(limit) else limit,
                    "virtual_source_s": round(t_ours, 4),
                    "scipy_min_only_s": round(t_ref, 4),
                    "same_distances": agree,
                    "nodes_reached": round(reached, 3),
                }
            )
            lim = "unbounded" if np.isinf(limit) else f"≤ {limit:.0f} m"
            print(
                f"multi-source search, {n_sites:>6,} sites, {lim:>10}: {t_ours * 1000:8.1f} ms "
                f"(scipy min_only reference {t_ref * 1000:8.1f} ms, same distances: {agree}, "
                f"{reached:.0%} of nodes reached)"
            )
    figures["search"] = search

    south, north = graph.lats.min(), graph.lats.max()
    west, east = graph.lons.min(), graph.lons.max()
    snapping = []
    for n_points in args.points:
        p_lat = rng.uniform(south, north, n_points)
        p_lon = rng.uniform(west, east, n_points)
        t, snap = timed(lambda p_lat=p_lat, p_lon=p_lon: graph.snap(p_lat, p_lon), repeat=2)
        snapping.append({"points": n_points, "snap_s": round(t, 3)})
        median = np.median(snap.dist_m[snap.ok]) if snap.ok.any() else float("nan")
        print(f"snap {n_points:>9,} points: {t:.3f} s (median snap {median:.1f} m)")
    figures["snapping"] = snapping

    n_points = max(args.points)
    p_lat = rng.uniform(south, north, n_points)
    p_lon = rng.uniform(west, east, n_points)
    nodes = rng.choice(graph.node_count, size=max(args.sites), replace=False)
    s_lat = graph.lats[nodes] + rng.normal(0, 1e-4, nodes.size)
    s_lon = graph.lons[nodes] + rng.normal(0, 1e-4, nodes.size)
    t, dist = timed(lambda: graph.nearest_site_m(s_lat, s_lon, p_lat, p_lon, FIFTEEN_MIN_M))
    figures["nearest_site_m"] = {
        "points": n_points,
        "sites": int(nodes.size),
        "seconds": round(t, 3),
        "covered_share": round(float(np.isfinite(dist).mean()), 3),
    }
    print(f"nearest_site_m: {n_points:,} points × {nodes.size:,} sites within 1125 m: {t:.3f} s")

    centre_lat, centre_lon = (south + north) / 2, (west + east) / 2
    t, area = timed(lambda: graph.isochrone(centre_lat, centre_lon, FIFTEEN_MIN_M), repeat=3)
    # Its area against the 1125 m circle: how much a straight circle would over-promise.
    lon_c, lat_c, _ = GEOD.fwd(
        np.full(72, centre_lon), np.full(72, centre_lat), np.linspace(0, 360, 72, endpoint=False),
        np.full(72, FIFTEEN_MIN_M),
    )  # fmt: skip
    circle_area = abs(GEOD.polygon_area_perimeter(lon_c, lat_c)[0])
    iso_area = abs(GEOD.geometry_area_perimeter(area)[0])
    figures["isochrone"] = {
        "seconds": round(t, 3),
        "area_share_of_circle": round(iso_area / circle_area, 3),
    }
    print(f"isochrone 1125 m: {t * 1000:.0f} ms ({iso_area / circle_area:.0%} of the circle)")
    return figures


def bench_database(kind: str, data: bytes) -> dict | None:
    """load_network and the read-back into a temporary database of the given kind."""
    import sqlalchemy as sa

    from app import create_app
    from database import create_schema
    from extensions import db
    from planning import network
    from planning import services as planning_services

    admin = None
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "sqlite":
            url = f"sqlite:///{tmp}/bench.sqlite3"
        else:
            admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            name = f"tuoyu_bench_{uuid.uuid4().hex[:10]}"
            try:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
            except Exception as exc:  # noqa: BLE001 - no server here: skip, say so
                print(f"PostgreSQL not reachable at {PG_URL}: {exc.__class__.__name__}; skipped")
                admin.dispose()
                return None
            url = sa.engine.make_url(PG_URL).set(database=name).render_as_string(False)
        try:
            app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "b"})
            with app.app_context():
                create_schema()
                network.reset()
                t_load, summary = timed(lambda: planning_services.load_network(data, "grid.osm"))
                t_reload, _ = timed(lambda: planning_services.load_network(data, "grid.osm"))
                db.session.remove()
                network.reset()
                t_read, graph = timed(network.current_graph)
                t_cached, _ = timed(network.current_graph, repeat=20)
                assert graph is not None and graph.node_count == summary["nodes"]
                db.session.remove()
                db.engine.dispose()
        finally:
            if admin is not None:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
                admin.dispose()
    figures = {
        "load_network_s": round(t_load, 3),
        "reload_replacing_s": round(t_reload, 3),
        "read_graph_s": round(t_read, 3),
        "current_graph_cached_ms": round(t_cached * 1000, 3),
        "nodes": summary["nodes"],
        "edges": summary["edges"],
    }
    print(
        f"{kind}: load_network {t_load:.2f} s (replacing a loaded one {t_reload:.2f} s, parse "
        f"included), read back and build {t_read:.2f} s, cached look-up {t_cached * 1000:.2f} ms"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", type=int, default=317, help="junctions per side (317² ≈ 100k)")
    parser.add_argument("--sites", default="1000,10000")
    parser.add_argument("--points", default="100000,1000000")
    parser.add_argument("--db", default="sqlite,postgresql", help="'' to skip the databases")
    args = parser.parse_args()
    args.sites = [int(x) for x in args.sites.split(",")]
    args.points = [int(x) for x in args.points.split(",")]
    rng = np.random.default_rng(SEED)

    print(f"system: {system_info()}")
    data = grid_osm(args.side, rng)
    report = {"system": system_info(), "side": args.side, "memory": bench_memory(args, data, rng)}
    report["database"] = {
        kind: bench_database(kind, data) for kind in filter(None, args.db.split(","))
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"figures written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
