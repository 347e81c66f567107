"""Reading the registry: nursery search, service circles and one public nursery's details,
shared by the pages and the JSON API."""

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from database import raw_read
from errors import NotFound
from extensions import db

from . import availability, postgis
from . import index as spatial
from .domain import (
    CARE_TYPES,
    CLASS_TYPES,
    NURSERY_KINDS,
    PRICE_UNITS,
    admitted_months,
    class_age_range,
)
from .geo import distances_m
from .models import Nursery, NurseryClass, Offer, price_rules
from .pricing import REGIMES, PriceRuleError, applicable, check_price, regime_for

# Radius that holds the whole Earth: "sort by rating" without `within` ranks every match.
_EVERYWHERE_M = 2.1e7
SORTS = ("distance", "rating")

MAX_LIMIT = 500
MAX_RADIUS_M = 50_000.0


@dataclass(frozen=True)
class WalkModel:
    """Service-circle radii and the walking speed behind 'minutes on foot'."""

    radius_5min_m: float = 300.0
    radius_15min_m: float = 1000.0
    speed_kmh: float = 4.5
    detour_factor: float = 1.25

    @classmethod
    def from_config(cls, config) -> "WalkModel":
        return cls(
            config["CIRCLE_5MIN_M"],
            config["CIRCLE_15MIN_M"],
            config["WALK_SPEED_KMH"],
            config["DETOUR_FACTOR"],
        )

    def in_5min(self, straight_m: float) -> bool:
        return straight_m <= self.radius_5min_m + spatial.BOUNDARY_EPS_M

    def in_15min(self, straight_m: float) -> bool:
        return straight_m <= self.radius_15min_m + spatial.BOUNDARY_EPS_M

    def minutes(self, straight_m: float) -> int:
        """Whole minutes to walk a straight-line distance, allowing for the detour of streets."""
        metres_per_minute = self.speed_kmh * 1000 / 60 / self.detour_factor
        return math.ceil(round(straight_m / metres_per_minute, 6))


@dataclass
class SearchParams:
    """A validated search: a WGS-84 point and optional filters."""

    lat: float
    lon: float
    within_m: float | None = None
    care_type: str | None = None
    age_months: int | None = None
    inclusive_only: bool = False
    free_only: bool = False
    limit: int = 20
    offset: int = 0
    min_rating: float | None = None  # overall average at least this (unrated never passes)
    sort: str = "distance"  # or "rating": best overall average first, then more ratings


@dataclass
class Hit:
    """One nursery in a search result."""

    id: int
    name: str
    address: str
    lat: float
    lon: float
    distance_m: float
    walk_minutes: int
    within_5min: bool
    within_15min: bool
    kind: str
    inclusive: bool
    care_types: list[str]
    free_places: dict[str, int] = field(default_factory=dict)
    rating: dict = field(default_factory=dict)  # {"average", "count"} (ratings/queries.py)

    @property
    def price_regime(self) -> str:
        """政府指导价, 普惠限价 or 市场调节价: how the nursery's prices are set (荣昌 item 9)."""
        return regime_for(self.kind, self.inclusive)

    @property
    def price_regime_label(self) -> str:
        return REGIMES[self.price_regime]

    def as_dict(self) -> dict:
        return {**self.__dict__, **price_regime(self.kind, self.inclusive)}


def _version_key():
    # One primary-key read per search; plain driver SQL keeps it to tens of microseconds.
    rows = raw_read("SELECT version FROM registry_version WHERE id = 1")
    return (str(db.engine.url), rows[0][0] if rows else 0)


def load_public_nurseries(ids: list[int] | None = None) -> list[spatial.IndexedNursery]:
    """The index's view of every filed nursery (Core queries: 100k rows in well under a second),
    or of those with the given ids, in id order."""
    conn = db.session.connection()
    classes, care = defaultdict(list), defaultdict(set)
    class_rows = select(NurseryClass.nursery_id, NurseryClass.class_type)
    offer_rows = select(Offer.nursery_id, Offer.care_type)
    rows = (
        select(Nursery.id, Nursery.name, Nursery.address, Nursery.lat, Nursery.lon,
               Nursery.kind, Nursery.inclusive)
        .where(Nursery.filing_no.is_not(None))
        .order_by(Nursery.id)
    )  # fmt: skip
    if ids is not None:
        class_rows = class_rows.where(NurseryClass.nursery_id.in_(ids))
        offer_rows = offer_rows.where(Offer.nursery_id.in_(ids))
        rows = rows.where(Nursery.id.in_(ids))
    for nursery_id, class_type in conn.execute(class_rows):
        classes[nursery_id].append(class_type)
    for nursery_id, care_type in conn.execute(offer_rows):
        care[nursery_id].add(care_type)
    return [
        spatial.IndexedNursery(
            id=id_,
            name=name,
            address=address,
            lat=lat,
            lon=lon,
            kind=kind,
            inclusive=bool(inclusive),
            care_types=tuple(c for c in CARE_TYPES if c in care[id_]),
            months=frozenset(admitted_months(kind, classes[id_])),
        )
        for id_, name, address, lat, lon, kind, inclusive in conn.execute(rows)
    ]


def _public_in_order(ids: list[int]) -> list[spatial.IndexedNursery]:
    """The filed nurseries with these ids, in the order given (PostGIS ranked them)."""
    by_id = {n.id: n for n in load_public_nurseries(ids)}
    return [by_id[i] for i in ids if i in by_id]


def nursery_index() -> spatial.NurseryIndex:
    """The current process's index, rebuilt if the registry changed since it was built."""
    return spatial.current_index(_version_key(), load_public_nurseries)


def _ids_with_free_places(care_type: str | None) -> np.ndarray:
    return np.array(
        availability.nurseries_with_free_places(care_type, date.today()), dtype=np.int64
    )


_rating_arrays: tuple | None = None  # (index, scores key, averages, counts)


def _ratings_for(idx: spatial.NurseryIndex, scores) -> tuple[np.ndarray, np.ndarray]:
    """Each indexed nursery's overall rating average (NaN when unrated) and count, aligned with
    the index's positions; rebuilt only when the index or any rating changed."""
    global _rating_arrays
    cached = _rating_arrays
    # The index object itself, not its version: a rebuilt index (another database, or the same
    # version number after the tests empty the tables) has other positions.
    if cached is not None and cached[0] is idx and cached[1] == scores.key:
        return cached[2], cached[3]
    averages = np.full(len(idx), np.nan)
    counts = np.zeros(len(idx), dtype=np.int64)
    for nursery_id, (average, count) in scores.by_nursery.items():
        pos = idx.position.get(nursery_id)
        if pos is not None:
            averages[pos], counts[pos] = average, count
    _rating_arrays = (idx, scores.key, averages, counts)
    return averages, counts


def search_nurseries(params: SearchParams, walk: WalkModel) -> tuple[int, list[Hit]]:
    """Public nurseries near a point, nearest first (or best rated first), filtered and paged;
    returns (count, page). The in-process index answers, or PostGIS (SPATIAL_BACKEND)."""
    from ratings.queries import search_scores  # ratings read the registry, not the reverse

    scores = search_scores()
    free_ids = _ids_with_free_places(params.care_type) if params.free_only else None
    if postgis.enabled():
        count, found = postgis.search(
            params.lat,
            params.lon,
            params.within_m,
            postgis.Filters(
                params.care_type,
                params.age_months,
                params.inclusive_only,
                None if free_ids is None else free_ids.tolist(),
                scores.by_nursery,
                params.min_rating,
            ),
            params.offset + params.limit,
            by_rating=params.sort == "rating",
        )
        page = _public_in_order([i for i, _ in found[params.offset :]])
    else:
        count, page = _search_index(params, scores, free_ids)
    # The page's distances from pyproj's ellipsoidal geodesic (both backends agree to < 1 mm).
    dist = distances_m(
        params.lat, params.lon, np.array([n.lat for n in page]), np.array([n.lon for n in page])
    )
    places = availability.free_places(np.array([n.id for n in page], dtype=np.int64), date.today())
    hits = []
    for n, d in zip(page, dist.tolist(), strict=True):
        hits.append(
            Hit(
                id=n.id,
                name=n.name,
                address=n.address,
                lat=n.lat,
                lon=n.lon,
                distance_m=round(d, 1),
                walk_minutes=walk.minutes(d),
                within_5min=walk.in_5min(d),
                within_15min=walk.in_15min(d),
                kind=n.kind,
                inclusive=n.inclusive,
                care_types=list(n.care_types),
                free_places=places.get(n.id, {}),
                rating=scores.rating(n.id),
            )
        )
    return count, hits


def _search_index(params: SearchParams, scores, free_ids) -> tuple[int, list]:
    """search_nurseries on this process's index: (count, the page's indexed nurseries)."""
    idx = nursery_index()
    mask = idx.filter_mask(params.care_type, params.age_months, params.inclusive_only, free_ids)
    if params.min_rating is not None or params.sort == "rating":
        averages, counts = _ratings_for(idx, scores)
    if params.min_rating is not None:
        # 1e-9: an average of exactly the threshold passes despite floating point.
        rated = np.nan_to_num(averages, nan=-1.0) >= params.min_rating - 1e-9
        mask = rated if mask is None else mask & rated
    stop = params.offset + params.limit
    if params.sort == "rating":
        radius = params.within_m if params.within_m is not None else _EVERYWHERE_M
        positions, dist = idx.within(params.lat, params.lon, radius, mask)
        count = int(positions.size)
        best = np.nan_to_num(averages[positions], nan=-1.0)
        order = np.lexsort((idx.ids[positions], dist, -counts[positions], -best))[:stop]
        positions = positions[order]
    elif params.within_m is not None:
        count, positions, _ = idx.within_page(params.lat, params.lon, params.within_m, stop, mask)
    else:
        count = len(idx) if mask is None else int(mask.sum())
        positions, _ = idx.nearest(params.lat, params.lon, stop, mask)
    positions = positions[params.offset : params.offset + params.limit]
    return count, [idx.nurseries[p] for p in positions.tolist()]


@dataclass
class CircleReport:
    """Whether a home lies inside any nursery's 5- and 15-minute circles, and whose."""

    radius_5min_m: float
    radius_15min_m: float
    within_5min: list[dict]
    within_15min: list[dict]

    @property
    def covered_5min(self) -> bool:
        return bool(self.within_5min)

    @property
    def covered_15min(self) -> bool:
        return bool(self.within_15min)


def check_circles(lat: float, lon: float, walk: WalkModel) -> CircleReport:
    """The nurseries whose service circles contain the home at (lat, lon)."""
    if postgis.enabled():
        found = _public_in_order([i for i, _ in postgis.within(lat, lon, walk.radius_15min_m)])
    else:
        idx = nursery_index()
        positions, _ = idx.within(lat, lon, walk.radius_15min_m)
        found = [idx.nurseries[p] for p in positions.tolist()]
    dist = distances_m(lat, lon, np.array([n.lat for n in found]), np.array([n.lon for n in found]))
    within_15 = [
        {
            "id": n.id,
            "name": n.name,
            "lat": n.lat,
            "lon": n.lon,
            "distance_m": round(d, 1),
            "walk_minutes": walk.minutes(d),
        }
        for n, d in zip(found, dist.tolist(), strict=True)
    ]
    within_5 = [x for x, d in zip(within_15, dist.tolist(), strict=True) if walk.in_5min(d)]
    return CircleReport(walk.radius_5min_m, walk.radius_15min_m, within_5, within_15)


def public_nursery(nursery_id: int) -> Nursery:
    """A filed nursery with its classes and offers loaded; unfiled ones do not exist publicly."""
    nursery = db.session.scalar(
        select(Nursery)
        .where(Nursery.id == nursery_id, Nursery.filing_no.is_not(None))
        .options(
            selectinload(Nursery.classes),
            selectinload(Nursery.offers),
            selectinload(Nursery.street),
        )
    )
    if nursery is None:
        raise NotFound("nursery_not_found", "未找到该托育机构（或尚未备案）")
    return nursery


def price_regime(kind: str, inclusive: bool) -> dict:
    """The price regime of a nursery as the API and the pages name it (荣昌/大足 item 9)."""
    regime = regime_for(kind, inclusive)
    return {"price_regime": regime, "price_regime_label": REGIMES[regime]}


def offer_price_rule(rules, kind: str, inclusive: bool, offer: Offer) -> dict | None:
    """The guided price or cap an offer's price is bound by (None: market price, or no rule
    set): its figures, its description in Chinese and its source."""
    found = applicable(rules, regime_for(kind, inclusive), offer.care_type, offer.class_type)
    if len(found) != 1:  # none, or several (an offer for no class type): shown by class type
        return None
    rule = found[0]
    return {
        **rule.as_dict(),
        "low": float(rule.low),
        "high": float(rule.high),
        "price_unit_label": rule.unit_label,
        "text": rule.describe(),
    }


def nursery_details(n: Nursery) -> dict:
    """The public details of a nursery, as the API and the page show them."""
    ages = sorted(n.admitted_months())
    free = availability.free_by_offer(n.offers, date.today())
    rules = price_rules()
    regime = price_regime(n.kind, n.inclusive)
    return {
        "id": n.id,
        "name": n.name,
        "address": n.address,
        "street": n.street.name if n.street else None,
        "lat": n.lat,
        "lon": n.lon,
        "source_coordsys": n.source_coordsys,
        "kind": n.kind,
        "kind_label": NURSERY_KINDS[n.kind],
        "inclusive": n.inclusive,
        **regime,
        "filing_no": n.filing_no,
        "filing_date": n.filing_date.isoformat() if n.filing_date else None,
        "grade": n.grade,
        "demonstration": n.demonstration,
        "phone": n.phone,
        "opening_hours": f"{n.opens_at:%H:%M}-{n.closes_at:%H:%M}",
        "capacity": n.capacity,
        "age_months": {"min": ages[0], "max": ages[-1] + 1} if ages else None,
        "description": n.description,
        "classes": [
            {
                "class_type": c.class_type,
                "label": CLASS_TYPES[c.class_type].label,
                "name": c.name,
                "age_months": dict(
                    zip(("min", "max"), class_age_range(n.kind, c.class_type), strict=True)
                ),
                "carers": c.carers,
                "capacity": c.capacity,
            }
            for c in n.classes
        ],
        "offers": [
            {
                "care_type": o.care_type,
                "label": CARE_TYPES[o.care_type],
                "class_type": o.class_type,
                "class_label": CLASS_TYPES[o.class_type].label if o.class_type else None,
                "price_yuan": float(o.price_yuan) if o.price_yuan is not None else None,
                "price_unit": o.price_unit,
                "price_unit_label": PRICE_UNITS.get(o.price_unit, o.price_unit),
                "capacity": o.capacity,
                "free_places": free[o.id],
                "sessions": o.session_list() if o.care_type == "half_day" else None,
                **regime,
                "price_rule": offer_price_rule(rules, n.kind, n.inclusive, o),
            }
            for o in sorted(n.offers, key=lambda o: (list(CARE_TYPES).index(o.care_type), o.id))
        ],
    }


def nursery_breaches(n: Nursery) -> list:
    """The breaches of the national limits in one nursery's classes and offers
    (`maps.standards`; empty when it keeps them)."""
    from .standards import check_nursery, class_specs, offer_specs

    return check_nursery(n.kind, class_specs(n.classes), offer_specs(n.offers))


def capacity_breaches() -> list[tuple[Nursery, list]]:
    """Every nursery whose classes or offers break the national limits, with the breaches,
    in id order."""
    nurseries = db.session.scalars(
        select(Nursery)
        .options(selectinload(Nursery.classes), selectinload(Nursery.offers))
        .order_by(Nursery.id)
    )
    found = []
    for n in nurseries:
        breaches = nursery_breaches(n)
        if breaches:
            found.append((n, breaches))
    return found


def nursery_count() -> int:
    """How many nurseries the registry holds, filed or not."""
    return db.session.scalar(select(func.count(Nursery.id))) or 0


def offers_outside_price_rules() -> list[tuple[Nursery, Offer, str]]:
    """Offers whose price the rules in force refuse (set before the rules changed, or written
    around the service), with the refusal, in nursery and offer order."""
    rules = price_rules()
    if not rules:
        return []
    nurseries = db.session.scalars(
        select(Nursery).options(selectinload(Nursery.offers)).order_by(Nursery.id)
    )
    found = []
    for n in nurseries:
        for o in n.offers:
            try:
                check_price(
                    rules, n.kind, n.inclusive, o.care_type, o.class_type, o.price_yuan,
                    o.price_unit,
                )  # fmt: skip
            except PriceRuleError as exc:
                found.append((n, o, exc.message))
    return found
