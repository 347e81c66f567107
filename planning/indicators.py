"""The seeds' indicators (DESIGN §3.5) for a district or one street, from the registry, the
communities and the bookings.

`load()` reads the database into plain rows; `compute()` is pure arithmetic over them, so the
tests check every figure against numbers worked out by hand. What each figure counts, with the
seed that sets it, is in `definitions.py` (and on the dashboard beside the figure). In short:

- 托位 (places): the filed nurseries' registered capacity — the denominator of every place share.
- 在托 (in care): children with a confirmed full- or half-day enrolment begun and not ended
  (booking.rules.IN_CARE; booking.queries.children_in_care, shared with the nursery dashboard).
- 街道 / 镇 / 乡: `Street.kind`; 荣昌's 街道 indicator counts 街道 only.
- 城镇 / 农村: `Community.urban`; 绍兴's 5-minute life-circle indicator counts 城镇 communities.
- 5-/15-minute reach: straight line (300 m / 1000 m) or the same distances walked on the network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import select

from extensions import db
from maps.domain import PUBLIC_KINDS
from maps.models import Community, Nursery, NurseryClass, NurseryStaff, Street

from .coverage import SiteTree
from .definitions import INDICATORS as DEFINITIONS
from .definitions import SEEDS
from .definitions import TABLES as DEFINITIONS_TABLES

LARGE_TOWN_POPULATION = 50_000  # 绍兴 具体目标第11项: 5万以上常住人口的乡镇（街道）
UNDER2_SHARE = {"infant": 1.0, "toddler": 1.0, "older": 0.0, "mixed": 1 / 3}
DEFAULT_TARGETS = Path(__file__).with_name("targets.json")

INDICATORS = {key: (d.label, d.unit) for key, d in DEFINITIONS.items()}  # key → (label, unit)


@dataclass(frozen=True)
class NurseryRow:
    id: int
    name: str
    street_id: int | None
    lat: float
    lon: float
    kind: str
    inclusive: bool
    capacity: int  # 托位数
    class_places: float  # sum of class capacities
    under2_places: float
    taken: int  # children in care today (booking.rules.IN_CARE)
    graded: bool = False  # an 等级评定 result is on file
    demonstration: bool = False  # 托育服务示范单位
    staff: int = 0  # people on the filed staff list (0: no list reported)
    certified: int = 0  # of them, those with a certificate number


@dataclass(frozen=True)
class InspectionRow:
    """One inspection (inspections.models.Inspection), for the outcomes by street."""

    street_id: int | None
    inspected_on: date
    result: str  # pass | rectify | suspend
    status: str  # passed | open | closed
    rectify_by: date | None = None


@dataclass(frozen=True)
class CommunityRow:
    id: int
    name: str
    street_id: int | None
    lat: float
    lon: float
    population: int
    children_under_3: int
    urban: bool = True  # 城镇 (False: 农村)


@dataclass
class DistrictData:
    streets: dict[int, tuple[str, str]]  # id → (code, name)
    nurseries: list[NurseryRow]
    communities: list[CommunityRow]
    street_kinds: dict[int, str] = field(default_factory=dict)  # id → maps.domain.STREET_KINDS
    inspections: list[InspectionRow] = field(default_factory=list)
    _tree: SiteTree | None = field(default=None, repr=False)
    # Straight-line coverage asked of PostGIS (SPATIAL_BACKEND=postgis): then the nurseries
    # above must be the database's filed ones, as load() reads them.
    in_database: bool = False
    # queries.distances per (mode, threshold[, graph]): a page asks for the same distances for
    # its report, its site suggestions and the coverage comparison; and the communities' snaps
    # per graph (queries.community_snap), which both the distances and the report use.
    distance_cache: dict[tuple, object] = field(default_factory=dict, repr=False, compare=False)

    def tree(self) -> SiteTree:
        if self._tree is None:
            self._tree = SiteTree([n.lat for n in self.nurseries], [n.lon for n in self.nurseries])
        return self._tree

    def community_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            np.array([c.lat for c in self.communities], dtype=float),
            np.array([c.lon for c in self.communities], dtype=float),
        )

    def straight_distances(self, max_m: float) -> np.ndarray:
        """Each community's straight-line distance to the nearest nursery (inf beyond max_m)."""
        lats, lons = self.community_arrays()
        if self.in_database:
            from maps import postgis

            return postgis.nearest_m(lats, lons, max_m)
        return self.tree().nearest_m(lats, lons, max_m)[0]


def load(today: date | None = None) -> DistrictData:
    """Read the filed nurseries, the communities and today's enrolment places."""
    today = today or date.today()
    street_rows = list(db.session.scalars(select(Street)))
    streets = {s.id: (s.code, s.name) for s in street_rows}
    kinds = {s.id: s.kind for s in street_rows}
    classes: dict[int, list[float]] = {}
    for nursery_id, class_type, capacity in db.session.execute(
        select(NurseryClass.nursery_id, NurseryClass.class_type, NurseryClass.capacity)
    ):
        total, under2 = classes.get(nursery_id, [0.0, 0.0])
        classes[nursery_id] = [
            total + capacity,
            under2 + capacity * UNDER2_SHARE.get(class_type, 0.0),
        ]
    from booking.queries import children_in_care  # booking imports maps: planning alone

    taken = children_in_care(today)
    staff: dict[int, list[int]] = {}  # nursery → [on the list, certified]
    for nursery_id, certificate_no in db.session.execute(
        select(NurseryStaff.nursery_id, NurseryStaff.certificate_no)
    ):
        counts = staff.setdefault(nursery_id, [0, 0])
        counts[0] += 1
        counts[1] += 1 if (certificate_no or "").strip() else 0
    nurseries = [
        NurseryRow(
            id=n.id,
            name=n.name,
            street_id=n.street_id,
            lat=n.lat,
            lon=n.lon,
            kind=n.kind,
            inclusive=bool(n.inclusive),
            capacity=n.capacity or 0,
            class_places=classes.get(n.id, [0.0, 0.0])[0],
            under2_places=classes.get(n.id, [0.0, 0.0])[1],
            taken=int(taken.get(n.id, 0)),
            graded=bool(n.grade),
            demonstration=bool(n.demonstration),
            staff=staff.get(n.id, [0, 0])[0],
            certified=staff.get(n.id, [0, 0])[1],
        )
        for n in db.session.scalars(
            select(Nursery).where(Nursery.filing_no.is_not(None)).order_by(Nursery.id)
        )
    ]
    communities = [
        CommunityRow(
            c.id,
            c.name,
            c.street_id,
            c.lat,
            c.lon,
            c.population or 0,
            c.children_under_3 or 0,
            urban=c.urban is not False,
        )
        for c in db.session.scalars(select(Community).order_by(Community.id))
    ]
    from inspections.models import Inspection  # the departments' inspections (issue 12)

    street_of = {n.id: n.street_id for n in nurseries}
    inspections = [
        InspectionRow(street_of[nid], day, result, status, rectify_by)
        for nid, day, result, status, rectify_by in db.session.execute(
            select(
                Inspection.nursery_id,
                Inspection.inspected_on,
                Inspection.result,
                Inspection.status,
                Inspection.rectify_by,
            )
        )
        if nid in street_of  # filed nurseries only, as every other figure
    ]
    from maps import postgis

    return DistrictData(
        streets, nurseries, communities, kinds, inspections, in_database=postgis.enabled()
    )


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return numerator / denominator * scale if denominator else None


def _figure(key: str, numerator, denominator=None) -> dict:
    """A ratio (or, with no denominator, a count) with what it counts and where it comes from."""
    d = DEFINITIONS[key]
    value = numerator if denominator is None else _ratio(numerator, denominator, d.scale)
    return {
        "label": d.label,
        "unit": d.unit,
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "definition": d.definition,
        "sources": list(d.cites),
    }


def compute(
    data: DistrictData,
    distances_m: np.ndarray,
    radius_5min: float,
    radius_15min: float,
    street_id: int | None = None,
) -> dict[str, dict]:
    """Every indicator for the district (street_id None) or one street.

    `distances_m` holds each community's distance (straight or walking) to the nearest filed
    nursery of the whole district — a home is served by a nursery across the street boundary.
    """
    in_scope = [street_id is None or c.street_id == street_id for c in data.communities]
    communities = [c for c, keep in zip(data.communities, in_scope, strict=True) if keep]
    dist = np.asarray(distances_m, dtype=float)[np.array(in_scope, dtype=bool)]
    nurseries = [n for n in data.nurseries if street_id is None or n.street_id == street_id]

    population = sum(c.population for c in communities)
    under3 = sum(c.children_under_3 for c in communities)
    places = sum(n.capacity for n in nurseries)
    in_care = sum(n.taken for n in nurseries)
    pop = np.array([c.population for c in communities], dtype=float)
    urban = np.array([c.urban for c in communities], dtype=bool)

    # 镇街 figures: the streets in scope by kind, and those with a nursery of each sort
    scope = set(data.streets) if street_id is None else {street_id}
    kind = {sid: data.street_kinds.get(sid, "subdistrict") for sid in scope}
    subdistricts = {sid for sid in scope if kind[sid] == "subdistrict"}
    towns = scope - subdistricts
    with_inclusive = {n.street_id for n in nurseries if n.inclusive}
    with_any = {n.street_id for n in nurseries}
    with_public_demo = {
        n.street_id for n in nurseries if n.inclusive and n.demonstration and n.kind in PUBLIC_KINDS
    }
    street_population: dict[int, int] = {}
    for c in communities:
        if c.street_id is not None:
            street_population[c.street_id] = street_population.get(c.street_id, 0) + c.population
    large = {sid for sid in scope if street_population.get(sid, 0) >= LARGE_TOWN_POPULATION}

    def streets_share(key: str, streets: set[int], having: set) -> dict:
        return _figure(key, len(streets & having), len(streets))

    return {
        "places_per_1000": _figure("places_per_1000", places, population),
        "inclusive_share": _figure(
            "inclusive_share", sum(n.capacity for n in nurseries if n.inclusive), places
        ),
        "public_share": _figure(
            "public_share", sum(n.capacity for n in nurseries if n.kind in PUBLIC_KINDS), places
        ),
        "occupancy": _figure("occupancy", in_care, places),
        "enrolment_rate": _figure("enrolment_rate", in_care, under3),
        "under2_share": _figure("under2_share", sum(n.under2_places for n in nurseries), places),
        "streets_with_inclusive": streets_share(
            "streets_with_inclusive", subdistricts, with_inclusive
        ),
        "towns_with_inclusive": streets_share("towns_with_inclusive", towns, with_inclusive),
        "townships_with_nursery": streets_share("townships_with_nursery", scope, with_any),
        "large_towns_with_public_demo": streets_share(
            "large_towns_with_public_demo", large, with_public_demo
        ),
        "facility_5min": _figure(
            "facility_5min", int((urban & (dist <= radius_5min)).sum()), int(urban.sum())
        ),
        "coverage_5min": _figure(
            "coverage_5min", float(pop[dist <= radius_5min].sum()), float(pop.sum())
        ),
        "coverage_15min": _figure(
            "coverage_15min", float(pop[dist <= radius_15min].sum()), float(pop.sum())
        ),
        "grade_coverage": _figure(
            "grade_coverage", sum(1 for n in nurseries if n.graded), len(nurseries)
        ),
        # nurseries without a staff list are not reported: in neither the numerator nor the
        # denominator (no list is not 0 %)
        "cert_rate": _figure(
            "cert_rate", sum(n.certified for n in nurseries), sum(n.staff for n in nurseries)
        ),
        "demonstration_units": _figure(
            "demonstration_units", sum(1 for n in nurseries if n.demonstration)
        ),
    }


INSPECTION_WINDOW_DAYS = 365
OUTCOME_KEYS = ("pass", "rectify", "suspend", "open", "overdue")


def inspection_outcomes(data: DistrictData, today: date, street_id: int | None = None) -> dict:
    """Inspection outcomes per street: the results of inspections dated within the last
    INSPECTION_WINDOW_DAYS (pass / rectify / suspend), and the rectifications open now (and
    of them overdue: past the deadline on the notice, calendar days), whenever inspected."""
    since = date.fromordinal(today.toordinal() - INSPECTION_WINDOW_DAYS)
    d = DEFINITIONS_TABLES["inspection_outcomes"]

    def counts(rows: list[InspectionRow]) -> dict:
        recent = [r for r in rows if since <= r.inspected_on <= today]
        open_rows = [r for r in rows if r.status == "open"]
        return {
            "pass": sum(1 for r in recent if r.result == "pass"),
            "rectify": sum(1 for r in recent if r.result == "rectify"),
            "suspend": sum(1 for r in recent if r.result == "suspend"),
            "open": len(open_rows),
            "overdue": sum(
                1 for r in open_rows if r.rectify_by is not None and today > r.rectify_by
            ),
        }

    scope = [r for r in data.inspections if street_id is None or r.street_id == street_id]
    sids = sorted(data.streets, key=lambda sid: data.streets[sid][0])
    if street_id is not None:
        sids = [street_id]
    streets = [
        {
            "code": data.streets[sid][0],
            "name": data.streets[sid][1],
            **counts([r for r in scope if r.street_id == sid]),
        }
        for sid in sids
    ]
    unassigned = [r for r in scope if r.street_id is None]
    if unassigned and street_id is None:
        streets.append({"code": "", "name": "未划入镇街", **counts(unassigned)})
    return {
        "label": d.label,
        "definition": d.definition,
        "sources": list(d.cites),
        "since": since.isoformat(),
        "streets": streets,
        "total": counts(scope),
    }


TARGET_KEYS = {"value", "op", "text", "seed", "item", "year", "label"}
OPS = (">=", ">")


def _target(key: str, raw) -> dict:
    """One target, checked and with its citation written out as `source`."""
    where = f"targets: {key}"
    if not isinstance(raw, dict) or set(raw) - TARGET_KEYS:
        raise ValueError(f"{where}: a target has only {sorted(TARGET_KEYS)}")
    value, text = raw.get("value"), raw.get("text")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0
    ):
        raise ValueError(f"{where} needs non-negative values")
    if value is None and not (isinstance(text, str) and text.strip()):
        raise ValueError(f"{where}: a target needs a value or a text")
    op = raw.get("op", ">=")
    if op not in OPS:
        raise ValueError(f"{where}: op must be one of {OPS}")
    seed, label = raw.get("seed"), raw.get("label")
    if seed is not None:
        if seed not in SEEDS:
            raise ValueError(f"{where}: unknown seed {seed!r} (one of {sorted(SEEDS)})")
        item, year = raw.get("item"), raw.get("year")
        if (
            not isinstance(item, str)
            or not item
            or isinstance(year, bool)
            or not isinstance(year, int)
        ):
            raise ValueError(f"{where}: a seed's target names its item and year")
        source = f"{seed} {item}，{year}年"
    elif isinstance(label, str) and label.strip():
        source = label.strip()  # a goal the district set itself, labelled by the admin
    else:
        raise ValueError(f"{where} needs a 'seed' (with item and year) or a 'label'")
    return {
        "value": value,
        "op": op,
        "text": text.strip() if isinstance(text, str) else None,
        "source": source,
        "seed": seed,
    }


def load_targets(path: str | Path | None = None) -> dict:
    """Targets per indicator, as data: {"district", "targets": {key: [target]}}, each target
    {"value" (or "text" alone: shown, not compared), "op" (">=" or ">"), "seed", "item",
    "year"} for a seed's figure, or {"value", "label"} for a goal the district set itself.

    Shares are fractions (0.85 for 85 %); places per 1,000 people and units are counts.
    """
    data = json.loads(Path(path or DEFAULT_TARGETS).read_text(encoding="utf-8"))
    targets = data.get("targets", {})
    for key, listed in targets.items():
        if key not in INDICATORS:
            raise ValueError(f"targets: unknown indicator {key!r}")
        if not isinstance(listed, list):
            raise ValueError(f"targets: {key} must be a list of targets")
        targets[key] = [_target(key, t) for t in listed]
    return data


def meets(value, target: dict) -> bool | None:
    """Whether a figure meets a target (None when either has no number)."""
    if value is None or target["value"] is None:
        return None
    return value > target["value"] if target["op"] == ">" else value >= target["value"]
