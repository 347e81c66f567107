"""The people of the load test, as locust users (bench/load.py runs them as a library).

- ``Searcher``: looks for nurseries near a point (``GET /api/v1/nurseries``, 5 or 15 minutes'
  walk or a radius) and opens one (``GET /api/v1/nurseries/<id>``);
- ``Family``: a parent signs in (``POST /api/v1/auth/token``), books one to three of the busy
  nurseries for the child (``POST /api/v1/bookings``), looks at the bookings, accepts a place
  offered, sometimes cancels; then the next family comes;
- ``Complainant``: files a complaint over Open311 (``POST /open311/v2/requests.json``, form
  fields) and looks its status up by the tracking code.

Writes carry an ``Idempotency-Key``. A write whose answer was lost (the connection dropped: a
worker was killed) or refused with 503 (the database was unreachable) is sent again with the
same key after ``Retry-After``, as a careful client does; so every booking and complaint the
service committed reaches its client once, and the harness can check that each 201 exists.

Each person comes from an address of their own (``X-Forwarded-For``; the server trusts one
proxy hop), as behind the reverse proxy in production: the rate limits count per person.
``PLAN`` is set by the harness before the users start.
"""

from __future__ import annotations

import itertools
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlencode

import gevent
from locust import FastHttpUser, between, task
from locust.contrib.fasthttp import LocustBadStatusCode

MAX_ATTEMPTS = 6  # a write is given up after this many lost or 503 answers
RETRY_STATUSES = (0, 502, 503, 504)  # 0: no answer at all (connection reset or refused)


@dataclass
class Plan:
    """What the seeded database holds, and what the clients saw (filled in during the run)."""

    nursery_ids: list[int]  # every seeded nursery: searched, opened, complained about
    hot_ids: list[int]  # the nurseries families book at (few places each: queues form)
    families: Iterator[tuple[str, int]]  # (username, child id), each used by one Family
    password: str
    centre: tuple[float, float]
    spread_deg: float  # nurseries and searches lie within this of the centre
    start_date: str
    service_codes: list[str]
    bookings_seen: list[int] = field(default_factory=list)  # ids answered 201
    codes_seen: list[str] = field(default_factory=list)  # tracking codes answered 201


class LostAnswer(Exception):
    """No whole answer came: the connection was refused, reset or cut mid-body (a killed
    worker). Recorded with status 0, whatever status line may have arrived first."""


PLAN: Plan | None = None
_addresses = itertools.count(1)


def new_address() -> str:
    """A client address nobody else in the run has (10.0.0.0/8)."""
    n = next(_addresses)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def _retry_after(response) -> float:
    try:
        return min(float(response.headers.get("Retry-After") or 1), 15.0)
    except (TypeError, ValueError):
        return 1.0


class Person(FastHttpUser):
    abstract = True

    def on_start(self) -> None:
        self.headers = {"X-Forwarded-For": new_address()}

    # One connection per request, as nginx talks to gunicorn by default (HTTP/1.0 upstream):
    # a kept-alive connection that gunicorn's threaded worker closes after its keep-alive time
    # just as the client reuses it loses that request unread (a race of HTTP/1.1 clients, seen
    # in the SQLite runs), which would hide the answers a killed worker loses.
    CLOSE = {"Connection": "close"}

    def send(
        self, method: str, path: str, name: str, ok=(200,), key=False, retry=None, **kw
    ) -> dict | list | None:
        """One request, sent again after a lost or 503 answer when `retry` (reads, and writes
        that carry an Idempotency-Key: `key`); the JSON body of an answer with a status in
        `ok`, else None."""
        headers = {**self.CLOSE, **self.headers, **kw.pop("headers", {})}
        if key:
            headers["Idempotency-Key"] = str(uuid.uuid4())
        if "form" in kw:
            kw["data"] = urlencode(kw.pop("form"))
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if retry is None:
            retry = key or method == "GET"
        for _ in range(MAX_ATTEMPTS if retry else 1):
            with self.client.request(
                method, path, name=name, headers=headers, catch_response=True, **kw
            ) as r:
                # Set before the block: a status other than 2xx (LocustBadStatusCode), or the
                # reason the answer, or its body, could not be read to its end.
                error = r.request_meta.get("exception") or getattr(r, "error", None)
                if r.status_code == 0 or not isinstance(error, LocustBadStatusCode | None):
                    r.failure(LostAnswer(repr(error)[:120]))
                    pause = 0.5
                elif r.status_code in ok:
                    r.success()
                    return r.json() if r.content else {}
                else:
                    r.failure(f"{r.status_code} {(r.text or '')[:120]}")
                    if r.status_code not in RETRY_STATUSES:
                        return None
                    pause = _retry_after(r)
            gevent.sleep(pause)
        return None


class Searcher(Person):
    weight = 6
    wait_time = between(0.5, 2)

    @task(4)
    def search(self) -> None:
        lat0, lon0 = PLAN.centre
        s = PLAN.spread_deg
        params = {
            "lat": round(lat0 + random.uniform(-s, s), 6),
            "lon": round(lon0 + random.uniform(-s, s), 6),
            "within": random.choice(("5", "15", "15", "3000")),
        }
        if random.random() < 0.3:
            params |= {"care_type": "full_day", "age_months": 20}
        self.send("GET", "/api/v1/nurseries?" + urlencode(params), "search")

    @task(1)
    def nursery(self) -> None:
        self.send("GET", f"/api/v1/nurseries/{random.choice(PLAN.nursery_ids)}", "nursery")


class Family(Person):
    weight = 3
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.child, self.mine, self.todo = None, [], []
        self.headers = {}
        self.next_family()

    def next_family(self) -> None:
        """The next family arrives (from its own address) and signs in."""
        username, child = next(PLAN.families, (None, None))
        if username is None:  # every seeded family has come: this one only looks from now on
            self.todo = []
            return
        self.headers = {"X-Forwarded-For": new_address()}
        self.child, self.mine = child, []
        self.todo = random.sample(PLAN.hot_ids, random.randint(1, 3))
        body = self.send(
            "POST",
            "/api/v1/auth/token",
            "login",
            json={"username": username, "password": PLAN.password},
            retry=True,  # signing in again is harmless
        )
        self.headers["Authorization"] = f"Bearer {body['token']}" if body else "Bearer -"

    @task(5)
    def book(self) -> None:
        if not self.todo:
            self.next_family()
            return
        if self.child is None:
            return
        body = self.send(
            "POST",
            "/api/v1/bookings",
            "booking",
            ok=(201,),
            key=True,
            json={
                "child_id": self.child,
                "nursery_id": self.todo.pop(),
                "care_type": "full_day",
                "start_date": PLAN.start_date,
                "share_consent": True,
            },
        )
        if body:
            PLAN.bookings_seen.append(body["id"])
            self.mine.append(body["id"])

    @task(2)
    def my_bookings(self) -> None:
        body = self.send("GET", "/api/v1/bookings", "my bookings")
        for b in (body or {}).get("results", []):
            if b.get("status") == "offered":
                self.send("POST", f"/api/v1/bookings/{b['id']}/accept", "accept")

    @task(1)
    def cancel(self) -> None:
        if self.mine and random.random() < 0.5:
            booking_id = self.mine.pop(random.randrange(len(self.mine)))
            self.send("POST", f"/api/v1/bookings/{booking_id}/cancel", "cancel")


DESCRIPTIONS = (
    "孩子在托育园午睡时无人看护，老师长时间不在教室。",
    "托育机构收费比公示价格高，还要求额外交纳材料费。",
    "园内饭菜不新鲜，孩子回家后腹泻，希望有关部门检查食品安全。",
    "托育园楼道堆放杂物，消防通道被堵，存在安全隐患。",
    "老师对孩子态度粗暴，孩子不愿意去托育园。",
)


class Complainant(Person):
    weight = 1
    wait_time = between(2, 5)

    def on_start(self) -> None:
        super().on_start()
        self.mine: list[tuple[str, dict]] = []

    @task(3)
    def file(self) -> None:
        headers = {"X-Forwarded-For": new_address()}  # another complainant each time
        form = {
            "service_code": random.choice(PLAN.service_codes),
            "attribute[nursery_id]": random.choice(PLAN.nursery_ids),
            "description": random.choice(DESCRIPTIONS),
        }
        if random.random() < 0.5:
            form["phone"] = f"138{random.randrange(10**8):08d}"
        body = self.send(
            "POST",
            "/open311/v2/requests.json",
            "complaint",
            ok=(201,),
            key=True,
            form=form,
            headers=headers,
        )
        if body:
            code = body[0]["service_request_id"]
            PLAN.codes_seen.append(code)
            self.mine.append((code, headers))

    @task(1)
    def status(self) -> None:
        if self.mine:
            code, headers = random.choice(self.mine)
            path = f"/open311/v2/requests/{code}.json"
            self.send("GET", path, "complaint status", headers=headers)


MIXES = {
    "search": [Searcher],
    "booking": [Family],
    "complaint": [Complainant],
    "all": [Searcher, Family, Complainant],
}
