"""The booking endpoints of the JSON API, and who may see what."""

from datetime import date, timedelta

import pytest

from tests.booking_helpers import birth_for, make_bookable_nursery

START = (date.today() + timedelta(days=7)).isoformat()


@pytest.fixture
def api(app, client, make_user):
    """Tokens for two parents and the staff of two nurseries, and the nurseries' ids."""
    return make_api_world(app, client, make_user)


def make_api_world(app, client, make_user) -> dict:
    with app.app_context():
        mine = make_bookable_nursery(capacity=1)
        other = make_bookable_nursery(capacity=1)
    users = {
        "p1": make_user("parent"),
        "p2": make_user("parent"),
        "staff": make_user("nursery_staff", nursery_id=mine),
        "other_staff": make_user("nursery_staff", nursery_id=other),
        "handler": make_user("handler", department_code="health"),
    }
    tokens = {}
    for key, (username, password) in users.items():
        r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        tokens[key] = {"Authorization": f"Bearer {r.get_json()['token']}"}
    return {"tokens": tokens, "mine": mine, "other": other}


def add_child(client, headers, months=20, **extra):
    body = {
        "name": "小雨",
        "birth_date": birth_for(months, date.today()).isoformat(),
        "guardian_consent": True,
        **extra,
    }
    r = client.post("/api/v1/children", json=body, headers=headers)
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def book(client, headers, child, nursery, **extra):
    body = {
        "child_id": child,
        "nursery_id": nursery,
        "care_type": "full_day",
        "start_date": START,
        "share_consent": True,
        **extra,
    }
    return client.post("/api/v1/bookings", json=body, headers=headers)


def test_the_whole_flow_through_the_api(client, api):
    t = api["tokens"]
    kid1 = add_child(client, t["p1"])
    kid2 = add_child(client, t["p2"])
    first = book(client, t["p1"], kid1, api["mine"])
    assert first.status_code == 201
    assert first.get_json()["status"] == "pending" and first.get_json()["waitlist_position"] is None
    second = book(client, t["p2"], kid2, api["mine"]).get_json()
    assert (second["status"], second["waitlist_position"]) == ("waitlisted", 1)
    # The nursery sees both, with the child's data it was given consent for.
    listed = client.get("/api/v1/nursery/bookings", headers=t["staff"]).get_json()["results"]
    assert {b["id"] for b in listed} == {first.get_json()["id"], second["id"]}
    assert listed[0]["child"]["name"] == "小雨"
    # Declining the first offers the place to the second family, who accepts.
    r = client.post(
        f"/api/v1/nursery/bookings/{first.get_json()['id']}/decline",
        json={"reason": "暂不招收"},
        headers=t["staff"],
    )
    assert r.status_code == 200 and r.get_json()["status"] == "declined"
    mine = client.get("/api/v1/bookings", headers=t["p2"]).get_json()["results"]
    assert mine[0]["status"] == "offered" and mine[0]["offer_expires_at"]
    r = client.post(f"/api/v1/bookings/{second['id']}/accept", headers=t["p2"])
    assert r.get_json()["status"] == "pending"
    r = client.post(f"/api/v1/nursery/bookings/{second['id']}/confirm", headers=t["staff"])
    assert r.get_json()["status"] == "confirmed"
    inbox = client.get("/api/v1/inbox", headers=t["p2"]).get_json()["results"]
    assert any("已由机构确认" in n["text"] for n in inbox)
    occupancy = client.get("/api/v1/nursery/occupancy", headers=t["staff"]).get_json()
    full_day = next(r for r in occupancy["rows"] if r["care_type"] == "full_day")
    assert (full_day["capacity"], full_day["weeks"][1]["held"]) == (1, 1.0)


def test_capacity_and_price_through_put_offer(client, api):
    t = api["tokens"]
    r = client.put(
        "/api/v1/nursery/offers/full_day",
        json={"capacity": 5, "price_yuan": 1650, "class_type": "toddler"},
        headers=t["staff"],
    )
    assert r.status_code == 200 and r.get_json()["capacity"] == 5
    detail = client.get(f"/api/v1/nurseries/{api['mine']}").get_json()
    full = next(o for o in detail["offers"] if o["care_type"] == "full_day")
    assert (full["capacity"], full["price_yuan"], full["free_places"]) == (5, 1650.0, 5)
    for body, status, field in (
        ({"capacity": -1, "price_yuan": 1}, 400, "capacity"),
        ({"capacity": 2, "price_yuan": "abc"}, 400, "price_yuan"),
        ({"capacity": 2, "price_yuan": 1}, 400, "class_type"),  # every place is in a class
        ({"capacity": 999, "price_yuan": 1, "class_type": "toddler"}, 409, "capacity"),
    ):
        r = client.put("/api/v1/nursery/offers/full_day", json=body, headers=t["staff"])
        assert r.status_code == status and r.get_json()["error"]["field"] == field
    assert (
        client.put(
            "/api/v1/nursery/offers/nightly",
            json={"capacity": 1, "price_yuan": 1},
            headers=t["staff"],
        ).status_code
        == 400
    )


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"share_consent": False}, "share_consent_required"),
        ({"start_date": "2026/12/01"}, "invalid_date"),
        ({"start_date": None}, "invalid_date"),
        ({"care_type": "hourly", "start_time": "09:30", "end_time": "11:00"}, "not_whole_hour"),
        ({"care_type": "hourly", "start_time": "9", "end_time": "11:00"}, "invalid_time"),
        ({"care_type": "half_day", "session": "evening"}, "invalid_session"),
        ({"nursery_id": "abc"}, "invalid_id"),
        ({"child_id": -3}, "invalid_id"),
        ({"care_type": 7}, "invalid_care_type"),
    ],
)
def test_bad_booking_requests_get_a_code_and_a_chinese_message(client, api, extra, code):
    kid = add_child(client, api["tokens"]["p1"])
    r = book(client, api["tokens"]["p1"], kid, api["mine"], **extra)
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == code and r.get_json()["error"]["message"]
    assert client.get("/api/v1/bookings", headers=api["tokens"]["p1"]).get_json()["count"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "birth_date": "2026-01-01"},
        {"name": "", "birth_date": "2025-01-01", "guardian_consent": True},
        {"name": "x", "birth_date": "someday", "guardian_consent": True},
        {"name": "x", "birth_date": "2099-01-01", "guardian_consent": True},
    ],
)
def test_bad_child_registrations_are_refused(client, api, body):
    r = client.post("/api/v1/children", json=body, headers=api["tokens"]["p1"])
    assert r.status_code == 400 and r.get_json()["error"]["message"]


def test_each_role_sees_only_its_own_data(client, api):
    t = api["tokens"]
    kid = add_child(client, t["p1"])
    booking = book(client, t["p1"], kid, api["mine"]).get_json()["id"]
    # Another parent: not the child, not the booking.
    assert book(client, t["p2"], kid, api["mine"]).status_code == 404
    assert client.get(f"/api/v1/bookings/{booking}", headers=t["p2"]).status_code == 404
    assert client.post(f"/api/v1/bookings/{booking}/cancel", headers=t["p2"]).status_code == 404
    assert client.get("/api/v1/children", headers=t["p2"]).get_json()["results"] == []
    assert client.delete(f"/api/v1/children/{kid}", headers=t["p2"]).status_code == 404
    # Staff of another nursery: nothing.
    assert client.get("/api/v1/nursery/bookings", headers=t["other_staff"]).get_json()["count"] == 0
    r = client.post(f"/api/v1/nursery/bookings/{booking}/confirm", headers=t["other_staff"])
    assert r.status_code == 404
    # Wrong roles are refused; no token is 401.
    assert client.get("/api/v1/nursery/bookings", headers=t["p1"]).status_code == 403
    assert client.post("/api/v1/children", json={}, headers=t["staff"]).status_code == 403
    assert client.get("/api/v1/bookings", headers=t["handler"]).status_code == 403
    assert client.get("/api/v1/bookings").status_code == 401
    bad = {"Authorization": "Bearer nonsense"}
    assert client.get("/api/v1/bookings", headers=bad).status_code == 401


def test_cancel_twice_and_accept_without_offer_are_409(client, api):
    t = api["tokens"]
    kid = add_child(client, t["p1"])
    booking = book(client, t["p1"], kid, api["mine"]).get_json()["id"]
    assert client.post(f"/api/v1/bookings/{booking}/accept", headers=t["p1"]).status_code == 409
    assert client.post(f"/api/v1/bookings/{booking}/cancel", headers=t["p1"]).status_code == 200
    r = client.post(f"/api/v1/bookings/{booking}/cancel", headers=t["p1"])
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_cancellable"


def test_deleting_a_child_through_the_api(client, api):
    t = api["tokens"]
    kid = add_child(client, t["p1"], health_notes="花生过敏")
    book(client, t["p1"], kid, api["mine"])
    assert client.delete(f"/api/v1/children/{kid}", headers=t["p1"]).status_code == 204
    assert client.get("/api/v1/children", headers=t["p1"]).get_json()["results"] == []
    assert (
        client.get("/api/v1/bookings", headers=t["p1"]).get_json()["results"][0]["status"]
        == "cancelled"
    )


def test_ids_too_large_for_the_database_are_refused_not_crashed(client, api):
    t = api["tokens"]
    kid = add_child(client, t["p1"])
    r = book(client, t["p1"], 99999999999999999999, api["mine"])
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "child_id"
    r = book(client, t["p1"], kid, 2**31)
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "nursery_id"
    r = client.post("/api/v1/bookings/99999999999999999999/cancel", headers=t["p1"])
    assert r.status_code == 404


def test_a_lapsed_offer_shows_as_expired_in_the_list(app, client, api):
    from datetime import datetime

    from booking.models import Booking
    from extensions import db

    t = api["tokens"]
    kid1, kid2 = add_child(client, t["p1"]), add_child(client, t["p2"])
    first = book(client, t["p1"], kid1, api["mine"]).get_json()["id"]
    waiting = book(client, t["p2"], kid2, api["mine"]).get_json()["id"]
    client.post(f"/api/v1/bookings/{first}/cancel", headers=t["p1"])
    with app.app_context():
        db.session.get(Booking, waiting).offer_expires_at = datetime(2020, 1, 1)
        db.session.commit()
    listed = client.get("/api/v1/bookings", headers=t["p2"]).get_json()["results"]
    assert listed[0]["status"] == "expired"
