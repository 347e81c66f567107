"""Hostile input (issue 11): script and markup, SQL metacharacters, overlong text and Unicode
edge cases in the text fields people type into. Nothing answers 500, what is stored is shown
escaped (never as markup), and what is refused is refused with a message, on both databases."""

import re

import pytest
from sqlalchemy import func, select

from accounts.models import User
from booking.models import Child
from complaints.models import Complaint
from complaints.services import filing
from extensions import db
from tests.conftest import login

SCRIPT = "<script>alert('x')</script>"
PAYLOADS = [
    SCRIPT,
    '"><img src=x onerror=alert(1)>',
    "'; DROP TABLE children; --",
    "1' OR '1'='1",
    "\u200b\u200d零宽\u200b",  # zero-width characters
    "\u202eabc\u202c",  # right-to-left override
    "👶🏻宝宝🍼",
    "Ä\u0308 Ω ج 한 あ",  # combining marks, mixed scripts
    "\x00nul",
]
# As markup these start with "<"; escaped, the "<" is "&lt;" (an "onerror=" left inside an
# escaped attribute value is text, not an attribute)
RAW_MARKUP = ("<script>alert", "<img src=x")


def assert_no_raw_markup(html: str) -> None:
    for raw in RAW_MARKUP:
        assert raw not in html, f"unescaped {raw!r} in the page"


def assert_safe(response) -> None:
    """HTML escapes what it shows; JSON may quote the input back, but is served as JSON
    (and nosniff), never as a page."""
    if response.is_json:
        assert response.mimetype == "application/json"
        assert response.headers.get("X-Content-Type-Options") == "nosniff"
        return
    assert_no_raw_markup(response.get_data(as_text=True))


@pytest.fixture
def parent(app, client, make_user):
    app.config["WTF_CSRF_ENABLED"] = False
    who = make_user("parent")
    login(client, who)
    return who


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_childs_name_and_notes_take_anything_and_show_it_escaped(app, client, parent, payload):
    r = client.post(
        "/children/new",
        data={
            "name": payload[:20],
            "birth_date": "2025-03-01",
            "health_notes": payload,
            "guardian_consent": "y",
        },
    )
    assert r.status_code < 500
    page = client.get("/children")
    assert page.status_code == 200
    assert_no_raw_markup(page.get_data(as_text=True))
    with app.app_context():
        children = db.session.scalars(select(Child)).all()
    if payload == SCRIPT:  # ordinary text as far as a child's notes go: stored, shown escaped
        assert r.status_code in (302, 303) and "&lt;script&gt;" in page.get_data(as_text=True)
    if r.status_code in (302, 303):  # stored: as typed (no NUL), never as markup on the page
        assert len(children) == 1 and "\x00" not in (children[0].health_notes or "")
    else:  # refused with a message, nothing stored
        assert r.status_code == 400 and not children
        assert re.search(r'class="error', r.get_data(as_text=True))


def test_overlong_text_is_refused_with_a_message_and_nothing_stored(app, client, parent):
    r = client.post(
        "/children/new",
        data={
            "name": "名" * 5000,
            "birth_date": "2025-03-01",
            "health_notes": "备" * 100_000,
            "guardian_consent": "y",
        },
    )
    assert r.status_code == 400 and "不能超过" in r.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Child)) == 0


@pytest.mark.parametrize("payload", PAYLOADS)
def test_search_and_the_api_take_hostile_queries(client, payload):
    for path in ("/", "/api/v1/nurseries"):
        r = client.get(path, query_string={"q": payload, "lat": payload, "lon": "106.5"})
        assert r.status_code < 500, (path, r.status_code)
        assert_safe(r)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_complaint_form_takes_hostile_text_without_a_server_error(app, payload):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    r = client.post(
        "/complaints/new",
        data={
            "category": "hygiene",
            "site_name": payload,
            "site_address": payload,
            "lat": payload,
            "lon": "106.5",
            "description": f"教室很久没有消毒。{payload}",
            "name": payload,
            "phone": payload,
            "email": payload,
        },
        content_type="multipart/form-data",
    )
    assert r.status_code < 500
    assert_safe(r)


def test_a_handler_sees_hostile_complaint_text_escaped(app, make_nursery, make_user):
    """What a complainant typed reaches the handler's queue and case page as text."""
    app.config["WTF_CSRF_ENABLED"] = False
    nursery = make_nursery(name="阳光托育园")
    handler = make_user("handler", department_code="health")
    with app.app_context():
        complaint, _code = filing.file_complaint(
            filing.Filing(
                category="hygiene",
                nursery_id=nursery,
                description=f"教室很久没有消毒 {SCRIPT} '\"><img src=x onerror=alert(1)>",
                name=SCRIPT,
                phone="13912345678",
            )
        )
        complaint_id = complaint.id
        assert db.session.get(Complaint, complaint_id).description.count(SCRIPT) == 1
    client = app.test_client()
    login(client, handler)
    for path in ("/handle", f"/handle/{complaint_id}"):
        r = client.get(path)
        assert r.status_code == 200, path
        html = r.get_data(as_text=True)
        assert_no_raw_markup(html)
    assert "&lt;script&gt;alert" in html  # the case page shows the text, escaped


def test_forged_and_expired_tokens_are_refused(app, make_user):
    from datetime import datetime, timedelta

    from accounts.models import ApiToken
    from accounts.services import issue_token

    who = make_user("parent")
    client = app.test_client()
    for forged in ("x" * 43, SCRIPT, "' OR 1=1 --", ""):
        r = client.get("/api/v1/children", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401 and r.is_json
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == who[0]))
        token = issue_token(user, 1)
        for row in db.session.scalars(select(ApiToken)):
            row.expires_at = datetime.now() - timedelta(seconds=1)
        db.session.commit()
    r = client.get("/api/v1/children", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401 and r.is_json
