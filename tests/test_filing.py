"""Online filing (机构"网上提交及时办", issue 12): an operator applies, the district health
commission returns, approves or refuses; changes and closures of filed nurseries go through the
same review while the public record stays as approved. On both databases."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from accounts.models import User
from booking.models import Booking
from extensions import db
from filing import rules
from filing.models import FilingApplication, FilingAttachment, FilingEvent
from filing.queries import working_days_left
from maps.models import Nursery, NurseryClass, NurseryStaff, Offer, PlaceCounter, Street
from notifications.models import Notification
from tests.conftest import login
from workdays.calendar import shipped_calendar

USCC_PROFIT = "91350100M000100Y43"
USCC_CIVIL = "5250011200000000AN"
POINT = (29.61, 106.53)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (10, 120, 200)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def world(app, make_user):
    """Two streets, the admin and two operators, each logged in on a client (CSRF off)."""
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        db.session.add_all([Street(code="s1", name="云岭街道"), Street(code="s2", name="星河镇")])
        db.session.commit()
        street = db.session.scalar(select(Street.id).where(Street.code == "s1"))
    who = {
        "admin": make_user("admin"),
        "op": make_user("operator", username="op-one"),
        "op2": make_user("operator", username="op-two"),
    }
    clients = {}
    for key, creds in who.items():
        clients[key] = app.test_client()
        login(clients[key], creds)
    return {"street": street, "users": who, "clients": clients, "app": app}


def form(street_id, **overrides) -> dict:
    data = {
        "name": "小橡树托育园",
        "kind": "private",
        "registration": "market",
        "registration_no": USCC_PROFIT,
        "phone": "023-61234567",
        "care_full_day": "1",
        "care_hourly": "1",
        "address": "云岭街道橡树路8号",
        "street_id": str(street_id),
        "lat": str(POINT[0]),
        "lon": str(POINT[1]),
        "coordsys": "wgs84",
        "floor_area_m2": "420",
        "outdoor_area_m2": "120",
        "serves_meals": "1",
        "class_type-0": "toddler",
        "class_name-0": "小一班",
        "class_carers-0": "3",
        "class_capacity-0": "15",
        "class_type-1": "older",
        "class_name-1": "大一班",
        "class_carers-1": "3",
        "class_capacity-1": "20",
        "staff_name-0": "王保育",
        "staff_role-0": "caregiver",
        "staff_cert-0": "BY2024001",
        "staff_name-1": "李育婴",
        "staff_role-1": "infant_carer",
        "staff_cert-1": "无",
        "staff_name-2": "赵保育",
        "staff_role-2": "caregiver",
        "staff_cert-2": "BY2024002",
        "staff_name-3": "钱保育",
        "staff_role-3": "caregiver",
        "staff_cert-3": "BY2024003",
        "staff_name-4": "孙保育",
        "staff_role-4": "caregiver",
        "staff_cert-4": "BY2024004",
        "staff_name-5": "周育婴",
        "staff_role-5": "infant_carer",
        "staff_cert-5": "YY2023009",
        "staff_name-6": "吴保健",
        "staff_role-6": "health_worker",
        "staff_cert-6": "BJ2022001",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def files(**overrides) -> dict:
    found = {
        "doc_fire_safety": (io.BytesIO(PDF), "消防验收.pdf"),
        "doc_health_evaluation": (io.BytesIO(PDF), "卫生评价.pdf"),
        "doc_food_licence": (io.BytesIO(png()), "食品经营许可证.png"),
        "doc_photo": [(io.BytesIO(png()), "门厅.png"), (io.BytesIO(png()), "活动室.png")],
    }
    found.update(overrides)
    return {k: v for k, v in found.items() if v is not None}


def post(client, url, data, uploads):
    return client.post(url, data={**data, **uploads}, content_type="multipart/form-data")


def submit(world, **overrides):
    r = post(world["clients"]["op"], "/filing/new", form(world["street"], **overrides), files())
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    return int(r.headers["Location"].rsplit("/", 1)[1])


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def search(client):
    r = client.get(f"/api/v1/nurseries?lat={POINT[0]}&lon={POINT[1]}&within=1000")
    assert r.status_code == 200
    return r.get_json()["results"]


# --- the workflow --------------------------------------------------------------------------------


def test_submit_return_correct_resubmit_approve_makes_the_nursery_public(world):
    app, clients = world["app"], world["clients"]
    application_id = submit(world)
    assert search(clients["op"]) == []  # not public while under review
    queue = clients["admin"].get("/admin/filings")
    assert "小橡树托育园" in queue.get_data(as_text=True) and "还剩 20 个工作日" in queue.get_data(
        as_text=True
    )
    r = clients["admin"].post(
        f"/admin/filings/{application_id}/return",
        data={"reason_site": "户外场地面积与照片不符，请核实", "reason_staff": ""},
    )
    assert r.status_code == 303
    page = clients["op"].get(f"/filing/{application_id}").get_data(as_text=True)
    assert "退回补正" in page and "户外场地面积与照片不符，请核实" in page
    with app.app_context():
        a = db.session.get(FilingApplication, application_id)
        assert a.status == "returned" and a.due_at is None
        first_submission = a.submitted_at
        assert count(Notification) == 1
    # corrected: the outdoor area, no new files (the ones on file are kept)
    r = post(
        clients["op"],
        f"/filing/{application_id}/correct",
        form(world["street"], outdoor_area_m2="80"),
        {},
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:2000]
    with app.app_context():
        a = db.session.get(FilingApplication, application_id)
        assert a.status == "submitted" and a.outdoor_area_m2 == 80
        assert a.submitted_at >= first_submission
        assert a.due_at == shipped_calendar().add_working_days(a.submitted_at, 20)
        assert [e.action for e in a.events] == ["submitted", "returned", "resubmitted"]
        assert count(FilingAttachment) == 5
    r = clients["admin"].post(f"/admin/filings/{application_id}/approve", data={})
    assert r.status_code == 400 and "已核对" in r.get_data(as_text=True)  # must confirm
    r = clients["admin"].post(f"/admin/filings/{application_id}/approve", data={"confirm": "y"})
    assert r.status_code == 303
    hits = search(clients["admin"])
    assert [h["name"] for h in hits] == ["小橡树托育园"]
    details = clients["admin"].get(f"/api/v1/nurseries/{hits[0]['id']}").get_json()
    year = date.today().year
    assert details["filing_no"] == f"卫托备〔{year}〕001号"
    assert details["capacity"] == 35 and details["street"] == "云岭街道"
    assert {o["care_type"] for o in details["offers"]} == {"full_day", "hourly"}
    page = clients["admin"].get("/?q=小橡树").get_data(as_text=True)
    assert "小橡树托育园" in page
    with app.app_context():
        nursery = db.session.get(Nursery, hits[0]["id"])
        assert len(nursery.classes) == 2 and len(nursery.staff) == 7
        assert {s.certificate_no for s in nursery.staff if s.name == "李育婴"} == {None}
        user = db.session.scalar(select(User).where(User.username == "op-one"))
        assert (user.role, user.nursery_id) == ("nursery_staff", nursery.id)
    # the account's sessions ended with its role: it logs in again and reaches the portal
    login(clients["op"], world["users"]["op"])
    assert clients["op"].get("/portal").status_code == 200
    assert "已通过" in clients["op"].get(f"/filing/{application_id}").get_data(as_text=True)


def test_refusal_is_timestamped_and_ends_the_application(world):
    app, clients = world["app"], world["clients"]
    application_id = submit(world)
    r = clients["admin"].post(f"/admin/filings/{application_id}/refuse", data={"reason": ""})
    assert r.status_code == 400
    r = clients["admin"].post(
        f"/admin/filings/{application_id}/refuse", data={"reason": "场地位于地下室，不符合要求"}
    )
    assert r.status_code == 303
    page = clients["op"].get(f"/filing/{application_id}").get_data(as_text=True)
    assert "不予备案" in page and "场地位于地下室" in page
    r = clients["admin"].post(f"/admin/filings/{application_id}/approve", data={"confirm": "y"})
    assert r.status_code == 409
    with app.app_context():
        assert count(Nursery) == 0
        events = db.session.scalars(select(FilingEvent).order_by(FilingEvent.id)).all()
        assert [e.action for e in events] == ["submitted", "refused"]
        assert all(isinstance(e.at, datetime) for e in events)


@pytest.fixture
def filed(world, make_nursery):
    """A filed nursery (toddler class of 10, full day 20 places of which 5 held) and its staff
    account, logged in."""
    app = world["app"]
    nursery_id = make_nursery(
        name="阳光托育园", lat=POINT[0], lon=POINT[1], street_id=world["street"]
    )
    with app.app_context():
        nursery = db.session.get(Nursery, nursery_id)
        offer = nursery.offers[0]
        offer.class_type, offer.capacity = "toddler", 10
        db.session.execute(
            PlaceCounter.__table__.update()
            .where(PlaceCounter.offer_id == offer.id)
            .values(capacity=10, taken=5)
        )
        nursery.classes[0].carers = 2
        nursery.staff.append(NurseryStaff(name="王老师", role="caregiver", certificate_no="C1"))
        nursery.staff.append(NurseryStaff(name="刘老师", role="caregiver", certificate_no="C2"))
        db.session.commit()
    from tests.conftest import login as log_in

    creds = (
        world["app"].test_client(),
        None,
    )
    client = creds[0]
    username = "staff-sun"
    from accounts.services import create_user

    with app.app_context():
        create_user("nursery_staff", username, "secret-pass-1", nursery_id=nursery_id)
    log_in(client, (username, "secret-pass-1"))
    return {"id": nursery_id, "client": client}


def change_form(world, **overrides) -> dict:
    base = form(
        world["street"],
        name="阳光托育园",
        **{
            "address": "测试路1号",
            "serves_meals": None,
            "class_type-1": None,
            "class_name-1": None,
            "class_carers-1": None,
            "class_capacity-1": None,
        },
    )
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_a_change_keeps_the_public_record_until_approved(world, filed):
    app, admin = world["app"], world["clients"]["admin"]
    page = filed["client"].get("/filing/change").get_data(as_text=True)
    assert "阳光托育园" in page and "测试路1号" in page  # starts from the filed record
    data = change_form(
        world,
        **{"class_capacity-0": "15", "class_carers-0": "3", "kind": "community"},
    )
    r = post(filed["client"], "/filing/change", data, {})
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    application_id = int(r.headers["Location"].rsplit("/", 1)[1])
    details = admin.get(f"/api/v1/nurseries/{filed['id']}").get_json()
    assert details["kind"] == "private" and details["capacity"] == 20  # as approved before
    review = admin.get(f"/admin/filings/{application_id}").get_data(as_text=True)
    assert "现在公开的备案信息" in review and "民办" in review and "社区托育点" in review
    # a second change while one is under way is refused
    r = post(filed["client"], "/filing/change", data, {})
    assert r.status_code == 409
    r = admin.post(f"/admin/filings/{application_id}/approve", data={"confirm": "y"})
    assert r.status_code == 303
    details = admin.get(f"/api/v1/nurseries/{filed['id']}").get_json()
    assert details["kind"] == "community" and details["capacity"] == 15
    with app.app_context():
        nursery = db.session.get(Nursery, filed["id"])
        assert [(c.class_type, c.capacity, c.carers) for c in nursery.classes] == [
            ("toddler", 15, 3)
        ]
        assert len(nursery.staff) == 7


def test_a_change_below_the_places_held_is_refused_at_approval(world, filed):
    app, admin = world["app"], world["clients"]["admin"]
    # 4 places in the toddler class, but 5 are held by families
    data = change_form(world, **{"class_capacity-0": "4", "class_carers-0": "1"})
    r = post(filed["client"], "/filing/change", data, {})
    assert r.status_code == 303, r.get_data(as_text=True)[:3000]
    application_id = int(r.headers["Location"].rsplit("/", 1)[1])
    r = admin.post(f"/admin/filings/{application_id}/approve", data={"confirm": "y"})
    assert r.status_code == 409
    assert "已有 5 个托位被占用" in r.get_data(as_text=True)
    with app.app_context():
        nursery = db.session.get(Nursery, filed["id"])
        assert [c.capacity for c in nursery.classes] == [10]
        assert db.session.get(FilingApplication, application_id).status == "submitted"


def test_a_smaller_class_lowers_the_offers_but_not_below_the_places_held(world, filed):
    app, admin = world["app"], world["clients"]["admin"]
    data = change_form(world, **{"class_capacity-0": "6", "class_carers-0": "2"})
    r = post(filed["client"], "/filing/change", data, {})
    application_id = int(r.headers["Location"].rsplit("/", 1)[1])
    r = admin.post(f"/admin/filings/{application_id}/approve", data={"confirm": "y"})
    assert r.status_code == 303
    with app.app_context():
        offer = db.session.scalar(select(Offer).where(Offer.nursery_id == filed["id"]))
        assert offer.capacity == 6
        counter = db.session.scalar(select(PlaceCounter).where(PlaceCounter.offer_id == offer.id))
        assert (counter.capacity, counter.taken) == (6, 5)


def test_moving_the_site_needs_new_fire_health_and_photo_documents(world, filed):
    data = change_form(world, address="新址路9号")
    r = post(filed["client"], "/filing/change", data, {})
    assert r.status_code == 400
    text = r.get_data(as_text=True)
    assert "缺少消防验收或备案文件" in text and "缺少场所照片" in text
    with world["app"].app_context():
        assert count(FilingApplication) == 0


def test_closure_takes_the_nursery_off_the_public_list(world, filed):
    app, admin = world["app"], world["clients"]["admin"]
    with app.app_context():  # the held places of the fixture are counters only: no bookings
        assert count(Booking) == 0
    assert [h["id"] for h in search(admin)] == [filed["id"]]
    r = filed["client"].post("/filing/closure", data={"reason": ""})
    assert r.status_code == 400
    r = filed["client"].post("/filing/closure", data={"reason": "场地租约到期"})
    assert r.status_code == 303
    application_id = int(r.headers["Location"].rsplit("/", 1)[1])
    assert [h["id"] for h in search(admin)] == [filed["id"]]  # until approved
    r = admin.post(f"/admin/filings/{application_id}/approve", data={"confirm": "y"})
    assert r.status_code == 303
    assert search(admin) == []
    assert admin.get(f"/api/v1/nurseries/{filed['id']}").status_code == 404
    with app.app_context():
        a = db.session.get(FilingApplication, application_id)
        assert a.filing_no == "测备〔2024〕001号"  # retired with the application
        assert db.session.get(Nursery, filed["id"]).filing_no is None


def test_closure_is_refused_while_families_hold_bookings(app, make_user):
    from accounts.services import create_user
    from booking.parsing import parse_request
    from booking.services import family
    from booking.waitlist import Settings
    from tests.booking_helpers import birth_for, make_bookable_nursery

    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        nursery_id = make_bookable_nursery()
        create_user("nursery_staff", "staff-b", "secret-pass-1", nursery_id=nursery_id)
        settings = Settings.from_config(app.config)
        parent = create_user("parent", "parent-b", "secret-pass-1").id
        child = family.register_child(parent, "小明", birth_for(20), True, settings).id
        req = parse_request(
            {"care_type": "full_day", "start_date": (date.today() + timedelta(40)).isoformat()}
        )
        family.book(parent, child, nursery_id, req, True, settings)
    client = app.test_client()
    login(client, ("staff-b", "secret-pass-1"))
    r = client.post("/filing/closure", data={"reason": "停办"})
    assert r.status_code == 409 and "1 个未结束的预约" in r.get_data(as_text=True)
    with app.app_context():
        assert count(FilingApplication) == 0


# --- deadlines --------------------------------------------------------------------------------


def test_the_review_deadline_counts_working_days_and_skips_holidays():
    cal = shipped_calendar()
    # 2025: National Day 1–8 October off, Saturday 11 October a make-up working day
    due = rules.review_deadline(datetime(2025, 9, 30, 10), 5, cal.add_working_days)
    assert due == datetime(2025, 10, 14, 10)
    assert rules.review_deadline(datetime(2025, 9, 30, 10), 20, cal.add_working_days) > datetime(
        2025, 10, 28
    )


def test_days_left_are_working_days(app):
    with app.app_context():
        assert working_days_left(datetime(2025, 10, 14, 10), date(2025, 9, 30)) == 5
        assert working_days_left(datetime(2025, 9, 30, 10), date(2025, 10, 14)) == -5
        assert working_days_left(datetime(2025, 10, 14, 9), date(2025, 10, 14)) == 0


def test_the_review_period_is_configurable(world):
    world["app"].config["FILING_REVIEW_WORKDAYS"] = 3
    application_id = submit(world)
    with world["app"].app_context():
        a = db.session.get(FilingApplication, application_id)
        assert a.due_at == shipped_calendar().add_working_days(a.submitted_at, 3)


# --- bad input ----------------------------------------------------------------------------------


def _refused(world, data, uploads, status, words):
    r = post(world["clients"]["op"], "/filing/new", data, uploads)
    text = r.get_data(as_text=True)
    assert r.status_code == status, text[:2000]
    for word in words:
        assert word in text
    with world["app"].app_context():
        assert (count(FilingApplication), count(FilingAttachment), count(Nursery)) == (0, 0, 0)


def test_missing_required_documents_are_refused(world):
    _refused(
        world,
        form(world["street"]),
        files(doc_fire_safety=None, doc_photo=None),
        400,
        ["缺少消防验收或备案文件", "缺少场所照片"],
    )


def test_the_food_licence_is_required_only_where_meals_are_served(world):
    _refused(
        world, form(world["street"]), files(doc_food_licence=None), 400, ["缺少食品经营许可证"]
    )
    submit_without = post(
        world["clients"]["op"],
        "/filing/new",
        form(world["street"], serves_meals=None),
        files(doc_food_licence=None),
    )
    assert submit_without.status_code == 303


def test_an_attachment_that_is_not_a_pdf_or_image_is_refused(world):
    fake = (io.BytesIO(b"MZ\x90\x00 not a pdf"), "消防验收.pdf")
    _refused(world, form(world["street"]), files(doc_fire_safety=fake), 400, ["不是PDF 文件"])
    pdf_photo = [(io.BytesIO(PDF), "照片.pdf")]
    _refused(world, form(world["street"]), files(doc_photo=pdf_photo), 400, ["不是JPEG 或 PNG"])


def test_an_attachment_too_large_is_refused(world):
    big = (io.BytesIO(PDF + b"0" * rules.MAX_FILE_BYTES), "消防验收.pdf")
    _refused(world, form(world["street"]), files(doc_fire_safety=big), 413, ["超过 5 MB"])


def test_a_class_above_the_national_maximum_is_refused(world):
    data = form(world["street"], **{"class_capacity-0": "16", "class_carers-0": "4"})
    _refused(world, data, files(), 400, ["超过上限 15 人"])
    data = form(world["street"], **{"class_capacity-0": "15", "class_carers-0": "2"})
    _refused(world, data, files(), 400, ["1:5"])


def test_a_wrong_registration_number_is_refused(world):
    _refused(
        world,
        form(world["street"], registration_no=USCC_PROFIT[:-1] + "4"),
        files(),
        400,
        ["校验位不正确"],
    )
    # a 民政 number for a for-profit nursery
    _refused(
        world, form(world["street"], registration_no=USCC_CIVIL), files(), 400, ["应以 9 开头"]
    )
    ok = post(
        world["clients"]["op"],
        "/filing/new",
        form(world["street"], registration="civil_affairs", registration_no=USCC_CIVIL),
        files(),
    )
    assert ok.status_code == 303


def test_control_characters_and_overlong_text_are_refused(world):
    _refused(world, form(world["street"], name="托育\x00园"), files(), 400, ["控制字符"])
    _refused(world, form(world["street"], address="路" * 201), files(), 400, ["不能超过 200 字"])
    _refused(world, form(world["street"], lat="abc"), files(), 400, ["纬度须为数字"])


def test_carers_must_be_on_the_staff_list(world):
    data = form(world["street"])
    for i in range(6):
        data.pop(f"staff_name-{i}")
        data.pop(f"staff_cert-{i}")
    _refused(world, data, files(), 400, ["保育人员 6 名", "只有保育师、育婴员 0 名"])


def test_a_filing_number_clash_is_a_409_and_nothing_is_filed(world, make_nursery):
    make_nursery(name="老牌托育园", lat=29.7, lon=106.6)  # filed as 测备〔2024〕001号
    application_id = submit(world)
    r = world["clients"]["admin"].post(
        f"/admin/filings/{application_id}/approve",
        data={"confirm": "y", "filing_no": "测备〔2024〕001号"},
    )
    assert r.status_code == 409 and "已被其他机构使用" in r.get_data(as_text=True)
    with world["app"].app_context():
        assert count(Nursery) == 1
        assert db.session.get(FilingApplication, application_id).status == "submitted"
        assert db.session.scalar(select(User.role).where(User.username == "op-one")) == "operator"
    r = world["clients"]["admin"].post(
        f"/admin/filings/{application_id}/approve",
        data={"confirm": "y", "filing_no": "渝星卫托备〔2026〕101号"},
    )
    assert r.status_code == 303
    with world["app"].app_context():
        assert db.session.scalar(
            select(Nursery.id).where(Nursery.filing_no == "渝星卫托备〔2026〕101号")
        )


def test_one_open_new_application_at_a_time(world):
    submit(world)
    r = post(world["clients"]["op"], "/filing/new", form(world["street"]), files())
    assert r.status_code == 409


# --- access -------------------------------------------------------------------------------------


def test_applications_and_attachments_are_the_applicants_and_the_admins_only(world, make_user):
    application_id = submit(world)
    with world["app"].app_context():
        attachment_id = db.session.scalar(select(func.min(FilingAttachment.id)))
    own = world["clients"]["op"].get(f"/filing/{application_id}/attachments/{attachment_id}")
    assert own.status_code == 200 and own.data.startswith(b"%PDF")
    assert "no-store" in own.headers["Cache-Control"]
    other = world["clients"]["op2"]
    assert other.get(f"/filing/{application_id}").status_code == 404
    assert other.get(f"/filing/{application_id}/attachments/{attachment_id}").status_code == 404
    assert other.get(f"/filing/{application_id}/correct").status_code == 404
    admin = world["clients"]["admin"]
    url = f"/admin/filings/{application_id}/attachments/{attachment_id}"
    assert admin.get(url).status_code == 200
    assert other.get(url).status_code == 403
    parent = world["app"].test_client()
    login(parent, make_user("parent"))
    assert parent.get("/filing/new").status_code == 403
    assert parent.get("/admin/filings").status_code == 403
    assert world["app"].test_client().get("/filing/new").status_code == 302  # to the login page


def test_an_operator_registers_and_files(app):
    app.config["WTF_CSRF_ENABLED"] = False
    client = app.test_client()
    r = client.post(
        "/filing/register",
        data={"username": "new-op", "password": "a-long-pass-77", "confirm": "a-long-pass-77"},
    )
    assert r.status_code == 302 and r.headers["Location"].endswith("/filing/new")
    assert client.get("/filing/new").status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "new-op"))
        assert (user.role, user.nursery_id) == ("operator", None)


def test_an_operator_cannot_be_bound_to_a_nursery(app, make_nursery):
    from accounts.services import create_user
    from errors import DomainError

    nursery_id = make_nursery()
    with app.app_context(), pytest.raises(DomainError):
        create_user("operator", "op-bound", "secret-pass-1", nursery_id=nursery_id)


def test_the_classes_of_an_application_keep_their_names(world):
    application_id = submit(world)
    with world["app"].app_context():
        a = db.session.get(FilingApplication, application_id)
        assert [(k.class_type, k.name, k.capacity) for k in a.classes()] == [
            ("toddler", "小一班", 15),
            ("older", "大一班", 20),
        ]
        assert count(NurseryClass) == 0


def test_the_demo_has_one_application_waiting_and_one_returned_and_admin_approves(app):
    from demo.district import load_demo
    from filing import services

    with app.app_context():
        summary = load_demo()
        assert summary["filings"] == 2
        rows = db.session.execute(
            select(User.username, FilingApplication.status, FilingApplication.id)
            .join(User, User.id == FilingApplication.applicant_id)
            .order_by(User.username)
        ).all()
        assert [(u, s) for u, s, _ in rows] == [
            ("operator1", "submitted"),
            ("operator2", "returned"),
        ]
        admin = db.session.scalar(select(User.id).where(User.username == "admin"))
        services.approve(admin, rows[0][2])
        nursery = db.session.scalar(select(Nursery).where(Nursery.name.like("青藤托育园%")))
        assert nursery.is_filed and len(nursery.classes) == 3


def test_the_staff_roles_are_the_registrys():
    from maps.models import STAFF_ROLES

    assert rules.STAFF_ROLES == STAFF_ROLES  # plain rules keep their own copy of the labels


def test_the_queue_command_lists_deadlines(world):
    application_id = submit(world)
    result = world["app"].test_cli_runner().invoke(args=["filings", "queue"])
    assert result.exit_code == 0
    assert f"#{application_id} 新机构备案 小橡树托育园" in result.output
    assert "还剩 20 个工作日" in result.output
