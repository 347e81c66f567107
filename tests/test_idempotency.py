"""Idempotent writes (issue 14): a retry with the same Idempotency-Key gets the first answer,
never a second booking or complaint, nor a "double booking" refusal of its own retry."""

import threading
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from booking.models import Booking
from complaints.models import Complaint
from extensions import db
from idempotency.models import IdempotentRequest
from tests.test_booking_api import add_child, book, make_api_world

KEY = "3f1c2a9e-7b4d-4e8f-9a61-0c5d2b7e8f10"
OPEN311 = "/open311/v2/requests.json"
COMPLAINT = {
    "service_code": "hygiene",
    "description": "教室很久没有消毒，孩子们的毛巾混用",
    "lat": "29.6",
    "long": "106.52",
    "address_string": "测试路88号",
}


@pytest.fixture
def api(app, client, make_user):
    return make_api_world(app, client, make_user)


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def _with_key(headers: dict, key: str = KEY) -> dict:
    return {**headers, "Idempotency-Key": key}


def test_a_retried_booking_gets_the_first_answer_and_makes_no_second(app, client, api):
    parent = api["tokens"]["p1"]
    child = add_child(client, parent)
    first = book(client, _with_key(parent), child, api["mine"])
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    again = book(client, _with_key(parent), child, api["mine"])
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json()
    assert _count(app, Booking) == 1
    # Without the key the same retry is what it always was: a double booking, refused.
    plain = book(client, parent, child, api["mine"])
    assert plain.status_code in (400, 409) and plain.is_json
    assert _count(app, Booking) == 1


def test_a_key_reused_for_another_request_is_refused_and_changes_nothing(app, client, api):
    parent = api["tokens"]["p1"]
    child = add_child(client, parent)
    assert book(client, _with_key(parent), child, api["mine"]).status_code == 201
    other = book(client, _with_key(parent), child, api["other"])
    assert other.status_code == 422
    assert other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert _count(app, Booking) == 1


def test_keys_belong_to_the_account_that_sent_them(app, client, api):
    """Another parent's key of the same value is another key: their booking is their own."""
    t = api["tokens"]
    mine = book(client, _with_key(t["p1"]), add_child(client, t["p1"]), api["mine"])
    theirs = book(client, _with_key(t["p2"]), add_child(client, t["p2"]), api["mine"])
    assert theirs.status_code == 201 and theirs.headers["Idempotent-Replayed"] == "false"
    assert theirs.get_json()["id"] != mine.get_json()["id"]
    assert _count(app, Booking) == 2


def test_a_refused_request_stores_nothing_and_may_be_retried_with_its_key(app, client, api):
    parent = api["tokens"]["p1"]
    child = add_child(client, parent)
    refused = book(client, _with_key(parent), child, api["mine"], share_consent=False)
    assert refused.status_code == 400 and _count(app, IdempotentRequest) == 0
    fixed = book(client, _with_key(parent), child, api["mine"])
    assert fixed.status_code == 201 and _count(app, Booking) == 1


@pytest.mark.parametrize("bad", ["short", "x" * 256, "键值-中文-0000000", "with space 123"])
def test_a_malformed_key_is_a_400(app, client, api, bad):
    parent = api["tokens"]["p1"]
    child = add_child(client, parent)
    r = book(client, {**parent, "Idempotency-Key": bad}, child, api["mine"])
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "Idempotency-Key"
    assert _count(app, Booking) == 0


def test_the_database_holds_neither_the_key_nor_the_answer_in_clear(app, client, api):
    parent = api["tokens"]["p1"]
    child = add_child(client, parent)  # named 小雨
    book(client, _with_key(parent), child, api["mine"])
    with app.app_context():
        row = db.session.scalar(select(IdempotentRequest))
        assert KEY not in row.key_digest and KEY.encode() not in row.answer
        assert "小雨".encode() not in row.answer and b"full_day" not in row.answer


def test_an_open311_complaint_posted_twice_with_a_key_is_filed_once(app, client):
    headers = {"Idempotency-Key": KEY}
    first = client.post(OPEN311, data=COMPLAINT, headers=headers)
    assert first.status_code == 201 and first.headers["Idempotent-Replayed"] == "false"
    again = client.post(OPEN311, data=COMPLAINT, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    code = first.get_json()[0]["service_request_id"]
    assert again.get_json()[0]["service_request_id"] == code
    assert _count(app, Complaint) == 1
    assert client.get(f"/open311/v2/requests/{code}.json").status_code == 200
    with app.app_context():  # the tracking code is stored only inside the encrypted answer
        assert code.encode() not in db.session.scalar(select(IdempotentRequest.answer))
    changed = client.post(OPEN311, data={**COMPLAINT, "description": "另一件事"}, headers=headers)
    assert changed.status_code == 422 and changed.get_json()[0]["code"] == 422
    assert _count(app, Complaint) == 1


def test_answers_expire_and_are_purged(app, client, api):
    from idempotency.services import purge

    parent = api["tokens"]["p1"]
    child = add_child(client, parent)
    assert book(client, _with_key(parent), child, api["mine"]).status_code == 201
    with app.app_context():
        stale = datetime.now() - timedelta(hours=app.config["IDEMPOTENCY_HOURS"] + 1)
        db.session.execute(update(IdempotentRequest).values(created_at=stale))
        db.session.commit()
    # After the window the key is new again: the same booking is now a double booking.
    late = book(client, _with_key(parent), child, api["mine"])
    assert late.status_code in (400, 409) and _count(app, Booking) == 1
    with app.app_context():
        db.session.execute(update(IdempotentRequest).values(created_at=stale))
        db.session.commit()
        assert purge() == 1
    assert _count(app, IdempotentRequest) == 0


def test_two_retries_racing_with_one_key_make_one_booking(app, api):
    """Both copies run at once (two threads, two connections): one books, the other waits for
    its lock and answers with the first's booking."""
    parent = api["tokens"]["p1"]
    child = add_child(app.test_client(), parent)
    start = threading.Barrier(2)
    answers = []

    def retry():
        client = app.test_client()
        start.wait()
        answers.append(book(client, _with_key(parent), child, api["mine"]))

    threads = [threading.Thread(target=retry) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(r.status_code for r in answers) == [201, 201]
    assert answers[0].get_json()["id"] == answers[1].get_json()["id"]
    assert sorted(r.headers["Idempotent-Replayed"] for r in answers) == ["false", "true"]
    assert _count(app, Booking) == 1
