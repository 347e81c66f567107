"""Benchmark: spatial queries in PostgreSQL/PostGIS against the in-process index, at 100k.

    .venv/bin/python bench/spatial.py [--nurseries 100000] [--queries 500] [--points 20000]

Needs PostgreSQL with PostGIS at TEST_POSTGRES_URL (default: the local `test` server); creates
and drops its own database. On bench/search.py's synthetic registry (nurseries clustered around
Chongqing's districts, one full-day offer each, places partly held) it times, through
maps.queries exactly as the API calls it, with SPATIAL_BACKEND=index and then =postgis:

1. search within 1 km, first 20 (`ST_DWithin`);
2. nearest 20 with no radius (KNN `<->`);
3. the same with filters (care type, age, 普惠) and sorted by rating;
4. the service circles of a home (5 and 15 minutes);
5. coverage: each of --points community points' distance to the nearest nursery within 1 km
   (planning.coverage.SiteTree against one statement in PostGIS);

and checks both backends return the same nurseries. Writes bench/out/spatial.json.
"""

import argparse
import gc
import importlib
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))  # in front: bench/booking.py must not hide the booking package
# The service's packages first: importing bench/search.py puts bench/ in front again.
importlib.import_module("app")

import _server as srv  # noqa: E402
import search as search_bench  # noqa: E402

OUT = ROOT / "bench" / "out" / "spatial.json"


def timed(fn, queries) -> tuple[dict, list]:
    """Per-call wall time (ms) of fn(lat, lon) after a warm-up, GC paused like timeit."""
    for lat, lon in queries[:20]:
        fn(lat, lon)
    times, results = [], []
    gc.collect()
    gc.disable()
    try:
        for lat, lon in queries:
            t0 = time.perf_counter_ns()
            results.append(fn(lat, lon))
            times.append((time.perf_counter_ns() - t0) / 1e6)
    finally:
        gc.enable()
    ms = np.asarray(times)
    figures = {
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p95_ms": round(float(np.percentile(ms, 95)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "per_s": round(1000.0 / float(ms.mean()), 1),
    }
    return figures, results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nurseries", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--points", type=int, default=20_000)
    args = ap.parse_args()

    area = search_bench.Area(search_bench.SEED)
    nurseries = search_bench.make_nurseries(area, args.nurseries)
    queries = search_bench.make_queries(area, args.queries)
    report: dict = {
        "nurseries": args.nurseries,
        "queries": args.queries,
        "machine": {"cpus": __import__("os").cpu_count(), "python": platform.python_version()},
    }
    with srv.postgres_database() as url:
        srv.init_db(srv.server_env(url))  # the migrations, 0016 (PostGIS) included
        report["populate_s"] = round(search_bench.populate(url, nurseries), 2)
        from app import create_app
        from extensions import db
        from maps import postgis
        from maps import queries as q
        from planning.coverage import SiteTree

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "RATELIMIT_ENABLED": False})
        walk = None
        cases = {
            "within_1km_20": dict(within_m=1000.0, limit=20),
            "nearest_20": dict(limit=20),
            "filtered_by_rating_2km": dict(
                within_m=2000.0,
                care_type="full_day",
                age_months=18,
                inclusive_only=True,
                sort="rating",
                limit=20,
            ),  # fmt: skip
        }
        with app.app_context():
            db.session.execute(db.text("ANALYZE"))  # as after an import (maps.services)
            db.session.commit()
            with db.engine.connect() as conn:
                assert postgis.geography_present(conn), "the server has no PostGIS"
            walk = q.WalkModel.from_config(app.config)
            results: dict = {}
            for backend in ("index", "postgis"):
                app.config["SPATIAL_BACKEND"] = backend
                t0 = time.perf_counter()
                if backend == "index":
                    q.nursery_index()  # built once per process, then reused
                warm = time.perf_counter() - t0
                figures: dict = {"first_query_or_build_s": round(warm, 2)}
                for name, fields in cases.items():

                    def run(lat, lon, fields=fields):
                        count, hits = q.search_nurseries(q.SearchParams(lat, lon, **fields), walk)
                        db.session.rollback()  # end the read, as a request does
                        return count, [h.id for h in hits]

                    figures[name], results[(backend, name)] = timed(run, queries)

                def circles(lat, lon):
                    report_ = q.check_circles(lat, lon, walk)
                    db.session.rollback()
                    return [x["id"] for x in report_.within_15min]

                figures["circles"], results[(backend, "circles")] = timed(circles, queries)
                report[backend] = figures
            report["same_answers"] = {
                name: sum(
                    a == b
                    for a, b in zip(
                        results[("index", name)], results[("postgis", name)], strict=True
                    )
                )
                / len(queries)
                for name in [*cases, "circles"]
            }
            p_lats, p_lons = area.sample(np.random.default_rng([search_bench.SEED, 9]), args.points)
            t0 = time.perf_counter()
            tree = SiteTree([n.lat for n in nurseries], [n.lon for n in nurseries])
            tree_d, _ = tree.nearest_m(p_lats, p_lons, 1000.0)
            tree_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            db_d = postgis.nearest_m(p_lats, p_lons, 1000.0)
            db_s = time.perf_counter() - t0
            both = np.isfinite(tree_d) & np.isfinite(db_d)
            report["coverage"] = {
                "points": args.points,
                "index_s_with_build": round(tree_s, 3),
                "postgis_s": round(db_s, 3),
                "covered_index": int(np.isfinite(tree_d).sum()),
                "covered_postgis": int(np.isfinite(db_d).sum()),
                "max_difference_m": float(np.abs(tree_d[both] - db_d[both]).max()),
            }
            db.engine.dispose()
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
