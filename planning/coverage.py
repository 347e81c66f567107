"""Straight-line coverage: is any site within r metres of each point? (DESIGN §3.4, §7)

One KD-tree over the sites' Earth-centred (ECEF) coordinates answers a million points at once:
a chord is never longer than the geodesic, so a nearest-neighbour query bounded by the radius
finds every point that has a site within the geodesic radius; the nearest chord is then turned
into a surface distance (under a millimetre from the ellipsoidal geodesic at these ranges, see
maps.geo.surface_from_chord) and compared with the radius.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from maps.geo import _A, _E2, ecef


def _surface(chord: np.ndarray, lats: np.ndarray) -> np.ndarray:
    """maps.geo.surface_from_chord, vectorised over points."""
    sin_phi = np.sin(np.radians(lats))
    w2 = 1.0 - _E2 * sin_phi * sin_phi
    radius2 = _A * _A * (1.0 - _E2) / (w2 * w2)
    return chord + chord**3 / (24.0 * radius2)


class SiteTree:
    """A KD-tree over sites (nurseries), built once and queried for many point sets."""

    def __init__(self, lats, lons):
        self.lats = np.asarray(lats, dtype=float)
        self.lons = np.asarray(lons, dtype=float)
        self.tree = cKDTree(ecef(self.lats, self.lons)) if self.lats.size else None

    def nearest_m(self, lats, lons, max_m: float) -> tuple[np.ndarray, np.ndarray]:
        """(distance to the nearest site in metres — inf beyond max_m —, its index or -1)."""
        lats = np.asarray(lats, dtype=float)
        lons = np.asarray(lons, dtype=float)
        if self.tree is None or lats.size == 0:
            return np.full(lats.shape, np.inf), np.full(lats.shape, -1)
        chord, index = self.tree.query(
            ecef(lats, lons), k=1, distance_upper_bound=max_m * (1 + 1e-9), workers=-1
        )
        found = np.isfinite(chord)
        dist = np.full(lats.shape, np.inf)
        dist[found] = _surface(chord[found], lats[found])
        dist[dist > max_m] = np.inf
        index = np.where(np.isfinite(dist), index, -1)
        return dist, index

    def covered(self, lats, lons, radius_m: float) -> np.ndarray:
        """True where some site lies within radius_m (geodesic) of the point."""
        return np.isfinite(self.nearest_m(lats, lons, radius_m)[0])


def covered(point_lats, point_lons, site_lats, site_lons, radius_m: float) -> np.ndarray:
    return SiteTree(site_lats, site_lons).covered(point_lats, point_lons, radius_m)


def weighted_share(mask: np.ndarray, weights) -> float | None:
    """Share of the weight (e.g. population) where mask is True; None without any weight."""
    weights = np.asarray(weights, dtype=float)
    total = float(weights.sum())
    return float(weights[np.asarray(mask, dtype=bool)].sum() / total) if total > 0 else None
