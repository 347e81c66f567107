"""Spatial queries in PostgreSQL with PostGIS: the same answers as the in-process index.

Migration 0016 stores every nursery's position as `nurseries.geog` (geography, generated from
lon/lat) with a GiST index. With SPATIAL_BACKEND=postgis the search, the service circles and
the planners' coverage ask the database (`ST_DWithin` for "within r metres", the KNN operator
`<->` for "nearest k"), so an app server holds no index of its own and can search on a read
replica. Distances are PostGIS's ellipsoidal geodesics; the pages show pyproj's, as with the
index, and the two agree to millimetres. Filters run in the same statement: care type, ages,
普惠, free places (ids computed as for the index) and ratings (the process's cached scores,
joined as arrays, so both backends rank on the very same numbers).
"""

from dataclasses import dataclass

import geoalchemy2  # noqa: F401 - teaches SQLAlchemy's reflection the geography type
import numpy as np
from flask import current_app
from sqlalchemy import text

from extensions import db

from .domain import CLASS_TYPES, NURSERY_KINDS, admitted_months, class_age_range

BACKENDS = ("index", "postgis")
# What migration 0016 adds outside the models (and the extension's own table): `flask db
# check` and database.schema_drift() must not report them as drift.
_OUTSIDE_MODELS = {("table", "spatial_ref_sys"), ("column", "geog"), ("index", "ix_nurseries_geog")}
_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"
_available: dict[str, bool] = {}  # engine URL → has nurseries.geog


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic's autogenerate filter: leave out PostGIS's objects that only the database has."""
    return not (reflected and compare_to is None and (type_, name) in _OUTSIDE_MODELS)


def geography_present(conn) -> bool:
    """Whether the database on this connection holds nurseries.geog (PostGIS, at 0016)."""
    if conn.dialect.name != "postgresql":
        return False
    found = conn.execute(
        text(
            "SELECT 1 FROM information_schema.columns "
            "WHERE table_name = 'nurseries' AND column_name = 'geog'"
        )
    ).first()
    return found is not None


def has_geography() -> bool:
    """geography_present() for the app's database, asked once per process and database."""
    key = str(db.engine.url)
    if key not in _available:
        _available[key] = geography_present(db.session.connection())
    return _available[key]


def reset() -> None:
    """Forget what was found (tests create and drop databases under one process)."""
    _available.clear()


def wanted() -> bool:
    return current_app.config.get("SPATIAL_BACKEND", "index") == "postgis"


def enabled() -> bool:
    """SPATIAL_BACKEND=postgis and the database can do it (else the index answers, and
    /readyz says why)."""
    return wanted() and has_geography()


def misconfigured() -> str | None:
    """Why SPATIAL_BACKEND=postgis cannot be honoured here, or None."""
    if wanted() and not has_geography():
        return (
            "SPATIAL_BACKEND=postgis，但数据库没有 nurseries.geog（需要带 PostGIS 的 PostgreSQL，"
            "并运行 flask --app app init-db）；现由进程内索引查询"
        )
    return None


@dataclass(frozen=True)
class Filters:
    """The search's filters, as the index's filter_mask takes them."""

    care_type: str | None = None
    age_months: int | None = None
    inclusive_only: bool = False
    only_ids: list[int] | None = None  # e.g. nurseries with a free place
    ratings: dict[int, tuple[float, int]] | None = None  # id → (average, count), rated only
    min_rating: float | None = None


def _where(f: Filters, params: dict) -> str:
    """The WHERE clause for the filters; binds their values into params."""
    clauses = ["n.filing_no IS NOT NULL"]
    if f.care_type is not None:
        clauses.append(
            "EXISTS (SELECT 1 FROM offers o WHERE o.nursery_id = n.id AND o.care_type = :care)"
        )
        params["care"] = f.care_type
    if f.age_months is not None:
        # The (kind, class type) pairs whose classes admit the age, and the kinds that admit it
        # when no class is on file: maps.domain decides, as for the index.
        m = f.age_months
        pairs = [
            f"{k}/{c}"
            for k in NURSERY_KINDS
            for c in CLASS_TYPES
            if class_age_range(k, c)[0] <= m < class_age_range(k, c)[1]
        ]
        kinds = [k for k in NURSERY_KINDS if m in admitted_months(k, [])]
        clauses.append(
            "(EXISTS (SELECT 1 FROM nursery_classes c WHERE c.nursery_id = n.id"
            " AND n.kind || '/' || c.class_type = ANY(:age_pairs))"
            " OR (n.kind = ANY(:age_kinds)"
            " AND NOT EXISTS (SELECT 1 FROM nursery_classes c WHERE c.nursery_id = n.id)))"
        )
        params["age_pairs"], params["age_kinds"] = pairs, kinds
    if f.inclusive_only:
        clauses.append("n.inclusive")
    if f.only_ids is not None:
        clauses.append("n.id = ANY(:only_ids)")
        params["only_ids"] = [int(i) for i in f.only_ids]
    if f.min_rating is not None:
        # 1e-9: an average of exactly the threshold passes despite floating point.
        clauses.append("r.average >= :min_rating")
        params["min_rating"] = f.min_rating - 1e-9
    return " AND ".join(clauses)


def _ratings_join(f: Filters, params: dict) -> str:
    ratings = f.ratings or {}
    params["r_ids"] = list(ratings)
    params["r_avg"] = [float(a) for a, _ in ratings.values()]
    params["r_cnt"] = [int(c) for _, c in ratings.values()]
    return (
        " LEFT JOIN unnest(CAST(:r_ids AS bigint[]), CAST(:r_avg AS float8[]),"
        " CAST(:r_cnt AS bigint[])) AS r(nursery_id, average, count) ON r.nursery_id = n.id"
    )


def _rows(sql: str, params: dict) -> list[tuple]:
    return [tuple(row) for row in db.session.execute(text(sql), params)]


def search(
    lat: float, lon: float, within_m: float | None, f: Filters, stop: int | None, by_rating: bool
) -> tuple[int, list[tuple[int, float]]]:
    """(how many nurseries match, the first `stop` (None: all) as (id, metres)), nearest first,
    or best rated first (then more ratings, nearer, lower id) when by_rating.

    The statements are assembled from this module's own fixed fragments (the filters chosen);
    every value is a bound parameter, never text in the SQL (hence the nosec marks)."""
    stop = None if stop is None else max(stop, 0)
    params: dict = {"lat": lat, "lon": lon, "stop": stop}
    join = _ratings_join(f, params) if (by_rating or f.min_rating is not None) else ""
    where = _where(f, params)
    if within_m is not None:
        where += f" AND ST_DWithin(n.geog, {_POINT}, :within)"
        params["within"] = within_m
    distance = f"ST_Distance(n.geog, {_POINT})"
    if by_rating:
        order = "COALESCE(r.average, -1) DESC, COALESCE(r.count, 0) DESC, d, n.id"
    elif within_m is not None:
        order = "d, n.id"
    elif stop is not None:
        # Nearest k with no radius: the GiST index walks outwards (`<->`, distance on the
        # sphere); twice the page is fetched and ranked again on the ellipsoid, so the two
        # measures' tiny difference cannot reorder the page.
        count_sql = f"SELECT count(*) FROM nurseries n{join} WHERE {where}"  # nosec B608
        count = _rows(count_sql, params)[0][0]
        rows = _rows(
            f"SELECT id, d FROM (SELECT n.id, {distance} AS d FROM nurseries n{join}"  # nosec B608
            f" WHERE {where} ORDER BY n.geog <-> {_POINT} LIMIT :fetch) near"
            " ORDER BY d, id LIMIT :stop",
            {**params, "fetch": 2 * stop + 8},
        )
        return int(count), [(int(i), float(d)) for i, d in rows]
    rows = _rows(
        f"SELECT n.id, {distance} AS d, count(*) OVER () FROM nurseries n{join}"  # nosec B608
        f" WHERE {where} ORDER BY {order} LIMIT :stop",
        params,
    )
    if not rows and stop != 0:
        return 0, []
    if not rows:  # a page of nothing still reports how many match
        count_sql = f"SELECT count(*) FROM nurseries n{join} WHERE {where}"  # nosec B608
        total = _rows(count_sql, params)[0][0]
        return int(total), []
    return int(rows[0][2]), [(int(i), float(d)) for i, d, _ in rows]


def within(lat: float, lon: float, radius_m: float) -> list[tuple[int, float]]:
    """Every filed nursery within radius_m as (id, metres), nearest first (the circles)."""
    return search(lat, lon, radius_m, Filters(), stop=None, by_rating=False)[1]


def nearest_m(lats, lons, max_m: float) -> np.ndarray:
    """Each point's geodesic distance to the nearest filed nursery, inf beyond max_m (the
    planners' coverage, as planning.coverage.SiteTree.nearest_m)."""
    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    dist = np.full(lats.shape, np.inf)
    if lats.size == 0:
        return dist
    # The KNN operator finds each point's nearest nursery on the sphere through the GiST index;
    # the ellipsoid's nearest lies within 1 % of that distance (the two measures differ by
    # under 0.6 %), so only the nurseries in that small circle are measured exactly.
    rows = _rows(
        "SELECT p.ord, (SELECT min(ST_Distance(n.geog, p.g)) FROM nurseries n"
        " WHERE n.filing_no IS NOT NULL AND ST_DWithin(n.geog, p.g, LEAST(:max,"
        " 1.01 * (SELECT k.geog <-> p.g FROM nurseries k WHERE k.filing_no IS NOT NULL"
        " ORDER BY k.geog <-> p.g LIMIT 1) + 0.01)))"
        " FROM (SELECT ord, ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS g"
        " FROM unnest(CAST(:lats AS float8[]), CAST(:lons AS float8[]))"
        " WITH ORDINALITY AS q(lat, lon, ord)) p",
        {"lats": lats.tolist(), "lons": lons.tolist(), "max": max_m},
    )
    for ord_, d in rows:
        if d is not None and d <= max_m:
            dist[int(ord_) - 1] = d
    return dist
