"""The seeds' indicators (DESIGN §3.5) for a district or one street, from the registry, the
communities and the bookings.

`load()` reads the database into plain rows; `compute()` is pure arithmetic over them, so the
tests check every figure against numbers worked out by hand. Definitions we chose where the
seeds are silent:

- places (托位数): the filed nurseries' registered capacity.
- public places (公建托位): places of 公办 and 公建民营 nurseries (both publicly built).
- places taken (托位使用率): children holding a full-day or half-day enrolment place today
  (pending, confirmed or offered), counted once per child and nursery.
- places for under-2s: class places of 乳儿班 and 托小班, plus a third of 混合班 (18–36 months,
  of which 18–24 are under two), as a share of all class places.
- enrolment rate (入托率): children holding an enrolment place today ÷ children under three.
- streets with an inclusive nursery: of all streets in the registry.
- 5-/15-minute coverage: population-weighted share of communities with a filed nursery within
  300 m / 1000 m (straight line) or walking distance (network mode).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
from sqlalchemy import func, or_, select

from booking.rules import ENROLMENT_TYPES, HELD
from extensions import db
from maps.domain import PUBLIC_KINDS
from maps.models import Community, Nursery, NurseryClass, Street

from .coverage import SiteTree

UNDER2_SHARE = {"infant": 1.0, "toddler": 1.0, "older": 0.0, "mixed": 1 / 3}
DEFAULT_TARGETS = Path(__file__).with_name("targets.json")

INDICATORS = {  # key → (label, unit)
    "places_per_1000": ("每千人口托位数", "个"),
    "inclusive_share": ("普惠性托位占比", "%"),
    "public_share": ("公建托位占比", "%"),
    "occupancy": ("托位使用率", "%"),
    "streets_with_inclusive": ("街道普惠性托育机构覆盖率", "%"),
    "coverage_5min": ("5分钟生活圈托育设施配置率", "%"),
    "coverage_15min": ("15分钟托育服务圈覆盖率", "%"),
    "under2_share": ("2岁以下婴幼儿托位占比", "%"),
    "enrolment_rate": ("入托率", "%"),
}


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
    taken: int  # children holding an enrolment place today


@dataclass(frozen=True)
class CommunityRow:
    id: int
    name: str
    street_id: int | None
    lat: float
    lon: float
    population: int
    children_under_3: int


@dataclass
class DistrictData:
    streets: dict[int, tuple[str, str]]  # id → (code, name)
    nurseries: list[NurseryRow]
    communities: list[CommunityRow]
    _tree: SiteTree | None = field(default=None, repr=False)
    # queries.distances per (mode, threshold[, graph]): a page asks for the same distances for
    # its report, its site suggestions and the coverage comparison.
    distance_cache: dict[tuple, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

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
        return self.tree().nearest_m(lats, lons, max_m)[0]


def load(today: date | None = None) -> DistrictData:
    """Read the filed nurseries, the communities and today's enrolment places."""
    today = today or date.today()
    streets = {s.id: (s.code, s.name) for s in db.session.scalars(select(Street))}
    classes: dict[int, list[float]] = {}
    for nursery_id, class_type, capacity in db.session.execute(
        select(NurseryClass.nursery_id, NurseryClass.class_type, NurseryClass.capacity)
    ):
        total, under2 = classes.get(nursery_id, [0.0, 0.0])
        classes[nursery_id] = [
            total + capacity,
            under2 + capacity * UNDER2_SHARE.get(class_type, 0.0),
        ]
    from booking.models import Booking  # booking imports maps; keep planning importable alone

    taken = dict(
        db.session.execute(
            select(Booking.nursery_id, func.count(func.distinct(Booking.child_id)))
            .where(
                Booking.care_type.in_(ENROLMENT_TYPES),
                Booking.status.in_(HELD),
                Booking.start_date <= today,
                or_(Booking.end_date.is_(None), Booking.end_date >= today),
            )
            .group_by(Booking.nursery_id)
        ).all()
    )
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
        )
        for n in db.session.scalars(
            select(Nursery).where(Nursery.filing_no.is_not(None)).order_by(Nursery.id)
        )
    ]
    communities = [
        CommunityRow(
            c.id, c.name, c.street_id, c.lat, c.lon, c.population or 0, c.children_under_3 or 0
        )
        for c in db.session.scalars(select(Community).order_by(Community.id))
    ]
    return DistrictData(streets, nurseries, communities)


def _ratio(numerator: float, denominator: float, scale: float = 1.0) -> float | None:
    return numerator / denominator * scale if denominator else None


def _figure(key: str, numerator, denominator, scale=1.0) -> dict:
    label, unit = INDICATORS[key]
    return {
        "label": label,
        "unit": unit,
        "value": _ratio(numerator, denominator, scale),
        "numerator": numerator,
        "denominator": denominator,
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
    class_places = sum(n.class_places for n in nurseries)
    taken = sum(n.taken for n in nurseries)
    pop = np.array([c.population for c in communities], dtype=float)
    if street_id is None:
        streets = set(data.streets)
        with_inclusive = {n.street_id for n in nurseries if n.inclusive and n.street_id}
        street_figures = (len(with_inclusive & streets), len(streets))
    else:
        street_figures = (int(any(n.inclusive for n in nurseries)), 1)
    return {
        "places_per_1000": _figure("places_per_1000", places, population, 1000.0),
        "inclusive_share": _figure(
            "inclusive_share", sum(n.capacity for n in nurseries if n.inclusive), places
        ),
        "public_share": _figure(
            "public_share", sum(n.capacity for n in nurseries if n.kind in PUBLIC_KINDS), places
        ),
        "occupancy": _figure("occupancy", taken, places),
        "streets_with_inclusive": _figure("streets_with_inclusive", *street_figures),
        "coverage_5min": _figure(
            "coverage_5min", float(pop[dist <= radius_5min].sum()), float(pop.sum())
        ),
        "coverage_15min": _figure(
            "coverage_15min", float(pop[dist <= radius_15min].sum()), float(pop.sum())
        ),
        "under2_share": _figure(
            "under2_share", sum(n.under2_places for n in nurseries), class_places
        ),
        "enrolment_rate": _figure("enrolment_rate", taken, under3),
    }


def load_targets(path: str | Path | None = None) -> dict:
    """Targets per indicator, as data: {"district", "targets": {key: [{"value", "source"}]}}.

    Shares are fractions (0.85 for 85 %); places per 1,000 people are a count.
    """
    data = json.loads(Path(path or DEFAULT_TARGETS).read_text(encoding="utf-8"))
    for key, targets in data.get("targets", {}).items():
        if key not in INDICATORS:
            raise ValueError(f"targets: unknown indicator {key!r}")
        if not isinstance(targets, list):
            raise ValueError(f"targets: {key} must be a list of targets")
        for target in targets:
            value = target.get("value") if isinstance(target, dict) else None
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"targets: {key} needs non-negative values")
            if not isinstance(target.get("source"), str) or not target["source"]:
                raise ValueError(f"targets: {key} needs a 'source' for every target")
    return data
