"""Parents' booking pages: children and consent, booking each care type, my bookings, inbox.

The app keeps CSRF protection on (as in production): every POST here carries the token the
pages hand out, and one test checks that a POST without it is refused.
"""

import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from booking.models import Booking, Child, Subsidy
from extensions import db
from tests.booking_helpers import birth_for, make_bookable_nursery

DAY = date.today() + timedelta(days=7)


def iso(days_after_start: int = 0) -> str:
    return (DAY + timedelta(days=days_after_start)).isoformat()


class Browser:
    """A test client that logs in through /login and sends the CSRF token with every POST."""

    def __init__(self, app, username=None, password=None):
        self.app = app
        self.client = app.test_client()
        self.token = self._token("/login")
        if username:
            r = self.post("/login", {"username": username, "password": password})
            assert r.status_code == 302, r.get_data(as_text=True)
            self.token = self._token("/")  # login starts a new session, with a new CSRF token

    def _token(self, path):
        html = self.client.get(path).get_data(as_text=True)
        tag = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', html)
        assert tag, f"no CSRF token on {path}"
        return re.search(r'\bvalue="([^"]+)"', tag.group(0)).group(1)

    def get(self, path, **kwargs):
        return self.client.get(path, **kwargs)

    def html(self, path):
        r = self.client.get(path)
        assert r.status_code == 200, (path, r.status_code)
        return r.get_data(as_text=True)

    def post(self, path, data=None, **kwargs):
        return self.client.post(path, data={**(data or {}), "csrf_token": self.token}, **kwargs)

    def add_child(self, name="小雨", months=20, **extra):
        data = {
            "name": name,
            "birth_date": birth_for(months, date.today()).isoformat(),
            "guardian_consent": "y",
            **extra,
        }
        r = self.post("/children/new", data)
        assert r.status_code == 302, r.get_data(as_text=True)
        with self.app.app_context():
            return db.session.scalar(
                select(Child.id).where(Child.name == name).order_by(Child.id.desc())
            )

    def book(self, nursery_id, child, care_type="full_day", **extra):
        data = {
            "child_id": str(child),
            "care_type": care_type,
            "start_date": iso(),
            "share_consent": "y",
            **extra,
        }
        return self.post(f"/nurseries/{nursery_id}/book", data)

    def bookings(self):
        """{booking id: (status, the <li>'s HTML)} as /bookings shows them."""
        html = self.html("/bookings")
        items = re.findall(
            r'<li class="booking[^"]*"[^>]*data-id="(\d+)" data-status="(\w+)">(.*?)</li>',
            html,
            re.S,
        )
        return {int(i): (status, body) for i, status, body in items}


@pytest.fixture
def app(app):
    app.config["WTF_CSRF_ENABLED"] = True  # explicit: the pages must work with CSRF on
    return app


@pytest.fixture
def nursery(app):
    with app.app_context():
        return make_bookable_nursery(capacity=1)


@pytest.fixture
def parent(app, make_user):
    return Browser(app, *make_user("parent"))


@pytest.fixture
def other_parent(app, make_user):
    return Browser(app, *make_user("parent"))


def count(app, model, *where):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model).where(*where))


# --- children ----------------------------------------------------------------------------


def test_adding_a_child_needs_the_guardians_consent(app, parent):
    page = parent.html("/children/new")
    version = app.config["CONSENT_RULES_VERSION"]
    assert f"儿童个人信息保护规则（{version} 版）" in page
    assert 'type="date"' in page and "只有您预约的托育机构" in page and "删除" in page
    assert re.search(r'<input[^>]* name="name"[^>]* type="text"', page)
    assert 'type="None"' not in page
    data = {"name": "小雨", "birth_date": birth_for(20).isoformat()}
    r = parent.post("/children/new", data)
    assert r.status_code == 400
    assert "须先阅读并勾选同意" in r.get_data(as_text=True)
    assert count(app, Child) == 0

    child_id = parent.add_child("小雨", months=20)
    page = parent.html("/children")
    assert "小雨" in page and "20 个月" in page
    assert f"/children/{child_id}/delete" in page
    with app.app_context():
        child = db.session.get(Child, child_id)
        assert child.consent_version == version and child.consent_at is not None
        assert child.health_notes is None  # optional


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "birth_date": "2025-01-01"}, "请填写孩子姓名"),
        ({"name": "小雨", "birth_date": "2025-13-40"}, "请按 年-月-日"),
        ({"name": "小雨", "birth_date": ""}, "请选择出生日期"),
        ({"name": "小雨", "birth_date": "2099-01-01"}, "出生日期不能晚于今天"),
        ({"name": "小雨", "birth_date": "2015-01-01"}, "3 周岁以下"),
        ({"name": "小雨", "birth_date": "2025-01-01", "health_notes": "x" * 501}, "不能超过 500"),
    ],
)
def test_child_form_errors_are_shown_in_chinese_with_400(app, parent, data, message):
    r = parent.post("/children/new", {**data, "guardian_consent": "y"})
    assert r.status_code == 400
    assert message in r.get_data(as_text=True)
    assert count(app, Child) == 0


def test_deleting_a_child_warns_then_cancels_its_bookings(app, parent, nursery):
    kid = parent.add_child("小雨")
    booking_page = parent.book(nursery, kid)
    assert booking_page.status_code == 302
    warning = parent.html(f"/children/{kid}/delete")
    assert "全部取消" in warning and "测试托育园" in warning and "小雨" in warning
    r = parent.post(f"/children/{kid}/delete")
    assert r.status_code == 302 and r.headers["Location"] == "/children"
    assert "小雨" not in parent.html("/children")
    [(status, body)] = parent.bookings().values()
    assert status == "cancelled" and "孩子信息已删除" in body
    with app.app_context():
        child = db.session.get(Child, kid)
        assert child.name is None and child.deleted_at is not None


# --- booking -----------------------------------------------------------------------------


def test_the_booking_form_shows_what_the_family_pays_and_names_the_nursery(app, parent):
    with app.app_context():
        db.session.add_all(
            Subsidy(class_type=ct, yuan_per_year=yuan, source="测试")
            for ct, yuan in (("older", 700), ("toddler", 800), ("infant", 900))
        )
        db.session.commit()
        inclusive = make_bookable_nursery(capacity=3, inclusive=True)
    empty = parent.html(f"/nurseries/{inclusive}/book")
    assert "您还没有登记孩子" in empty and f"/children/new?next_nursery={inclusive}" in empty
    assert 'type="submit"' not in empty.split('id="book-form"')[1].split("</form>")[0]

    r = parent.post(
        f"/children/new?next_nursery={inclusive}",
        {"name": "小雨", "birth_date": birth_for(20).isoformat(), "guardian_consent": "y"},
    )
    assert r.headers["Location"] == f"/nurseries/{inclusive}/book"
    page = parent.html(f"/nurseries/{inclusive}/book")
    assert "同意将孩子信息提供给【测试托育园】用于本次预约" in page
    assert 'type="None"' not in page
    for text in ("1800 元/月", "1000 元/月", "40 元/小时", "200 元/天", "空余 3"):
        assert text in page
    # 荣昌 item 11's 700/800/900 yuan go to the nursery (运营补贴), not to the family.
    assert "区级托育补贴" not in page and "享受" not in page
    assert "您需支付的托费即上面所列价格；该机构收费实行普惠限价" in page
    assert "运营补贴" in page and "托小班 800 元" in page and "不发给家庭" in page
    # Hours offered are whole hours within opening hours (08:00–17:00).
    assert '<option value="08:00">' in page and '<option value="17:00">' in page
    assert '<option value="07:00">' not in page and '<option value="08:30">' not in page

    kid = parent.add_child("小川", months=20)
    assert parent.book(inclusive, kid).status_code == 302
    [(status, body)] = [v for v in parent.bookings().values()]
    assert status == "pending"
    assert "您需支付" in body and "1800 元/月" in body
    assert "机构运营补贴" in body and "800 元/生·年" in body and "不发给家庭" in body
    assert "普惠补贴" not in body


def test_each_care_type_is_booked_through_the_page(app, parent, nursery):
    kid = parent.add_child()
    cases = [
        ("full_day", {}, "pending", "等待机构在"),
        ("half_day", {"session": "am"}, "pending", "等待机构在"),
        (
            "hourly",
            {"start_date": iso(20), "start_time": "09:00", "end_time": "11:00"},
            "confirmed",
            "预约成功，已确认",
        ),
        (
            "temporary",
            {"start_date": iso(10), "end_date": iso(12)},
            "confirmed",
            "预约成功，已确认",
        ),
    ]
    for care_type, extra, _status, flash in cases:
        r = parent.book(nursery, kid, care_type, **extra)
        assert r.status_code == 302, r.get_data(as_text=True)
        assert r.headers["Location"].startswith("/bookings#booking-")
        assert flash in parent.html("/bookings")
    shown = parent.bookings()
    with app.app_context():
        rows = {b.care_type: b for b in db.session.scalars(select(Booking))}
    for care_type, _, status, _ in cases:
        assert shown[rows[care_type].id][0] == status
    assert f"{iso(20)} 09:00–11:00" in shown[rows["hourly"].id][1]
    assert "（上午）" in shown[rows["half_day"].id][1]
    assert f"{iso(10)} 至 {iso(12)}" in shown[rows["temporary"].id][1]
    assert "机构确认" in shown[rows["full_day"].id][1]  # the nursery's deadline
    assert "40 元/小时" in shown[rows["hourly"].id][1]


def test_half_day_free_places_are_shown_per_session(app, parent, nursery):
    kid = parent.add_child()
    assert parent.book(nursery, kid, "half_day", session="am").status_code == 302
    page = parent.html(f"/nurseries/{nursery}/book")
    assert "上午已满" in page and "下午空余 1" in page


def test_fields_of_other_care_types_are_ignored(app, parent, nursery):
    """Without JavaScript every field is sent; only the chosen care type's fields count."""
    kid = parent.add_child()
    r = parent.book(nursery, kid, "full_day", session="pm", start_time="09:00", end_time="10:00")
    assert r.status_code == 302
    with app.app_context():
        b = db.session.scalar(select(Booking))
        assert (b.session, b.start_hour) == (None, None)


@pytest.mark.parametrize(
    ("extra", "status", "message"),
    [
        ({"share_consent": ""}, 400, "须勾选同意将孩子信息提供给该机构"),
        ({"care_type": ""}, 400, "请选择托育类型"),
        ({"child_id": ""}, 400, "请选择孩子"),
        ({"start_date": "明天"}, 400, "请按 年-月-日"),
        ({"start_date": "2020-01-01"}, 400, "开始日期不能早于今天"),
        ({"start_date": "2099-01-01"}, 400, "天内开始的托育"),
        ({"end_date": "2020-01-01"}, 400, "结束日期不能早于开始日期"),
        ({"care_type": "half_day"}, 400, "半日托须选择上午"),
        ({"care_type": "hourly"}, 400, "计时托须填写开始和结束时间"),
        (
            {"care_type": "hourly", "start_time": "09:30", "end_time": "11:00"},
            400,
            "不能预约半小时",
        ),
        (
            {"care_type": "hourly", "start_time": "06:00", "end_time": "08:00"},
            400,
            "开放时间 08:00–17:00",
        ),
        ({"care_type": "temporary", "end_date": iso(20)}, 400, "临时托一次最多预约 15 天"),
        ({"care_type": "overnight"}, 400, "托育类型须为"),
        ({"child_id": "999999"}, 404, "未找到该孩子的信息"),
    ],
)
def test_bad_bookings_re_render_with_the_reason(app, parent, nursery, extra, status, message):
    kid = parent.add_child()
    r = parent.book(nursery, kid, **extra)
    page = r.get_data(as_text=True)
    assert r.status_code == status, page
    assert message in page and 'id="book-form"' in page
    assert count(app, Booking) == 0


def test_age_and_double_booking_refusals(app, parent, nursery):
    baby = parent.add_child("小宝", months=3)
    r = parent.book(nursery, baby)
    assert r.status_code == 400 and "未满 6 个月" in r.get_data(as_text=True)
    kid = parent.add_child("小雨")
    assert parent.book(nursery, kid).status_code == 302
    again = parent.book(nursery, kid)
    assert again.status_code == 409 and "已有同类入托预约" in again.get_data(as_text=True)


def test_a_care_type_the_nursery_does_not_offer_is_refused(app, parent):
    with app.app_context():
        only_full = make_bookable_nursery(offers=[("full_day", "month", "1800")])
    page = parent.html(f"/nurseries/{only_full}/book")
    assert 'value="full_day"' in page and 'value="hourly"' not in page
    kid = parent.add_child()
    r = parent.book(only_full, kid, "temporary")
    assert r.status_code == 400 and "该机构不提供临时托" in r.get_data(as_text=True)


def test_unknown_or_unfiled_nursery_is_404(app, parent, make_nursery):
    unfiled = make_nursery(filed=False)
    assert parent.get("/nurseries/999999/book").status_code == 404
    assert parent.get(f"/nurseries/{unfiled}/book").status_code == 404


def test_ids_too_large_for_the_database_are_not_found_not_server_errors(app, parent, nursery):
    huge = "9" * 23
    assert parent.get(f"/nurseries/{huge}/book").status_code == 404
    assert parent.get(f"/children/{huge}/delete").status_code == 404
    assert parent.post(f"/children/{huge}/delete").status_code == 404
    for action in ("cancel", "accept"):
        assert parent.post(f"/bookings/{huge}/{action}").status_code == 404
    kid = parent.add_child()
    r = parent.book(nursery, kid, child_id="99999999999")  # beyond a PostgreSQL INTEGER
    assert r.status_code == 400 and "请选择孩子" in r.get_data(as_text=True)


# --- waitlist, cancel, accept ---------------------------------------------------------------


def test_waitlist_position_cancel_and_accept(app, parent, other_parent, nursery):
    first_kid = parent.add_child("小雨")
    second_kid = other_parent.add_child("小川")
    assert parent.book(nursery, first_kid).status_code == 302
    [first] = parent.bookings()

    r = other_parent.book(nursery, second_kid)
    assert r.status_code == 302
    page = other_parent.html("/bookings")
    assert "已为您加入候补，当前排第 1 位" in page
    [(second, (status, body))] = other_parent.bookings().items()
    assert status == "waitlisted" and "第 1 位" in body and "退出候补" in body
    assert "接受递补名额" not in body

    # The first family cancels: the place is offered to the second family.
    r = parent.post(f"/bookings/{first}/cancel")
    assert r.status_code == 302 and "已取消" in parent.html("/bookings")
    assert parent.bookings()[first][0] == "cancelled"
    status, body = other_parent.bookings()[second]
    assert status == "offered" and "保留至" in body and "接受递补名额" in body
    inbox = other_parent.html("/inbox")
    assert "好消息" in inbox
    assert inbox.index("好消息") < inbox.index("已加入候补")  # newest first

    r = other_parent.post(f"/bookings/{second}/accept")
    assert r.status_code == 302
    assert "已接受" in other_parent.html("/bookings")
    assert other_parent.bookings()[second][0] == "pending"

    # Neither can be done twice.
    r = other_parent.post(f"/bookings/{second}/accept")
    assert r.status_code == 409 and "没有可接受的递补名额" in r.get_data(as_text=True)
    r = parent.post(f"/bookings/{first}/cancel")
    assert r.status_code == 409 and "不能取消" in r.get_data(as_text=True)


def test_a_parent_cannot_act_on_another_parents_booking_or_child(
    app, parent, other_parent, nursery
):
    kid = parent.add_child()
    assert parent.book(nursery, kid).status_code == 302
    [booking] = parent.bookings()
    for action in ("cancel", "accept"):
        r = other_parent.post(f"/bookings/{booking}/{action}")
        assert r.status_code == 404 and "未找到该预约" in r.get_data(as_text=True)
    assert other_parent.bookings() == {}
    assert "小雨" not in other_parent.html("/children")
    assert other_parent.get(f"/children/{kid}/delete").status_code == 404
    assert other_parent.post(f"/children/{kid}/delete").status_code == 404
    r = other_parent.book(nursery, kid)
    assert r.status_code == 404
    assert parent.bookings()[booking][0] == "pending"
    assert count(app, Child, Child.deleted_at.is_(None)) == 1


# --- who may see the pages ------------------------------------------------------------------


def test_nursery_staff_get_403_on_parent_pages(app, make_user, nursery):
    staff = Browser(app, *make_user("nursery_staff", nursery_id=nursery))
    for path in ("/children", "/children/new", "/bookings", f"/nurseries/{nursery}/book"):
        r = staff.get(path)
        assert r.status_code == 403 and "没有权限" in r.get_data(as_text=True)
    assert staff.post("/bookings/1/cancel").status_code == 403
    assert staff.post("/children/new", {"name": "x"}).status_code == 403
    assert staff.get("/inbox").status_code == 200  # the nav links every user's inbox


@pytest.mark.parametrize(
    "path", ["/children", "/children/new", "/bookings", "/inbox", "/nurseries/1/book"]
)
def test_anonymous_users_are_sent_to_login(app, path):
    r = app.test_client().get(path)
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")


def test_a_post_without_the_csrf_token_is_refused(app, parent, nursery):
    kid = parent.add_child()
    assert parent.book(nursery, kid).status_code == 302
    [booking] = parent.bookings()
    raw = parent.client
    for path, data in (
        ("/children/new", {"name": "小川", "birth_date": "2025-01-01", "guardian_consent": "y"}),
        (f"/bookings/{booking}/cancel", {}),
        (f"/children/{kid}/delete", {}),
        (f"/nurseries/{nursery}/book", {"child_id": kid, "care_type": "hourly"}),
    ):
        r = raw.post(path, data=data)
        assert r.status_code == 400 and "安全令牌" in r.get_data(as_text=True)
    assert parent.bookings()[booking][0] == "pending"
    assert count(app, Child, Child.deleted_at.is_(None)) == 1


def test_inbox_lists_my_messages_newest_first(app, parent, other_parent, nursery):
    kid = parent.add_child()
    r = parent.book(nursery, kid, "hourly", start_time="09:00", end_time="10:00")
    assert r.status_code == 302
    [booking] = parent.bookings()
    parent.post(f"/bookings/{booking}/cancel")
    page = parent.html("/inbox")
    assert page.index("已取消") < page.index("已确认")
    assert f"#booking-{booking}" in page
    assert "暂无消息" in other_parent.html("/inbox")


def test_forms_render_when_csrf_is_switched_off(app, make_user):
    """Some deployments and tests switch CSRF off: the pages must still render, not 500."""
    from tests.booking_helpers import make_bookable_nursery as _make

    app.config["WTF_CSRF_ENABLED"] = False
    with app.app_context():
        nursery_id = _make()
    username, password = make_user("parent")
    client = app.test_client()
    client.post("/login", data={"username": username, "password": password})
    for path in ("/children/new", f"/nurseries/{nursery_id}/book"):
        assert client.get(path).status_code == 200
    r = client.post("/children/new", data={"name": "", "birth_date": "abc"})
    assert r.status_code == 400
