"""Inspections (多部门监督检查, issue 12): recording, following up and closing; bad input; who
may write; what the public, the nursery and other departments see; suspension and bookings; the
planner's 持证率, 等级覆盖率 and inspection outcomes by street."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from flask import current_app
from sqlalchemy import func, select

from accounts.models import User
from accounts.services import create_user
from audit.models import AuditEntry
from booking.parsing import parse_request
from booking.services import family
from booking.waitlist import Settings
from complaints.services import filing, handling
from errors import DomainError
from extensions import db
from inspections import queries, services
from inspections.models import ComplaintVerdict, Inspection, InspectionEvent
from maps.models import Nursery, NurseryStaff, Street
from planning import indicators
from planning.indicators import DistrictData, InspectionRow, NurseryRow
from tests.booking_helpers import birth_for, make_bookable_nursery
from tests.conftest import login

TODAY = date.today()
PASSWORD = "secret-pass-1"


def _user(role: str, **kwargs) -> User:
    username = f"{role}-{kwargs.get('department_code') or kwargs.get('nursery_id') or 'x'}-" + (
        f"{db.session.scalar(select(func.count()).select_from(User)) + 1}"
    )
    create_user(role, username, PASSWORD, **kwargs)
    return db.session.scalar(select(User).where(User.username == username))


def _counts() -> tuple[int, int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(Inspection)),
        db.session.scalar(select(func.count()).select_from(InspectionEvent)),
        db.session.scalar(select(func.count()).select_from(AuditEntry)),
    )


@pytest.fixture
def world(app):
    """A filed nursery in 云岭街道 (s1) and one unfiled; handlers of fire, market, the street of
    s1 and of another street; a parent, the nursery's staff and the admin."""
    with app.app_context():
        s1, s2 = Street(code="s1", name="云岭街道"), Street(code="s2", name="星河镇")
        db.session.add_all([s1, s2])
        db.session.commit()
        nid = make_bookable_nursery(capacity=3)
        n = db.session.get(Nursery, nid)
        n.street_id, n.name = s1.id, "阳光托育园"
        other = make_bookable_nursery(capacity=3)
        unfiled = Nursery(name="未备案点", address="路9号", kind="family", lat=29.6, lon=106.5)
        db.session.add(unfiled)
        db.session.commit()
        ids = {"x": nid, "other": other, "z": unfiled.id, "s1": s1.id, "s2": s2.id}
        for key, kwargs in {
            "fire": {"department_code": "fire"},
            "market": {"department_code": "market"},
            "health": {"department_code": "health"},
            "street1": {"department_code": "street", "street_code": "s1"},
            "street2": {"department_code": "street", "street_code": "s2"},
        }.items():
            ids[key] = _user("handler", **kwargs).id
        ids["parent"] = _user("parent").id
        ids["staff"] = _user("nursery_staff", nursery_id=nid).id
        ids["staff_other"] = _user("nursery_staff", nursery_id=other).id
        ids["admin"] = _user("admin").id
    return ids


def u(ids, key) -> User:
    return db.session.get(User, ids[key])


# --- record, follow up, close ----------------------------------------------------------------


def test_a_department_records_follows_up_and_closes_a_rectification(app, world):
    with app.app_context():
        fire = u(world, "fire")
        i = services.record(
            fire,
            world["x"],
            "fire",
            TODAY - timedelta(days=10),
            "安全出口指示灯损坏",
            "rectify",
            (TODAY + timedelta(days=5)).isoformat(),
        )
        assert (i.department, i.status, i.rectify_by) == ("fire", "open", TODAY + timedelta(5))
        services.follow_up(fire, i.id, "已督促，机构称本周更换")
        services.close(fire, i.id, TODAY.isoformat(), "复查：指示灯已更换")
        i = db.session.get(Inspection, i.id)
        assert (i.status, i.closed_on) == ("closed", TODAY)
        assert [e.kind for e in i.events] == ["recorded", "follow_up", "closed"]
        assert all(e.at is not None and e.department == "fire" for e in i.events)
        actions = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_type == "inspection")
        ).all()
        assert actions == ["inspection_recorded", "inspection_follow_up", "inspection_closed"]
        # closed: no more follow-ups, no second closing
        for call in (
            lambda: services.follow_up(fire, i.id, "再看看"),
            lambda: services.close(fire, i.id, TODAY, "再关一次"),
        ):
            with pytest.raises(DomainError) as exc:
                call()
            assert exc.value.status == 409


def test_a_pass_needs_no_follow_up_and_overdue_rectifications_are_flagged(app, world):
    with app.app_context():
        market = u(world, "market")
        ok = services.record(market, world["x"], "food", TODAY, "留样齐全", "pass")
        assert ok.status == "passed"
        late = services.record(
            market,
            world["x"],
            "food",
            TODAY - timedelta(days=30),
            "冷藏温度记录不全",
            "rectify",
            TODAY - timedelta(days=1),
        )
        due = services.record(
            market, world["x"], "food", TODAY - timedelta(days=2), "缺健康证", "rectify", TODAY
        )
        rows = queries.department_list(market)
        # open rectifications first, the overdue one before the one due today, then the rest
        assert [r["id"] for r in rows] == [late.id, due.id, ok.id]
        assert [r["overdue"] for r in rows] == [True, False, False]
        assert [r["id"] for r in queries.overdue_rectifications()] == [late.id]


# --- bad input -------------------------------------------------------------------------------


BAD = [
    ({"inspected_on": (TODAY + timedelta(days=1)).isoformat()}, "inspection_in_future", "晚于今天"),
    ({"inspected_on": (TODAY - timedelta(days=5000)).isoformat()}, "inspection_too_old", "过早"),
    ({"inspected_on": "2026-02-30"}, "invalid_inspected_on", "有效日期"),
    ({"rectify_by": None}, "missing_rectify_by", "整改期限"),
    (
        {"rectify_by": (TODAY - timedelta(days=3)).isoformat()},
        "rectify_by_too_early",
        "晚于检查日期",
    ),
    ({"kind": "noise"}, "invalid_kind", "检查类别"),
    ({"result": "warn"}, "invalid_result", "检查结论"),
    ({"findings": "查" * 2001}, "findings_too_long", "2000"),
    ({"findings": "通道\x00堵塞"}, "invalid_findings", "控制字符"),
    ({"findings": "   "}, "missing_findings", "检查发现"),
]


@pytest.mark.parametrize("change, code, words", BAD)
def test_bad_input_is_refused_in_chinese_and_nothing_is_stored(app, world, change, code, words):
    with app.app_context():
        args = {
            "kind": "fire",
            "inspected_on": (TODAY - timedelta(days=2)).isoformat(),
            "findings": "灭火器过期",
            "result": "rectify",
            "rectify_by": (TODAY + timedelta(days=10)).isoformat(),
            **change,
        }
        before = _counts()
        with pytest.raises(DomainError) as exc:
            services.record(u(world, "fire"), world["x"], **args)
        assert exc.value.code == code and exc.value.status == 400
        assert words in exc.value.message
        assert _counts() == before


def test_closing_before_the_inspection_or_in_the_future_is_refused(app, world):
    with app.app_context():
        fire = u(world, "fire")
        i = services.record(
            fire, world["x"], "fire", TODAY - timedelta(3), "堵塞", "rectify", TODAY + timedelta(9)
        )
        for day, code in (
            (TODAY - timedelta(5), "closed_too_early"),
            (TODAY + timedelta(1), "closed_in_future"),
        ):
            with pytest.raises(DomainError) as exc:
                services.close(fire, i.id, day, "复查")
            assert exc.value.code == code
        assert db.session.get(Inspection, i.id).status == "open"


def test_the_record_form_refuses_a_future_date_with_a_400_and_stores_nothing(app, world, client):
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        username = u(world, "fire").username
    login(client, (username, PASSWORD))
    r = client.post(
        "/handle/inspections/new",
        data={
            "nursery_id": str(world["x"]),
            "kind": "fire",
            "inspected_on": (TODAY + timedelta(days=3)).isoformat(),
            "findings": "通道堵塞",
            "result": "pass",
        },
    )
    assert r.status_code == 400
    assert "检查日期不能晚于今天" in r.get_data(as_text=True)
    with app.app_context():
        assert _counts()[0] == 0


# --- only departments write ------------------------------------------------------------------


@pytest.mark.parametrize("who", ["parent", "staff", "admin"])
def test_only_department_handlers_record(app, world, who):
    with app.app_context():
        with pytest.raises(DomainError) as exc:
            services.record(u(world, who), world["x"], "fire", TODAY, "看过了", "pass")
        assert exc.value.status == 403
        with pytest.raises(DomainError):
            services.record(None, world["x"], "fire", TODAY, "看过了", "pass")
        assert _counts()[0] == 0


def test_the_pages_refuse_everyone_but_handlers(app, world):
    app.config["WTF_CSRF_ENABLED"] = False
    data = {"nursery_id": str(world["x"]), "kind": "fire", "inspected_on": TODAY.isoformat(),
            "findings": "看过了", "result": "pass"}  # fmt: skip
    anonymous = app.test_client()
    r = anonymous.post("/handle/inspections/new", data=data)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    for who in ("parent", "staff", "admin"):
        client = app.test_client()
        with app.app_context():
            login(client, (u(world, who).username, PASSWORD))
        assert client.post("/handle/inspections/new", data=data).status_code == 403
    with app.app_context():
        assert _counts()[0] == 0
        fire = app.test_client()
        login(fire, (u(world, "fire").username, PASSWORD))
    r = fire.post("/handle/inspections/new", data=data)
    assert r.status_code == 302
    with app.app_context():
        i = db.session.scalar(select(Inspection))
        assert (i.department, i.nursery_id, i.result) == ("fire", world["x"], "pass")


def test_another_department_reads_but_may_not_follow_up_or_close(app, world):
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        i = services.record(
            u(world, "fire"), world["x"], "fire", TODAY, "堵塞", "rectify", TODAY + timedelta(9)
        )
        with pytest.raises(DomainError) as exc:
            services.follow_up(u(world, "market"), i.id, "我来跟进")
        assert exc.value.status == 403
        with pytest.raises(DomainError) as exc:
            services.close(u(world, "health"), i.id, TODAY, "我来复查")
        assert exc.value.status == 403
        market_name, iid = u(world, "market").username, i.id
    client = app.test_client()
    login(client, (market_name, PASSWORD))
    page = client.get(f"/handle/inspections/{iid}")
    assert page.status_code == 200 and "堵塞" in page.get_data(as_text=True)
    assert 'id="action-follow-up"' not in page.get_data(as_text=True)
    r = client.post(f"/handle/inspections/{iid}/follow-up", data={"follow-note": "我来跟进"})
    assert r.status_code == 403
    with app.app_context():
        assert [e.kind for e in db.session.get(Inspection, iid).events] == ["recorded"]


def test_a_street_handler_inspects_only_its_own_street(app, world):
    with app.app_context():
        i = services.record(u(world, "street1"), world["x"], "safety", TODAY, "门卫在岗", "pass")
        assert i.department == "street"
        with pytest.raises(DomainError) as exc:
            services.record(u(world, "street2"), world["x"], "safety", TODAY, "门卫在岗", "pass")
        assert exc.value.status == 403
        assert [r["id"] for r in queries.department_list(u(world, "street2"))] == []
        assert [r["id"] for r in queries.department_list(u(world, "street1"))] == [i.id]


def test_an_unfiled_or_unknown_nursery_cannot_be_inspected(app, world):
    with app.app_context():
        for nid in (world["z"], 999_999, "1", True):
            with pytest.raises(DomainError) as exc:
                services.record(u(world, "fire"), nid, "fire", TODAY, "看过了", "pass")
            assert exc.value.status == 404


# --- what each audience sees -----------------------------------------------------------------


def _complaint(ids, text: str, name: str, category="hygiene") -> int:
    c, _code = filing.file_complaint(
        filing.Filing(
            category=category, description=text, nursery_id=ids["x"], name=name,
            phone="13912345678",
        )
    )  # fmt: skip
    return c.id


def test_the_public_sees_results_and_substantiated_counts_never_findings_or_complaints(app, world):
    with app.app_context():
        services.record(u(world, "fire"), world["x"], "fire", TODAY - timedelta(40), "旧", "pass")
        services.record(
            u(world, "fire"), world["x"], "fire", TODAY - timedelta(3), "秘密发现甲乙丙",
            "rectify", TODAY + timedelta(20),
        )  # fmt: skip
        services.record(u(world, "market"), world["x"], "food", TODAY, "留样齐全丁戊", "pass")
        cid = _complaint(world, "老师推搡孩子投诉文本己庚", "投诉人辛壬")
        health = u(world, "health")
        handling.accept(health, cid)
        handling.resolve(health, cid, "已核查并责令整改")
        services.record_verdict(health, cid, "substantiated", "rectified")
        summary = queries.public_summary(world["x"])
    assert [(r["kind"], r["result"], r["status"]) for r in summary["latest"]] == [
        ("fire", "rectify", "open"),  # the latest fire inspection, not the older pass
        ("food", "pass", "passed"),
    ]
    assert summary["substantiated_complaints"]["count"] == 1
    client = app.test_client()
    for path in (f"/nurseries/{world['x']}", f"/api/v1/nurseries/{world['x']}"):
        body = client.get(path).get_data(as_text=True)
        for secret in (
            "秘密发现甲乙丙",
            "留样齐全丁戊",
            "推搡孩子投诉文本己庚",
            "投诉人辛壬",
            "13912345678",
        ):
            assert secret not in body, (path, secret)
        assert "消防救援" in body and "市场监管局" in body
    page = client.get(f"/nurseries/{world['x']}").get_data(as_text=True)
    assert "责令限期整改" in page and "经核查属实" in page
    assert "责令整改并已整改 1 件" in page
    api = client.get(f"/api/v1/nurseries/{world['x']}").get_json()
    assert api["inspections"]["substantiated_complaints"]["count"] == 1
    assert {r["kind"] for r in api["inspections"]["latest"]} == {"fire", "food"}
    assert "findings" not in str(api["inspections"])


def test_a_handler_sees_complaints_in_full_only_where_routed(app, world):
    with app.app_context():
        cid = _complaint(world, "教室很久没有消毒描述癸", "投诉人子丑")
        health_name, market_name = u(world, "health").username, u(world, "market").username
    health, market = app.test_client(), app.test_client()
    app.config["WTF_CSRF_ENABLED"] = False
    login(health, (health_name, PASSWORD))
    login(market, (market_name, PASSWORD))
    mine = health.get(f"/handle/inspections/nurseries/{world['x']}").get_data(as_text=True)
    assert f"/handle/{cid}" in mine
    theirs = market.get(f"/handle/inspections/nurseries/{world['x']}")
    body = theirs.get_data(as_text=True)
    assert theirs.status_code == 200
    assert f"/handle/{cid}" not in body and 'id="other-count">1<' in body
    for secret in ("描述癸", "投诉人子丑", "13912345678"):
        assert secret not in body and secret not in mine
    assert market.get(f"/handle/inspections/nurseries/{world['z']}").status_code == 404


def test_a_verdict_is_the_lead_departments_on_a_concluded_complaint(app, world):
    with app.app_context():
        cid = _complaint(world, "卫生差", "某人")
        health = u(world, "health")
        with pytest.raises(DomainError) as exc:
            services.record_verdict(health, cid, "substantiated", "rectified")
        assert exc.value.status == 409  # not concluded yet
        handling.accept(health, cid)
        handling.resolve(health, cid, "已处理")
        with pytest.raises(DomainError) as exc:
            services.record_verdict(u(world, "street1"), cid, "partly", "warned")
        assert exc.value.status == 403  # the street co-handles
        with pytest.raises(DomainError) as exc:
            services.record_verdict(u(world, "market"), cid, "partly", "warned")
        assert exc.value.status == 404  # not routed to market
        with pytest.raises(DomainError) as exc:
            services.record_verdict(health, cid, "substantiated", None)
        assert exc.value.code == "invalid_outcome"
        services.record_verdict(health, cid, "unsubstantiated", None)
        services.record_verdict(health, cid, "partly", "warned")  # replaces the first
        rows = db.session.scalars(select(ComplaintVerdict)).all()
        assert [(v.verdict, v.outcome) for v in rows] == [("partly", "warned")]
        assert queries.substantiated_counts(world["x"])["outcomes"] == [
            {"outcome": "约谈、批评教育", "count": 1}
        ]


def test_the_nursery_reads_its_own_inspections_and_no_other(app, world):
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        mine = services.record(
            u(world, "fire"), world["x"], "fire", TODAY, "灭火器过期乙", "rectify",
            TODAY + timedelta(9),
        )  # fmt: skip
        other = services.record(u(world, "fire"), world["other"], "fire", TODAY, "别家丙", "pass")
        staff, mine, other = u(world, "staff").username, mine.id, other.id
    client = app.test_client()
    login(client, (staff, PASSWORD))
    listing = client.get("/portal/inspections").get_data(as_text=True)
    assert f"/portal/inspections/{mine}" in listing
    assert f"/portal/inspections/{other}" not in listing
    page = client.get(f"/portal/inspections/{mine}").get_data(as_text=True)
    assert "灭火器过期乙" in page and (TODAY + timedelta(9)).isoformat() in page
    assert client.get(f"/portal/inspections/{other}").status_code == 404
    assert client.post("/handle/inspections/new", data={}).status_code == 403


# --- suspension ------------------------------------------------------------------------------


def _book(ids) -> None:
    settings = Settings.from_config(current_app.config)
    child = family.register_child(ids["parent"], "李小", birth_for(20, TODAY), True, settings)
    start = TODAY + timedelta(days=30)
    req = parse_request({"care_type": "full_day", "start_date": start.isoformat()})
    family.book(ids["parent"], child.id, ids["x"], req, True, settings)


def test_a_suspended_nursery_takes_no_booking_until_the_rectification_is_verified(app, world):
    with app.app_context():
        health = u(world, "health")
        i = services.record(health, world["x"], "health", TODAY, "诺如病毒疫情", "suspend")
        assert queries.public_summary(world["x"])["suspended"] is True
        with pytest.raises(DomainError) as exc:
            _book(world)
        assert exc.value.code == "nursery_suspended" and exc.value.status == 409
        assert "停业整顿" in exc.value.message
        page = app.test_client().get(f"/nurseries/{world['x']}").get_data(as_text=True)
        assert "停业整顿" in page and "入托网上约</a>" not in page
        services.close(health, i.id, TODAY, "终末消毒完成，复查合格")
        assert queries.public_summary(world["x"])["suspended"] is False
        _book(world)  # accepted again


# --- the planner's indicators ----------------------------------------------------------------


def _row(nid, street, staff=0, certified=0, graded=False) -> NurseryRow:
    return NurseryRow(
        nid, f"n{nid}", street, 29.6, 106.5, "private", False, 10, 10.0, 0.0, 0,
        graded=graded, staff=staff, certified=certified,
    )  # fmt: skip


def test_cert_rate_and_grade_coverage_on_a_known_set():
    data = DistrictData(
        {1: ("s1", "云岭街道"), 2: ("s2", "星河镇")},
        [
            _row(1, 1, staff=10, certified=9, graded=True),
            _row(2, 1, staff=5, certified=2),
            _row(3, 2),  # no staff list: not reported, not 0 %
            _row(4, 2, graded=True),
        ],
        [],
    )
    figures = indicators.compute(data, np.array([]), 300, 1000)
    cert = figures["cert_rate"]
    assert (cert["numerator"], cert["denominator"]) == (11, 15)
    assert cert["value"] == pytest.approx(11 / 15)
    grade = figures["grade_coverage"]
    assert (grade["numerator"], grade["denominator"], grade["value"]) == (2, 4, 0.5)
    # a street whose nurseries sent no list has no rate at all
    assert (
        indicators.compute(data, np.array([]), 300, 1000, street_id=2)["cert_rate"]["value"] is None
    )


def test_inspection_outcomes_by_street_on_a_known_set():
    today = date(2026, 12, 3)
    rows = [
        InspectionRow(1, today - timedelta(10), "pass", "passed"),
        InspectionRow(1, today - timedelta(20), "rectify", "open", today - timedelta(1)),  # overdue
        InspectionRow(1, today - timedelta(30), "rectify", "closed", today - timedelta(5)),
        InspectionRow(2, today - timedelta(5), "suspend", "open", None),
        InspectionRow(2, today - timedelta(400), "rectify", "open", today + timedelta(3)),  # old
        InspectionRow(None, today, "pass", "passed"),
    ]
    data = DistrictData({1: ("s1", "云岭街道"), 2: ("s2", "星河镇")}, [], [], inspections=rows)
    out = indicators.inspection_outcomes(data, today)
    by = {s["name"]: {k: s[k] for k in indicators.OUTCOME_KEYS} for s in out["streets"]}
    assert by == {
        "云岭街道": {"pass": 1, "rectify": 2, "suspend": 0, "open": 1, "overdue": 1},
        "星河镇": {"pass": 0, "rectify": 0, "suspend": 1, "open": 2, "overdue": 0},
        "未划入镇街": {"pass": 1, "rectify": 0, "suspend": 0, "open": 0, "overdue": 0},
    }
    assert out["total"] == {"pass": 2, "rectify": 2, "suspend": 1, "open": 3, "overdue": 1}
    assert out["sources"] and "365" in out["definition"]
    one = indicators.inspection_outcomes(data, today, street_id=2)
    assert [s["name"] for s in one["streets"]] == ["星河镇"]


def test_the_indicators_load_staff_lists_and_inspections_from_the_database(app, world):
    with app.app_context():
        for name, cert in (("王", "C1"), ("李", None), ("张", "C3"), ("赵", " ")):
            db.session.add(
                NurseryStaff(
                    nursery_id=world["x"], name=name, role="caregiver", certificate_no=cert
                )
            )
        db.session.commit()
        services.record(
            u(world, "fire"), world["x"], "fire", TODAY, "堵塞", "rectify", TODAY + timedelta(3)
        )
        services.record(u(world, "fire"), world["other"], "fire", TODAY, "好", "pass")
        data = indicators.load()
        figures = indicators.compute(data, np.zeros(len(data.communities)), 300, 1000)
        assert (figures["cert_rate"]["numerator"], figures["cert_rate"]["denominator"]) == (2, 4)
        out = indicators.inspection_outcomes(data, TODAY)
        s1 = next(s for s in out["streets"] if s["code"] == "s1")
        assert (s1["rectify"], s1["open"], s1["pass"]) == (1, 1, 0)
        assert out["total"]["pass"] == 1  # the other nursery has no street


def test_the_dashboard_shows_the_new_figures(app, world):
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        db.session.add(
            NurseryStaff(nursery_id=world["x"], name="王", role="caregiver", certificate_no="C1")
        )
        db.session.commit()
        services.record(u(world, "fire"), world["x"], "fire", TODAY, "好", "pass")
        admin = u(world, "admin").username
    client = app.test_client()
    login(client, (admin, PASSWORD))
    html = client.get("/planning").get_data(as_text=True)
    assert 'id="ind-cert_rate"' in html and "托育机构从业人员持证率" in html
    assert 'id="inspection-outcomes"' in html and "各镇街监督检查结果" in html
    assert "荣昌 重点任务第15项" in html


def test_the_pages_follow_up_and_close_a_rectification(app, world):
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        i = services.record(
            u(world, "fire"), world["x"], "fire", TODAY - timedelta(2), "堵塞", "rectify",
            TODAY + timedelta(9),
        )  # fmt: skip
        iid, name = i.id, u(world, "fire").username
    client = app.test_client()
    login(client, (name, PASSWORD))
    listing = client.get("/handle/inspections").get_data(as_text=True)
    assert f"/handle/inspections/{iid}" in listing.split('id="other-inspections"')[0]
    r = client.post(f"/handle/inspections/{iid}/follow-up", data={"follow-note": "已电话督促"})
    assert r.status_code == 302
    r = client.post(
        f"/handle/inspections/{iid}/close",
        data={"close-closed_on": (TODAY + timedelta(1)).isoformat(), "close-note": "复查合格"},
    )
    assert r.status_code == 400 and "复查日期不能晚于今天" in r.get_data(as_text=True)
    r = client.post(
        f"/handle/inspections/{iid}/close",
        data={"close-closed_on": TODAY.isoformat(), "close-note": "复查合格"},
    )
    assert r.status_code == 302
    page = client.get(f"/handle/inspections/{iid}").get_data(as_text=True)
    assert "已电话督促" in page and 'data-status="closed"' in page
    assert 'id="action-close"' not in page
    with app.app_context():
        assert [e.kind for e in db.session.get(Inspection, iid).events] == [
            "recorded",
            "follow_up",
            "closed",
        ]
