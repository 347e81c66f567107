"""Canaries (DESIGN §3.7, §3.8): unique strings planted in what must stay private, then looked
for everywhere a nursery account and an anonymous visitor can reach, and in the logs.

Planted: complainants' names, phones, e-mails and descriptions (filed through the use case,
the public form and Open311), the photos' EXIF and PNG text chunks and the uploaded file's name,
children's names and health notes. Crawled: every GET rule of `app.url_map`, its parameters
filled with the id of every object on file (and every tracking code — even with the code, the
tracking pages name nobody), then every link of those pages one level deep; as staff of X,
staff of Y (with their bearer tokens on the API) and anonymously. Logs: every record of the
whole module, from the first filing on, at DEBUG, SQLAlchemy's statements included.

Allowed: a nursery sees the name and health notes of a child whose parent booked there (the
booking carries the consent to share with that nursery); nothing else. The complainant's
identity and material never reach the nursery complained about — nor anyone else here.
"""

from __future__ import annotations

import html
import io
import itertools
import logging
import re

import pytest
from sqlalchemy import select

from booking.models import Booking, Child
from complaints.models import Complaint, ComplaintPhoto
from extensions import db
from filing.models import FilingApplication, FilingAttachment
from inspections.models import Inspection
from maps.models import Nursery, NurseryClass
from policies.models import Policy
from ratings.models import Rating
from tests.access_world import add_booking, add_child, build, jpeg_with_exif, png_with_text, tag
from tests.conftest import _app_on, login

CRAWLERS = ("anonymous", "staff_x", "staff_y")
LINK = re.compile(r"""(?:href|src|action)=["'](/[^"'#]*)""")
NOT_FOLLOWED = ("/static/", "/vendor/", "/logout")
MAX_FOLLOWED = 3000


class Records(logging.Handler):
    """Every log record of the module, formatted as a handler would write it."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.name} {record.levelname} {text}")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def planted(request, tmp_path_factory):
    """(app, world, log records, crawl results): the canaries planted, the crawl done."""
    root, sql = logging.getLogger(), logging.getLogger("sqlalchemy.engine")
    records, level, sql_level = Records(), root.level, sql.level
    root.addHandler(records)
    root.setLevel(logging.DEBUG)
    sql.setLevel(logging.INFO)  # every statement too (SQLAlchemy keeps itself at WARNING)
    if request.param == "sqlite":
        url = "sqlite:///" + str(tmp_path_factory.mktemp("canaries") / "canaries.sqlite3")
    else:
        url = request.getfixturevalue("postgres_url")
    setup = _app_on(url, empty_first=request.param == "postgresql")
    app = next(setup)
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        world = build(app)
        _file_through_the_form(app, world)
        _file_through_open311(app, world)
        _handle_a_little(app, world)
        responses = _crawl(app, world)
        yield app, world, records, responses
    finally:
        next(setup, None)
        root.removeHandler(records)
        root.setLevel(level)
        sql.setLevel(sql_level)


def _file_through_the_form(app, world) -> None:
    """A complaint about X from the public form, with two photos whose bytes and file names
    carry canaries (the name and phone too)."""
    secret = tag("formphoto")
    world.markers[secret] = set()
    file_name = world.mark("filename") + ".png"
    pictures = [png_with_text(secret), jpeg_with_exif(secret)]
    assert all(secret.encode() in p for p in pictures)  # the canary really is in the upload
    world.named["form-photo"] = secret
    phone = "13700000000"[:3] + str(int(secret[-8:], 16) % 10**8).zfill(8)
    world.markers[phone] = {"handler_d1", "street_s1"}
    client = app.test_client()  # the complainant's own browser: never one of the crawlers
    r = client.post(
        "/complaints/new",
        data={
            "nursery_id": str(world.ids["x"]),
            "category": "hygiene",
            "description": "午睡室很久没有消毒 "
            + world.mark("formdesc", "handler_d1", "street_s1"),
            "name": "赵" + world.mark("formname", "handler_d1", "street_s1"),
            "phone": phone,
            "photos": [
                (io.BytesIO(pictures[0]), file_name),
                (io.BytesIO(pictures[1]), "x" + file_name.replace(".png", ".jpg")),
            ],
        },
        content_type="multipart/form-data",
    )
    assert r.status_code == 303, r.get_data(as_text=True)
    with client.session_transaction() as session:
        world.codes["form"] = session["complaint_filed_code"]


def _file_through_open311(app, world) -> None:
    r = app.test_client().post(
        "/open311/v2/requests.json",
        data={
            "service_code": "care_quality",
            "attribute[nursery_id]": str(world.ids["x"]),
            "description": "老师对孩子态度恶劣 " + world.mark("o311desc", "handler_d1"),
            "last_name": "钱",
            "first_name": world.mark("o311name", "handler_d1"),
            "phone": "13600000000"[:3] + "58" + str(len(world.markers)).zfill(6),
            "email": world.mark("o311mail", "handler_d1") + "@example.com",
        },
    )
    assert r.status_code == 201, r.get_data(as_text=True)
    world.codes["open311"] = r.get_json()[0]["service_request_id"]
    with app.app_context():
        phone = db.session.scalar(
            select(Complaint.complainant_phone).order_by(Complaint.id.desc()).limit(1)
        )
    world.markers[phone] = {"handler_d1"}


def _handle_a_little(app, world) -> None:
    """The lead accepts and reveals the contact (an audited, logged action), so that handling
    runs too while the logs are watched."""
    client = app.test_client()
    login(client, world.users["handler_d1"])
    for cid in _all(Complaint.id, app):
        client.post(f"/handle/{cid}/accept")
        client.post(f"/handle/{cid}/contact")


def _all(column, app) -> list:
    with app.app_context():
        return list(db.session.scalars(select(column).order_by(column)))


def _candidates(app, world) -> dict[str, list[str]]:
    """Every value each URL parameter can take: the ids of every object on file."""
    ids = {
        "nursery_id": _all(Nursery.id, app),
        "booking_id": _all(Booking.id, app),
        "child_id": _all(Child.id, app),
        "class_id": _all(NurseryClass.id, app),
        "complaint_id": _all(Complaint.id, app),
        "photo_id": _all(ComplaintPhoto.id, app),
        "application_id": _all(FilingApplication.id, app),
        "attachment_id": _all(FilingAttachment.id, app),
        "policy_id": _all(Policy.id, app),
        "rating_id": _all(Rating.id, app),
        "inspection_id": _all(Inspection.id, app),
    }
    values = {name: [str(i) for i in found] for name, found in ids.items()}
    codes = list(world.codes.values())
    values["code"] = codes
    values["service_request_id"] = codes + [f"case-{i}" for i in ids["complaint_id"]]
    values.update(
        fmt=["json", "xml"],
        service_code=["hygiene", "fees", "care_quality", "other"],
        care_type=["full_day", "half_day", "hourly", "temporary"],
        year=["2025", "2026"],
    )
    return values


FILENAMES = {"static": ["css/site.css"], "maps.leaflet": ["leaflet.js"]}
PARAM = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _paths(app, world) -> list[str]:
    values = _candidates(app, world)
    paths = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        names = sorted(rule.arguments)
        options = [
            FILENAMES[rule.endpoint] if name == "filename" else values[name] for name in names
        ]
        for combo in itertools.product(*options):
            chosen = dict(zip(names, combo, strict=True))
            paths.append(PARAM.sub(lambda m, c=chosen: c[m.group(1)], rule.rule))
    return paths


def _crawl(app, world) -> dict[tuple[str, str], tuple[int, bytes]]:
    """(role, path) → (status, body) for every GET path, then their links one level deep."""
    results = {}
    for role in CRAWLERS:
        client = app.test_client()
        if role != "anonymous":
            login(client, world.users[role])
        headers = {} if role == "anonymous" else {"Authorization": f"Bearer {world.tokens[role]}"}

        def get(path, client=client, headers=headers, role=role):
            api = path.startswith(("/api/", "/open311/"))
            r = client.get(path, headers=headers if api else {})
            results[(role, path)] = (r.status_code, r.get_data())
            return r

        links = set()
        for path in _paths(app, world):
            r = get(path)
            if r.mimetype == "text/html":
                links.update(html.unescape(m) for m in LINK.findall(r.get_data(as_text=True)))
        followed = sorted(
            p for p in links if (role, p) not in results and not p.startswith(NOT_FOLLOWED)
        )
        assert len(followed) < MAX_FOLLOWED, len(followed)
        for path in followed:
            get(path)
    return results


# --- the tests -------------------------------------------------------------------------------


def test_the_crawl_reaches_the_pages_that_carry_childrens_data(planted):
    """Positive control: staff of X do see the child booked at X (name and health notes), so
    the crawl reaches the pages where a leak would show."""
    _, world, _, responses = planted
    for label in ("name-child_a_x", "notes-child_a_x"):
        marker = world.named[label].encode()
        seen = [path for (role, path), (_, body) in responses.items() if marker in body.lower()]
        assert any(p.startswith("/portal/bookings") for p in seen), label
    assert sum(1 for (_, p) in responses if p.startswith("/api/v1/")) > 30
    assert sum(1 for status, _ in responses.values() if status == 200) > 100


@pytest.mark.parametrize("role", CRAWLERS)
def test_no_canary_reaches_a_nursery_or_a_visitor(planted, role):
    """Nothing of a complainant anywhere; children's data only at the nursery they booked."""
    _, world, _, responses = planted
    hidden = [m.encode() for m in world.hidden_from(role)]
    leaks = [
        (path, status, marker.decode())
        for (who, path), (status, body) in responses.items()
        if who == role
        for marker in hidden
        if marker in body.lower()
    ]
    assert not leaks, leaks
    assert all(status < 500 for (who, _), (status, _) in responses.items() if who == role)


def test_no_canary_reaches_the_logs(planted):
    """Not even the ones someone may see: logs never carry child data or complainant identity."""
    _, world, records, _ = planted
    text = "\n".join(records.lines).lower()
    assert "portal bookings viewed" in text  # the capture works, at INFO and below
    assert "notification delivered" in text
    assert "insert into complaints" in text  # SQL statements, their parameters hidden
    leaked = [m for m in world.markers if m.lower() in text]
    assert not leaked, leaked


def test_photos_reach_the_handler_without_their_canaries(planted):
    """Re-encoded from the pixels: the EXIF and text chunks carrying the canary are gone even
    for the handler the photos are routed to, and so is the uploaded file's name."""
    app, world, _, _ = planted
    client = app.test_client()
    login(client, world.users["handler_d1"])
    served = 0
    with app.app_context():
        photos = db.session.execute(
            select(ComplaintPhoto.complaint_id, ComplaintPhoto.id).order_by(ComplaintPhoto.id)
        ).all()
    for complaint_id, photo_id in photos:
        r = client.get(f"/handle/{complaint_id}/photos/{photo_id}")
        if r.status_code != 200:
            continue
        served += 1
        body = r.get_data().lower()
        for label in ("form-photo", "photo-complaint_x", "photo-complaint_y", "filename"):
            assert world.named[label].encode() not in body, (photo_id, label)
    assert served >= 4  # the form's two photos and the use case's two, about X
    case = client.get(f"/handle/{photos[-1][0]}").get_data(as_text=True).lower()
    assert world.named["filename"] not in case


def test_the_handler_can_reveal_the_form_complainant(planted):
    """Positive control: the canaries are really on file, where the lead may see them."""
    app, world, _, _ = planted
    client = app.test_client()
    login(client, world.users["handler_d1"])
    with app.app_context():
        cid = db.session.scalar(
            select(Complaint.id).where(Complaint.source == "web").order_by(Complaint.id.desc())
        )
    r = client.post(f"/handle/{cid}/contact")
    assert r.status_code == 200
    assert world.named["formname"] in r.get_data(as_text=True).lower()


def test_a_nursery_never_learns_where_else_a_child_enrolled(planted):
    """A child asked X and Y for a place and X confirmed: Y sees its request withdrawn, but not
    where the family went instead (that is X's booking, not Y's data)."""
    app, world, _, _ = planted
    with app.app_context():
        child = add_child(world, "parent_a", "child_a_both", ("staff_x", "staff_y"))
        assert child
        add_booking(world, "parent_a", "child_a_both", "x", "booking_both_x")
        add_booking(world, "parent_a", "child_a_both", "y", "booking_both_y")
        x_name = db.session.get(Nursery, world.ids["x"]).name
    staff_x, staff_y = app.test_client(), app.test_client()
    login(staff_x, world.users["staff_x"])
    login(staff_y, world.users["staff_y"])
    r = staff_x.post(f"/portal/bookings/{world.ids['booking_both_x']}/confirm")
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(Booking, world.ids["booking_both_y"]).status == "cancelled"
    bearer = {"Authorization": f"Bearer {world.tokens['staff_y']}"}
    for path in ("/portal", "/portal/bookings", "/portal/bookings?status=cancelled", "/inbox"):
        assert x_name not in staff_y.get(path).get_data(as_text=True), path
    for path in ("/api/v1/nursery/bookings", "/api/v1/inbox"):
        assert x_name not in staff_y.get(path, headers=bearer).get_data(as_text=True), path
