"""Benchmark of booking over HTTP: throughput, latency and the race for places.

    .venv/bin/python bench/booking.py [--db sqlite|postgresql|both] [--requests 400] [--places 50]
                                      [--nurseries 1[,20,...]] [--threads 16] [--workers 4]

For each database (a temporary SQLite file; a fresh PostgreSQL database next to
TEST_POSTGRES_URL, dropped afterwards) and each nursery count N in ``--nurseries`` (default 1:
the single-nursery run; ``--nurseries 1,20`` runs both, each on its own fresh database) it

1. prepares it as an operator would (``flask --app app init-db``), then writes through the app's
   models N filed nurseries, each with lawful 托小班 classes (at most 15 children and 1 carer
   per 5, checked with ``maps.standards``) and one full-day offer for that class type with
   ``--places`` places, and ``--requests`` parents with a 20-month-old child each, parent i
   booking at nursery i mod N (plus a small warm-up nursery and families);
2. starts ``gunicorn app:app -w 4`` on a free 127.0.0.1 port (no rate limits) and fetches a token
   per parent from POST /api/v1/auth/token;
3. warms every worker up with bookings at the warm-up nursery, then sends one
   POST /api/v1/bookings per parent (distinct parents and children, same start date; the
   nurseries taken round-robin, so concurrent requests are for different nurseries when N > 1)
   from ``--threads`` client threads that start together;
4. reports requests/s and latency (p50, p95, max; also per outcome), and the race figures: requests,
   places, places held, waitlisted and errors (non-2xx answers, connection failures, tracebacks in
   the server log), with the database checked afterwards per nursery (bookings per status, the
   place counter, the waitlist numbered 1..n): at each nursery exactly min(places, its requests)
   held, the rest waitlisted 1..n.

It prints a table and writes the figures to bench/out/booking.json: one entry in "runs" per
database × nursery count, each with "nurseries": N; "places" is per nursery, "held",
"waitlisted", "counter" and "db_statuses" are totals over the nurseries, "per_nursery" has each
nursery's figures and "per_nursery_summary" their ranges. Nothing leaves 127.0.0.1.
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


def run_one(kind: str, nurseries: int, args) -> dict:
    result: dict = {
        "db": kind,
        "nurseries": nurseries,
        "workers": args.workers,
        "client_threads": args.threads,
    }
    with srv.database(kind) as db_url:
        result["server"] = server_version(db_url)
        env = srv.server_env(db_url)
        t0 = time.perf_counter()
        srv.init_db(env)
        result["init_db_s"] = round(time.perf_counter() - t0, 2)
        t0 = time.perf_counter()
        (warm,) = srv.seed_nurseries(
            db_url, 1, places=WARMUP_FAMILIES // 4, families=WARMUP_FAMILIES
        )
        seeds = srv.seed_nurseries(db_url, nurseries, places=args.places, families=args.requests)
        result["seed_s"] = round(time.perf_counter() - t0, 2)
        # Request i is parent i's, at nursery i mod N: seeds[i % N]'s (i // N)-th family.
        order = [(i % nurseries, i // nurseries) for i in range(args.requests)]
        with srv.gunicorn(env, workers=args.workers) as server:
            result["gunicorn"] = shlex.join(server.command)
            t0 = time.perf_counter()
            warm_headers = srv.get_tokens(server.port, warm.usernames)
            headers = srv.get_tokens(
                server.port, [seeds[j].usernames[k] for j, k in order], threads=args.threads
            )
            result["tokens_s"] = round(time.perf_counter() - t0, 2)
            per_seed = [[] for _ in seeds]
            for (j, _k), h in zip(order, headers, strict=True):
                per_seed[j].append(h)
            seed_jobs = [srv.booking_jobs(s, h) for s, h in zip(seeds, per_seed, strict=True)]
            jobs = [seed_jobs[j][k] for j, k in order]
            srv.post_all(server.port, srv.booking_jobs(warm, warm_headers), threads=args.threads)
            log_mark = len(server.log())
            workers = srv.worker_pids(server.proc.pid)
            with srv.cpu_use(workers, db_url) as cpu:
                t0 = time.perf_counter()
                replies = srv.post_all(server.port, jobs, threads=args.threads)
                elapsed = time.perf_counter() - t0
            log = server.log()[log_mark:]
            if srv.worker_pids(server.proc.pid) != workers:
                raise RuntimeError("a gunicorn worker was replaced during the run")
        facts = srv.db_figures_each(db_url, [s.nursery_id for s in seeds])

    ok = [r for r in replies if 200 <= r.status < 300]
    statuses = Counter(str(r.status) for r in replies)
    said = Counter(r.body["status"] for r in ok)
    errors = len(replies) - len(ok)
    replies_at: list[list] = [[] for _ in seeds]
    for (j, _k), r in zip(order, replies, strict=True):
        replies_at[j].append(r)
    per_nursery = [
        nursery_figures(s, facts[s.nursery_id], rs) for s, rs in zip(seeds, replies_at, strict=True)
    ]
    db_statuses: Counter = Counter()
    for f in facts.values():
        db_statuses.update(f["statuses"])
    held_db = sum(n["held"] for n in per_nursery)
    waiting_db = sum(n["waitlisted"] for n in per_nursery)
    taken = sum(n["counter"]["taken"] for n in per_nursery)
    capacity = sum(n["counter"]["capacity"] for n in per_nursery)
    result.update(
        {
            "requests": len(replies),
            "places": args.places,  # per nursery
            "places_total": args.places * nurseries,
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
            "server_log_exceptions": exception_lines(log),
            "db_statuses": dict(db_statuses),
            "counter": {"taken": taken, "capacity": capacity},
            "queue_positions_ok": all(n["queue_positions_ok"] for n in per_nursery),
            "told_positions_distinct": all(n["told_positions_distinct"] for n in per_nursery),
            "per_nursery_summary": summary(per_nursery),
            "per_nursery": per_nursery,
        }
    )
    result["exact"] = errors == 0 and all(n["exact"] for n in per_nursery)
    return result


def exception_lines(log: str) -> dict[str, int]:
    """The exception each traceback in a server log ended with, and how often."""
    found: Counter = Counter()
    inside = False
    for line in log.splitlines():
        if line.startswith("Traceback"):
            inside = True
        elif inside and line and not line[0].isspace():
            found[line[:300]] += 1
            inside = False
    return dict(found.most_common(8))


def nursery_figures(s, facts: dict, replies: list) -> dict:
    """One nursery's race figures: what the DB holds against what its requests allow."""
    ok = [r for r in replies if 200 <= r.status < 300]
    held = sum(facts["statuses"].get(x, 0) for x in ("pending", "confirmed", "offered"))
    waiting = facts["statuses"].get("waitlisted", 0)
    taken, capacity = facts["counters"].get("enrol", (0, s.places))
    told = [r.body["waitlist_position"] for r in ok if r.body["status"] == "waitlisted"]
    expected_held = min(s.places, len(replies))
    positions_ok = facts["positions"] == list(range(1, waiting + 1))
    return {
        "nursery_id": s.nursery_id,
        "requests": len(replies),
        "places": s.places,
        "held": held,
        "waitlisted": waiting,
        "errors": len(replies) - len(ok),
        "counter": {"taken": taken, "capacity": capacity},
        "queue_positions_ok": positions_ok,
        "told_positions_distinct": len(set(told)) == len(told),
        "exact": held == taken == expected_held
        and taken <= capacity
        and waiting == len(replies) - expected_held
        and positions_ok,
    }


def summary(per_nursery: list[dict]) -> dict:
    """The range (min, max) of each nursery figure, and how many nurseries came out exact."""

    def span(key):
        values = [n[key] for n in per_nursery]
        return [min(values), max(values)]

    return {
        "requests": span("requests"),
        "held": span("held"),
        "waitlisted": span("waitlisted"),
        "errors": span("errors"),
        "exact": f"{sum(n['exact'] for n in per_nursery)}/{len(per_nursery)}",
    }


def print_table(results: list[dict]) -> None:
    header = [
        "db",
        "nurseries",
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
            r["nurseries"],
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
            f"\n{r['db']} × {r['nurseries']} nurseries ({r['server']}): {r['gunicorn']}, "
            f"{r['client_threads']} client threads\n"
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
            f"tracebacks in the server log: {r['server_log_errors']}\n"
            f"  per nursery (min, max): {r['per_nursery_summary']}"
        )
        for line in r["server_log_sample"][:4]:
            print(f"    log: {line[:160]}")
        for line, n in r["server_log_exceptions"].items():
            print(f"    {n} × {line[:200]}")
    single = {r["db"]: r["rps"] for r in results if r["nurseries"] == 1}
    for r in results:
        if r["nurseries"] > 1 and r["db"] in single:
            print(
                f"\n{r['db']}: {r['nurseries']} nurseries {r['rps']} req/s against one nursery "
                f"{single[r['db']]} req/s (× {r['rps'] / single[r['db']]:.2f})"
            )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--places", type=int, default=50, help="places per nursery")
    parser.add_argument(
        "--nurseries",
        default="1",
        help="nursery counts to run, comma-separated (e.g. 1,20); default 1",
    )
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be between 1 and {MAX_REQUESTS}")
    if not 0 <= args.places <= 10_000 or not 1 <= args.threads <= 64:
        parser.error("--places must be 0–10000 and --threads 1–64")
    try:
        counts = [int(x) for x in args.nurseries.split(",") if x.strip()]
    except ValueError:
        counts = []
    if not counts or not all(1 <= n <= 1000 for n in counts):
        parser.error("--nurseries must be one or more counts 1–1000, comma-separated")
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    report = {"machine": srv.machine(), "command": shlex.join(["python", *sys.argv]), "runs": []}
    for kind in kinds:
        for n in counts:
            try:
                report["runs"].append(run_one(kind, n, args))
            except srv.Unavailable as exc:
                print(f"{kind}: skipped: {exc}", file=sys.stderr)
                break
    if not report["runs"]:
        return 1
    print_table(report["runs"])
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten to {OUT.relative_to(srv.ROOT)}")
    return 0 if all(r["exact"] for r in report["runs"]) else 2


if __name__ == "__main__":
    sys.exit(main())
