"""Site suggestions: where k new nurseries would bring the most uncovered children under three
within the 5-minute circle.

Maximum coverage is NP-hard; the greedy choice (each step takes the candidate with the largest
gain in still-uncovered children) is within 1 − 1/e ≈ 63 % of the optimum and is what a planner
can follow and explain. Candidates are the community centroids (a nursery on a community's own
grounds) or the centres of a square grid over the uncovered communities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from errors import DomainError
from maps.geo import GEOD, ecef

from .indicators import DistrictData

MAX_K = 50
MIN_GRID_M, MAX_GRID_M = 50, 5000


@dataclass(frozen=True)
class Suggestion:
    rank: int
    lat: float
    lon: float
    label: str  # the community, or the grid cell
    gain_children: int  # uncovered children under three this site would newly cover
    gain_population: int
    community_ids: tuple[int, ...]


def check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, int):
        raise DomainError("invalid_k", "新增机构数须为整数", field="k")
    if not 1 <= k <= MAX_K:
        raise DomainError("invalid_k", f"新增机构数须在 1–{MAX_K} 之间", field="k")
    return k


def _grid(lats: np.ndarray, lons: np.ndarray, step_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Centres of a square grid (step_m apart) over the points' bounding box."""
    mid_lat = float(lats.mean())
    dlat = step_m / 111_132.0
    dlon = step_m / (111_320.0 * np.cos(np.radians(mid_lat)))
    glat = np.arange(lats.min(), lats.max() + dlat, dlat)
    glon = np.arange(lons.min(), lons.max() + dlon, dlon)
    mesh_lat, mesh_lon = np.meshgrid(glat, glon, indexing="ij")
    return mesh_lat.ravel(), mesh_lon.ravel()


def suggest(
    data: DistrictData,
    distances_m: np.ndarray,
    k: int,
    radius_m: float,
    candidates: str = "communities",
    grid_m: float = 200.0,
    reach_m: float | None = None,
) -> list[Suggestion]:
    """Greedy sites for k new nurseries, covering communities farther than radius_m today.

    A candidate reaches the uncovered communities within reach_m of it in a straight line
    (default radius_m); the network mode passes its walking threshold as radius_m and the
    straight-line 5-minute radius as reach_m.
    """
    reach_m = radius_m if reach_m is None else reach_m
    k = check_k(k)
    if candidates not in ("communities", "grid"):
        raise DomainError("invalid_candidates", "候选点须为 小区中心 或 网格", field="candidates")
    if candidates == "grid" and not MIN_GRID_M <= grid_m <= MAX_GRID_M:
        raise DomainError(
            "invalid_grid", f"网格间距须在 {MIN_GRID_M}–{MAX_GRID_M} 米之间", field="grid_m"
        )
    uncovered = [c for c, d in zip(data.communities, distances_m, strict=True) if not d <= radius_m]
    if not uncovered:
        return []
    u_lat = np.array([c.lat for c in uncovered])
    u_lon = np.array([c.lon for c in uncovered])
    weight = np.array([c.children_under_3 for c in uncovered], dtype=np.int64)
    if candidates == "communities":
        c_lat, c_lon = u_lat, u_lon
        labels = [c.name for c in uncovered]
    else:
        c_lat, c_lon = _grid(u_lat, u_lon, grid_m)
        labels = [f"网格点 {la:.5f}, {lo:.5f}" for la, lo in zip(c_lat, c_lon, strict=True)]

    # Which uncovered communities each candidate reaches (chord query, then surface distance).
    tree = cKDTree(ecef(u_lat, u_lon))
    reach: list[np.ndarray] = []
    for i, members in enumerate(tree.query_ball_point(ecef(c_lat, c_lon), r=reach_m)):
        members = np.asarray(members, dtype=np.int64)
        if members.size:
            _, _, dist = GEOD.inv(
                np.full(members.size, c_lon[i]), np.full(members.size, c_lat[i]),
                u_lon[members], u_lat[members],
            )  # fmt: skip
            members = members[np.asarray(dist) <= reach_m]
        reach.append(members)

    done = np.zeros(len(uncovered), dtype=bool)
    chosen: list[Suggestion] = []
    for rank in range(1, k + 1):
        gains = np.array([weight[m[~done[m]]].sum() if m.size else 0 for m in reach])
        best = int(np.argmax(gains))
        if gains[best] <= 0:
            break  # nothing left to gain
        members = reach[best][~done[reach[best]]]
        done[members] = True
        chosen.append(
            Suggestion(
                rank=rank,
                lat=float(c_lat[best]),
                lon=float(c_lon[best]),
                label=labels[best],
                gain_children=int(weight[members].sum()),
                gain_population=int(sum(uncovered[i].population for i in members)),
                community_ids=tuple(int(uncovered[i].id) for i in members),
            )
        )
    return chosen
