"""Handler pages on SQLite and PostgreSQL: the queue and its filters, the case page, every
action through the pages and its audit row, who may see what (other departments, other streets,
nursery staff, parents), revealing contact details, photos, statistics and CSRF."""

import io
import re
from datetime import datetime, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select

from accounts.models import User
from audit import AuditEntry
from complaints.models import Complaint, ComplaintEvent
from complaints.services import filing, handling
from extensions import db
from maps.models import Street
from tests.conftest import detached, login

NAME, PHONE = "王晓明", "13812345678"


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (12, 8), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def world(app, make_nursery, make_user):
    """Two streets; nurseries A and B in street 1, C in street 2; handlers of several
    departments and both streets; a nursery account of A, a parent and an admin."""
    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        s1, s2 = Street(code="s1", name="云岭街道"), Street(code="s2", name="星河镇")
        db.session.add_all([s1, s2])
        db.session.commit()
        street_ids = (s1.id, s2.id)
    a = make_nursery(name="阳光托育园", street_id=street_ids[0])
    b = make_nursery(name="彩虹托育园", street_id=street_ids[0])
    c = make_nursery(name="星星托育园", street_id=street_ids[1])
    users = {
        "health": make_user("handler", department_code="health"),
        "market": make_user("handler", department_code="market"),
        "police": make_user("handler", department_code="police"),
        "hr": make_user("handler", department_code="hr"),
        "street1": make_user("handler", department_code="street", street_code="s1"),
        "street2": make_user("handler", department_code="street", street_code="s2"),
        "staff": make_user("nursery_staff", nursery_id=a),
        "parent": make_user("parent"),
        "admin": make_user("admin"),
    }
    return {"a": a, "b": b, "c": c, "users": users}


def file(app, nursery, category="hygiene", description="教室很久没有消毒，厕所有异味", **kw):
    """File a complaint through the use case; returns (id, tracking code)."""
    now = kw.pop("now", None)
    kw.setdefault("name", NAME)
    kw.setdefault("phone", PHONE)
    with app.app_context():
        f = filing.Filing(category=category, description=description, nursery_id=nursery, **kw)
        c, code = filing.file_complaint(f, now=now)
        return c.id, code


def user(username) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def logout(client):
    client.post("/logout")


def case_row(app, pk) -> Complaint:
    return detached(app, Complaint, pk)


def audit_actions(app, cid) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.subject_type == "complaint", AuditEntry.subject_id == cid)
                .order_by(AuditEntry.id)
            )
        )


def counts(app, cid) -> tuple[int, int]:
    """(timeline events, audit rows) of a case: what a refused action must not change."""
    with app.app_context():
        events = db.session.scalar(
            select(func.count(ComplaintEvent.id)).where(ComplaintEvent.complaint_id == cid)
        )
        audits = db.session.scalar(
            select(func.count(AuditEntry.id)).where(
                AuditEntry.subject_type == "complaint", AuditEntry.subject_id == cid
            )
        )
        return events, audits


def queue_ids(html: str) -> list[int]:
    section = html.split('id="queue"', 1)[1]
    return [int(i) for i in re.findall(r'class="case-item[^"]*"\s+data-id="(\d+)"', section)]


def text(r) -> str:
    return r.get_data(as_text=True)


# --- who may enter -------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(app, client, world):
    cid, _ = file(app, world["a"])
    for path in ("/handle", f"/handle/{cid}", "/handle/stats"):
        r = client.get(path)
        assert r.status_code == 302 and "/login" in r.headers["Location"], path
    r = client.post(f"/handle/{cid}/accept")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert case_row(app, cid).status == "submitted"


@pytest.mark.parametrize("who", ["staff", "parent", "admin"])
def test_only_handlers_may_enter(app, client, world, who):
    cid, _ = file(app, world["a"], photos=[png()])
    with app.app_context():
        pid = db.session.get(Complaint, cid).photos[0].id
    login(client, world["users"][who])
    for path in ("/handle", f"/handle/{cid}", "/handle/stats", f"/handle/{cid}/photos/{pid}"):
        r = client.get(path)
        assert r.status_code == 403, path
        assert "只有承办部门账号" in text(r)
        assert NAME not in text(r) and PHONE not in text(r)
    for action in ("accept", "contact", "note"):
        r = client.post(f"/handle/{cid}/{action}", data={"note-note": "x"})
        assert r.status_code == 403, action
        assert NAME not in text(r) and PHONE not in text(r)
    assert case_row(app, cid).status == "submitted"
    assert audit_actions(app, cid) == ["complaint_filed"]


def test_nursery_staff_and_parent_never_see_the_complainant(app, client, world):
    """Everything a nursery account or a parent can reach, after a complaint about that
    nursery: no name, no phone, no photo, no description."""
    cid, _ = file(app, world["a"], description="阳光托育园的老师掐孩子胳膊", photos=[png()])
    with app.app_context():
        pid = db.session.get(Complaint, cid).photos[0].id
    paths = [
        "/",
        f"/nurseries/{world['a']}",
        "/portal",
        "/portal/bookings",
        "/portal/waitlist",
        "/portal/classes",
        "/portal/offers",
        "/inbox",
        "/bookings",
        "/children",
        "/handle",
        f"/handle/{cid}",
        f"/handle/{cid}/photos/{pid}",
        "/handle/stats",
        "/admin/complaint-rules",
    ]
    for who in ("staff", "parent"):
        login(client, world["users"][who])
        for path in paths:
            r = client.get(path)
            assert r.status_code in (200, 403, 404), (who, path, r.status_code)
            body = text(r) if r.mimetype.startswith("text") else ""
            assert NAME not in body and PHONE not in body, (who, path)
            assert "掐孩子胳膊" not in body, (who, path)
            assert not r.mimetype.startswith("image/"), (who, path)
        r = client.post(f"/handle/{cid}/contact")
        assert r.status_code == 403 and NAME not in text(r)
        logout(client)
    assert "complaint_contact_revealed" not in audit_actions(app, cid)


# --- the queue -----------------------------------------------------------------------------


def test_queue_shows_the_departments_cases_with_their_role(app, client, world):
    hygiene, _ = file(app, world["a"], "hygiene")  # health leads, street informed
    # market leads, health co-handles
    food, _ = file(app, world["a"], "food_safety", "午饭的肉有异味，孩子吃了拉肚子")
    labour, _ = file(app, world["a"], "labour_rights", "机构拖欠老师工资三个月")  # hr only
    other_street, _ = file(app, world["c"], "hygiene")  # health leads; street 2
    login(client, world["users"]["health"])
    r = client.get("/handle")
    html = text(r)
    assert r.status_code == 200
    assert sorted(queue_ids(html)) == sorted([hygiene, food, other_street])
    assert re.search(rf'data-id="{hygiene}" data-role="lead"', html)
    assert re.search(rf'data-id="{food}" data-role="co"', html)
    assert "卫生与传染病" in html and "阳光托育园" in html and "云岭街道" in html
    assert "星河镇" in html and "待受理" in html and "牵头：市场监管局" in html
    logout(client)

    login(client, world["users"]["street1"])  # informed, but only of its own street
    html = text(client.get("/handle"))
    assert sorted(queue_ids(html)) == sorted([hygiene, food, labour])
    assert re.search(rf'data-id="{labour}" data-role="informed"', html)
    logout(client)
    login(client, world["users"]["street2"])
    assert queue_ids(text(client.get("/handle"))) == [other_street]


def test_queue_sorts_urgent_first_and_highlights_overdue_cases(app, client, world):
    old = datetime.now().replace(microsecond=0) - timedelta(days=60)
    late, _ = file(app, world["a"], "care_quality", "老师态度很差", now=old)
    fresh, _ = file(app, world["a"], "care_quality", "老师态度不好，说话很冲")
    urgent, _ = file(app, world["b"], "injury", "孩子在园里摔倒骨折了，老师没有及时送医")
    login(client, world["users"]["health"])
    html = text(client.get("/handle"))
    assert queue_ids(html) == [urgent, late, fresh]
    late_row = re.search(rf'<li class="case-item[^"]*"\s+data-id="{late}".*?</li>', html, re.S)
    fresh_row = re.search(rf'<li class="case-item[^"]*"\s+data-id="{fresh}".*?</li>', html, re.S)
    assert "is-overdue" in late_row.group(0) and "已逾期" in late_row.group(0)
    assert 'class="case-deadline overdue"' in late_row.group(0)
    assert "is-overdue" not in fresh_row.group(0) and "已逾期" not in fresh_row.group(0)
    assert "剩 " in fresh_row.group(0)
    urgent_row = re.search(rf'<li class="case-item[^"]*"\s+data-id="{urgent}".*?</li>', html, re.S)
    assert "紧急" in urgent_row.group(0)

    assert queue_ids(text(client.get("/handle?overdue=1"))) == [late]
    assert queue_ids(text(client.get("/handle?urgent=1"))) == [urgent]
    assert queue_ids(text(client.get("/handle?category=injury"))) == [urgent]
    assert queue_ids(text(client.get("/handle?role=co"))) == []
    with app.app_context():
        handling.accept(user(world["users"]["health"][0]), fresh)
    assert queue_ids(text(client.get("/handle?status=accepted"))) == [fresh]
    assert queue_ids(text(client.get("/handle?status=submitted&role=lead"))) == [urgent, late]


@pytest.mark.parametrize(
    "query",
    ["status=bogus", "role=boss", "category=nope", "urgent=yes", "overdue=2", "status=%00"],
)
def test_bad_queue_filters_are_a_chinese_400(app, client, world, query):
    login(client, world["users"]["health"])
    r = client.get(f"/handle?{query}")
    assert r.status_code == 400
    # a NUL is refused before the view by the one guard of every request (web/input_guard.py)
    assert ("控制字符" if "%00" in query else "筛选") in text(r)


# --- the case page -------------------------------------------------------------------------


def test_case_page_shows_the_case_with_contact_masked(app, client, world):
    cid, _ = file(
        app,
        world["a"],
        "other",
        "教室<script>alert(1)</script>没有消毒，好几个孩子得了手足口病",
        photos=[png()],
    )
    health = world["users"]["health"]
    with app.app_context():
        handling.add_note(user(health[0]), cid, "已电话联系园长核实", public=False)
    login(client, health)
    r = client.get(f"/handle/{cid}")
    html = text(r)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "private, no-store"
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert(1)" not in html
    # category chosen vs used, and the routing reasons
    assert "卫生与传染病" in html and "投诉人选择“其他”" in html
    # hygiene: the street co-handles (荣昌 第16项), it is not merely informed
    assert "文本分类模型归为" in html and "镇街（street）协办（基线规则）" in html
    # departments and their roles
    assert re.search(r'data-code="health" data-role="lead"', html)
    assert re.search(r'data-code="street" data-role="co"', html)
    # timeline: the internal note is there, marked internal
    note = re.search(r'<li class="event internal" data-kind="note".*?</li>', html, re.S).group(0)
    assert "已电话联系园长核实" in note and "内部" in note
    assert re.search(r'<li class="event" data-kind="filed" data-public="1"', html)
    # contact masked only
    assert NAME not in html and PHONE not in html
    assert "王**" in html and "138****5678" in html
    assert "查看完整联系方式</button>" in html and f'action="/handle/{cid}/contact"' in html
    assert f"/handle/{cid}/photos/" in html
    assert audit_actions(app, cid) == ["complaint_filed", "complaint_note"]


def test_revealing_contact_details_is_audited_and_not_cached(app, client, world):
    cid, _ = file(app, world["a"])
    login(client, world["users"]["health"])
    r = client.post(f"/handle/{cid}/contact")
    html = text(r)
    assert r.status_code == 200
    assert NAME in html and PHONE in html
    assert "no-store" in r.headers["Cache-Control"]
    assert audit_actions(app, cid) == ["complaint_filed", "complaint_contact_revealed"]
    with client.session_transaction() as session:  # nothing of it kept in the cookie
        assert NAME not in repr(dict(session)) and PHONE not in repr(dict(session))
    # the next view is masked again
    html = text(client.get(f"/handle/{cid}"))
    assert NAME not in html and PHONE not in html


def test_an_informed_department_cannot_reveal_contact_details(app, client, world):
    cid, _ = file(app, world["a"], "care_quality")  # not a safety category: the street is told
    login(client, world["users"]["street1"])
    html = text(client.get(f"/handle/{cid}"))
    assert f'action="/handle/{cid}/contact"' not in html and "138****5678" in html
    assert "知会部门不能查看完整联系方式" in html
    r = client.post(f"/handle/{cid}/contact")
    assert r.status_code == 403 and PHONE not in text(r)
    assert "complaint_contact_revealed" not in audit_actions(app, cid)


def test_photos_are_served_privately_to_routed_handlers(app, client, world):
    cid, _ = file(app, world["a"], photos=[png()])
    with app.app_context():
        pid = db.session.get(Complaint, cid).photos[0].id
    login(client, world["users"]["health"])
    r = client.get(f"/handle/{cid}/photos/{pid}")
    assert r.status_code == 200
    assert r.mimetype == "image/png" and r.data.startswith(b"\x89PNG")
    assert r.headers["Cache-Control"] == "private, no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"/handle/{cid}/photos/{pid + 1}").status_code == 404
    other, _ = file(app, world["b"], photos=[png()])
    with app.app_context():
        other_pid = db.session.get(Complaint, other).photos[0].id
    # a photo of another case under this case's URL
    assert client.get(f"/handle/{cid}/photos/{other_pid}").status_code == 404


ALL_ACTIONS = [
    ("accept", {}),
    ("transfer", {"transfer-department": "police", "transfer-reason": "涉嫌违法"}),
    ("accept-transfer", {}),
    ("decline-transfer", {"decline-transfer-reason": "不属本部门职责"}),
    ("request-info", {"request-info-question": "请提供照片"}),
    ("note", {"note-note": "看看", "note-visibility": "internal"}),
    ("extend", {"extend-days": "10", "extend-reason": "需要检测"}),
    ("resolve", {"resolve-result": "已整改"}),
    ("close", {"close-reason": "不予受理"}),
    ("duplicate", {"duplicate-original_id": "1"}),
    ("reopen", {"reopen-reason": "复查"}),
    ("contact", {}),
]


def test_a_handler_of_another_department_gets_404_everywhere(app, client, world):
    cid, _ = file(app, world["a"], photos=[png()])  # hygiene: health leads, street informed
    with app.app_context():
        pid = db.session.get(Complaint, cid).photos[0].id
    before = counts(app, cid)
    for who in ("market", "street2"):  # another department; the street of another street
        login(client, world["users"][who])
        assert client.get(f"/handle/{cid}").status_code == 404
        assert client.get(f"/handle/{cid}/photos/{pid}").status_code == 404
        for action, data in ALL_ACTIONS:
            r = client.post(f"/handle/{cid}/{action}", data=data)
            assert r.status_code == 404, (who, action)
            assert NAME not in text(r) and "厕所有异味" not in text(r)
        assert cid not in queue_ids(text(client.get("/handle?status=all")))
        logout(client)
    assert counts(app, cid) == before
    assert client.get("/handle/99999999999").status_code in (302, 404)


def test_a_street_handler_sees_cases_of_its_own_street_only(app, client, world):
    mine, _ = file(app, world["a"], "care_quality")
    theirs, _ = file(app, world["c"], "care_quality")
    login(client, world["users"]["street1"])
    r = client.get(f"/handle/{mine}")
    assert r.status_code == 200 and 'data-role="informed"' in text(r)
    assert client.get(f"/handle/{theirs}").status_code == 404
    assert client.post(f"/handle/{theirs}/note", data={"note-note": "x"}).status_code == 404


def test_the_street_co_handles_a_safety_case_of_its_own_street(app, client, world):
    # 大竹 四(三), 北碚 四(二): the street answers for safety in its area (属地)
    mine, _ = file(app, world["a"], "fire_safety", "安全出口被杂物堵死了，灭火器也过期了")
    theirs, _ = file(app, world["c"], "fire_safety", "安全出口被杂物堵死了，灭火器也过期了")
    login(client, world["users"]["street1"])
    page = text(client.get(f"/handle/{mine}"))
    assert 'id="my-role" data-role="co"' in page and "受理本案" not in page
    note = {"note-note": "已派网格员到场查看", "note-visibility": "internal"}
    assert post(client, mine, "note", note).status_code == 303
    assert "已派网格员到场查看" in text(client.get(f"/handle/{mine}"))
    assert client.get(f"/handle/{theirs}").status_code == 404


# --- actions -------------------------------------------------------------------------------


def post(client, cid, action, data=None):
    return client.post(f"/handle/{cid}/{action}", data=data or {})


def test_the_lead_handles_a_case_from_acceptance_to_reopening(app, client, world):
    cid, _ = file(app, world["a"])
    login(client, world["users"]["health"])
    html = text(client.get(f"/handle/{cid}"))
    for label in ("受理本案", "转办", "关闭", "标记为重复", "添加备注"):
        assert label in html
    assert "办结</summary>" not in html  # not before acceptance

    r = post(client, cid, "accept")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/handle/{cid}")
    html = text(client.get(f"/handle/{cid}"))
    assert "已受理案件" in html and 'data-status="accepted"' in html
    assert case_row(app, cid).accepted_at is not None

    r = post(client, cid, "request-info", {"request-info-question": "请补充事发时间和班级"})
    assert r.status_code == 303 and case_row(app, cid).status == "awaiting_info"

    r = post(client, cid, "note", {"note-note": "已约谈园长", "note-visibility": "internal"})
    assert r.status_code == 303
    r = post(client, cid, "note", {"note-note": "正在现场核查", "note-visibility": "public"})
    assert r.status_code == 303
    before = case_row(app, cid).conclude_by
    r = post(client, cid, "extend", {"extend-days": "10", "extend-reason": "需要等待检测结果"})
    assert r.status_code == 303
    after = case_row(app, cid)
    assert after.extended_days == 10 and after.conclude_by > before

    r = post(client, cid, "resolve", {"resolve-result": "已责令整改并复查合格"})
    assert r.status_code == 303
    assert case_row(app, cid).status == "resolved"
    r = post(client, cid, "close", {"close-reason": ""})  # after resolution: no reason needed
    assert r.status_code == 303 and case_row(app, cid).status == "closed"
    html = text(client.get(f"/handle/{cid}"))
    assert "重新办理</summary>" in html and "受理本案" not in html
    r = post(client, cid, "reopen", {"reopen-reason": "发现新的情况"})
    assert r.status_code == 303 and case_row(app, cid).status == "reopened"

    assert audit_actions(app, cid) == [
        "complaint_filed",
        "complaint_accepted",
        "complaint_info_requested",
        "complaint_note",
        "complaint_public_note",
        "complaint_extended",
        "complaint_resolved",
        "complaint_closed",
        "complaint_reopened",
    ]
    with app.app_context():
        events = db.session.scalars(
            select(ComplaintEvent).where(ComplaintEvent.complaint_id == cid)
        ).all()
        public = {e.kind: e.public for e in events}
    assert public["note"] is False and public["public_note"] is True
    html = text(client.get(f"/handle/{cid}"))
    assert "已约谈园长" in html and "需要等待检测结果" in html


def test_not_accepting_tells_why_and_where_to_turn(app, client, world):
    """不予受理: only before acceptance, with a reason and a referral the complainant sees on
    the tracking page and in Open311's status_notes; the case ends, and can be reopened."""
    cid, code = file(app, world["a"])  # health leads
    login(client, world["users"]["health"])
    r = post(client, cid, "refuse", {"refuse-reason": "", "refuse-referral": ""})
    assert r.status_code == 400 and case_row(app, cid).status == "submitted"
    assert "请填写不予受理的理由" in text(r)
    data = {
        "refuse-reason": "同一事项已向法院起诉，正在诉讼中",
        "refuse-referral": "审理该案的人民法院",
    }
    r = post(client, cid, "refuse", data)
    assert r.status_code == 303
    c = case_row(app, cid)
    assert (c.status, c.finished, c.is_open) == ("not_accepted", True, False)
    assert audit_actions(app, cid)[-1] == "complaint_not_accepted"
    # Once refused, neither refused again nor accepted; the lead may reopen it.
    assert post(client, cid, "refuse", data).status_code == 409
    assert post(client, cid, "accept").status_code == 409
    logout(client)
    tracking = text(client.get(f"/track/{code}"))
    assert "不予受理" in tracking and "审理该案的人民法院" in tracking
    notes = client.get(f"/open311/v2/requests/{code}.json").get_json()[0]
    assert notes["status"] == "closed"
    assert "不予受理" in notes["status_notes"] and "人民法院" in notes["status_notes"]
    login(client, world["users"]["health"])
    r = post(client, cid, "reopen", {"reopen-reason": "投诉人补充了托育服务方面的问题"})
    assert r.status_code == 303 and case_row(app, cid).status == "reopened"


def test_only_the_lead_may_refuse_and_only_a_submitted_case(app, client, world):
    cid, _ = file(app, world["a"])
    login(client, world["users"]["health"])
    assert post(client, cid, "accept").status_code == 303
    data = {"refuse-reason": "不属于受理范围", "refuse-referral": "人民法院"}
    r = post(client, cid, "refuse", data)
    assert r.status_code == 409 and case_row(app, cid).status == "accepted"


def test_transfers_need_the_receiving_department(app, client, world):
    cid, _ = file(app, world["a"], "care_quality", "老师态度不好")  # health leads
    login(client, world["users"]["health"])
    r = post(
        client, cid, "transfer", {"transfer-department": "market", "transfer-reason": "收费问题"}
    )
    assert r.status_code == 303
    c = case_row(app, cid)
    assert c.pending_transfer_to == "market" and c.lead_department == "health"
    html = text(client.get(f"/handle/{cid}"))
    assert "等待对方接收" in html and "受理本案" not in html
    logout(client)

    login(client, world["users"]["market"])  # not routed, but asked to take it over
    html = text(client.get("/handle"))
    assert "待本部门接收的转办" in html and f'data-id="{cid}" data-role="transfer"' in html
    html = text(client.get(f"/handle/{cid}"))
    assert "接收转办，由本部门牵头" in html and "退回转办" in html
    r = post(client, cid, "decline-transfer", {"decline-transfer-reason": ""})
    assert r.status_code == 400 and "请填写退回理由" in text(r)
    r = post(client, cid, "decline-transfer", {"decline-transfer-reason": "不属本部门职责"})
    assert r.status_code == 303 and r.headers["Location"].rstrip("/").endswith("/handle")
    assert case_row(app, cid).pending_transfer_to is None
    assert client.get(f"/handle/{cid}").status_code == 404  # no longer theirs to see
    logout(client)

    login(client, world["users"]["health"])
    post(client, cid, "transfer", {"transfer-department": "market", "transfer-reason": "再转"})
    logout(client)
    login(client, world["users"]["market"])
    r = post(client, cid, "accept-transfer")
    assert r.status_code == 303
    c = case_row(app, cid)
    assert c.lead_department == "market" and c.pending_transfer_to is None
    html = text(client.get(f"/handle/{cid}"))
    assert 'data-code="market" data-role="lead"' in html
    assert 'data-code="health" data-role="informed"' in html
    assert audit_actions(app, cid) == [
        "complaint_filed",
        "complaint_transfer_requested",
        "complaint_transfer_declined",
        "complaint_transfer_requested",
        "complaint_transfer_accepted",
    ]


def test_duplicates_are_suggested_and_marked(app, client, world):
    first, _ = file(app, world["a"], "hygiene", "厕所很脏")
    second, _ = file(app, world["a"], "hygiene", "厕所脏，没人打扫")
    elsewhere, _ = file(app, world["b"], "hygiene", "另一个园")
    login(client, world["users"]["health"])
    html = text(client.get(f"/handle/{second}"))
    cands = re.search(r'id="duplicate-candidates">(.*?)</ul>', html, re.S).group(1)
    assert f'data-id="{first}"' in cands and f'data-id="{elsewhere}"' not in cands
    assert "标记为重复（合并到" in cands
    r = post(client, second, "duplicate", {"duplicate-original_id": str(first)})
    assert r.status_code == 303
    c = case_row(app, second)
    assert c.status == "duplicate" and c.duplicate_of_id == first
    assert audit_actions(app, second)[-1] == "complaint_duplicate"
    assert f'href="/handle/{first}"' in text(client.get(f"/handle/{second}"))


def test_refused_actions_show_why_and_store_nothing(app, client, world):
    cid, _ = file(app, world["a"])
    unseen, _ = file(app, world["a"], "labour_rights", "拖欠工资")  # hr's, not health's
    login(client, world["users"]["health"])
    before = counts(app, cid)
    cases = [
        ("resolve", {"resolve-result": "已处理"}, 409, "受理后才能办结"),
        ("extend", {"extend-days": "5", "extend-reason": "x"}, 409, "受理后才能延长"),
        ("close", {"close-reason": ""}, 400, "须说明理由"),
        (
            "transfer",
            {"transfer-department": "health", "transfer-reason": "x"},
            400,
            "请从列表中选择",
        ),
        (
            "transfer",
            {"transfer-department": "nope", "transfer-reason": "x"},
            400,
            "请从列表中选择",
        ),
        (
            "transfer",
            {"transfer-department": "market", "transfer-reason": " "},
            400,
            "请填写转办理由",
        ),
        ("duplicate", {"duplicate-original_id": str(cid)}, 400, "请选择另一件案件"),
        ("duplicate", {"duplicate-original_id": str(unseen)}, 400, "未找到要合并到的案件"),
        ("duplicate", {"duplicate-original_id": "99999999999"}, 400, "案件编号不正确"),
        ("duplicate", {"duplicate-original_id": "abc"}, 400, "请输入整数"),
        ("note", {"note-note": "x" * 2001}, 400, "不能超过 2000 字"),
        ("note", {"note-note": "x", "note-visibility": "everyone"}, 400, "请选择可见范围"),
        ("reopen", {"reopen-reason": "x"}, 409, "仍在办理中"),
    ]
    for action, data, status, message in cases:
        r = post(client, cid, action, data)
        assert r.status_code == status, (action, data, r.status_code)
        assert message in text(r), (action, data)
    assert counts(app, cid) == before
    assert post(client, cid, "no-such-action").status_code == 404

    post(client, cid, "accept")
    assert post(client, cid, "accept").status_code == 409
    for days in ("0", "31", "", "十"):
        r = post(client, cid, "extend", {"extend-days": days, "extend-reason": "检测"})
        assert r.status_code == 400, days
        assert 'id="extend-days-error"' in text(r) and "open" in text(r)
    assert (
        post(client, cid, "extend", {"extend-days": "30", "extend-reason": "检测"}).status_code
        == 303
    )
    r = post(client, cid, "extend", {"extend-days": "1", "extend-reason": "再延"})
    # the form is gone once extended; a replayed post is refused by the use case
    assert r.status_code == 400 and "只能延长一次" in text(r)
    assert case_row(app, cid).extended_days == 30
    assert audit_actions(app, cid).count("complaint_extended") == 1


def test_a_co_handler_may_only_add_internal_notes(app, client, world):
    cid, _ = file(app, world["a"], "food_safety", "饭菜变质，孩子吃了呕吐")  # market, co health
    login(client, world["users"]["health"])
    html = text(client.get(f"/handle/{cid}"))
    assert 'data-role="co"' in html
    assert "受理本案" not in html and "办结</summary>" not in html
    assert 'value="public"' not in html  # no public-note option
    for action, data in ALL_ACTIONS:
        if action in ("note", "contact", "accept-transfer", "decline-transfer"):
            continue
        r = post(client, cid, action, data)
        assert r.status_code == 403, action
        assert "只有牵头部门可以" in text(r)
    r = post(client, cid, "note", {"note-note": "公开", "note-visibility": "public"})
    assert r.status_code == 400  # not a choice for a co-handler
    r = post(client, cid, "note", {"note-note": "卫健委已派员协查", "note-visibility": "internal"})
    assert r.status_code == 303
    assert case_row(app, cid).status == "submitted"
    assert audit_actions(app, cid) == ["complaint_filed", "complaint_note"]
    assert post(client, cid, "contact").status_code == 200  # co-handlers may call back


# --- statistics ----------------------------------------------------------------------------


def test_statistics_of_a_small_hand_made_set(app, client, world):
    health = world["users"]["health"]
    day = datetime.now().replace(hour=9, minute=0, second=0, microsecond=0) - timedelta(days=20)
    one, code1 = file(app, world["a"], now=day)
    two, code2 = file(app, world["a"], now=day)
    three, code3 = file(app, world["b"], now=day)
    four, _ = file(app, world["b"], now=day - timedelta(days=40))  # never accepted: overdue
    file(app, world["a"], "food_safety", "饭菜变质")  # market's, not counted
    with app.app_context():
        h = user(health[0])
        handling.accept(h, one, now=day + timedelta(hours=2))
        handling.accept(h, two, now=day + timedelta(hours=4))
        handling.accept(h, three, now=day + timedelta(hours=9))
        handling.resolve(h, one, "已整改", now=day + timedelta(days=4))
        handling.resolve(h, two, "已整改", now=day + timedelta(days=6))
        handling.resolve(h, three, "已整改", now=day + timedelta(days=11))
        filing.rate(code1, "satisfied")
        filing.rate(code2, "basically")
        filing.rate(code3, "dissatisfied")  # within 30 days: reopened
    login(client, health)
    html = text(client.get("/handle/stats"))

    def figure(name):
        return re.search(rf'id="stat-{name}">(.*?)</', html, re.S).group(1).strip()

    assert figure("total") == "4"
    assert figure("open") == "2"  # three (reopened) and four
    assert figure("overdue") == "1"
    assert figure("urgent") == "0"
    assert figure("accept").startswith("4.0")  # hours: 2, 4, 9
    assert figure("resolve").startswith("6.0")  # days: 4, 6, 11
    assert figure("satisfaction") == "67%"
    assert figure("rated") == "3"
    assert re.search(r'data-rating="dissatisfied"><td>不满意</td><td class="n">1<', html)
    logout(client)

    login(client, world["users"]["police"])  # nothing led yet
    html = text(client.get("/handle/stats"))
    assert figure("total") == "0"
    assert figure("accept") == "—" and figure("resolve") == "—"
    assert figure("satisfaction") == "—" and 'id="no-ratings"' in html


# --- CSRF ----------------------------------------------------------------------------------


def test_actions_need_the_csrf_token(app, client, world):
    cid, _ = file(app, world["a"])
    app.config["WTF_CSRF_ENABLED"] = True
    page = text(client.get("/login"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    username, password = world["users"]["health"]
    r = client.post(
        "/login", data={"username": username, "password": password, "csrf_token": token}
    )
    assert r.status_code == 302
    r = client.post(f"/handle/{cid}/accept")
    assert r.status_code == 400 and "安全令牌" in text(r)
    r = client.post(f"/handle/{cid}/contact")
    assert r.status_code == 400 and PHONE not in text(r)
    assert case_row(app, cid).status == "submitted"
    assert audit_actions(app, cid) == ["complaint_filed"]
    page = text(client.get(f"/handle/{cid}"))
    token = re.search(r'name="accept-csrf_token" type="hidden" value="([^"]+)"', page)
    token = token or re.search(r'name="accept-csrf_token"[^>]*value="([^"]+)"', page)
    r = client.post(f"/handle/{cid}/accept", data={"accept-csrf_token": token.group(1)})
    assert r.status_code == 303 and case_row(app, cid).status == "accepted"


def test_deadlines_over_a_year_without_a_holiday_arrangement_say_they_are_provisional(
    app, client, world
):
    """No 2027 arrangement is loaded: a market case (working days) filed in December 2026
    concludes in 2027 on a weekday-only guess, which the tracking page, the case page and
    Open311 say. A health case (calendar days) filed then does not depend on holidays."""
    from workdays import calendar

    assert not calendar.is_known(2027) and calendar.is_known(2026)  # the premise of the test
    fees = {"category": "fees", "description": "托育园乱收费，多收了伙食费还不给收据"}
    late, late_code = file(app, world["a"], now=datetime(2026, 12, 2, 10, 0), **fees)
    early, early_code = file(app, world["a"], now=datetime(2026, 3, 2, 10, 0), **fees)
    days, _ = file(app, world["a"], now=datetime(2026, 12, 2, 10, 0))
    assert case_row(app, late).lead_department == case_row(app, early).lead_department == "market"
    assert case_row(app, late).conclude_by.year == 2027
    assert case_row(app, early).conclude_by.year == 2026
    assert case_row(app, days).conclude_by.year == 2027  # 60 calendar days: nothing to guess
    late_page = text(client.get(f"/track/{late_code}"))
    assert 'id="deadline-provisional"' in late_page and "期限暂定" in late_page
    assert 'id="deadline-provisional"' not in text(client.get(f"/track/{early_code}"))
    late_row = client.get(f"/open311/v2/requests/{late_code}.json").get_json()[0]
    assert "期限暂定" in late_row["service_notice"]
    assert late_row["deadline_regime"]["provisional"] is True
    early_row = client.get(f"/open311/v2/requests/{early_code}.json").get_json()[0]
    assert "期限暂定" not in early_row["service_notice"]
    assert early_row["deadline_regime"]["provisional"] is False
    login(client, world["users"]["market"])
    assert "暂定</span>" in text(client.get(f"/handle/{late}"))
    assert "暂定</span>" not in text(client.get(f"/handle/{early}"))
    logout(client)
    login(client, world["users"]["health"])
    assert "暂定</span>" not in text(client.get(f"/handle/{days}"))
