"""What must hold in the database after a load run, whatever the clients saw, read with SQL.

``check(db_url, booking_ids, complaint_codes)`` returns an ``Invariants`` report; its
``problems`` list is empty when everything holds:

- places: in every slot of every offer, the bookings holding a place (``booking.rules.HELD``:
  pending, confirmed, offered) are at most the offer's capacity, and the slot's counter
  (``place_counters.taken``, what the conditional UPDATE takes from) says exactly that many;
- one booking per child, nursery and enrolment: no child has two active full-day bookings at one
  nursery (a retry that booked twice would show here);
- every booking id and every complaint tracking code a client got with a 201 is in the database;
- nothing half-written: every booking has its child, its offer (at its nursery), its slot rows
  and the guardian's consent for that nursery; every complaint has exactly one lead department
  (its routing rows) and its "filed" event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa

HELD = ("pending", "confirmed", "offered")  # booking.rules.HELD: kept in step by a test
ACTIVE = ("pending", "confirmed", "offered", "waitlisted")
SHOWN = 5  # examples per problem


@dataclass
class Invariants:
    problems: list[str] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(conn, sql: str, **params) -> list:
    return list(conn.execute(sa.text(sql), params))


def _problem(out: Invariants, what: str, rows: list) -> None:
    if rows:
        out.problems.append(f"{what}: {len(rows)}, e.g. {[tuple(r) for r in rows[:SHOWN]]}")


def _code_hash(code: str) -> str:
    from complaints.codes import code_hash, normalise_code

    return code_hash(normalise_code(code))


def check(
    db_url: str, booking_ids: Iterable[int] = (), complaint_codes: Iterable[str] = ()
) -> Invariants:
    booking_ids, complaint_codes = set(booking_ids), set(complaint_codes)
    out = Invariants()
    held = ", ".join(f"'{s}'" for s in HELD)
    active = ", ".join(f"'{s}'" for s in ACTIVE)
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            _places(conn, out, held)
            _problem(
                out,
                "children with two active full-day bookings at one nursery",
                _rows(
                    conn,
                    "SELECT child_id, nursery_id, count(*) FROM bookings"
                    f" WHERE status IN ({active}) AND care_type = 'full_day'"
                    " GROUP BY child_id, nursery_id HAVING count(*) > 1",
                ),
            )
            _bookings_whole(conn, out)
            _complaints_whole(conn, out)
            _seen_exist(conn, out, booking_ids, complaint_codes)
            out.facts["bookings"] = dict(
                _rows(conn, "SELECT status, count(*) FROM bookings GROUP BY status ORDER BY 1")
            )
            out.facts["complaints"] = conn.execute(
                sa.text("SELECT count(*) FROM complaints")
            ).scalar()
    finally:
        engine.dispose()
    return out


def _places(conn, out: Invariants, held: str) -> None:
    per_slot = f"""
        SELECT b.offer_id, s.slot, count(*) AS n FROM bookings b
        JOIN booking_slots s ON s.booking_id = b.id AND s.offer_id = b.offer_id
        WHERE b.status IN ({held}) GROUP BY b.offer_id, s.slot"""
    _problem(
        out,
        "slots holding more places than the offer has",
        _rows(
            conn,
            f"SELECT h.offer_id, h.slot, h.n, o.capacity FROM ({per_slot}) h"
            " JOIN offers o ON o.id = h.offer_id WHERE h.n > o.capacity",
        ),
    )
    _problem(
        out,
        "counters that disagree with the bookings holding places (offer, slot, taken, held)",
        _rows(
            conn,
            f"SELECT c.offer_id, c.slot, c.taken, coalesce(h.n, 0) FROM place_counters c"
            f" LEFT JOIN ({per_slot}) h ON h.offer_id = c.offer_id AND h.slot = c.slot"
            " WHERE c.taken <> coalesce(h.n, 0)"
            f" UNION ALL SELECT h.offer_id, h.slot, NULL, h.n FROM ({per_slot}) h"
            " LEFT JOIN place_counters c ON c.offer_id = h.offer_id AND c.slot = h.slot"
            " WHERE c.id IS NULL",
        ),
    )
    out.facts["full_slots"] = conn.execute(
        sa.text("SELECT count(*) FROM place_counters WHERE taken = capacity AND capacity > 0")
    ).scalar()
    out.facts["places_held"] = conn.execute(
        sa.text("SELECT coalesce(sum(taken), 0) FROM place_counters")
    ).scalar()


def _bookings_whole(conn, out: Invariants) -> None:
    _problem(
        out,
        "bookings without their child",
        _rows(
            conn,
            "SELECT b.id FROM bookings b LEFT JOIN children c ON c.id = b.child_id"
            " WHERE c.id IS NULL",
        ),
    )
    _problem(
        out,
        "bookings without their offer at their nursery",
        _rows(
            conn,
            "SELECT b.id FROM bookings b LEFT JOIN offers o ON o.id = b.offer_id"
            " WHERE o.id IS NULL OR o.nursery_id <> b.nursery_id",
        ),
    )
    _problem(
        out,
        "bookings without slot rows",
        _rows(
            conn,
            "SELECT b.id FROM bookings b WHERE NOT EXISTS"
            " (SELECT 1 FROM booking_slots s WHERE s.booking_id = b.id)",
        ),
    )
    _problem(
        out,
        "bookings without the guardian's consent for their nursery",
        _rows(
            conn,
            "SELECT b.id FROM bookings b WHERE NOT EXISTS (SELECT 1 FROM nursery_consents n"
            " WHERE n.child_id = b.child_id AND n.nursery_id = b.nursery_id)",
        ),
    )


def _complaints_whole(conn, out: Invariants) -> None:
    _problem(
        out,
        "complaints without exactly one lead department",
        _rows(
            conn,
            "SELECT c.id, count(d.id) FROM complaints c LEFT JOIN complaint_departments d"
            " ON d.complaint_id = c.id AND d.role = 'lead' AND d.department = c.lead_department"
            " GROUP BY c.id HAVING count(d.id) <> 1",
        ),
    )
    _problem(
        out,
        "complaints without their filed event",
        _rows(
            conn,
            "SELECT c.id FROM complaints c WHERE NOT EXISTS (SELECT 1 FROM complaint_events e"
            " WHERE e.complaint_id = c.id AND e.kind = 'filed')",
        ),
    )


def _seen_exist(conn, out: Invariants, booking_ids: set[int], codes: set[str]) -> None:
    found = _present(conn, "SELECT id FROM bookings WHERE id IN :values", booking_ids)
    _problem(out, "bookings answered 201 but missing", [(i,) for i in sorted(booking_ids - found)])
    hashes = {_code_hash(c): c for c in codes}
    stored = _present(
        conn, "SELECT code_hash FROM complaints WHERE code_hash IN :values", set(hashes)
    )
    _problem(
        out,
        "complaint codes answered 201 but missing",
        [(hashes[h],) for h in sorted(set(hashes) - stored)],
    )
    out.facts["bookings_seen"] = len(booking_ids)
    out.facts["complaints_seen"] = len(codes)


def _present(conn, sql: str, values: set) -> set:
    """Which of the values the query (`… IN :values`) finds, asked in chunks."""
    statement = sa.text(sql).bindparams(sa.bindparam("values", expanding=True))
    return {
        row[0]
        for chunk in _chunks(sorted(values))
        for row in conn.execute(statement, {"values": chunk})
    }


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]
