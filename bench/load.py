"""Load and fault test: many people searching, booking and complaining at once, with a worker
killed and the database gone for a while, then the database checked.

    .venv/bin/python bench/load.py [--users 200] [--seconds 60] [--mix search|booking|complaint|all]
                                   [--faults none|kill-worker|db-outage|all]
                                   [--db postgresql|sqlite]

(``make loadtest`` runs the full test: 200 users, 60 s, every mix, every fault, PostgreSQL.)

1. A fresh database (PostgreSQL next to TEST_POSTGRES_URL, dropped afterwards; or a temporary
   SQLite file), prepared with ``flask --app app init-db``, seeded through the app's models
   (``bench/_server.py``): 1000 filed nurseries spread over a district-sized square, of which
   40 busy ones with 10 full-day places each (where families book, so queues form and places
   run out) and the rest with 20; and 10 parents per user with a 20-month-old child each.
2. ``gunicorn app:app -w 4`` on PostgreSQL; on SQLite one worker with 4 threads, as ``make run``
   serves. Rate limits are on and kept in Redis (REDIS_URL, default the local server), as in
   production; the server trusts one proxy hop (TRUST_PROXY_HOPS=1) and each simulated person
   comes from an address of their own (X-Forwarded-For), as behind the reverse proxy, so the
   per-address limits (login, filing) count per person and hold, instead of all clients
   sharing 127.0.0.1 and being throttled as one. DATABASE_CONNECT_TIMEOUT is 2 s.
3. locust, as a library (``locust.env.Environment``, a local runner, gevent), runs the users of
   ``bench/locustfile.py`` for ``--seconds``: searchers, families, complainants (``--mix all``
   weighs them 6:3:1). Every request is recorded with its start, duration, status and whether a
   5xx carried Retry-After.
4. Faults (``--faults``, PostgreSQL and SQLite alike except where said):
   - ``kill-worker``: at 15 % of the run one gunicorn worker gets SIGKILL; the master starts
     another. The requests it was serving lose their answer (no status); careful clients send
     their writes again with the same Idempotency-Key.
   - ``db-outage`` (PostgreSQL only): the app reaches the database through a TCP proxy of this
     harness (``bench/_dbproxy.py``, its own process) rather than directly; at 35 % of the run
     the proxy aborts every connection and refuses new ones for 10 s, then listens again. The
     machine's PostgreSQL server is never stopped.
5. Checks (exit status 1 when one fails):
   - no 5xx outside the outage; during it, every 5xx a 503 with Retry-After; the outage was
     seen (503s) and the service recovered by itself (2xx after it, same master, all workers);
   - no answer lost (no status) except at the moment a worker was killed;
   - no 4xx: every request the simulated people send is valid, so a 4xx is a bug somewhere;
   - the database afterwards (``bench/_invariants.py``): held ≤ capacity in every slot and
     counters in step, every booking id and complaint code answered 201 exists, nothing
     half-written.

It prints a table per request type (count, req/s, p50/p95/p99/max ms, failures, 4xx, 5xx, answers
lost) and the checks, then the JSON summary, also written to
bench/out/load-<db>-<mix>-<faults>.json.
The load generator runs on the same machine as the server and takes a share of its CPU (the
figures say how much). Nothing leaves 127.0.0.1.
"""

if __name__ == "__main__":  # locust's gevent needs the standard library patched before it loads
    from gevent import monkey

    monkey.patch_all()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import shlex  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _invariants  # noqa: E402
import _server as srv  # noqa: E402

OUT_DIR = srv.ROOT / "bench" / "out"
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CENTRE = (29.56, 106.55)  # the demo district (渝星区) lies about here
SPREAD_DEG = 0.06  # ±6.7 km north–south: a district-sized square
NURSERIES, HOT, HOT_PLACES, PLACES = 1000, 40, 10, 20
FAMILIES_PER_USER = 10
KILL_AT, OUTAGE_AT = 0.15, 0.35  # fractions of the run
OUTAGE_SECONDS = 10.0
LOST_AT_KILL_S = 2.0  # answers lost this soon after the kill are the kill's
RESPAWN_WAIT_S = 30.0
CONNECT_TIMEOUT_S = "2"


@dataclass
class Record:
    name: str
    start: float  # epoch seconds
    seconds: float
    status: int  # 0: no answer
    retry_after: bool
    error: str = ""  # why there was no answer

    @property
    def end(self) -> float:
        return self.start + self.seconds


@dataclass
class Faults:
    kill_at: float | None = None
    killed_pid: int | None = None
    respawned: bool | None = None
    down_at: float | None = None
    up_at: float | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Check:
    name: str
    ok: bool
    detail: str = ""


# --- the figures ----------------------------------------------------------------------------


def summarise(records: list[Record], seconds: float) -> dict:
    """Per request name and in total: count, req/s, latency percentiles (ms), failures by kind."""
    by_name: dict[str, list[Record]] = {}
    for r in records:
        by_name.setdefault(r.name, []).append(r)
    out = {name: _figures(rs, seconds) for name, rs in sorted(by_name.items())}
    out["all"] = _figures(records, seconds)
    return out


def _figures(rs: list[Record], seconds: float) -> dict:
    secs = [r.seconds for r in rs]
    return {
        "count": len(rs),
        "rps": round(len(rs) / seconds, 1) if seconds else None,
        "p50_ms": srv.ms(srv.pct(secs, 50)),
        "p95_ms": srv.ms(srv.pct(secs, 95)),
        "p99_ms": srv.ms(srv.pct(secs, 99)),
        "max_ms": srv.ms(max(secs)) if secs else None,
        "failures": sum(1 for r in rs if not 200 <= r.status < 300),
        "4xx": sum(1 for r in rs if 400 <= r.status < 500),
        "5xx": sum(1 for r in rs if r.status >= 500),
        "503": sum(1 for r in rs if r.status == 503),
        "lost": sum(1 for r in rs if r.status == 0),
    }


def timeline(records: list[Record], step: float = 5.0) -> list[dict]:
    """Per `step` seconds of the run (by start): requests, 2xx, 503s, lost answers, p50/p95."""
    t0 = min((r.start for r in records), default=0.0)
    buckets: dict[int, list[Record]] = {}
    for r in records:
        buckets.setdefault(int((r.start - t0) // step), []).append(r)
    return [
        {
            "from_s": i * step,
            "n": len(rs),
            "2xx": sum(1 for r in rs if 200 <= r.status < 300),
            "503": sum(1 for r in rs if r.status == 503),
            "lost": sum(1 for r in rs if r.status == 0),
            "p50_ms": srv.ms(srv.pct([r.seconds for r in rs], 50)),
            "p95_ms": srv.ms(srv.pct([r.seconds for r in rs], 95)),
        }
        for i, rs in sorted(buckets.items())
    ]


def _in_outage(r: Record, f: Faults) -> bool:
    return f.down_at is not None and r.start <= f.up_at and r.end >= f.down_at


def _at_kill(r: Record, f: Faults) -> bool:
    return f.kill_at is not None and f.kill_at <= r.end <= f.kill_at + LOST_AT_KILL_S


def window_checks(records: list[Record], f: Faults, outage: bool, kill: bool) -> list[Check]:
    """What the answers must show, given when the faults happened."""
    t0 = min((r.start for r in records), default=0.0)
    checks = []
    outside = [r for r in records if r.status >= 500 and not _in_outage(r, f)]
    checks.append(Check("no 5xx outside the outage", not outside, _examples(outside, t0)))
    if outage:
        during = [r for r in records if r.status >= 500 and _in_outage(r, f)]
        bad = [r for r in during if r.status != 503 or not r.retry_after]
        checks.append(
            Check("every 5xx in the outage is 503 with Retry-After", not bad, _examples(bad, t0))
        )
        checks.append(Check("the outage was seen (503s)", bool(during), f"{len(during)} 503s"))
        after = [r for r in records if r.start > f.up_at and 200 <= r.status < 300]
        checks.append(
            Check("recovered by itself: 2xx after the outage", bool(after), f"{len(after)} 2xx")
        )
    lost = [r for r in records if r.status == 0 and not (kill and _at_kill(r, f))]
    checks.append(Check("no answer lost except at the worker kill", not lost, _examples(lost, t0)))
    client = [r for r in records if 400 <= r.status < 500]
    checks.append(Check("no 4xx answers", not client, _examples(client, t0)))
    return checks


def _examples(rs: list[Record], t0: float, n: int = 5) -> str:
    """The first few, their start in seconds since `t0` (the run's first request)."""
    if not rs:
        return ""
    shown = [
        f"{r.name} {r.status} at {r.start - t0:.2f}+{r.seconds:.2f}s"
        + (f" {r.error}" if r.error else "")
        for r in rs[:n]
    ]
    return f"{len(rs)}: " + "; ".join(shown)


# --- the run --------------------------------------------------------------------------------


def redis_reachable(url: str) -> str | None:
    """None when Redis answers, else why not."""
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "no Redis here"
        return f"Redis is not reachable at {url}: {exc!r}"
    return None


def seed(db_url: str, users: int) -> tuple[list[srv.Seed], list[int]]:
    """The busy nurseries (with the families) and the others; returns (busy seeds, every id)."""
    rng = random.Random(14)

    def spots(n: int) -> list[tuple[float, float]]:
        return [
            (CENTRE[0] + rng.uniform(-SPREAD_DEG, SPREAD_DEG),
             CENTRE[1] + rng.uniform(-SPREAD_DEG, SPREAD_DEG))
            for _ in range(n)
        ]  # fmt: skip

    hot = srv.seed_nurseries(
        db_url, HOT, HOT_PLACES, users * FAMILIES_PER_USER, positions=spots(HOT)
    )
    rest = srv.seed_nurseries(db_url, NURSERIES - HOT, PLACES, 0, positions=spots(NURSERIES - HOT))
    return hot, [s.nursery_id for s in hot + rest]


@contextmanager
def db_proxy(db_url: str):
    """bench/_dbproxy.py in its own process in front of the database; yields (url, control)."""
    import sqlalchemy as sa

    target = sa.engine.make_url(db_url)
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("_dbproxy.py")), target.host or "127.0.0.1",
         str(target.port or 5432)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip

    def control(verb: str) -> None:
        proc.stdin.write(verb + "\n")
        proc.stdin.flush()
        answer = proc.stdout.readline().strip()
        if answer != f"ok {verb}":
            raise RuntimeError(f"the database proxy answered {answer!r} to {verb!r}")

    try:
        port = int(proc.stdout.readline().split()[1])
        url = target.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        yield url, control
    finally:
        try:
            proc.stdin.write("quit\n")
            proc.stdin.close()
            proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()


def server_environment(db_url: str, app_db_url: str, kind: str) -> dict:
    env = srv.server_env(db_url)
    env |= {
        "DATABASE_URL": app_db_url,
        "RATELIMIT_ENABLED": "1",
        "REDIS_URL": REDIS_URL,
        "TRUST_PROXY_HOPS": "1",
        "DATABASE_CONNECT_TIMEOUT": CONNECT_TIMEOUT_S,
    }
    if kind == "sqlite":
        env["GUNICORN_THREADS"] = "4"  # as `make run` serves
    return env


def service_codes(port: int) -> list[str]:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/open311/v2/services.json")
        return [s["service_code"] for s in json.loads(conn.getresponse().read())]
    finally:
        conn.close()


def warm_up(port: int, workers: int, nursery_id: int, code: str) -> None:
    """Before the clock runs, every worker builds its spatial index (searches) and loads the
    complaint classifier (jieba's dictionary and the model: seconds per process, at its first
    complaint): `workers` filings at once, twice, so each worker takes one. Measured without
    this, the first 10 s of a complaint run had a p50 of 2–6 s, the rest 35–45 ms."""
    for _ in range(workers * 4):
        srv._get(port, f"/api/v1/nurseries?lat={CENTRE[0]}&lon={CENTRE[1]}&within=15", 30)
    body = {"service_code": code, "description": "预热", "attribute": {"nursery_id": nursery_id}}
    jobs = [("/open311/v2/requests.json", body, {})] * (2 * workers)
    bad = [r for r in srv.post_all(port, jobs, threads=workers) if r.status != 201]
    if bad:
        raise RuntimeError(f"warm-up filings failed: {bad[:3]}")


def kill_worker(server: srv.Server, workers: int, faults: Faults) -> None:
    pids = srv.worker_pids(server.proc.pid)
    if not pids:
        faults.notes.append("no worker to kill")
        return
    faults.killed_pid = random.choice(pids)
    faults.kill_at = time.time()
    os.kill(faults.killed_pid, signal.SIGKILL)


def respawned(server: srv.Server, workers: int, faults: Faults) -> bool:
    import gevent

    deadline = time.monotonic() + RESPAWN_WAIT_S
    while time.monotonic() < deadline:
        pids = srv.worker_pids(server.proc.pid)
        if len(pids) == workers and faults.killed_pid not in pids:
            return True
        gevent.sleep(0.2)
    return False


def outage(control, faults: Faults) -> None:
    import gevent

    # The window runs from asking for the outage to the proxy listening again.
    faults.down_at = time.time()
    control("down")
    gevent.sleep(OUTAGE_SECONDS)
    control("up")
    faults.up_at = time.time()


def drive(port: int, plan, users: int, seconds: float, mix: str, faults_plan: dict) -> tuple:
    """Run the users for `seconds`, with the faults at their times; returns (records, seconds)."""
    import gevent
    import locustfile
    from locust.env import Environment

    locustfile.PLAN = plan
    records: list[Record] = []

    def on_request(name, response_time, response=None, start_time=None, exception=None, **_):
        status = getattr(response, "status_code", 0) or 0
        error = ""
        if isinstance(exception, locustfile.LostAnswer):
            status, error = 0, str(exception)
        headers = getattr(response, "headers", None) or {}
        retry_after = status >= 500 and bool(headers.get("Retry-After"))
        start = start_time or time.time() - response_time / 1000
        records.append(Record(name, start, response_time / 1000, status, retry_after, error))

    env = Environment(user_classes=locustfile.MIXES[mix], host=f"http://127.0.0.1:{port}")
    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    t0 = time.time()
    runner.start(users, spawn_rate=max(users / 5, 5))
    jobs = [gevent.spawn_later(seconds * at, fn) for at, fn in faults_plan.items()]
    gevent.sleep(seconds)
    runner.quit()
    elapsed = time.time() - t0
    gevent.joinall(jobs, timeout=OUTAGE_SECONDS + 5)
    return records, elapsed, runner


def run(args) -> dict:
    kinds = {"all": ["kill-worker", "db-outage"], "none": []}
    faults_wanted = kinds.get(args.faults, [args.faults])
    notes = []
    if args.db == "sqlite" and "db-outage" in faults_wanted:
        faults_wanted.remove("db-outage")
        notes.append("db-outage skipped: SQLite is a file in the app's process, no server to lose")
    workers = 4 if args.db == "postgresql" else 1
    faults = Faults(notes=notes)
    with srv.database(args.db) as db_url:
        env = srv.server_env(db_url)
        srv.init_db(env)
        t_seed = time.monotonic()
        hot, all_ids = seed(db_url, args.users)
        seeded_s = time.monotonic() - t_seed
        with _maybe_proxy(db_url, "db-outage" in faults_wanted) as (app_url, control):
            env = server_environment(db_url, app_url, args.db)
            OUT_DIR.mkdir(parents=True, exist_ok=True)
            with srv.gunicorn(env, workers=workers, log_dir=OUT_DIR) as server:
                codes = service_codes(server.port)
                warm_up(server.port, workers, all_ids[-1], codes[0])
                families = [
                    (u, c) for s in hot for u, c in zip(s.usernames, s.children, strict=True)
                ]
                random.shuffle(families)
                import locustfile

                plan = locustfile.Plan(
                    nursery_ids=all_ids,
                    hot_ids=[s.nursery_id for s in hot],
                    families=iter(families),
                    password=srv.PASSWORD,
                    centre=CENTRE,
                    spread_deg=SPREAD_DEG,
                    start_date=(date.today() + timedelta(days=7)).isoformat(),
                    service_codes=codes,
                )
                schedule = {}
                if "kill-worker" in faults_wanted:
                    schedule[KILL_AT] = lambda: kill_worker(server, workers, faults)
                if "db-outage" in faults_wanted:
                    schedule[OUTAGE_AT] = lambda: outage(control, faults)
                pids = srv.worker_pids(server.proc.pid)
                with srv.cpu_use(pids, db_url) as cpu:
                    records, elapsed, runner = drive(
                        server.port, plan, args.users, args.seconds, args.mix, schedule
                    )
                if "kill-worker" in faults_wanted:
                    faults.respawned = respawned(server, workers, faults)
                master_alive = server.proc.poll() is None
                log = server.log()
                server_log = server.log_path.rename(OUT_DIR / "load-gunicorn.log")
        invariants = _invariants.check(db_url, plan.bookings_seen, plan.codes_seen)
    checks = window_checks(
        records, faults, "db-outage" in faults_wanted, "kill-worker" in faults_wanted
    )
    checks.append(Check("the gunicorn master ran throughout", master_alive))
    if faults.respawned is not None:
        checks.append(Check("the killed worker was replaced", faults.respawned))
    checks.append(Check("database invariants", invariants.ok, "; ".join(invariants.problems)))
    t0 = min((r.start for r in records), default=0.0)
    return {
        "machine": srv.machine(),
        "cpu_model": srv.cpu_model(),
        "command": shlex.join(["python", "bench/load.py", *sys.argv[1:]]),
        "config": {
            "db": args.db,
            "users": args.users,
            "seconds": args.seconds,
            "mix": args.mix,
            "faults": faults_wanted,
            "workers": workers,
            "threads": 4 if args.db == "sqlite" else 1,
            "nurseries": NURSERIES,
            "busy_nurseries": HOT,
            "busy_places": HOT_PLACES,
            "families": args.users * FAMILIES_PER_USER,
            "seeded_s": round(seeded_s, 1),
            "rate_limits": f"on, in Redis ({REDIS_URL}); one address per person",
            "db_through_proxy": "db-outage" in faults_wanted,
        },
        "elapsed_s": round(elapsed, 1),
        "requests": summarise(records, elapsed),
        "timeline": timeline(records),
        "faults": {
            "kill_at_s": _rel(faults.kill_at, t0),
            "killed_pid": faults.killed_pid,
            "outage_s": [_rel(faults.down_at, t0), _rel(faults.up_at, t0)],
            "notes": faults.notes,
        },
        # CPU seconds of the workers that served the whole run: none when one was killed
        "cpu_s": None if faults.kill_at else {k: round(v, 1) for k, v in cpu.__dict__.items()},
        "locust_cpu_warning": bool(getattr(runner, "cpu_warning_emitted", False)),
        "invariants": invariants.facts,
        "server_log": str(server_log.relative_to(srv.ROOT)),
        "server_errors": srv.server_errors(log)[:20],
        "first_traceback": first_traceback(log),
        "checks": [c.__dict__ for c in checks],
        "ok": all(c.ok for c in checks),
    }


@contextmanager
def _maybe_proxy(db_url: str, wanted: bool):
    if not wanted:
        yield db_url, None
        return
    with db_proxy(db_url) as (url, control):
        yield url, control


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 2)


def first_traceback(log: str, lines: int = 40) -> str:
    rows = log.splitlines()
    for i, line in enumerate(rows):
        if "Traceback" in line or "Exception on" in line:
            return "\n".join(rows[i : i + lines])
    return ""


def print_table(report: dict) -> None:
    cols = (
        "count",
        "rps",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "failures",
        "4xx",
        "5xx",
        "lost",
    )
    c = report["config"]
    print(
        f"\n{c['db']}, {c['workers']} worker(s) × {c['threads']} thread(s), {c['users']} users,"
        f" {report['elapsed_s']} s, mix {c['mix']}, faults {', '.join(c['faults']) or 'none'}"
    )
    print(f"{'request':<18}" + "".join(f"{k:>10}" for k in cols))
    for name, figures in report["requests"].items():
        print(f"{name:<18}" + "".join(f"{_cell(figures[k]):>10}" for k in cols))
    f = report["faults"]
    if f["kill_at_s"] is not None:
        print(f"worker {f['killed_pid']} killed at {f['kill_at_s']} s")
    if f["outage_s"][0] is not None:
        print(f"database unreachable from {f['outage_s'][0]} s to {f['outage_s'][1]} s")
    for note in f["notes"]:
        print(note)
    cpu = report["cpu_s"]
    if cpu:
        print(
            f"CPU s: workers {cpu['workers']}, load generator {cpu['client']},"
            f" PostgreSQL {cpu['db_server']}, other processes {cpu['other']}"
        )
    print(f"database: {report['invariants']}")
    for check in report["checks"]:
        mark = "ok  " if check["ok"] else "FAIL"
        print(f"{mark} {check['name']}" + (f": {check['detail']}" if check["detail"] else ""))


def _cell(value) -> str:
    return "-" if value is None else str(value)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--mix", choices=["search", "booking", "complaint", "all"], default="all")
    parser.add_argument(
        "--faults", choices=["none", "kill-worker", "db-outage", "all"], default="none"
    )
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 2000 or not 5 <= args.seconds <= 3600:
        parser.error("--users must be 1–2000 and --seconds 5–3600")
    if args.faults in ("db-outage", "all") and args.seconds < OUTAGE_SECONDS / (1 - OUTAGE_AT) + 2:
        parser.error(f"--seconds must leave time after the {OUTAGE_SECONDS:.0f} s outage")
    missing = redis_reachable(REDIS_URL)
    if missing:
        print(f"load test not run: {missing}", file=sys.stderr)
        return 2
    try:
        report = run(args)
    except srv.Unavailable as exc:
        print(f"load test not run: {exc}", file=sys.stderr)
        return 2
    print_table(report)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    out = OUT_DIR / f"load-{args.db}-{args.mix}-{args.faults}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(json.dumps(report, ensure_ascii=False, indent=2))
    print(f"\nwritten to {out.relative_to(srv.ROOT)}")
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
