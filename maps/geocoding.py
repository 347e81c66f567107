"""Turning what a parent types into a point: the local gazetteer, or a configured geopy geocoder."""

import json
import threading

from geopy.geocoders import get_geocoder_for_service
from sqlalchemy import func, select

from extensions import db

from .gazetteer import Gazetteer, Place
from .models import Community, Nursery, RegistryVersion, Street

_lock = threading.Lock()
_cached: tuple[object, Gazetteer] | None = None


def _places() -> list[Place]:
    places = [
        Place(c.name, "community", c.lat, c.lon, c.street.name if c.street else "")
        for c in db.session.scalars(select(Community).order_by(Community.id))
    ]
    # A street's point is the centre of its communities (streets carry no geometry of their own).
    centres = db.session.execute(
        select(Street.name, func.avg(Community.lat), func.avg(Community.lon))
        .join(Community, Community.street_id == Street.id)
        .group_by(Street.id, Street.name)
    )
    places += [Place(name, "street", lat, lon) for name, lat, lon in centres]
    places += [
        Place(n.name, "nursery", n.lat, n.lon, n.address)
        for n in db.session.scalars(
            select(Nursery).where(Nursery.filing_no.is_not(None)).order_by(Nursery.id)
        )
    ]
    return places


def gazetteer() -> Gazetteer:
    """The gazetteer of the current registry, rebuilt when the registry version changes."""
    global _cached
    version = db.session.scalar(select(RegistryVersion.version).where(RegistryVersion.id == 1))
    key = (str(db.engine.url), version)
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    with _lock:
        if _cached is None or _cached[0] != key:
            _cached = (key, Gazetteer(_places()))
        return _cached[1]


def geocoder(config):
    """The configured geocoder: the local gazetteer, or 'geopy:<service>' with its options."""
    name = config.get("GEOCODER", "gazetteer")
    if name == "gazetteer":
        return gazetteer()
    service = name.removeprefix("geopy:")
    return get_geocoder_for_service(service)(**json.loads(config.get("GEOCODER_OPTIONS") or "{}"))


def suggest(config, query: str, limit: int = 8) -> list[dict]:
    """Places matching what the user typed, best first, as plain dicts (WGS-84)."""
    coder = geocoder(config)
    if isinstance(coder, Gazetteer):
        return [
            {"name": p.name, "kind": p.kind, "lat": p.lat, "lon": p.lon, "address": p.address}
            for p in coder.search(query, limit=limit)
        ]
    found = coder.geocode(query, exactly_one=False, limit=limit) or []
    return [
        {
            "name": loc.address,
            "kind": "address",
            "lat": loc.latitude,
            "lon": loc.longitude,
            "address": loc.address,
        }
        for loc in found
    ]


def reset() -> None:
    """Forget the cached gazetteer (tests switch databases under one process)."""
    global _cached
    with _lock:
        _cached = None
