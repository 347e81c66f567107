"""The real app under gunicorn, and many families booking at once over HTTP.

Shared by the benchmarks in ``bench/`` and by ``tests/test_booking_race.py``:

- ``sqlite_database()`` / ``postgres_database()``: a throwaway database (a temporary file, or a
  fresh PostgreSQL database created next to the admin URL's and dropped afterwards);
- ``init_db()``: ``flask --app app init-db`` against it, as an operator would;
- ``seed()``: one filed nursery with a few places of one care type, and parents with a child each,
  written through the app's models (passwords hashed with a cheap pbkdf2, to stay fast);
  ``seed_nurseries()``: several such nurseries with lawful classes (class size, carers × ratio,
  checked with ``maps.standards``) and an offer for one class type, families spread round-robin;
- ``gunicorn()``: ``gunicorn app:app -w N`` on a free 127.0.0.1 port, always terminated;
- ``in_threads()``, ``post_all()`` and ``get_tokens()``: a bounded pool of client threads that
  all start at once (a barrier), talking to 127.0.0.1 only;
- ``worker_pids()``, ``cpu_seconds()``, ``machine_busy_seconds()`` and ``cpu_use()``: who used
  how much CPU during a run (from /proc);
- ``db_figures()`` / ``db_figures_each()``: what the database holds afterwards for a nursery
  (statuses, counters, waitlist positions).
"""

import http.client
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "race-pass-123"
CHEAP_HASH = "pbkdf2:sha256:1000"  # the test suite's cheap method; scrypt would dominate the set-up


class Unavailable(RuntimeError):
    """A service the run needs (the PostgreSQL server) is not reachable."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- databases ----------------------------------------------------------------------------


@contextmanager
def sqlite_database() -> Iterator[str]:
    """The URL of a fresh SQLite file in a temporary directory."""
    with tempfile.TemporaryDirectory(prefix="tuoyu-race-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'race.sqlite3'}"


@contextmanager
def postgres_database(admin_url: str = PG_ADMIN_URL) -> Iterator[str]:
    """The URL of a fresh PostgreSQL database, dropped (with its connections) afterwards."""
    import sqlalchemy as sa

    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"tuoyu_race_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 - any connection failure means "no server here"
        admin.dispose()
        raise Unavailable(f"PostgreSQL is not reachable at {admin_url}: {exc!r}") from exc
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                (name,),
            )
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
        admin.dispose()


@contextmanager
def database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with sqlite_database() as url:
            yield url
    elif kind == "postgresql":
        with postgres_database() as url:
            yield url
    else:
        raise ValueError(kind)


def server_env(db_url: str) -> dict:
    """The environment gunicorn and the CLI run with: this database, no rate limits."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "RATELIMIT_ENABLED": "0",
        "SECRET_KEY": "race-" + secrets.token_hex(8),  # keeps the instance folder untouched
        "MAP_TILE_URL": "",
        "GEOCODER": "gazetteer",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    return env


def init_db(env: dict) -> None:
    """``flask --app app init-db``, as an operator prepares a database."""
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", "init-db"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


# --- data ---------------------------------------------------------------------------------


@dataclass
class Seed:
    nursery_id: int
    offer_id: int
    places: int
    usernames: list[str]
    children: list[int]  # children[i] belongs to usernames[i]


def _app(db_url: str):
    from app import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "race-seed"})


def seed(db_url: str, places: int, families: int, care_type: str = "full_day") -> Seed:
    """One filed nursery offering `places` places of one care type in lawful 托小班 classes, and
    `families` parents with a 20-month-old child each."""
    return seed_nurseries(db_url, 1, places, families, care_type=care_type)[0]


# Age on the start date (months) that sits inside each class type's band.
AGE_MONTHS = {"toddler": 20, "older": 30}


def lawful_classes(places: int, class_type: str = "toddler", kind: str = "private") -> list:
    """(capacity, carers) of classes of `class_type` that together hold `places` children within
    the national limits: each class at most its type's maximum and carers × ratio."""
    from maps.domain import children_per_carer, max_children

    most, per = max_children(kind, class_type), children_per_carer(kind, class_type)
    sizes = [most] * (places // most) + ([places % most] if places % most else [])
    return [(n, -(-n // per)) for n in sizes or [most]]


def seed_nurseries(
    db_url: str,
    nurseries: int,
    places: int,
    families: int,
    class_type: str = "toddler",
    care_type: str = "full_day",
    positions: list[tuple[float, float]] | None = None,
) -> list[Seed]:
    """`nurseries` filed nurseries, each with lawful `class_type` classes and one `care_type` offer
    of `places` places for that class type (checked with ``maps.standards.check_nursery``), and
    `families` parents with a child of that class's age each; family i books at nursery
    i % nurseries. Nursery j stands at positions[j] (lat, lon), else all at one point.
    Returns one Seed per nursery, its families in the order they were made."""
    from werkzeug.security import generate_password_hash

    from accounts.models import User
    from booking.models import Child
    from extensions import db
    from maps.domain import CLASS_TYPES
    from maps.models import Nursery, NurseryClass, Offer, bump_registry_version
    from maps.standards import ClassSpec, OfferSpec, check_nursery

    app = _app(db_url)
    today = date.today()
    classes = lawful_classes(places, class_type)
    breaches = check_nursery(
        "private",
        [ClassSpec(class_type, cap, carers) for cap, carers in classes],
        [OfferSpec(care_type, class_type, places)],
    )
    if breaches:
        raise RuntimeError(f"the seeded nursery breaks the national limits: {breaches}")
    tag = uuid.uuid4().hex[:6]
    with app.app_context():
        made = []
        for j in range(nurseries):
            nursery = Nursery(
                name=f"压测托育园{j + 1}",
                address=f"压测路{j + 1}号",
                kind="private",
                filing_no=f"压测备-{tag}-{j}",
                lat=positions[j][0] if positions else 29.6,
                lon=positions[j][1] if positions else 106.52,
                capacity=sum(cap for cap, _ in classes),
            )
            nursery.classes = [
                NurseryClass(
                    class_type=class_type,
                    name=f"{CLASS_TYPES[class_type].label}{k + 1}",
                    carers=carers,
                    capacity=cap,
                )
                for k, (cap, carers) in enumerate(classes)
            ]
            offer = Offer(
                care_type=care_type,
                class_type=class_type,
                price_unit="month",
                price_yuan=1800,
                capacity=places,
            )
            nursery.offers = [offer]
            made.append((nursery, offer))
        db.session.add_all(n for n, _ in made)
        bump_registry_version()
        password_hash = generate_password_hash(PASSWORD, method=CHEAP_HASH)
        users = [
            User(username=f"race-{tag}-{i}", password_hash=password_hash, role="parent")
            for i in range(families)
        ]
        db.session.add_all(users)
        db.session.flush()
        # AGE_MONTHS old (plus ten days) on a start date a week from now.
        birth = today - timedelta(days=AGE_MONTHS[class_type] * 30 + 10)
        kids = [
            Child(
                parent_id=u.id,
                name=f"孩子{i}",
                birth_date=birth,
                consent_version=app.config["CONSENT_RULES_VERSION"],
                consent_at=datetime.now().replace(microsecond=0),
            )
            for i, u in enumerate(users)
        ]
        db.session.add_all(kids)
        db.session.commit()
        result = [
            Seed(
                nursery.id,
                offer.id,
                places,
                [u.username for u in users[j::nurseries]],
                [k.id for k in kids[j::nurseries]],
            )
            for j, (nursery, offer) in enumerate(made)
        ]
        db.session.remove()
        db.engine.dispose()
    return result


def db_figures(db_url: str, nursery_id: int) -> dict:
    """Bookings per status, places taken per slot, and the waitlist positions, from the DB."""
    return db_figures_each(db_url, [nursery_id])[nursery_id]


def db_figures_each(db_url: str, nursery_ids: list[int]) -> dict[int, dict]:
    """``db_figures()`` for each nursery, read in one app context."""
    from sqlalchemy import func, select

    from booking.models import Booking
    from booking.waitlist import positions
    from extensions import db
    from maps.models import Offer, PlaceCounter

    app = _app(db_url)
    out = {}
    with app.app_context():
        for nursery_id in nursery_ids:
            statuses = dict(
                db.session.execute(
                    select(Booking.status, func.count())
                    .where(Booking.nursery_id == nursery_id)
                    .group_by(Booking.status)
                ).all()
            )
            counters = {
                slot: (taken, cap)
                for slot, taken, cap in db.session.execute(
                    select(PlaceCounter.slot, PlaceCounter.taken, PlaceCounter.capacity)
                    .join(Offer, Offer.id == PlaceCounter.offer_id)
                    .where(Offer.nursery_id == nursery_id)
                )
            }
            waiting = list(
                db.session.scalars(
                    select(Booking).where(
                        Booking.nursery_id == nursery_id, Booking.status == "waitlisted"
                    )
                )
            )
            pos = sorted(positions(waiting).values())
            out[nursery_id] = {"statuses": statuses, "counters": counters, "positions": pos}
        db.session.remove()
        db.engine.dispose()
    return out


# --- the server ---------------------------------------------------------------------------


@dataclass
class Server:
    port: int
    proc: subprocess.Popen
    log_path: Path
    command: list[str] = field(default_factory=list)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log().splitlines()[-lines:])


def _get(port: int, path: str, timeout: float = 5.0) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status
    finally:
        conn.close()


@contextmanager
def gunicorn(env: dict, workers: int = 4, log_dir: Path | None = None) -> Iterator[Server]:
    """``gunicorn app:app -w <workers>`` on a free 127.0.0.1 port; terminated on the way out."""
    port = free_port()
    cmd = [str(BIN / "gunicorn"), "app:app", "-w", str(workers), "-b", f"127.0.0.1:{port}"]
    with tempfile.TemporaryDirectory(prefix="tuoyu-gunicorn-") as tmp:
        log_path = Path(log_dir or tmp) / f"gunicorn-{port}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
            server = Server(port, proc, log_path, ["gunicorn", *cmd[1:]])
            try:
                deadline = time.monotonic() + 60
                while True:
                    if proc.poll() is not None:
                        raise RuntimeError(
                            f"gunicorn exited with {proc.returncode}:\n{server.tail()}"
                        )
                    try:
                        if _get(port, "/healthz", timeout=2) == 200:
                            break
                    except OSError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"gunicorn did not answer in 60 s:\n{server.tail()}")
                    time.sleep(0.1)
                yield server
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def worker_pids(master: int) -> list[int]:
    """The pids of a gunicorn master's workers (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == master:
            out.append(int(entry.name))
    return sorted(out)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_busy_seconds() -> float:
    """CPU seconds every process on the machine has used (user+nice+system+irq+softirq+steal)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def pg_backend_pids(db_url: str) -> list[int]:
    """PostgreSQL server processes connected to this database (the server runs on this machine)."""
    if not db_url.startswith("postgresql"):
        return []
    import sqlalchemy as sa

    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(
                conn.exec_driver_sql(
                    "SELECT pid FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).scalars()
            )
    finally:
        engine.dispose()


@dataclass
class CpuUse:
    """CPU seconds used while a block ran."""

    workers: float = 0.0  # the gunicorn workers
    client: float = 0.0  # this process: the client threads
    db_server: float = 0.0  # PostgreSQL's server processes for this database (0 for SQLite)
    other: float = 0.0  # everything else on the machine: large values mean a busy machine


@contextmanager
def cpu_use(workers: list[int], db_url: str) -> Iterator[CpuUse]:
    """The CPU the block used, in the CpuUse yielded (filled in when the block ends)."""
    use = CpuUse()
    server0 = sum(cpu_seconds(p) for p in workers)
    backends0 = {p: cpu_seconds(p) for p in pg_backend_pids(db_url)}
    client0 = time.process_time()
    busy0 = machine_busy_seconds()
    yield use
    use.workers = sum(cpu_seconds(p) for p in workers) - server0
    use.client = time.process_time() - client0
    busy = machine_busy_seconds() - busy0
    use.db_server = sum(cpu_seconds(p) - backends0.get(p, 0.0) for p in pg_backend_pids(db_url))
    use.other = max(busy - use.workers - use.client - use.db_server, 0.0)


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo ("" where it does not say)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


# --- the clients --------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: no HTTP answer (connection error or timeout)
    body: dict | None
    seconds: float
    error: str | None = None


def _post(conn: http.client.HTTPConnection, path: str, body: dict, headers: dict) -> Reply:
    t0 = time.perf_counter()
    try:
        conn.request(
            "POST",
            path,
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", **headers},
        )
        resp = conn.getresponse()
        raw = resp.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return Reply(0, None, time.perf_counter() - t0, repr(exc))
    seconds = time.perf_counter() - t0
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        data = {"raw": raw[:200].decode(errors="replace")}
    return Reply(resp.status, data, seconds)


def in_threads(jobs: list, send: Callable, threads: int, join_timeout: float) -> list:
    """``send(job)`` for every job; `threads` clients take jobs in turn, all starting together.
    Returns the results in job order."""
    threads = max(1, min(threads, len(jobs)))
    results: list = [None] * len(jobs)
    next_job = iter(range(len(jobs)))
    lock = threading.Lock()
    barrier = threading.Barrier(threads)

    def run() -> None:
        barrier.wait()
        while True:
            with lock:
                i = next(next_job, None)
            if i is None:
                return
            results[i] = send(jobs[i])

    pool = [threading.Thread(target=run, daemon=True) for _ in range(threads)]
    for th in pool:
        th.start()
    for th in pool:
        th.join(join_timeout)
    if any(th.is_alive() for th in pool):
        raise RuntimeError("client threads did not finish")
    return results


def post_all(
    port: int, jobs: list[tuple[str, dict, dict]], threads: int = 16, timeout: float = 120.0
) -> list[Reply]:
    """POST every (path, body, headers) job; `threads` clients take jobs in turn, all starting
    together. Returns the replies in job order."""

    def send(job: tuple[str, dict, dict]) -> Reply:
        # One request per connection: each booking is a fresh client, as on the web.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        try:
            return _post(conn, *job)
        finally:
            conn.close()

    return in_threads(jobs, send, threads, join_timeout=timeout + 30)


def get_tokens(port: int, usernames: list[str], threads: int = 8) -> list[dict]:
    """A bearer-token header per user, from POST /api/v1/auth/token."""
    jobs = [("/api/v1/auth/token", {"username": u, "password": PASSWORD}, {}) for u in usernames]
    replies = post_all(port, jobs, threads)
    bad = [
        (u, r.status, r.body or r.error)
        for u, r in zip(usernames, replies, strict=True)
        if r.status != 200
    ]
    if bad:
        raise RuntimeError(f"{len(bad)} token requests failed, e.g. {bad[:3]}")
    return [{"Authorization": f"Bearer {r.body['token']}"} for r in replies]


def booking_jobs(s: Seed, headers: list[dict], start: date | None = None) -> list:
    """One full-day booking request per family, for the seeded nursery."""
    start = start or date.today() + timedelta(days=7)
    return [
        (
            "/api/v1/bookings",
            {
                "child_id": child,
                "nursery_id": s.nursery_id,
                "care_type": "full_day",
                "start_date": start.isoformat(),
                "share_consent": True,
            },
            h,
        )
        for child, h in zip(s.children, headers, strict=True)
    ]


def server_errors(log: str) -> list[str]:
    """Lines of a gunicorn log that show a failed request or worker."""
    marks = ("Traceback", "Exception on", "WORKER TIMEOUT", "database is locked", "deadlock")
    return [line for line in log.splitlines() if any(m in line for m in marks)]


# --- figures shared by the benchmarks --------------------------------------------------------


def pct(values: list[float], q: float) -> float | None:
    """The q-th percentile (linear interpolation), None without values."""
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def ms(x: float | None) -> float | None:
    return None if x is None else round(x * 1000, 1)


def latency(replies: list) -> dict:
    """p50, p95, max and mean of the replies' `seconds`, in milliseconds."""
    secs = [r.seconds for r in replies]
    return {
        "n": len(secs),
        "p50_ms": ms(pct(secs, 50)),
        "p95_ms": ms(pct(secs, 95)),
        "max_ms": ms(max(secs)) if secs else None,
        "mean_ms": ms(statistics.fmean(secs)) if secs else None,
    }


def machine() -> dict:
    """Where and when a benchmark ran (the load average says how busy the machine was)."""
    return {
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_avg": [round(x, 2) for x in os.getloadavg()],
    }
