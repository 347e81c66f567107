"""The per-process spatial index of public nurseries.

A KD-tree over Earth-centred coordinates answers "within r metres" and "nearest k" in
microseconds. Distances come from the straight chord between the points, converted to the
distance along the surface (agreeing with the ellipsoidal geodesic to well under a millimetre at
these ranges; the search recomputes the page it returns with pyproj's exact geodesic). Each
process builds its own index from the database and rebuilds it when the registry version it was
built at is no longer the current one, so every gunicorn worker sees a change on its next request.
"""

import threading
from dataclasses import dataclass, field

import numpy as np
from scipy.spatial import cKDTree

from .geo import ecef, ecef_point, surface_from_chord

# Floating-point slack so a point placed exactly on a circle counts as inside it.
BOUNDARY_EPS_M = 1e-6
CARE_BITS = {"full_day": 1, "half_day": 2, "hourly": 4, "temporary": 8}


@dataclass(frozen=True)
class IndexedNursery:
    """The searchable, rarely changing facts of one public nursery."""

    id: int
    name: str
    address: str
    lat: float
    lon: float
    kind: str
    inclusive: bool
    care_types: tuple[str, ...]
    months: frozenset[int] = field(default_factory=frozenset)  # ages admitted, in months


class NurseryIndex:
    """An immutable index over a snapshot of the registry."""

    def __init__(self, version, nurseries: list[IndexedNursery]):
        self.version = version
        self.nurseries = nurseries
        n = len(nurseries)
        self.ids = np.fromiter((x.id for x in nurseries), dtype=np.int64, count=n)
        self.lats = np.fromiter((x.lat for x in nurseries), dtype=float, count=n)
        self.lons = np.fromiter((x.lon for x in nurseries), dtype=float, count=n)
        self.inclusive = np.fromiter((x.inclusive for x in nurseries), dtype=bool, count=n)
        self.care_bits = np.fromiter(
            (sum(CARE_BITS[c] for c in x.care_types) for x in nurseries), dtype=np.int64, count=n
        )
        self.age_bits = np.fromiter(
            (sum(1 << m for m in x.months) for x in nurseries), dtype=np.uint64, count=n
        )
        self.position = {int(i): k for k, i in enumerate(self.ids)}
        self.tree = cKDTree(ecef(self.lats, self.lons)) if n else None

    def __len__(self) -> int:
        return len(self.nurseries)

    def filter_mask(
        self,
        care_type: str | None = None,
        age_months: int | None = None,
        inclusive_only: bool = False,
        only_ids: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """Boolean mask of nurseries passing the filters, or None when nothing filters."""
        mask = None

        def both(a, b):
            return b if a is None else a & b

        if care_type is not None:
            mask = both(mask, (self.care_bits & CARE_BITS[care_type]) != 0)
        if age_months is not None:
            mask = both(mask, (self.age_bits & np.uint64(1 << age_months)) != 0)
        if inclusive_only:
            mask = both(mask, self.inclusive)
        if only_ids is not None:
            mask = both(mask, np.isin(self.ids, only_ids))
        return mask

    def within(self, lat: float, lon: float, radius_m: float, mask=None):
        """Positions and surface distances of nurseries within radius_m, nearest first."""
        positions, dist = self._within_unsorted(lat, lon, radius_m, mask)
        order = np.lexsort((self.ids[positions], dist))
        return positions[order], dist[order]

    def within_page(self, lat: float, lon: float, radius_m: float, stop: int, mask=None):
        """(how many lie within radius_m, positions and distances of the nearest `stop`).

        Sorts only what a page needs: in a dense city a 1 km circle can hold hundreds.
        """
        positions, dist = self._within_unsorted(lat, lon, radius_m, mask)
        count = int(positions.size)
        if count > stop > 0:
            nearest = np.argpartition(dist, stop - 1)[:stop]
            positions, dist = positions[nearest], dist[nearest]
        order = np.lexsort((self.ids[positions], dist))[: max(stop, 0)]
        return count, positions[order], dist[order]

    def _within_unsorted(self, lat: float, lon: float, radius_m: float, mask):
        if self.tree is None:
            return np.empty(0, dtype=np.int64), np.empty(0)
        point = ecef_point(lat, lon)
        # A chord is never longer than the surface distance: the chord ball holds every answer.
        candidates = np.asarray(
            self.tree.query_ball_point(point, radius_m, return_sorted=False), dtype=np.int64
        )
        if mask is not None and candidates.size:
            candidates = candidates[mask[candidates]]
        dist = surface_from_chord(self._chords(candidates, point), lat)
        keep = dist <= radius_m + BOUNDARY_EPS_M
        return candidates[keep], dist[keep]

    def _chords(self, positions: np.ndarray, point) -> np.ndarray:
        diff = self.tree.data.take(positions, axis=0)
        diff -= point
        return np.sqrt(np.einsum("ij,ij->i", diff, diff))

    def nearest(self, lat: float, lon: float, k: int, mask=None):
        """Positions and surface distances of the k nearest nurseries passing the mask."""
        n = len(self)
        if self.tree is None or k <= 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        point = ecef_point(lat, lon)
        k = min(k, n if mask is None else int(mask.sum()))
        if k == 0:
            return np.empty(0, dtype=np.int64), np.empty(0)
        ask = k
        while True:
            # Ask the tree for more neighbours until k of them pass the filters. Chord order is
            # surface-distance order (the conversion is monotonic).
            ask = min(ask, n)
            chords, found = self.tree.query(point, k=ask)
            chords, found = np.atleast_1d(chords), np.atleast_1d(found)
            if mask is not None:
                passing = mask[found]
                chords, found = chords[passing], found[passing]
            if found.size >= k or ask == n:
                break
            ask *= 4
        return found[:k].astype(np.int64), surface_from_chord(chords[:k], lat)


_lock = threading.Lock()
_current: NurseryIndex | None = None


def current_index(version, load) -> NurseryIndex:
    """This process's index at the given registry version; load() builds a new one if stale.

    The version is any comparable key; callers include the database so that a process that
    talks to several databases (the tests) never mixes their indexes.
    """
    global _current
    index = _current
    if index is not None and index.version == version:
        return index
    with _lock:
        if _current is None or _current.version != version:
            _current = NurseryIndex(version, load())
        return _current


def reset() -> None:
    """Forget the index (tests switch databases under one process)."""
    global _current
    with _lock:
        _current = None
