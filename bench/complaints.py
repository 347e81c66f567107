"""Benchmark of complaints: submissions per second over HTTP and classification time.

    .venv/bin/python bench/complaints.py [--db sqlite|postgresql|both] [--requests 400]
                                         [--threads 8] [--workers 2] [--rounds 5]

1. **HTTP.** For each database (a temporary SQLite file; a fresh PostgreSQL database next to
   TEST_POSTGRES_URL, dropped afterwards) it prepares the schema as an operator would
   (``flask --app app init-db``), writes a small registry through the app's models (one street,
   20 communities, 12 filed nurseries of every kind), starts ``gunicorn app:app -w 2`` on a free
   127.0.0.1 port with ``RATELIMIT_ENABLED=0``, warms the workers up, and then sends ``--requests``
   form-encoded ``POST /open311/v2/requests.json`` from ``--threads`` client threads that start
   together (one connection per request, as separate citizens would). The complaints cycle
   through the classifier's labelled examples, under their own category or as "other" (routed by
   their text), about a registered nursery or an unregistered site (which also looks up the
   street of the nearest community), half of them with contact details. It reports submissions
   per second, p50/p95/max latency and errors (non-201 answers, connection failures, tracebacks
   in the server log), checks the database afterwards (one row per 201, all from Open311, as many
   distinct tracking codes), and then reads every complaint back by its code
   (``GET /open311/v2/requests/<code>.json``, look-ups per second).
2. **Classification.** The shipped model's ``predict`` and ``route`` over the classifier's
   evaluation set (``complaints/corpus/eval.jsonl``), ``--rounds`` times: µs per complaint
   (median round), for ``predict`` alone, ``route`` with the category the example belongs to,
   and ``route`` as "other" (classification, escalation and adjustments: the dearest path).

It prints a table and writes the figures to bench/out/complaints.json. Nothing leaves 127.0.0.1.
"""

import argparse
import http.client
import json
import shlex
import statistics
import sys
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _server as srv  # noqa: E402

OUT = srv.ROOT / "bench" / "out" / "complaints.json"
MAX_REQUESTS = 20_000
WARMUP = 16
KINDS = ("public", "public_private", "private", "employer", "kindergarten_class", "community")
CENTRE = (29.60, 106.52)


# --- data ----------------------------------------------------------------------------------


def seed_registry(db_url: str) -> list[int]:
    """One street with 20 communities and 12 filed nurseries around CENTRE; the nursery ids."""
    from app import create_app
    from extensions import db
    from maps.models import Community, Nursery, Street, bump_registry_version

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench-seed"})
    with app.app_context():
        street = Street(code="bench", name="压测街道")
        db.session.add(street)
        db.session.flush()
        for i in range(20):
            db.session.add(
                Community(
                    name=f"压测小区{i}",
                    street_id=street.id,
                    lat=CENTRE[0] + (i % 5 - 2) * 0.004,
                    lon=CENTRE[1] + (i // 5 - 2) * 0.004,
                    population=3000,
                    children_under_3=90,
                )
            )
        nurseries = [
            Nursery(
                name=f"压测托育园{i}",
                address=f"压测路{i}号",
                street_id=street.id,
                kind=KINDS[i % len(KINDS)],
                inclusive=i % 3 == 0,
                filing_no=f"压测备〔2026〕{i:03d}号",
                lat=CENTRE[0] + (i % 4) * 0.003,
                lon=CENTRE[1] + (i // 4) * 0.003,
                capacity=60,
            )
            for i in range(12)
        ]
        db.session.add_all(nurseries)
        bump_registry_version()
        db.session.commit()
        ids = [n.id for n in nurseries]
        db.session.remove()
        db.engine.dispose()
    return ids


def corpus() -> list[tuple[str, str]]:
    """(text, category) of the classifier's evaluation set (complaints/corpus/eval.jsonl)."""
    sys.path.insert(0, str(srv.ROOT))
    from complaints.classifier import evaluation_set

    return [(e.text, e.category) for e in evaluation_set()]


def complaint_forms(n: int, nursery_ids: list[int], tag: str) -> list[dict]:
    """n Open311 form bodies cycling through the labelled examples."""
    examples = corpus()
    forms = []
    for i in range(n):
        text, category = examples[i % len(examples)]
        form = {
            "service_code": "other" if i % 4 == 3 else category,
            "description": f"{text}（{tag}{i}）",
        }
        if i % 2 == 0:
            form["attribute[nursery_id]"] = str(nursery_ids[i % len(nursery_ids)])
        else:
            form.update(
                lat=f"{CENTRE[0] + (i % 17) * 0.0007:.6f}",
                long=f"{CENTRE[1] + (i % 13) * 0.0009:.6f}",
                address_string=f"压测小区{i % 20}附近{i}号",
                **{"attribute[site_name]": "无名看护点"},
            )
        if i % 2 == 1 or i % 6 == 0:
            form.update(last_name="张", first_name=f"压测{i}", phone=f"139{i:08d}")
        forms.append(form)
    return forms


# --- the clients ---------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: no HTTP answer
    body: object
    seconds: float
    error: str | None = None


def _send(port: int, method: str, path: str, form: dict | None) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    t0 = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        return Reply(0, None, time.perf_counter() - t0, repr(exc))
    finally:
        conn.close()
    seconds = time.perf_counter() - t0
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = raw[:200].decode(errors="replace")
    return Reply(resp.status, data, seconds)


def run_all(port: int, jobs: list[tuple[str, str, dict | None]], threads: int) -> list[Reply]:
    """Send every (method, path, form) job; `threads` clients take jobs in turn, starting
    together. Replies in job order."""
    return srv.in_threads(jobs, lambda job: _send(port, *job), threads, join_timeout=600)


def db_facts(db_url: str, tag: str) -> dict:
    from sqlalchemy import func, select

    from app import create_app
    from complaints.models import Complaint
    from extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "bench-check"})
    with app.app_context():
        mine = Complaint.description.like(f"%（{tag}%")
        rows = db.session.execute(
            select(Complaint.source, func.count(), func.count(func.distinct(Complaint.code_hash)))
            .where(mine)
            .group_by(Complaint.source)
        ).all()
        leads = dict(
            db.session.execute(
                select(Complaint.lead_department, func.count())
                .where(mine)
                .group_by(Complaint.lead_department)
            ).all()
        )
        urgent = db.session.scalar(select(func.count()).where(mine, Complaint.urgent.is_(True)))
        db.session.remove()
        db.engine.dispose()
    return {
        "by_source": {source: n for source, n, _ in rows},
        "distinct_codes": sum(d for _, _, d in rows),
        "leads": dict(sorted(leads.items())),
        "urgent": urgent,
    }


# --- the runs ------------------------------------------------------------------------------


def http_run(kind: str, args) -> dict:
    result: dict = {"db": kind, "workers": args.workers, "client_threads": args.threads}
    with srv.database(kind) as db_url:
        env = srv.server_env(db_url)
        srv.init_db(env)
        nursery_ids = seed_registry(db_url)
        tag = f"压测{time.time_ns() % 10**6}-"
        with srv.gunicorn(env, workers=args.workers) as server:
            result["gunicorn"] = shlex.join(server.command)
            path = "/open311/v2/requests.json"
            warm = complaint_forms(WARMUP, nursery_ids, "预热")
            run_all(server.port, [("POST", path, f) for f in warm], args.threads)
            log_mark = len(server.log())
            workers = srv.worker_pids(server.proc.pid)
            with srv.cpu_use(workers, db_url) as cpu:
                forms = complaint_forms(args.requests, nursery_ids, tag)
                t0 = time.perf_counter()
                replies = run_all(server.port, [("POST", path, f) for f in forms], args.threads)
                elapsed = time.perf_counter() - t0

            codes = [r.body[0]["service_request_id"] for r in replies if r.status == 201]
            t1 = time.perf_counter()
            reads = run_all(
                server.port,
                [("GET", f"/open311/v2/requests/{c}.json", None) for c in codes],
                args.threads,
            )
            read_elapsed = time.perf_counter() - t1
            log = server.log()[log_mark:]
            replaced = srv.worker_pids(server.proc.pid) != workers
        facts = db_facts(db_url, tag)

    created = sum(1 for r in replies if r.status == 201)
    read_ok = sum(1 for r in reads if r.status == 200 and r.body[0]["status"] == "open")
    result.update(
        {
            "requests": len(replies),
            "created": created,
            "errors": len(replies) - created,
            "http_statuses": dict(sorted(Counter(str(r.status) for r in replies).items())),
            "error_sample": [(r.status, r.body, r.error) for r in replies if r.status != 201][:3],
            "seconds": round(elapsed, 3),
            "per_second": round(len(replies) / elapsed, 1),
            "latency": srv.latency(replies),
            "worker_cpu_ms_per_request": round(cpu.workers * 1000 / len(replies), 2),
            "client_cpu_s": round(cpu.client, 2),
            # PostgreSQL: its server processes for this database (SQLite runs in the workers).
            "db_server_cpu_ms_per_request": (
                round(cpu.db_server * 1000 / len(replies), 2) if kind == "postgresql" else None
            ),
            # CPU everything else on the machine used meanwhile: large values mean a busy machine.
            "other_cpu_s": round(cpu.other, 2),
            "lookups": len(reads),
            "lookup_errors": len(reads) - read_ok,
            "lookups_per_second": round(len(reads) / read_elapsed, 1) if reads else None,
            "lookup_latency": srv.latency(reads),
            "server_log_errors": srv.server_errors(log)[:10],
            "worker_replaced": replaced,
            "db": kind,
            "stored": facts,
        }
    )
    result["exact"] = (
        result["errors"] == 0
        and facts["by_source"] == {"open311": created}
        and facts["distinct_codes"] == created
        and result["lookup_errors"] == 0
        and not result["server_log_errors"]
        and not replaced
    )
    return result


def classification_run(rounds: int) -> dict:
    from complaints.classifier import shipped_model
    from complaints.routing import load_rules, route

    rules = load_rules()
    model = shipped_model()
    examples = corpus()

    def per_complaint_us(fn) -> dict:
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            for text, category in examples:
                fn(text, category)
            times.append((time.perf_counter() - t0) / len(examples) * 1e6)
        return {
            "median_us": round(statistics.median(times), 1),
            "min_us": round(min(times), 1),
        }

    correct = sum(model.predict(text).category == cat for text, cat in examples)
    return {
        "examples": len(examples),
        "rounds": rounds,
        "categories": len(rules.categories),
        "keywords": sum(
            len(c.keywords) + len(c.urgent_keywords) for c in rules.categories.values()
        ),
        "accuracy": round(correct / len(examples), 3),
        "classify": per_complaint_us(lambda text, _cat: model.predict(text)),
        "route_own_category": per_complaint_us(
            lambda text, cat: route(cat, "private", False, False, text, rules, model)
        ),
        "route_as_other": per_complaint_us(
            lambda text, _cat: route("other", "kindergarten_class", False, True, text, rules, model)
        ),
    }


def print_report(report: dict) -> None:
    header = ["db", "requests", "created", "errors", "exact", "per s", "p50 ms", "p95 ms", "max ms"]
    header += ["lookups/s", "lookup p95 ms"]
    rows = [
        [
            r["db"],
            r["requests"],
            r["created"],
            r["errors"],
            "yes" if r["exact"] else "NO",
            r["per_second"],
            r["latency"]["p50_ms"],
            r["latency"]["p95_ms"],
            r["latency"]["max_ms"],
            r["lookups_per_second"],
            r["lookup_latency"]["p95_ms"],
        ]
        for r in report["http"]
    ]
    if rows:
        widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
        for line in [header, *rows]:
            print("  ".join(str(x).rjust(w) for x, w in zip(line, widths, strict=True)))
    for r in report["http"]:
        print(
            f"\n{r['db']}: {r['gunicorn']}, {r['client_threads']} client threads\n"
            f"  statuses {r['http_statuses']}; stored {r['stored']}\n"
            f"  worker CPU {r['worker_cpu_ms_per_request']} ms/submission (PostgreSQL server "
            f"{r['db_server_cpu_ms_per_request']}); client CPU "
            f"{r['client_cpu_s']} s; other processes {r['other_cpu_s']} CPU-s; "
            f"server log errors {len(r['server_log_errors'])}"
        )
        for sample in r["error_sample"]:
            print(f"  error: {sample}")
    c = report["classification"]
    print(
        f"\nclassification over {c['examples']} labelled complaints × {c['rounds']} rounds "
        f"({c['categories']} categories, {c['keywords']} keywords, accuracy {c['accuracy']:.1%}):"
    )
    for key in ("classify", "route_own_category", "route_as_other"):
        print(f"  {key:20s} {c[key]['median_us']:8.1f} µs per complaint (min {c[key]['min_us']})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both", "none"], default="sqlite")
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    if not 1 <= args.requests <= MAX_REQUESTS:
        parser.error(f"--requests must be between 1 and {MAX_REQUESTS}")
    if not 1 <= args.threads <= 64 or not 1 <= args.workers <= 16:
        parser.error("--threads must be 1–64 and --workers 1–16")
    if not 1 <= args.rounds <= 100_000:
        parser.error("--rounds must be 1–100000")
    kinds = {"both": ["sqlite", "postgresql"], "none": []}.get(args.db, [args.db])
    report = {
        "machine": srv.machine(),
        "command": shlex.join(["python", "bench/complaints.py", *sys.argv[1:]]),
        "http": [],
    }
    for kind in kinds:
        try:
            report["http"].append(http_run(kind, args))
        except srv.Unavailable as exc:
            print(f"{kind}: skipped: {exc}", file=sys.stderr)
    report["classification"] = classification_run(args.rounds)
    print_report(report)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n")
    print(f"\nwritten to {OUT.relative_to(srv.ROOT)}")
    if kinds and not report["http"]:
        return 1
    return 0 if all(r["exact"] for r in report["http"]) else 2


if __name__ == "__main__":
    sys.exit(main())
