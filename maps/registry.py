"""Reading the registry: one public nursery with its classes and offers."""

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from errors import NotFound
from extensions import db

from . import availability
from .domain import CARE_TYPES, CLASS_TYPES, NURSERY_KINDS, PRICE_UNITS, class_age_range
from .models import Nursery


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


def nursery_details(n: Nursery) -> dict:
    """The public details of a nursery, as the API and the page show them."""
    ages = sorted(n.admitted_months())
    free = availability.free_by_offer(n.offers, date.today())
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
                "price_yuan": float(o.price_yuan) if o.price_yuan is not None else None,
                "price_unit": o.price_unit,
                "price_unit_label": PRICE_UNITS.get(o.price_unit, o.price_unit),
                "capacity": o.capacity,
                "free_places": free[o.id],
                "sessions": o.session_list() if o.care_type == "half_day" else None,
            }
            for o in sorted(n.offers, key=lambda o: (list(CARE_TYPES).index(o.care_type), o.id))
        ],
    }
