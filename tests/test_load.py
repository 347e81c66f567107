"""The load test's own pieces (bench/load.py), each shown able to fail, without a load run:

- the database proxy's outage: the real app under gunicorn, its DATABASE_URL through
  ``bench/_dbproxy.py``; while the proxy is down the API and Open311 answer 503 with
  Retry-After and store nothing; once it is up again the same worker answers, and the booking
  sent again with the same Idempotency-Key is made once;
- the invariant checker (``bench/_invariants.py``): quiet on bookings and complaints made by
  the use cases, loud on an offer holding more places than it has, on a 201 the database does
  not hold, on a complaint without its routing rows;
- the answer checks: a 5xx outside the outage, or a 503 without Retry-After in it, fails.
"""

import http.client
import json
import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from bench import _invariants, _server, load
from bench._dbproxy import Proxy
from booking import rules
from tests.conftest import service_missing


def _request(port: int, method: str, path: str, body=None, headers=None, form=False):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        if form:
            from urllib.parse import urlencode

            data = urlencode(body).encode()
            headers = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        else:
            data = json.dumps(body).encode() if body is not None else None
            headers = {"Content-Type": "application/json", **(headers or {})}
        conn.request(method, path, body=data, headers=headers)
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), json.loads(resp.read() or b"null")
    finally:
        conn.close()


def test_the_checker_counts_held_places_as_the_booking_rules_do():
    assert _invariants.HELD == rules.HELD
    assert _invariants.ACTIVE == rules.ACTIVE


@pytest.mark.slow
@pytest.mark.postgres
def test_a_database_outage_answers_503_with_retry_after_and_recovers(tmp_path):
    try:
        with _server.postgres_database() as db_url:
            outage_round_trip(db_url, tmp_path)
    except _server.Unavailable as exc:
        service_missing(str(exc))


def outage_round_trip(db_url: str, tmp_path) -> None:
    env = _server.server_env(db_url)
    _server.init_db(env)
    (seed,) = _server.seed_nurseries(db_url, nurseries=1, places=2, families=1)
    target = sa.engine.make_url(db_url)
    proxy = Proxy(target.host, target.port or 5432).start()
    try:
        env |= {"DATABASE_URL": proxy.url(db_url), "DATABASE_CONNECT_TIMEOUT": "2"}
        with _server.gunicorn(env, workers=1, log_dir=tmp_path) as server:
            port = server.port
            (auth,) = _server.get_tokens(port, seed.usernames)
            nursery = f"/api/v1/nurseries/{seed.nursery_id}"
            assert _request(port, "GET", nursery)[0] == 200
            booking = {
                "child_id": seed.children[0],
                "nursery_id": seed.nursery_id,
                "care_type": "full_day",
                "start_date": (date.today() + timedelta(days=7)).isoformat(),
                "share_consent": True,
            }
            key = {"Idempotency-Key": str(uuid.uuid4()), **auth}
            complaint = {"service_code": "other", "description": "楼道堆放杂物，消防通道被堵"}
            complaint_key = {"Idempotency-Key": str(uuid.uuid4())}

            proxy.down()
            status, headers, body = _request(port, "GET", nursery)
            assert (status, headers.get("Retry-After")) == (503, "10")
            assert body["error"]["code"] == "service_unavailable"
            status, headers, body = _request(port, "POST", "/api/v1/bookings", booking, key)
            assert (status, headers.get("Retry-After")) == (503, "10")
            path = "/open311/v2/requests.json"
            complaint["attribute[nursery_id]"] = seed.nursery_id
            status, headers, body = _request(port, "POST", path, complaint, complaint_key, True)
            assert (status, headers.get("Retry-After")) == (503, "10")
            assert body[0]["code"] == 503  # GeoReport's error array

            proxy.up()
            assert _request(port, "GET", nursery)[0] == 200  # the same worker, no restart
            status, _, made = _request(port, "POST", "/api/v1/bookings", booking, key)
            assert status == 201
            status, headers, again = _request(port, "POST", "/api/v1/bookings", booking, key)
            assert (status, again["id"], headers.get("Idempotent-Replayed")) == (
                201,
                made["id"],
                "true",
            )
            status, _, filed = _request(port, "POST", path, complaint, complaint_key, True)
            assert status == 201
            assert server.proc.poll() is None
    finally:
        proxy.stop()
    found = _invariants.check(db_url, [made["id"]], [filed[0]["service_request_id"]])
    assert found.problems == []
    assert found.facts["bookings"] == {"pending": 1}  # the refused attempt stored nothing
    assert found.facts["complaints"] == 1


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_the_invariant_checker_catches_what_must_not_happen(kind):
    try:
        with _server.database(kind) as db_url:
            checker_round_trip(db_url)
    except _server.Unavailable as exc:
        service_missing(str(exc))


def checker_round_trip(db_url: str) -> None:
    _server.init_db(_server.server_env(db_url))
    (seed,) = _server.seed_nurseries(db_url, nurseries=1, places=2, families=3)
    booked, code = make_bookings_and_a_complaint(db_url, seed)
    clean = _invariants.check(db_url, booked, [code])
    assert clean.problems == []
    assert clean.facts["bookings"] == {"pending": 2, "waitlisted": 1}

    engine = sa.create_engine(db_url)
    with engine.begin() as conn:  # two held, one place: what the counters must never allow
        conn.execute(
            sa.text("UPDATE offers SET capacity = 1 WHERE id = :id"), {"id": seed.offer_id}
        )
        conn.execute(sa.text("DELETE FROM complaint_departments WHERE role = 'lead'"))
    engine.dispose()
    found = _invariants.check(db_url, [*booked, 10**6], [code, "ABCD-EFGH-JKLM-NPQR"])
    problems = "\n".join(found.problems)
    assert (
        f"slots holding more places than the offer has: 1, e.g. [({seed.offer_id}, 'enrol', 2, 1)]"
        in problems
    )
    assert "bookings answered 201 but missing: 1, e.g. [(1000000,)]" in problems
    assert (
        "complaint codes answered 201 but missing: 1, e.g. [('ABCD-EFGH-JKLM-NPQR',)]" in problems
    )
    assert "complaints without exactly one lead department: 1" in problems
    assert len(found.problems) == 4


def make_bookings_and_a_complaint(db_url: str, seed) -> tuple[list[int], str]:
    """Three families book the two places through the use case; one complaint is filed."""
    from booking.rules import Request
    from booking.services import family
    from booking.waitlist import Settings
    from complaints.services import filing
    from extensions import db

    app = _server._app(db_url)
    start = date.today() + timedelta(days=7)
    with app.app_context():
        parents = {
            c: db.session.execute(
                sa.text("SELECT parent_id FROM children WHERE id = :c"), {"c": c}
            ).scalar()
            for c in seed.children
        }
        booked = [
            family.book(
                parents[c], c, seed.nursery_id, Request("full_day", start), True, Settings()
            )[0].id
            for c in seed.children
        ]
        _, code = filing.file_complaint(
            filing.Filing(category="other", description="楼道堆放杂物", nursery_id=seed.nursery_id)
        )
        db.session.remove()
        db.engine.dispose()
    return booked, code


def _record(name, start, seconds, status, retry_after=False):
    return load.Record(name, start, seconds, status, retry_after)


def test_the_answer_checks_fail_on_a_5xx_outside_the_outage_or_without_retry_after():
    faults = load.Faults(down_at=100.0, up_at=110.0)
    fine = [
        _record("search", 95.0, 0.1, 200),
        _record("search", 101.0, 0.1, 503, True),
        _record("booking", 99.5, 1.0, 503, True),  # began before, answered during the outage
        _record("search", 111.0, 0.1, 200),
    ]
    verdict = {c.name: c.ok for c in load.window_checks(fine, faults, outage=True, kill=False)}
    assert all(verdict.values()), verdict

    worse = [*fine, _record("booking", 112.0, 0.2, 500), _record("search", 105.0, 0.1, 503)]
    failed = {
        c.name for c in load.window_checks(worse, faults, outage=True, kill=False) if not c.ok
    }
    assert failed == {
        "no 5xx outside the outage",
        "every 5xx in the outage is 503 with Retry-After",
    }
    lost = [*fine, _record("booking", 50.0, 0.2, 0)]
    at_kill = load.Faults(down_at=100.0, up_at=110.0, kill_at=50.1)
    assert all(c.ok for c in load.window_checks(lost, at_kill, outage=True, kill=True))
    failed = {c.name for c in load.window_checks(lost, faults, outage=True, kill=False) if not c.ok}
    assert failed == {"no answer lost except at the worker kill"}


# Runs in its own process: locust needs the standard library patched by gevent before it loads.
FAKE_SERVER_RUN = r"""
from gevent import monkey

monkey.patch_all()
import collections, json, random, socket

import gevent
from locust import constant

import load, locustfile

random.seed(14)
locustfile.Searcher.wait_time = constant(0.05)  # many requests in a short run

BODIES = {
    "search": b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 0\r\nContent-Length: 2\r\n\r\n{}",
    "nursery": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 900\r\n\r\n{",
}
listener = socket.socket()
listener.bind(("127.0.0.1", 0))
listener.listen(64)


def serve():
    while True:
        conn, _ = listener.accept()
        line = conn.recv(65536).split(b"\r\n", 1)[0]
        conn.sendall(BODIES["search" if b"?" in line else "nursery"])  # the nursery's is cut
        conn.close()


gevent.spawn(serve)
plan = locustfile.Plan([1], [1], iter(()), "", (29.6, 106.5), 0.01, "2027-01-02", ["other"])
records, _, _ = load.drive(listener.getsockname()[1], plan, 2, 1.5, "search", {})
seen = collections.Counter(f"{r.name} {r.status} {bool(r.error)} {r.retry_after}" for r in records)
print(json.dumps(sorted(seen)))
"""


def test_the_load_run_records_a_cut_answer_as_lost_and_a_503_as_such():
    """What the answer checks rest on: a 503 keeps its status and its Retry-After, an answer
    cut mid-body is lost (status 0), not the 200 its status line said."""
    import subprocess
    import sys

    bench = _server.ROOT / "bench"
    run = subprocess.run(
        [sys.executable, "-c", FAKE_SERVER_RUN],
        cwd=bench,
        env={**_server.os.environ, "PYTHONPATH": f"{bench}:{_server.ROOT}"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    kinds = set(json.loads(run.stdout.strip().splitlines()[-1]))
    assert kinds == {"search 503 False True", "nursery 0 True False"}
