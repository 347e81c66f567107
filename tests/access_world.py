"""A small district where every role owns something, for the access matrix and the canaries.

Two nurseries in two streets (X in 云岭街道, Y in 星河镇) and an unfiled one (Z); parent A with
a child booked at X, one booked at Y and one kept back (for deletion); parent B with a child
booked at Y; complaints about X (hygiene: the health commission leads, the street co-handles)
and about Y (fees: market regulation leads, the street is informed), each with a photo whose
file carries a marker the re-encoding must drop. Every person's data carries a marker string
(`World.markers`) with the roles that may see it; any other role must never receive it. X has
an inspection by the health commission with a rectification open (its findings: handlers and
X's staff only).
"""

from __future__ import annotations

import io
import logging
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from sqlalchemy import select

from accounts.models import User
from accounts.services import create_user, issue_token
from booking.models import Booking
from booking.parsing import parse_request
from booking.services import family
from booking.waitlist import Settings
from complaints.models import Complaint
from complaints.services import filing
from extensions import db
from inspections import services as inspection_services
from maps.models import Nursery, NurseryClass, Street
from maps.standards import ClassSpec
from policies.document import parse_document
from policies.models import Policy
from policies.services import import_policies
from tests.booking_helpers import birth_for, make_bookable_nursery

SHIPPED_POLICIES = Path(__file__).resolve().parent.parent / "policies" / "policies.json"

PASSWORD = "secret-pass-1"
# role → account kind (parents, staff and handlers of the same kind are one another's peers)
ROLES = {
    "anonymous": None,
    "parent_a": "parent",
    "parent_b": "parent",
    "staff_x": "nursery_staff",
    "staff_y": "nursery_staff",
    "handler_d1": "handler",  # the health commission (卫生健康委)
    "handler_d2": "handler",  # market regulation (市场监管局)
    "street_s1": "handler",  # the street handler of 云岭街道, where X is
    "admin": "admin",
    "operator_a": "operator",  # 申办人 with a filing application (returned for correction)
    "operator_b": "operator",
}


def tag(label: str) -> str:
    """A marker unique to this run: never part of any text the service writes itself."""
    return f"mk{label}{uuid.uuid4().hex[:8]}".replace("_", "").lower()


@contextmanager
def _quiet_pil():
    """Pillow logs the tags it writes at DEBUG: making the test's pictures must not count as
    the service logging them (the canaries watch the service's logs)."""
    logger = logging.getLogger("PIL")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def png_with_text(secret: str) -> bytes:
    """A PNG whose text chunk (and so its raw bytes) carries `secret`."""
    info = PngInfo()
    info.add_text("Author", secret)
    info.add_text("Comment", secret)
    out = io.BytesIO()
    with _quiet_pil():
        Image.new("RGB", (16, 12), (30, 160, 90)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


def jpeg_with_exif(secret: str) -> bytes:
    """A JPEG whose EXIF (camera make, artist, description) carries `secret`."""
    exif = Image.Exif()
    exif[0x010F] = secret  # Make
    exif[0x013B] = secret  # Artist
    exif[0x010E] = secret  # ImageDescription
    out = io.BytesIO()
    with _quiet_pil():
        Image.new("RGB", (16, 12), (200, 40, 40)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


@dataclass
class World:
    ids: dict[str, int] = field(default_factory=dict)
    codes: dict[str, str] = field(default_factory=dict)  # complaint → tracking code
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # role → credentials
    tokens: dict[str, str] = field(default_factory=dict)  # role → bearer token
    markers: dict[str, set[str]] = field(default_factory=dict)  # marker → roles that may see it
    named: dict[str, str] = field(default_factory=dict)  # label → marker

    def mark(self, label: str, *roles: str) -> str:
        marker = tag(label)
        self.markers[marker] = set(roles)
        self.named[label] = marker
        return marker

    def hidden_from(self, role: str) -> list[str]:
        return [m for m, roles in self.markers.items() if role not in roles]


def add_child(world: World, parent: str, key: str, seen_by: tuple[str, ...], months: int = 14):
    settings = Settings.from_config(current_app.config)
    parent_id = world.ids[parent]
    name = "李" + world.mark(f"name-{key}", parent, *seen_by)
    notes = "花生过敏 " + world.mark(f"notes-{key}", parent, *seen_by)
    child = family.register_child(
        parent_id, name, birth_for(months, date.today()), True, settings, health_notes=notes
    )
    world.ids[key] = child.id
    return child.id


def add_booking(world: World, parent: str, child: str, nursery: str, key: str) -> None:
    settings = Settings.from_config(current_app.config)
    start = date.today() + timedelta(days=45)
    req = parse_request({"care_type": "full_day", "start_date": start.isoformat()})
    booking, _ = family.book(
        world.ids[parent], world.ids[child], world.ids[nursery], req, True, settings
    )
    world.ids[key] = booking.id


def _complaint(world: World, key: str, nursery: str, category: str, seen_by: tuple[str, ...]):
    description = (
        f"{'教室很久没有消毒' if category == 'hygiene' else '收费与公示的价格不一致'}，"
        + world.mark(f"desc-{key}", *seen_by)
    )
    # The masked name shows its first character: the marker is the rest of it.
    name = "王" + world.mark(f"who-{key}", *seen_by)
    phone = f"139{uuid.uuid4().int % 10**8:08d}"
    world.markers[phone] = set(seen_by)
    world.named[f"phone-{key}"] = phone
    email = world.mark(f"mail-{key}", *seen_by).lower() + "@example.com"
    photo_secret = world.mark(f"photo-{key}")  # re-encoded from the pixels: nobody sees it
    c, code = filing.file_complaint(
        filing.Filing(
            category=category,
            description=description,
            nursery_id=world.ids[nursery],
            name=name,
            phone=phone,
            email=email,
            photos=[png_with_text(photo_secret), jpeg_with_exif(photo_secret)],
        )
    )
    world.ids[key] = c.id
    world.ids[f"{key}_photo"] = c.photos[0].id
    world.codes[key] = code


def _filings(world: World) -> None:
    """Operator A's new-nursery application, returned for correction, with a document; staff
    X's change application for X, under review. Their names carry markers."""
    from filing import rules, services

    street = db.session.scalar(select(Street.id).where(Street.code == "s1"))
    content = rules.Content(
        name="橡树托育园" + world.mark("filing-a", "operator_a", "admin"),
        kind="private",
        registration="market",
        registration_no="91350100M000100Y43",
        address="云岭街道橡树路8号",
        street_id=street,
        lat=29.61,
        lon=106.53,
        floor_area_m2=300,
        outdoor_area_m2=60,
        care_types=["full_day"],
        classes=[ClassSpec("toddler", 10, 2, "小一班")],
        staff=[rules.StaffSpec("王保育", "caregiver", None)] * 2,
    )
    pdf = b"%PDF-1.4\n%%EOF\n"
    uploads = [
        rules.Upload(doc, f"{doc}.pdf", pdf) for doc in ("fire_safety", "health_evaluation")
    ] + [rules.Upload("photo", "site.png", png_with_text("site"))]
    application = services.submit_new(world.ids["operator_a"], content, uploads)
    world.ids["filing_a"] = application.id
    world.ids["filing_a_file"] = application.attachments[0].id
    services.return_for_correction(world.ids["admin"], application.id, {"site": "请补充照片"})
    change = services.content_of_nursery(world.ids["x"])
    change.name = "阳光托育园" + world.mark("filing-x", "staff_x", "admin")
    change.registration_no, change.floor_area_m2, change.outdoor_area_m2 = (
        "91350100M000100Y43",
        200,
        0,
    )
    change.staff = [rules.StaffSpec("刘保育", "caregiver", "C1")] * 12
    application = services.submit_change(world.ids["staff_x"], change, [])
    world.ids["filing_x"] = application.id


def _rating(world: World) -> None:
    """Parent A's rating of X for child_a_x, its comment still waiting for moderation: only
    parent A and the moderating admin may read it (written directly: the world's bookings
    have not started, and the access rules, not eligibility, are under test here)."""
    from datetime import datetime

    from ratings.models import Rating, RatingSummary
    from ratings.rules import term_of

    now = datetime.now().replace(microsecond=0)
    stars = {"safety": 4, "care": 5, "food": 3, "communication": 4, "value": 4}
    rating = Rating(
        nursery_id=world.ids["x"],
        parent_id=world.ids["parent_a"],
        child_id=world.ids["child_a_x"],
        term=term_of(now.date()).key,
        comment="午睡照顾得很好 " + world.mark("comment-rating_a_x", "parent_a", "admin"),
        comment_status="pending",
        created_at=now,
        updated_at=now,
        **stars,
    )
    db.session.add(rating)
    db.session.add(RatingSummary(nursery_id=world.ids["x"], count=1, revision=1, **stars))
    db.session.commit()
    world.ids["rating_a_x"] = rating.id


def build(app) -> World:
    """Create the district, its accounts and their tokens (inside an app context)."""
    world = World()
    with app.app_context():
        s1, s2 = Street(code="s1", name="云岭街道"), Street(code="s2", name="星河镇")
        db.session.add_all([s1, s2])
        db.session.commit()
        for key, street, name in (("x", s1, "阳光托育园"), ("y", s2, "彩虹托育园")):
            nursery_id = make_bookable_nursery(capacity=3)
            nursery = db.session.get(Nursery, nursery_id)
            nursery.name, nursery.street_id = name, street.id
            # A class no offer uses, for the deletion routes.
            for use in ("page", "api"):
                nursery.classes.append(
                    NurseryClass(class_type="infant", name=f"备用乳儿班{use}", carers=1, capacity=3)
                )
            db.session.commit()
            world.ids[key] = nursery_id
            classes = {c.name: c.id for c in nursery.classes}
            world.ids[f"{key}_class"] = classes["toddler"]
            world.ids[f"{key}_spare_class_page"] = classes["备用乳儿班page"]
            world.ids[f"{key}_spare_class_api"] = classes["备用乳儿班api"]
            world.ids[f"{key}_offer"] = next(o.id for o in nursery.offers)
        unfiled = Nursery(
            name="未备案托育点", address="测试路9号", kind="family", lat=29.6, lon=106.5
        )
        db.session.add(unfiled)
        db.session.commit()
        world.ids["z"] = unfiled.id
        # A policy for the admin's policy pages (policies/).
        import_policies(parse_document(SHIPPED_POLICIES.read_bytes())[:1], None, "访问矩阵")
        world.ids["policy"] = db.session.scalar(select(Policy.id))

        bound = {
            "parent_a": {},
            "parent_b": {},
            "staff_x": {"nursery_id": world.ids["x"]},
            "staff_y": {"nursery_id": world.ids["y"]},
            "handler_d1": {"department_code": "health"},
            "handler_d2": {"department_code": "market"},
            "street_s1": {"department_code": "street", "street_code": "s1"},
            "admin": {},
            "operator_a": {},
            "operator_b": {},
        }
        for role, kwargs in bound.items():
            username = f"{role.replace('_', '-')}-{uuid.uuid4().hex[:6]}"
            create_user(ROLES[role], username, PASSWORD, **kwargs)
            world.users[role] = (username, PASSWORD)
            user = db.session.scalar(select(User).where(User.username == username))
            world.ids[role] = user.id
            world.tokens[role] = issue_token(user, 1)

        add_child(world, "parent_a", "child_a_x", ("staff_x",))
        add_child(world, "parent_a", "child_a_y", ("staff_y",))
        add_child(world, "parent_a", "child_a_spare", ())  # deleted through the page
        add_child(world, "parent_a", "child_a_spare_api", ())  # deleted through the API
        add_child(world, "parent_b", "child_b_y", ("staff_y",))
        add_booking(world, "parent_a", "child_a_x", "x", "booking_a_x")
        add_booking(world, "parent_a", "child_a_y", "y", "booking_a_y")
        add_booking(world, "parent_b", "child_b_y", "y", "booking_b_y")

        _filings(world)

        _rating(world)

        _complaint(world, "complaint_x", "x", "hygiene", ("handler_d1", "street_s1"))
        _complaint(world, "complaint_y", "y", "fees", ("handler_d2",))
        routed = {
            key: sorted(d.department for d in db.session.get(Complaint, world.ids[key]).departments)
            for key in ("complaint_x", "complaint_y")
        }
        # The policy table below relies on this routing: fail loudly if the rules change it.
        assert routed == {
            "complaint_x": ["health", "street"],
            "complaint_y": ["market", "street"],
        }, routed
        assert (
            db.session.scalar(select(Booking.status).where(Booking.id == world.ids["booking_a_x"]))
            == "pending"
        )
        # An inspection of X by the health commission (d1) with a rectification open: every
        # handler reads it, only d1 follows it up; X's staff read it, Y's do not (404).
        findings = "消毒记录缺失 " + world.mark(
            "findings-inspection_x", "handler_d1", "handler_d2", "street_s1", "staff_x"
        )
        inspection = inspection_services.record(
            db.session.get(User, world.ids["handler_d1"]),
            world.ids["x"],
            "health",
            date.today() - timedelta(days=3),
            findings,
            "rectify",
            date.today() + timedelta(days=20),
        )
        world.ids["inspection_x"] = inspection.id
    return world
