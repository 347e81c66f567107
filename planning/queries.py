"""Planning use cases: the indicator report (district and streets), coverage per community,
the gap list and site suggestions, in straight-line or walking-network mode.

Everything here only reads. Each figure carries the mode that produced it.

Circles in the two modes (DESIGN §3.4): the GB 50180-2018 walking distances, CIRCLE_5MIN_M /
CIRCLE_15MIN_M (300 m for 5 minutes; 800–1000 m for 15, 1000 m by default) — as the crow flies in
straight-line mode, as metres of path on the walking network. The standard sets the distances,
not a speed, so the network mode walks the same metres (not 5 or 15 minutes at WALK_SPEED_KMH,
which would be 375 m / 1125 m); straight-line mode is the optimistic one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np

from errors import DomainError

from . import indicators, sites
from .indicators import DistrictData

MODES = {"straight": "直线距离", "network": "步行路网"}


@dataclass(frozen=True)
class Settings:
    radius_5min_m: float = 300.0
    radius_15min_m: float = 1000.0
    speed_kmh: float = 4.5
    detour_factor: float = 1.25
    targets_path: str | None = None

    @classmethod
    def from_config(cls, config) -> Settings:
        return cls(
            config["CIRCLE_5MIN_M"],
            config["CIRCLE_15MIN_M"],
            config["WALK_SPEED_KMH"],
            config["DETOUR_FACTOR"],
            config.get("PLANNING_TARGETS") or None,
        )

    @property
    def metres_per_minute(self) -> float:
        return self.speed_kmh * 1000.0 / 60.0

    def radii(self, mode: str) -> tuple[float, float]:
        """The 5- and 15-minute thresholds in metres: GB 50180-2018's walking distances, the
        same in both modes (as the crow flies, or along the network's paths)."""
        check_mode(mode)
        return self.radius_5min_m, self.radius_15min_m


def check_mode(mode) -> str:
    if mode not in MODES:
        raise DomainError("invalid_mode", "距离模式须为 straight（直线）或 network（步行路网）")
    return mode


def _graph():
    from . import network

    graph = network.current_graph()
    if graph is None:
        raise DomainError(
            "no_network",
            "尚未加载步行路网：请先运行 flask --app app maps load-network 文件",
            status=409,
        )
    return graph


def community_snap(data: DistrictData, graph):
    """Where each community enters the walking network (planning.network.Snap), snapped once
    per network and kept with the data's distances."""
    key = ("snap", graph)
    snap = data.distance_cache.get(key)
    if snap is None:
        snap = data.distance_cache[key] = graph.snap(*data.community_arrays())
    return snap


def distances(data: DistrictData, mode: str, settings: Settings) -> np.ndarray:
    """Each community's distance in metres to the nearest filed nursery (inf beyond the
    15-minute threshold): straight-line, or walking on the network."""
    _, far = settings.radii(mode)
    graph = _graph() if mode == "network" else None
    key = (mode, far, graph)  # the graph object itself: a newly loaded network is a new key
    cached = data.distance_cache.get(key)
    if cached is not None:
        return cached
    if graph is None:
        dist = data.straight_distances(far)
    else:
        sites = graph.snap(
            np.array([n.lat for n in data.nurseries], dtype=float),
            np.array([n.lon for n in data.nurseries], dtype=float),
        )
        dist = graph.nearest_site_m_snapped(sites, community_snap(data, graph), far)
    dist = np.asarray(dist, dtype=float)
    dist.flags.writeable = False  # shared by every caller with this data
    data.distance_cache[key] = dist
    return dist


def network_loaded() -> bool:
    from . import network

    return network.current_graph() is not None


def _street_id(data: DistrictData, street_code: str | None) -> int | None:
    if street_code is None:
        return None
    for sid, (code, _name) in data.streets.items():
        if code == street_code:
            return sid
    raise DomainError("unknown_street", f"未知的镇街代码：{street_code}", status=404)


def _with_targets(figures: dict[str, dict], targets: dict) -> dict[str, dict]:
    for key, figure in figures.items():
        figure["targets"] = targets.get(key, [])
        numeric = [t for t in figure["targets"] if t["value"] is not None]
        # the last numeric target listed is the one the gauge and the 达标 mark compare with
        figure["meets_target"] = indicators.meets(figure["value"], numeric[-1]) if numeric else None
    return figures


def _minutes(metres: float, mode: str, settings: Settings) -> int | None:
    if not np.isfinite(metres):
        return None
    detour = 1.0 if mode == "network" else settings.detour_factor
    return int(np.ceil(round(metres * detour / settings.metres_per_minute, 6)))


def report(
    mode: str = "straight",
    street_code: str | None = None,
    settings: Settings | None = None,
    today: date | None = None,
    progress: Callable[[str], None] | None = None,
    data: DistrictData | None = None,
) -> dict:
    """Indicators with targets for the district (and every street) or one street, coverage of
    every community and the gap list; `progress` is called once per step (CLI progress bar)."""
    settings = settings or Settings()
    mode = check_mode(mode)
    data = data or indicators.load(today)
    street_id = _street_id(data, street_code)
    targets_doc = indicators.load_targets(settings.targets_path)
    targets = targets_doc.get("targets", {})
    r5, r15 = settings.radii(mode)
    dist = distances(data, mode, settings)
    if progress:
        progress("distances")

    figures = _with_targets(indicators.compute(data, dist, r5, r15, street_id), targets)
    result = {
        "district": targets_doc.get("district", ""),
        "mode": mode,
        "mode_label": MODES[mode],
        "radius_m": {"5": r5, "15": r15},
        "walk_speed_kmh": settings.speed_kmh,
        "street": None
        if street_id is None
        else {"code": data.streets[street_id][0], "name": data.streets[street_id][1]},
        **{key: figure["value"] for key, figure in figures.items()},
        "indicators": figures,
        "inspection_outcomes": indicators.inspection_outcomes(
            data, today or date.today(), street_id
        ),
    }
    if street_id is None:
        rows = []
        for sid, (code, name) in sorted(data.streets.items(), key=lambda s: s[1][0]):
            street_figures = indicators.compute(data, dist, r5, r15, sid)
            rows.append(
                {"code": code, "name": name, **{k: f["value"] for k, f in street_figures.items()}}
            )
            if progress:
                progress(code)
        result["streets"] = rows

    street_names = {sid: name for sid, (_code, name) in data.streets.items()}
    # Network mode: communities farther than WALK_MAX_SNAP_M from every walkable way are not on
    # the network; they count as not covered, and the report says why instead of a distance.
    off_network = np.zeros(len(data.communities), dtype=bool)
    snap_m = np.full(len(data.communities), np.nan)  # metres from a community to its street
    if mode == "network":
        graph = _graph()
        snapped = community_snap(data, graph)
        off_network, snap_m = ~snapped.ok, snapped.dist_m
        result["off_network"] = {
            "count": int(sum(1 for c, off in zip(data.communities, off_network, strict=True)
                             if off and (street_id is None or c.street_id == street_id))),
            "max_snap_m": graph.max_snap_m,
        }  # fmt: skip
        from . import network

        # Which network the distances walk, and whether its slopes were counted.
        info = network.network_info()
        result["network"] = None if info is None else {k: info[k] for k in ("source", "dem")}
    communities = []
    for c, d, off, to_street in zip(data.communities, dist, off_network, snap_m, strict=True):
        if street_id is not None and c.street_id != street_id:
            continue
        status = "5min" if d <= r5 else ("15min" if d <= r15 else "none")
        communities.append(
            {
                "id": c.id,
                "name": c.name,
                "street": street_names.get(c.street_id),
                "lat": c.lat,
                "lon": c.lon,
                "population": c.population,
                "children_under_3": c.children_under_3,
                "distance_m": round(float(d), 1) if np.isfinite(d) else None,
                "walk_minutes": _minutes(float(d), mode, settings),
                "coverage": status,
                "off_network": bool(off),
                "snap_m": round(float(to_street), 1) if np.isfinite(to_street) else None,
            }
        )
    result["communities"] = communities
    result["gaps"] = sorted(
        (c for c in communities if c["coverage"] != "5min"),
        key=lambda c: (-c["children_under_3"], c["name"]),
    )
    return result


def suggestions(
    k,
    mode: str = "straight",
    candidates: str = "communities",
    grid_m: float = 200.0,
    settings: Settings | None = None,
    data: DistrictData | None = None,
    street_code: str | None = None,
) -> dict:
    """Greedy sites for k new nurseries, each covering the most uncovered children under three
    within the 5-minute circle (straight-line reach from the candidate; which communities are
    uncovered today follows the mode). With a street, only its own communities are its gaps,
    while every nursery of the district still counts as covering them."""
    settings = settings or Settings()
    mode = check_mode(mode)
    k = sites.check_k(k)
    data = data or indicators.load()
    street_id = _street_id(data, street_code)
    dist = distances(data, mode, settings)
    if street_id is not None:
        keep = np.array([c.street_id == street_id for c in data.communities], dtype=bool)
        data = DistrictData(
            data.streets, data.nurseries, [c for c in data.communities if c.street_id == street_id]
        )
        dist = dist[keep]
    r5, _ = settings.radii(mode)
    chosen = sites.suggest(data, dist, k, r5, candidates, grid_m, reach_m=settings.radius_5min_m)
    uncovered = sum(
        c.children_under_3 for c, d in zip(data.communities, dist, strict=True) if not d <= r5
    )
    return {
        "mode": mode,
        "mode_label": MODES[mode],
        "k": k,
        "candidates": candidates,
        "uncovered_children": uncovered,
        "sites": [s.__dict__ | {"community_ids": list(s.community_ids)} for s in chosen],
        "total_gain_children": sum(s.gain_children for s in chosen),
    }
