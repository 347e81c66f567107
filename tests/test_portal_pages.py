"""The nursery staff portal's pages, on SQLite and PostgreSQL: occupancy, confirming and
declining, the waitlist, classes and offers, who may see what, and CSRF."""

import math
import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from accounts.models import User
from audit import AuditEntry
from booking.models import Booking
from booking.rules import Request
from booking.services import family
from booking.waitlist import Settings
from extensions import db
from maps.models import Nursery, NurseryClass, Offer
from notifications.models import Notification
from tests.booking_helpers import birth_for, make_bookable_nursery
from tests.conftest import detached, login


@pytest.fixture
def world(app, make_user):
    """Nurseries A and B (2 places per care type), their staff, three parents with a child each."""
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        a = make_bookable_nursery(capacity=2)
        b = make_bookable_nursery(capacity=2)
    staff_a = make_user("nursery_staff", nursery_id=a)
    staff_b = make_user("nursery_staff", nursery_id=b)
    parents = [make_user("parent") for _ in range(3)]
    settings = Settings.from_config(app.config)
    with app.app_context():
        ids = [db.session.scalar(select(User.id).where(User.username == u)) for u, _ in parents]
        kids = [
            family.register_child(
                pid,
                f"小{n}",
                birth_for(20, date.today()),
                True,
                settings,
                health_notes=f"{n}对花生过敏",
            ).id
            for pid, n in zip(ids, "甲乙丙", strict=True)
        ]
    return {
        "a": a,
        "b": b,
        "staff_a": staff_a,
        "staff_b": staff_b,
        "parents": parents,
        "parent_ids": ids,
        "kids": kids,
        "settings": settings,
    }


def book(app, w, i, nursery=None, care_type="full_day", **kw):
    """Family i books at a nursery (A by default), starting today; returns the booking id."""
    with app.app_context():
        req = Request(care_type=care_type, start_date=kw.pop("start_date", date.today()), **kw)
        booking, _ = family.book(
            w["parent_ids"][i], w["kids"][i], nursery or w["a"], req, True, w["settings"]
        )
        return booking.id


def booking_row(app, pk) -> Booking:
    return detached(app, Booking, pk)


def inbox(app, user_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(Notification.text)
                .where(Notification.user_id == user_id)
                .order_by(Notification.id)
            )
        )


def items(html: str, cls: str) -> list[tuple[int, str]]:
    """(data-id, data-status or data-position) of the list items of a class, in page order."""
    pattern = rf'<li class="{cls}[^"]*"[^>]*data-id="(\d+)" data-(?:status|position)="([^"]+)"'
    return [(int(i), s) for i, s in re.findall(pattern, html, re.S)]


def occupancy_row(
    html: str, care_type: str, slot: str = "", class_type: str = "toddler"
) -> tuple[int, int, str]:
    m = re.search(
        rf'data-care-type="{care_type}" data-class-type="{class_type}"\s+data-slot="{slot}"\s+'
        r'data-held="(\d+)" data-capacity="(\d+)">.*?class="occ-rate">(\d+%)<',
        html,
        re.S,
    )
    assert m, f"no occupancy row for {care_type} {slot}"
    return int(m.group(1)), int(m.group(2)), m.group(3)


def test_dashboard_shows_occupancy_matching_what_was_booked(app, client, world):
    book(app, world, 0)  # full day: 1 of 2
    book(app, world, 1, care_type="half_day", session="am")  # half day morning: 1 of 2
    book(app, world, 2, care_type="temporary")  # temporary today: 1 of 2, confirmed at once
    book(app, world, 2, nursery=world["b"])  # another nursery: never counted here
    login(client, world["staff_a"])
    r = client.get("/portal")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "测试托育园" in html and "托位使用率" in html
    assert occupancy_row(html, "full_day") == (1, 2, "50%")
    assert occupancy_row(html, "half_day", "上午") == (1, 2, "50%")
    assert occupancy_row(html, "half_day", "下午") == (0, 2, "0%")
    assert occupancy_row(html, "temporary") == (1, 2, "50%")
    # The coming 4 weeks: the open-ended full day enrolment holds its place every day.
    full_day = html[html.index('data-care-type="full_day"') :]
    weeks = re.findall(r'<td data-held="([\d.]+)">', full_day)[:4]
    assert weeks == ["1.0"] * 4
    # Two enrolment requests wait for the nursery, with their deadlines.
    assert re.search(r'id="pending-count">2<', html)
    assert len(re.findall(r'class="deadline-item', html)) == 2 and "前答复" in html
    # 托位使用率 counts children in care (confirmed, begun enrolments), as the district does:
    # none yet — the two enrolment requests hold places but no child is in care.
    assert re.search(r'id="occupancy-rate">0%<', html) and 'id="in-care">0<' in html
    # Places held: 3 of 20 offered (2 per care type in each of the two classes, half day in
    # two sessions), shown apart.
    assert "合计 15%" in html


def test_the_dashboards_usage_rate_is_the_planners(app, client, world, make_user):
    """One definition of 托位使用率 for the nursery and the district: children in care ÷ the
    filed 托位数. A confirmed enrolment that has begun counts; one still pending does not."""
    from booking.services import staff
    from planning import indicators

    started = book(app, world, 0)
    book(app, world, 1, care_type="half_day", session="am")  # still pending
    with app.app_context():
        staff_id = db.session.scalar(select(User.id).where(User.username == world["staff_a"][0]))
        staff.confirm(staff_id, world["a"], started, world["settings"])
        places = db.session.get(Nursery, world["a"]).capacity
        row = next(n for n in indicators.load(date.today()).nurseries if n.id == world["a"])
    assert row.taken == 1 and places > 0
    login(client, world["staff_a"])
    html = client.get("/portal").get_data(as_text=True)
    assert 'id="in-care">1<' in html and f"托位 {places} 个" in html
    shown = math.floor(round(1 / places, 3) * 100 + 0.5)  # the page rounds half up
    assert re.search(rf'id="occupancy-rate">{shown}%<', html)


def test_bookings_list_pending_first_with_the_childs_shared_data(app, client, world):
    first = book(app, world, 0)
    other = book(app, world, 1, care_type="temporary")  # confirmed at once
    soon = book(app, world, 2)
    with app.app_context():  # the nursery must answer this one within a day
        db.session.get(Booking, soon).respond_by = datetime.now() + timedelta(hours=20)
        db.session.commit()
    login(client, world["staff_a"])
    html = client.get("/portal/bookings").get_data(as_text=True)
    listed = items(html, "booking")
    assert listed == [(soon, "pending"), (first, "pending"), (other, "confirmed")]
    assert "小甲，20 个月" in html and "甲对花生过敏" in html
    assert "同意向本机构提供" in html  # the page says the data is shared under consent
    assert re.search(rf'class="booking status-pending due-soon" id="booking-{soon}"', html)
    assert "不足 1 天" in html
    pending = client.get("/portal/bookings?status=pending").get_data(as_text=True)
    assert [i for i, _ in items(pending, "booking")] == [soon, first]
    assert client.get("/portal/bookings?status=nonsense").status_code == 400


def test_confirm_confirms_and_tells_the_family(app, client, world):
    bid = book(app, world, 0)
    login(client, world["staff_a"])
    r = client.post(f"/portal/bookings/{bid}/confirm?status=pending")
    assert r.status_code == 303 and r.headers["Location"].endswith(
        "/portal/bookings?status=pending"
    )
    assert booking_row(app, bid).status == "confirmed"
    assert "已由机构确认" in inbox(app, world["parent_ids"][0])[-1]
    html = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "已确认预约" in html and items(html, "booking") == []
    # Confirming twice is refused with the reason, on the page.
    again = client.post(f"/portal/bookings/{bid}/confirm")
    assert again.status_code == 409 and "不能确认" in again.get_data(as_text=True)


def test_decline_needs_a_reason_which_the_family_gets(app, client, world):
    bid = book(app, world, 0)
    login(client, world["staff_a"])
    r = client.post(f"/portal/bookings/{bid}/decline", data={"reason": "  "})
    assert r.status_code == 400
    assert "请填写婉拒原因" in r.get_data(as_text=True)
    assert booking_row(app, bid).status == "pending"
    r = client.post(f"/portal/bookings/{bid}/decline", data={"reason": "该班级已满额"})
    assert r.status_code == 303
    row = booking_row(app, bid)
    assert (row.status, row.status_reason) == ("declined", "该班级已满额")
    assert "原因：该班级已满额" in inbox(app, world["parent_ids"][0])[-1]
    assert "婉拒" in client.get("/portal/bookings").get_data(as_text=True)


def test_waitlist_shows_order_and_moving_to_front_records_the_reason(app, client, world):
    with app.app_context():
        db.session.execute(
            Offer.__table__.update()
            .where(Offer.nursery_id == world["a"], Offer.care_type == "full_day")
            .values(capacity=1)
        )
        db.session.commit()
    held = book(app, world, 0)
    second = book(app, world, 1)
    third = book(app, world, 2)
    assert booking_row(app, second).status == booking_row(app, third).status == "waitlisted"
    login(client, world["staff_a"])
    html = client.get("/portal/waitlist").get_data(as_text=True)
    assert items(html, "waiting-item") == [(second, "1"), (third, "2")]
    assert "全日托" in html and 'value="employer_staff"' not in html
    # A reason is required; the employer reason is only for employer-run nurseries.
    for data in ({}, {"reason_kind": "other", "detail": ""}, {"reason_kind": "employer_staff"}):
        r = client.post(f"/portal/bookings/{third}/move-to-front", data=data)
        assert r.status_code == 400, data
    r = client.post(f"/portal/bookings/{third}/move-to-front", data={"reason_kind": "sibling"})
    assert r.status_code == 303
    html = client.get("/portal/waitlist").get_data(as_text=True)
    assert items(html, "waiting-item") == [(third, "1"), (second, "2")]
    assert "已调到首位：同胞" in html
    with app.app_context():
        entry = db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "waitlist.move_to_front")
        )
        assert (entry.subject_id, entry.reason) == (third, "同胞：兄弟姐妹已在本机构入托")
    # Only waiting families can be moved.
    r = client.post(f"/portal/bookings/{held}/move-to-front", data={"reason_kind": "sibling"})
    assert r.status_code == 409 and "只能调整候补中的预约" in r.get_data(as_text=True)


def test_class_capacity_above_the_national_standard_is_refused_in_chinese(app, client, world):
    login(client, world["staff_a"])
    page = client.get("/portal/classes").get_data(as_text=True)
    assert "托小班" in page and "托大班" in page
    form = {"class_type": "toddler", "name": "托小二班", "carers": "4", "capacity": "16"}
    r = client.post("/portal/classes", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 400
    assert re.search(r'id="capacity-error"[^>]*>托小二班设 16 个托位，超过上限 15 人', html)
    r = client.post("/portal/classes", data={**form, "carers": "2", "capacity": "12"})
    assert r.status_code == 400 and "2 名保育人员按 1:5 最多照护 10 人" in r.get_data(as_text=True)
    r = client.post("/portal/classes", data={**form, "carers": "x", "capacity": ""})
    assert r.status_code == 400 and "请输入整数" in r.get_data(as_text=True)
    r = client.post("/portal/classes", data={**form, "capacity": "15"})
    assert r.status_code == 303
    with app.app_context():
        cls = db.session.scalar(select(NurseryClass).where(NurseryClass.name == "托小二班"))
        assert (cls.nursery_id, cls.capacity, cls.carers) == (world["a"], 15, 4)
        cls_id = cls.id
    # Editing keeps the same class.
    assert "托小二班" in client.get(f"/portal/classes?edit={cls_id}").get_data(as_text=True)
    r = client.post("/portal/classes", data={**form, "class_id": str(cls_id), "capacity": "12"})
    assert r.status_code == 303
    with app.app_context():
        assert db.session.get(NurseryClass, cls_id).capacity == 12


def test_offer_capacity_below_what_is_held_is_refused(app, client, world):
    book(app, world, 0)
    book(app, world, 1)
    login(client, world["staff_a"])
    form = {
        "action": "offer",
        "care_type": "full_day",
        "class_type": "toddler",
        "capacity": "1",
        "price_yuan": "1900",
        "price_unit": "month",
        "sessions": "am,pm",
    }
    r = client.post("/portal/offers", data=form)
    html = r.get_data(as_text=True)
    assert r.status_code == 409
    assert re.search(r'id="capacity-error"[^>]*>已有 2 个托位被占用', html)

    def full_day():
        with app.app_context():
            o = db.session.scalar(
                select(Offer).where(
                    Offer.nursery_id == world["a"],
                    Offer.care_type == "full_day",
                    Offer.class_type == "toddler",
                )
            )
            return o.capacity, float(o.price_yuan)

    assert full_day() == (2, 1800.0)
    r = client.post("/portal/offers", data={**form, "capacity": "3"})
    assert r.status_code == 303
    assert full_day() == (3, 1900.0)
    html = client.get("/portal/offers").get_data(as_text=True)
    assert "1900 元/月" in html
    r = client.post("/portal/offers", data={**form, "price_yuan": "很多"})
    assert r.status_code == 400 and "价格须为数字" in r.get_data(as_text=True)


def test_opening_hours_are_set_and_checked(app, client, world):
    login(client, world["staff_a"])
    r = client.post(
        "/portal/offers", data={"action": "hours", "opens_at": "18:00", "closes_at": "08:00"}
    )
    assert r.status_code == 400 and "关门时间须晚于开门时间" in r.get_data(as_text=True)
    r = client.post(
        "/portal/offers", data={"action": "hours", "opens_at": "07:30", "closes_at": "18:00"}
    )
    assert r.status_code == 303
    assert 'value="18:00"' in client.get("/portal/offers").get_data(as_text=True)


def test_another_nurserys_bookings_and_classes_do_not_exist_for_staff(app, client, world):
    theirs = book(app, world, 0, nursery=world["b"])
    login(client, world["staff_a"])
    for action, data in (
        ("confirm", {}),
        ("decline", {"reason": "不收"}),
        ("decline", {}),
        ("move-to-front", {"reason_kind": "sibling"}),
    ):
        r = client.post(f"/portal/bookings/{theirs}/{action}", data=data)
        assert r.status_code == 404, action
    assert booking_row(app, theirs).status == "pending"
    assert client.post("/portal/bookings/999999/confirm").status_code == 404
    html = client.get("/portal/bookings").get_data(as_text=True)
    assert items(html, "booking") == [] and "小甲" not in html
    with app.app_context():
        their_class = db.session.scalar(
            select(NurseryClass.id).where(NurseryClass.nursery_id == world["b"])
        )
        their_offer = db.session.scalar(select(Offer.id).where(Offer.nursery_id == world["b"]))
    assert client.get(f"/portal/classes?edit={their_class}").status_code == 404
    form = {"class_id": str(their_class), "class_type": "older", "name": "x", "carers": "1"}
    assert client.post("/portal/classes", data={**form, "capacity": "5"}).status_code == 404
    assert client.get(f"/portal/offers?offer={their_offer}").status_code == 404
    # Ids no INTEGER column can hold, or that are not ids at all, are not found either (not 500s).
    for raw in ("99999999999999", "2147483648", "-1", "0", "1.5", "一"):
        assert client.get(f"/portal/classes?edit={raw}").status_code == 404, raw
        assert client.get(f"/portal/offers?offer={raw}").status_code == 404, raw
        r = client.post("/portal/classes", data={**form, "class_id": raw, "capacity": "5"})
        assert r.status_code == 404, raw


@pytest.mark.parametrize("path", ["/portal", "/portal/bookings", "/portal/classes"])
def test_only_nursery_staff_may_enter(app, client, world, make_user, path):
    r = client.get(path)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    login(client, world["parents"][0])
    assert client.get(path).status_code == 403
    handler = make_user("handler", department_code="health")
    client.post("/logout")
    login(client, handler)
    assert client.get(path).status_code == 403


def test_a_post_without_csrf_token_is_refused(app, client, world):
    app.config["WTF_CSRF_ENABLED"] = True
    bid = book(app, world, 0)
    html = client.get("/login").get_data(as_text=True)
    tag = re.search(r'<input[^>]*name="csrf_token"[^>]*>', html).group(0)
    token = re.search(r'value="([^"]+)"', tag).group(1)
    username, password = world["staff_a"]
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert r.status_code == 302
    r = client.post(f"/portal/bookings/{bid}/confirm")
    assert r.status_code == 400 and "安全令牌" in r.get_data(as_text=True)
    assert booking_row(app, bid).status == "pending"
    page = client.get("/portal/bookings").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = client.post(f"/portal/bookings/{bid}/confirm", data={"csrf_token": token})
    assert r.status_code == 303 and booking_row(app, bid).status == "confirmed"
