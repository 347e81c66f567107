"""Shared set-up for booking tests: a nursery with offers, parents with children."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from booking.rules import add_months
from extensions import db
from maps.models import Nursery, NurseryClass, Offer, bump_registry_version

NOW = datetime(2026, 11, 23, 9, 0)  # a Monday
TODAY = NOW.date()


def birth_for(months: int, on: date = TODAY) -> date:
    """A birth date making a child `months` old (plus 10 days) on a date."""
    return add_months(on, -months) - timedelta(days=10)


def make_bookable_nursery(capacity=2, kind="private", inclusive=False, offers=None) -> int:
    """A filed nursery open 08:00–17:00 with toddler+older classes and four care types, each
    with `capacity` places in each class (so the four care types fit the classes' places)."""
    nursery = Nursery(
        name="测试托育园",
        address="测试路1号",
        kind=kind,
        inclusive=inclusive,
        filing_no=f"测备-{datetime.now().timestamp()}",
        lat=29.6,
        lon=106.52,
        opens_at=time(8, 0),
        closes_at=time(17, 0),
        capacity=30,
    )
    classes = [("toddler", 15, 3), ("older", 20, 3)]
    if kind == "kindergarten_class":
        classes = [("older", 20, 3)]
    for class_type, cap, carers in classes:
        nursery.classes.append(
            NurseryClass(class_type=class_type, name=class_type, carers=carers, capacity=cap)
        )
    for care_type, unit, price in offers or [
        ("full_day", "month", "1800"),
        ("half_day", "month", "1000"),
        ("hourly", "hour", "40"),
        ("temporary", "day", "200"),
    ]:
        for class_type, _cap, _carers in classes:
            nursery.offers.append(
                Offer(
                    care_type=care_type,
                    class_type=class_type,
                    price_unit=unit,
                    price_yuan=Decimal(price),
                    capacity=capacity,
                )
            )
    db.session.add(nursery)
    bump_registry_version()
    db.session.commit()
    return nursery.id
