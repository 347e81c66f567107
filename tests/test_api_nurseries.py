"""The nursery, circles and places endpoints of the JSON API: every parameter, every bad input."""

import pytest

from maps.coords import wgs84_to_bd09, wgs84_to_gcj02
from maps.geo import GEOD

HOME = (29.6, 106.52)
URL = "/api/v1/nurseries"


def at(bearing, metres):
    lon, lat, _ = GEOD.fwd(HOME[1], HOME[0], bearing, metres)
    return {"lat": lat, "lon": lon}


@pytest.fixture
def three(make_nursery):
    return [
        make_nursery(**at(0, 200), name="近园", care={"full_day": (10, 2), "hourly": (4, 4)}),
        make_nursery(**at(90, 800), name="中园", inclusive=True, care={"half_day": (6, 1)}),
        make_nursery(
            **at(180, 3000), name="远园", kind="kindergarten_class", class_types=("older",)
        ),
    ]


def get(client, **params):
    return client.get(URL, query_string={"lat": HOME[0], "lon": HOME[1], **params})


def test_search_returns_the_contract_fields_sorted_by_distance(client, three):
    r = get(client)
    assert r.status_code == 200
    body = r.get_json()
    assert body["count"] == 3 and body["limit"] == 20 and body["offset"] == 0
    first = body["results"][0]
    assert set(first) >= {
        "id",
        "name",
        "address",
        "lat",
        "lon",
        "distance_m",
        "walk_minutes",
        "within_5min",
        "within_15min",
        "kind",
        "inclusive",
        "care_types",
        "free_places",
    }
    assert [x["id"] for x in body["results"]] == three
    assert first["distance_m"] == pytest.approx(200, abs=0.1)
    assert first["free_places"] == {"full_day": 8, "hourly": 0}
    assert (first["within_5min"], first["within_15min"]) == (True, True)
    assert first["lat"] == pytest.approx(at(0, 200)["lat"])


@pytest.mark.parametrize(("within", "expected"), [("5", 1), ("15", 2), ("5000", 3), ("250", 1)])
def test_within_takes_minutes_or_metres(client, three, within, expected):
    assert get(client, within=within).get_json()["count"] == expected


def test_filters_care_type_age_inclusive_free(client, three):
    ids = lambda r: [x["id"] for x in r.get_json()["results"]]  # noqa: E731
    assert ids(get(client, care_type="half_day")) == [three[1]]
    assert ids(get(client, inclusive=1)) == [three[1]]
    assert ids(get(client, age_months=30)) == [three[2]]
    assert ids(get(client, free=1, care_type="hourly")) == []
    assert ids(get(client, free=1)) == three


def test_limit_and_offset_page_the_results(client, three):
    r = get(client, limit=1, offset=1).get_json()
    assert r["count"] == 3 and [x["id"] for x in r["results"]] == [three[1]]


@pytest.mark.parametrize("coordsys", ["gcj02", "bd09"])
def test_points_in_chinese_map_systems_are_converted_before_searching(client, three, coordsys):
    convert = wgs84_to_gcj02 if coordsys == "gcj02" else wgs84_to_bd09
    lat, lon = convert(*HOME)
    body = client.get(URL, query_string={"lat": lat, "lon": lon, "coordsys": coordsys}).get_json()
    assert body["results"][0]["distance_m"] == pytest.approx(200, abs=0.5)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": None}, "lat"),
        ({"lon": None}, "lon"),
        ({"lat": "abc"}, "lat"),
        ({"lat": "nan"}, "lat"),
        ({"lon": "inf"}, "lon"),
        ({"lat": "91"}, "lat"),
        ({"lat": "-90.5"}, "lat"),
        ({"lon": "180.01"}, "lon"),
        ({"coordsys": "mercator"}, "coordsys"),
        ({"within": "-5"}, "within"),
        ({"within": "0"}, "within"),
        ({"within": "1e9"}, "within"),
        ({"within": "far"}, "within"),
        ({"care_type": "overnight"}, "care_type"),
        ({"age_months": "37"}, "age_months"),
        ({"age_months": "-1"}, "age_months"),
        ({"age_months": "1.5"}, "age_months"),
        ({"limit": "0"}, "limit"),
        ({"limit": "501"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"inclusive": "yes"}, "inclusive"),
        ({"free": "2"}, "free"),
    ],
)
def test_bad_parameters_are_refused_with_a_json_error(client, three, params, field):
    query = {"lat": HOME[0], "lon": HOME[1], **params}
    query = {k: v for k, v in query.items() if v is not None}
    r = client.get(URL, query_string=query)
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["field"] == field
    assert error["message"]


def test_limit_500_is_the_largest_accepted(client, three):
    assert get(client, limit=500).status_code == 200


def test_nursery_details_include_offers_with_prices_and_free_places(client, three):
    r = client.get(f"{URL}/{three[0]}")
    assert r.status_code == 200
    body = r.get_json()
    assert body["name"] == "近园" and body["filing_no"]
    offers = {o["care_type"]: o for o in body["offers"]}
    assert offers["full_day"]["price_yuan"] == 1800.0
    assert offers["full_day"]["free_places"] == 8
    assert offers["hourly"]["free_places"] == 0
    assert body["classes"][0]["class_type"] == "toddler"


def test_unknown_or_unfiled_nursery_is_404(client, make_nursery):
    hidden = make_nursery(filed=False)
    for nid in (hidden, 99999):
        r = client.get(f"{URL}/{nid}")
        assert r.status_code == 404
        assert r.get_json()["error"]["code"] == "nursery_not_found"


def test_circles_report_coverage_and_members(client, three):
    body = client.get("/api/v1/circles", query_string={"lat": HOME[0], "lon": HOME[1]}).get_json()
    assert body["radius_m"] == {"5": 300.0, "15": 1000.0}
    assert body["covered_5min"] is True and body["covered_15min"] is True
    assert [x["id"] for x in body["within_5min"]] == [three[0]]
    assert [x["id"] for x in body["within_15min"]] == three[:2]
    r = client.get("/api/v1/circles", query_string={"lat": "x", "lon": 1})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "lat"


def test_circle_radii_come_from_configuration(app, three):
    app.config.update(CIRCLE_5MIN_M=100.0, CIRCLE_15MIN_M=250.0)
    body = app.test_client().get("/api/v1/circles", query_string={"lat": HOME[0], "lon": HOME[1]})
    body = body.get_json()
    assert body["radius_m"] == {"5": 100.0, "15": 250.0}
    assert body["covered_5min"] is False and [x["id"] for x in body["within_15min"]] == [three[0]]


def test_places_look_up_nurseries_by_name_and_refuse_empty_queries(client, three):
    r = client.get("/api/v1/places", query_string={"q": "近园"})
    assert r.status_code == 200 and r.get_json()["results"][0]["name"] == "近园"
    assert client.get("/api/v1/places", query_string={"q": " "}).status_code == 400
    assert client.get("/api/v1/places", query_string={"q": "园" * 101}).status_code == 400


def test_unknown_api_paths_and_methods_answer_json(client):
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.get_json()["error"]["message"]
    r = client.delete(URL)
    assert r.status_code == 405 and "error" in r.get_json()


def test_openapi_document_describes_the_contract(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/nurseries", "/nurseries/{nursery_id}", "/circles", "/auth/token"):
        assert path in spec["paths"]
    names = {p["name"] for p in spec["paths"]["/nurseries"]["get"]["parameters"]}
    assert names >= {
        "lat",
        "lon",
        "coordsys",
        "within",
        "care_type",
        "age_months",
        "inclusive",
        "free",
        "limit",
        "offset",
    }


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nurseries/99999999999999999999",
        "/nurseries/99999999999999999999",
        "/api/v1/nurseries/2147483648",
    ],
)
def test_ids_too_large_for_the_database_are_not_found(client, path):
    r = client.get(path)
    assert r.status_code == 404


def test_circles_come_with_their_geodesic_outlines(client, three):
    from maps.geo import distance_m

    body = client.get("/api/v1/circles", query_string={"lat": HOME[0], "lon": HOME[1]}).get_json()
    for key, radius in (("5", 300), ("15", 1000)):
        ring = body["circles"][key]["coordinates"][0]
        assert body["circles"][key]["type"] == "Polygon" and len(ring) > 30
        for lon, lat in ring:
            assert distance_m(HOME[0], HOME[1], lat, lon) == pytest.approx(radius, abs=0.05)
