"""Local gazetteer geocoder for the district's communities, streets and nurseries.

``Gazetteer`` implements geopy's geocoder interface (``geocode`` / ``reverse``
returning :class:`geopy.location.Location`) over an in-memory list of
:class:`Place` records, so production code can swap in a real geopy geocoder
without changing call sites.  It never touches the network: the base
``Geocoder`` is given an adapter that refuses every request.

Matching works on Chinese names and addresses as well as on pinyin typed with a
Latin keyboard, e.g. ``"龙湖"``, ``"双龙街道"``, ``"longhu"`` or ``"lh"``.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from geopy.adapters import BaseSyncAdapter
from geopy.distance import geodesic
from geopy.geocoders.base import Geocoder
from geopy.location import Location
from geopy.point import Point
from pypinyin import Style, lazy_pinyin

__all__ = [
    "KINDS",
    "MAX_QUERY_LENGTH",
    "REVERSE_RADIUS_M",
    "Gazetteer",
    "Place",
    "normalise",
    "pinyin_keys",
]

#: Place kinds, in tie-break order (earlier wins).
KINDS: tuple[str, ...] = ("community", "street", "nursery")
#: Queries longer than this (in characters, before normalisation) return nothing.
MAX_QUERY_LENGTH = 100
#: ``reverse`` only returns places within this many metres of the point.
REVERSE_RADIUS_M = 2000.0

_KIND_RANK = {kind: rank for rank, kind in enumerate(KINDS)}

# Match tiers, best first.
(
    _EXACT,
    _PREFIX,
    _NAME_SUBSTRING,
    _ADDRESS_SUBSTRING,
    _PINYIN_PREFIX,
    _PINYIN_SUBSTRING,
    _INITIALS,
) = range(7)


@dataclass(frozen=True)
class Place:
    """A named point in the gazetteer."""

    name: str
    kind: str  # "community" | "street" | "nursery"
    lat: float  # WGS-84
    lon: float  # WGS-84
    address: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not normalise(self.name):
            raise ValueError(f"place name must be a non-empty string, got {self.name!r}")
        if self.kind not in _KIND_RANK:
            raise ValueError(f"place kind must be one of {KINDS}, got {self.kind!r}")
        if not isinstance(self.address, str):
            raise ValueError(f"place address must be a string, got {self.address!r}")
        for label, value, bound in (("lat", self.lat, 90.0), ("lon", self.lon, 180.0)):
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
                or abs(value) > bound
            ):
                raise ValueError(
                    f"{self.name}: {label} must be a finite degree value, got {value!r}"
                )


def normalise(text: str) -> str:
    """NFKC-normalise, lowercase and drop whitespace, punctuation and control characters.

    >>> normalise(" 龙湖·花园（一期） ")
    '龙湖花园一期'
    >>> normalise("ＬＯＮＧ Hu")
    'longhu'
    """
    text = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def _fold_v(text: str) -> str:
    # pypinyin spells ü as "v" (绿 -> "lv"); people also type "lu".  "v" is not
    # otherwise used in Hanyu Pinyin, so folding both sides to "u" is safe.
    return text.replace("v", "u")


def _syllables(normalised: str) -> list[str]:
    return lazy_pinyin(normalised, style=Style.NORMAL, errors="default")


def pinyin_keys(text: str) -> tuple[str, str]:
    """Return ``(full_pinyin, initials)`` for *text*, toneless and normalised.

    >>> pinyin_keys("龙湖小区")
    ('longhuxiaoqu', 'lhxq')
    """
    norm = normalise(text)
    full = "".join(_syllables(norm))
    initials = "".join(lazy_pinyin(norm, style=Style.FIRST_LETTER, errors="default"))
    return full, initials


@dataclass(frozen=True)
class _Entry:
    place: Place
    name: str  # normalised
    address: str  # normalised
    pinyin: str  # full toneless pinyin, "v" folded to "u"
    initials: str
    boundaries: frozenset[int]  # offsets in ``pinyin`` where a syllable starts
    order: tuple[int, int, str]  # tie-break: kind, name length, name

    @classmethod
    def build(cls, place: Place) -> _Entry:
        name = normalise(place.name)
        syllables = [_fold_v(s) for s in _syllables(name)]
        boundaries, offset = set(), 0
        for syllable in syllables:
            boundaries.add(offset)
            offset += len(syllable)
        initials = "".join(lazy_pinyin(name, style=Style.FIRST_LETTER, errors="default"))
        return cls(
            place=place,
            name=name,
            address=normalise(place.address),
            pinyin="".join(syllables),
            initials=initials,
            boundaries=frozenset(boundaries),
            order=(_KIND_RANK[place.kind], len(place.name), place.name),
        )

    def tier(self, query: str, latin: bool) -> int | None:
        """Best match tier of the normalised *query* against this entry, or None."""
        if self.name == query:
            return _EXACT
        if self.name.startswith(query):
            return _PREFIX
        if query in self.name:
            return _NAME_SUBSTRING
        if query in self.address:
            return _ADDRESS_SUBSTRING
        if not latin:
            return None
        folded = _fold_v(query)
        if self.pinyin.startswith(folded):
            return _PINYIN_PREFIX
        # Substrings must start on a syllable boundary ("huayuan" in
        # "longhuhuayuan" but not "nghu"), which avoids junk cross-syllable hits.
        start = self.pinyin.find(folded, 1)
        while start != -1:
            if start in self.boundaries:
                return _PINYIN_SUBSTRING
            start = self.pinyin.find(folded, start + 1)
        if self.initials.startswith(query):
            return _INITIALS
        return None


class _OfflineAdapter(BaseSyncAdapter):
    """A geopy adapter that refuses to make HTTP requests."""

    def get_json(self, url, *, timeout, headers):
        raise RuntimeError(f"Gazetteer is offline; refusing to fetch {url!r}")

    def get_text(self, url, *, timeout, headers):
        raise RuntimeError(f"Gazetteer is offline; refusing to fetch {url!r}")


class Gazetteer(Geocoder):
    """In-memory geocoder over a fixed list of places (no network)."""

    def __init__(self, places: Iterable[Place]):
        super().__init__(
            scheme="https",
            timeout=None,
            proxies=None,
            user_agent="tuoyu-gazetteer",
            ssl_context=None,
            adapter_factory=_OfflineAdapter,
        )
        self._entries = tuple(_Entry.build(place) for place in places)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"<Gazetteer: {len(self._entries)} places>"

    @property
    def places(self) -> tuple[Place, ...]:
        return tuple(entry.place for entry in self._entries)

    def search(self, query: str, limit: int = 10) -> list[Place]:
        """Places matching *query*, best first, at most *limit* of them.

        Tiers: exact name > name prefix > name substring > address substring >
        full-pinyin prefix > full-pinyin substring (syllable-aligned) >
        pinyin-initials prefix.
        Pinyin tiers only apply to Latin (ASCII) queries.  Ties: kind
        (community, street, nursery), then shorter name, then name.
        """
        if not isinstance(query, str) or len(query) > MAX_QUERY_LENGTH or limit < 1:
            return []
        q = normalise(query)
        if not q:
            return []
        latin = q.isascii()
        ranked = []
        for entry in self._entries:
            tier = entry.tier(q, latin)
            if tier is not None:
                ranked.append(((tier, *entry.order), entry.place))
        ranked.sort(key=lambda item: item[0])
        return [place for _, place in ranked[:limit]]

    @staticmethod
    def _location(place: Place, **extra) -> Location:
        if place.address and place.address != place.name:
            display = f"{place.name}, {place.address}"
        else:
            display = place.name
        raw = {
            "name": place.name,
            "kind": place.kind,
            "lat": place.lat,
            "lon": place.lon,
            "address": place.address,
            **extra,
        }
        return Location(display, (place.lat, place.lon), raw)

    def geocode(self, query, *, exactly_one=True, limit=None, **kwargs):
        """Geocode *query* like a geopy geocoder.

        Returns a :class:`Location` (``exactly_one=True``), a non-empty list of
        them, or ``None`` when nothing matches.  Extra geopy keyword arguments
        such as ``timeout`` are accepted and ignored.
        """
        if exactly_one:
            n = 1
        elif limit is None:
            n = len(self._entries)
        else:
            n = int(limit)
        places = self.search(query, limit=n)
        if not places:
            return None
        locations = [self._location(place) for place in places]
        return locations[0] if exactly_one else locations

    def reverse(self, query, *, exactly_one=True, **kwargs):
        """Nearest place(s) within :data:`REVERSE_RADIUS_M` of a ``(lat, lon)`` point.

        *query* may be a :class:`geopy.point.Point`, a ``(lat, lon)`` pair or a
        ``"lat, lon"`` string.  With ``exactly_one=False`` all places in range
        are returned, nearest first.  Returns ``None`` when none are in range.
        """
        point = query if isinstance(query, Point) else Point(query)
        in_range = []
        for entry in self._entries:
            place = entry.place
            metres = geodesic((point.latitude, point.longitude), (place.lat, place.lon)).meters
            if metres <= REVERSE_RADIUS_M:
                in_range.append(((metres, *entry.order), place))
        if not in_range:
            return None
        in_range.sort(key=lambda item: item[0])
        locations = [self._location(place, distance_m=key[0]) for key, place in in_range]
        return locations[0] if exactly_one else locations
