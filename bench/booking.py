"""Benchmark of booking over HTTP: throughput, latency and the race for places.

    .venv/bin/python bench/booking.py [--db sqlite|postgresql|both] [--requests 400] [--places 50]
                                      [--threads 16] [--workers 4]

For each database (a temporary SQLite file; a fresh PostgreSQL database next to
TEST_POSTGRES_URL, dropped afterwards) it

1. prepares it as an operator would (``flask --app app init-db``), then writes through the app's
   models one nursery with ``--places`` full-day places and ``--requests`` parents with a child each
   (plus a small warm-up nursery and families);
2. starts ``gunicorn app:app -w 4`` on a free 127.0.0.1 port (no rate limits) and fetches a token
   per parent from POST /api/v1/auth/token;
3. warms every worker up with bookings at the warm-up nursery, then sends one
   POST /api/v1/bookings per parent (distinct parents and children, all for the same nursery and
   start date) from ``--threads`` client threads that start together;
4. reports requests/s and latency (p50, p95, max; also per outcome), and the race figures: requests,
   places, places held, waitlisted and errors (non-2xx answers, connection failures, tracebacks in
   the server log), with the database checked afterwards (bookings per status, the place counter,
   the waitlist numbered 1..n).

It prints a table and writes the figures to bench/out/booking.json. Nothing leaves 127.0.0.1.
"""

import argparse
import json
import shlex
import sqlite3
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _server as srv  # noqa: E402

OUT = srv.ROOT / "bench" / "out" / "booking.json"
MAX_REQUESTS = 20_000
WARMUP_FAMILIES = 32


def server_version(db_url: str) -> str:
    if db_url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SHOW server_version").scalar()
    finally:
        engine.dispose()


def run_one(kind: str, args) -> dict:
    result: dict = {"db": kind, "workers": args.workers, "client_threads": args.threads}
    with srv.database(kind) as db_url:
        result["server"] = server_version(db_url)
        env = srv.server_env(db_url)
        t0 = time.perf_counter()
        srv.init_db(env)
        result["init_db_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        warm = srv.seed(db_url, places=WARMUP_FAMILIES // 4, families=WARMUP_FAMILIES)
        seed = srv.seed(db_url, places=args.places, families=args.requests)
        result["seed_s"] = round(time.perf_counter() - t0, 2)
        with srv.gunicorn(env, workers=args.workers) as server:
            result["gunicorn"] = shlex.join(server.command)
            t0 = time.perf_counter()
            warm_headers = srv.get_tokens(server.port, warm.usernames)
            headers = srv.get_tokens(server.port, seed.usernames, threads=args.threads)
            result["tokens_s"] = round(time.perf_counter() - t0, 2)
            srv.post_all(server.port, srv.booking_jobs(warm, warm_headers), threads=args.threads)
            log_mark = len(server.log())
            workers = srv.worker_pids(server.proc.pid)
            with srv.cpu_use(workers, db_url) as cpu:
                t0 = time.perf_counter()
                replies = srv.post_all(
                    server.port, srv.booking_jobs(seed, headers), threads=args.threads
                )
                elapsed = time.perf_counter() - t0
            log = server.log()[log_mark:]
            if srv.worker_pids(server.proc.pid) != workers:
                raise RuntimeError("a gunicorn worker was replaced during the run")
        facts = srv.db_figures(db_url, seed.nursery_id)

    ok = [r for r in replies if 200 <= r.status < 300]
    statuses = Counter(str(r.status) for r in replies)
    said = Counter(r.body["status"] for r in ok)
    held_db = sum(facts["statuses"].get(s, 0) for s in ("pending", "confirmed", "offered"))
    waiting_db = facts["statuses"].get("waitlisted", 0)
    taken, capacity = facts["counters"].get("enrol", (0, args.places))
    errors = len(replies) - len(ok)
    result.update(
        {
            "requests": len(replies),
            "places": args.places,
            "seconds": round(elapsed, 3),
            "rps": round(len(replies) / elapsed, 1),
            "ok_rps": round(len(ok) / elapsed, 1),
            "latency": srv.latency(replies),
            "worker_cpu_s": round(cpu.workers, 2),
            "worker_cpu_ms_per_request": round(cpu.workers * 1000 / len(replies), 1),
            "client_cpu_s": round(cpu.client, 2),
            # PostgreSQL: its server processes for this database (SQLite runs inside the workers).
            "db_server_cpu_s": round(cpu.db_server, 2) if kind == "postgresql" else None,
            # CPU everything else on the machine used meanwhile (other jobs, the kernel);
            # large values mean the figures were taken on a busy machine.
            "other_cpu_s": round(cpu.other, 2),
            "latency_held": srv.latency([r for r in ok if r.body["status"] == "pending"]),
            "latency_waitlisted": srv.latency([r for r in ok if r.body["status"] == "waitlisted"]),
            "http_statuses": dict(sorted(statuses.items())),
            "answered": dict(said),
            "held": held_db,
            "waitlisted": waiting_db,
            "errors": errors,
            "connection_errors": sum(1 for r in replies if r.status == 0),
            "server_log_errors": log.count("Exception on "),
            "server_log_sample": srv.server_errors(log)[:12],
            "db_statuses": facts["statuses"],
            "counter": {"taken": taken, "capacity": capacity},
            "queue_positions_ok": facts["positions"] == list(range(1, waiting_db + 1)),
            "told_positions_distinct": len(
                {r.body["waitlist_position"] for r in ok if r.body["status"] == "waitlisted"}
            )
            == said.get("waitlisted", 0),
        }
    )
    expected_held = min(args.places, len(replies))
    result["exact"] = (
        held_db == taken == expected_held
        and waiting_db == len(replies) - expected_held
        and result["queue_positions_ok"]
    )
    return result


def print_table(results: list[dict]) -> None:
    header = [
        "db",
        "requests",
        "places",
        "held",
        "waitlisted",
        "errors",
        "exact",
        "req/s",
        "p50 ms",
        "p95 ms",
        "max ms",
    ]
    rows = [
        [
            r["db"],
            r["requests"],
            r["places"],
            r["held"],
            r["waitlisted"],
            r["errors"],
            "yes" if r["exact"] else "NO",
            r["rps"],
            r["latency"]["p50_ms"],
            r["latency"]["p95_ms"],
            r["latency"]["max_ms"],
        ]
        for r in results
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    for line in [header, *rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(line, widths, strict=True)))
    for r in results:
        print(
            f"\n{r['db']} ({r['server']}): {r['gunicorn']}, {r['client_threads']} client threads\n"
            f"  HTTP statuses {r['http_statuses']}, answered {r['answered']}, "
            f"DB {r['db_statuses']}, counter {r['counter']}\n"
            f"  CPU: workers {r['worker_cpu_s']} s ({r['worker_cpu_ms_per_request']} ms/request), "
            f"client {r['client_cpu_s']} s, PostgreSQL {r['db_server_cpu_s']} s, "
            f"everything else {r['other_cpu_s']} s "
            f"in {r['seconds']} s wall\n"
            f"  latency held {r['latency_held']}\n"
            f"  latency waitlisted {r['latency_waitlisted']}\n"
            f"  waitlist numbered 1..n in the DB: {r['queue_positions_ok']}; "
            f"positions told distinct: {r['told_positions_distinct']}; "
            f"tracebacks in the server log: {r['server_log_errors']}"
        )
        for line in r["server_log_sample"][:4]:
            print(f"    log: {line[:160]}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--places", type=int, default=50)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be between 1 and {MAX_REQUESTS}")
    if not 0 <= args.places <= 10_000 or not 1 <= args.threads <= 64:
        parser.error("--places must be 0–10000 and --threads 1–64")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    report = {"machine": srv.machine(), "command": shlex.join(["python", *sys.argv]), "runs": []}
    for kind in kinds:
        try:
            report["runs"].append(run_one(kind, args))
        except srv.Unavailable as exc:
            print(f"{kind}: skipped: {exc}", file=sys.stderr)
    if not report["runs"]:
        return 1
    print_table(report["runs"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten to {OUT.relative_to(srv.ROOT)}")
    return 0 if all(r["exact"] for r in report["runs"]) else 2


if __name__ == "__main__":
    sys.exit(main())
