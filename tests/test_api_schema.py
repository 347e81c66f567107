"""Property-based checks of the JSON API against its own OpenAPI description (schemathesis).

Schemathesis generates valid and invalid requests for every operation in /api/v1/openapi.json
and sends them to the real Flask app in-process (WSGI, no network), on a SQLite registry with a
few nurseries. Every response must avoid a 5xx, use a documented status code and match the
documented schema.

`schema.parametrize()` needs the schema when the module is imported, so the app is built here at
module level on a temporary SQLite file rather than through the `sqlite_app` fixture.
"""

from decimal import Decimal

import pytest
import schemathesis

from extensions import db
from tests.schema_support import (
    CHECKS,
    build_app,
    fuzz_settings,
    module_app_fixture,
    seeded_nursery,
)

SEED = 20240601

# Nurseries around central Chongqing: (lat, lon, kind, inclusive, {care_type: (capacity, taken)},
# class types, filed). The last one is unfiled, so its details are a 404 like unknown ids.
FULL = {"full_day": (30, 30), "half_day": (10, 2)}
NURSERIES = [
    (29.600, 106.520, "private", False, {"full_day": (20, 5)}, ("toddler",), True),
    (29.603, 106.522, "public", True, FULL, ("older",), True),
    (29.610, 106.530, "community", True, {"hourly": (8, 0)}, ("infant", "toddler"), True),
    (29.650, 106.560, "kindergarten_class", False, {"full_day": (25, 25)}, ("older",), True),
    (29.598, 106.518, "family", False, {"temporary": (5, 1)}, ("toddler",), True),
    (29.601, 106.521, "private", False, {"full_day": (15, 3)}, ("toddler",), False),
]


def _seed_registry():
    from accounts.services import create_user
    from maps.models import (
        Community,
        NurseryClass,
        Offer,
        PlaceCounter,
        Street,
        bump_registry_version,
    )

    street = Street(code="500108001", name="南坪街道")
    db.session.add(street)
    for name, lat, lon in [("阳光花园", 29.601, 106.519), ("江南小区", 29.605, 106.525)]:
        db.session.add(
            Community(
                name=name, street=street, lat=lat, lon=lon, population=3000, children_under_3=90
            )
        )
    for n, (lat, lon, kind, inclusive, care, class_types, filed) in enumerate(NURSERIES, 1):
        capacity = sum(cap for cap, _ in care.values())
        nursery = seeded_nursery(n, lat, lon, kind, inclusive, filed, street, capacity)
        for class_type in class_types:
            nursery.classes.append(
                NurseryClass(class_type=class_type, name=f"{class_type}班", carers=3, capacity=10)
            )
        offers = {}
        for care_type, (capacity, _) in care.items():
            offers[care_type] = Offer(
                care_type=care_type,
                price_yuan=Decimal("1800"),
                price_unit="month",
                capacity=capacity,
            )
            nursery.offers.append(offers[care_type])
        db.session.add(nursery)
        db.session.flush()
        for care_type, (capacity, taken) in care.items():
            if taken and care_type == "full_day":  # places held by bookings made elsewhere
                db.session.add(
                    PlaceCounter(
                        offer_id=offers[care_type].id, slot="enrol", capacity=capacity, taken=taken
                    )
                )
    bump_registry_version()
    db.session.commit()
    # An account, so that /auth/register can run into a taken name and /auth/token a real one.
    create_user("parent", "parent-demo", "secret-pass-1")


APP = build_app("api-schema", _seed_registry)
schema = schemathesis.openapi.from_wsgi(
    "/api/v1/openapi.json", APP, config=schemathesis.Config(seed=SEED)
)


_schema_app = module_app_fixture(APP)


@schema.parametrize()
@fuzz_settings
def test_api_conforms_to_its_openapi_description(case):
    case.call_and_validate(checks=CHECKS)


# Random points rarely land near the seeded nurseries, so these requests make sure that hits
# inside the 5- and 15-minute circles, filters and found places go through the same checks.
REALISTIC = [
    ("/nurseries", {"lat": 29.6, "lon": 106.52}),
    ("/nurseries", {"lat": 29.6, "lon": 106.52, "within": "5"}),
    ("/nurseries", {"lat": 29.6, "lon": 106.52, "within": "15", "inclusive": 1, "free": 1}),
    ("/nurseries", {"lat": 29.6, "lon": 106.52, "within": "3000", "care_type": "full_day"}),
    ("/nurseries", {"lat": 29.6, "lon": 106.52, "age_months": 30, "limit": 2, "offset": 1}),
    ("/nurseries", {"lat": 29.597, "lon": 106.524, "coordsys": "gcj02", "within": "15"}),
    ("/nurseries", {"lat": 29.606, "lon": 106.531, "coordsys": "bd09"}),
    ("/circles", {"lat": 29.6, "lon": 106.52}),
    ("/circles", {"lat": 29.597, "lon": 106.524, "coordsys": "gcj02"}),
    ("/places", {"q": "阳光"}),
    ("/places", {"q": "南坪", "limit": 3}),
    ("/places", {"q": "测试托育园"}),
]


@pytest.mark.parametrize(("path", "query"), REALISTIC)
def test_requests_near_the_seeded_nurseries_conform(path, query):
    response = schema[path]["GET"].Case(query=query).call_and_validate(checks=CHECKS)
    assert response.status_code == 200
    body = response.json()
    found = body.get("results") or body.get("within_15min")
    assert found, f"expected matches near the seeded nurseries, got {body}"


@pytest.mark.parametrize(("nursery_id", "status"), [(1, 200), (2, 200), (4, 200), (6, 404)])
def test_nursery_details_conform(nursery_id, status):
    """Filed nurseries have details; the unfiled one (id 6) is a documented 404."""
    operation = schema["/nurseries/{nursery_id}"]["GET"]
    case = operation.Case(path_parameters={"nursery_id": nursery_id})
    assert case.call_and_validate(checks=CHECKS).status_code == status
