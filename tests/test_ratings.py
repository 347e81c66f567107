"""Family ratings (issue 12): who may rate, once per child, nursery and term, edit history,
moderation, the nursery's one reply, the averages, search by rating, bad input, children's data.
"""

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from accounts.models import User
from booking.models import Booking, Child
from booking.services import family, privacy
from booking.waitlist import Settings
from errors import DomainError
from extensions import db
from maps.models import Offer
from ratings import queries, services
from ratings.models import Rating, RatingRevision, RatingSummary
from ratings.rules import ASPECTS, parse_term, term_of
from tests.conftest import login

TODAY = date(2026, 10, 12)  # autumn term 2026
NOW = datetime(2026, 10, 12, 10, 0)
GOOD = {"safety": 5, "care": 4, "food": 3, "communication": 4, "value": 5}


def stars(**changes) -> dict:
    return {**GOOD, **changes}


@pytest.fixture
def world(app, make_nursery, make_user):
    """A filed nursery with a staff account, an admin, a parent with a child, and a helper to
    give the child a booking of any status and dates."""
    app.config["WTF_CSRF_ENABLED"] = False
    nursery_id = make_nursery(name="阳光托育园")
    other_id = make_nursery(name="彩虹托育园", lat=29.61)
    w = {"nursery": nursery_id, "other": other_id}
    w["parent_login"] = make_user("parent", name="王家长")
    w["parent_b_login"] = make_user("parent")
    w["staff_login"] = make_user("nursery_staff", nursery_id=nursery_id)
    w["staff_other_login"] = make_user("nursery_staff", nursery_id=other_id)
    w["admin_login"] = make_user("admin")
    with app.app_context():
        ids = {u.username: u.id for u in db.session.scalars(select(User))}
        for key in ("parent", "parent_b", "staff", "staff_other", "admin"):
            w[key] = ids[w[f"{key}_login"][0]]
        settings = Settings.from_config(app.config)
        child = family.register_child(w["parent"], "王小明", date(2025, 3, 1), True, settings)
        w["child"] = child.id
        child_b = family.register_child(w["parent_b"], "李小红", date(2025, 2, 1), True, settings)
        w["child_b"] = child_b.id

    def book(status="confirmed", start=TODAY - timedelta(days=30), end=None, nursery=None,
             child=None, parent=None):  # fmt: skip
        with app.app_context():
            nid = nursery or nursery_id
            offer = db.session.scalar(select(Offer).where(Offer.nursery_id == nid))
            b = Booking(
                child_id=child or w["child"],
                parent_id=parent or w["parent"],
                nursery_id=nid,
                offer_id=offer.id,
                care_type="full_day",
                status=status,
                start_date=start,
                end_date=end,
                created_at=NOW - timedelta(days=60),
                updated_at=NOW - timedelta(days=60),
            )
            db.session.add(b)
            db.session.commit()
            return b.id

    w["book"] = book
    return w


def _rate(w, today=TODAY, comment=None, child=None, parent=None, nursery=None, **changes):
    return services.rate(
        parent or w["parent"],
        nursery or w["nursery"],
        child or w["child"],
        stars(**changes),
        comment,
        today=today,
        now=datetime.combine(today, NOW.time()),
    )


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


# --- the term --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "day, key",
    [
        (date(2026, 2, 1), "2026-spring"),
        (date(2026, 7, 31), "2026-spring"),
        (date(2026, 8, 1), "2026-autumn"),
        (date(2026, 12, 31), "2026-autumn"),
        (date(2027, 1, 31), "2026-autumn"),
        (date(2027, 2, 1), "2027-spring"),
    ],
)
def test_a_term_runs_february_to_july_or_august_to_january(day, key):
    term = term_of(day)
    assert term.key == key
    assert term.starts <= day <= term.ends
    assert parse_term(key) == term


def test_term_labels_are_chinese():
    assert term_of(date(2026, 9, 1)).label == "2026 秋季学期"
    assert term_of(date(2026, 3, 1)).label == "2026 春季学期"


# --- eligibility -----------------------------------------------------------------------------


def _refused(w, code: str, status: int, **kwargs) -> None:
    with pytest.raises(DomainError) as info:
        _rate(w, **kwargs)
    assert info.value.code == code and info.value.status == status
    assert "评价" in info.value.message or "孩子" in info.value.message


def test_no_rating_without_a_booking(app, world):
    with app.app_context():
        _refused(world, "no_eligible_booking", 403)
        assert _count(Rating) == 0 and _count(RatingSummary) == 0


@pytest.mark.parametrize(
    "status, start_offset",
    [
        ("pending", -10),  # not confirmed
        ("waitlisted", -10),
        ("declined", -10),
        ("cancelled", 5),  # cancelled before it started
        ("confirmed", 1),  # confirmed, starts tomorrow
    ],
)
def test_no_rating_without_a_started_confirmed_booking(app, world, status, start_offset):
    world["book"](status=status, start=TODAY + timedelta(days=start_offset))
    with app.app_context():
        _refused(world, "no_eligible_booking", 403)
        assert _count(Rating) == 0


def test_an_enrolment_the_family_ended_after_it_began_still_counts(app, world):
    """Cancelled on or after its start, having been confirmed by the nursery (the audit log):
    a child taken out mid-way. Cancelled after its start but never confirmed: it does not."""
    import audit

    booking_id = world["book"](status="cancelled", start=TODAY - timedelta(days=50))
    with app.app_context():
        db.session.get(Booking, booking_id).updated_at = NOW - timedelta(days=10)
        db.session.commit()
        _refused(world, "no_eligible_booking", 403)
        audit.record(world["staff"], "booking.confirm", "booking", booking_id,
                     at=NOW - timedelta(days=55))  # fmt: skip
        db.session.commit()
        assert _rate(world).id


def test_an_enrolment_cancelled_before_it_began_does_not_count(app, world):
    import audit

    booking_id = world["book"](status="cancelled", start=TODAY - timedelta(days=5))
    with app.app_context():
        db.session.get(Booking, booking_id).updated_at = NOW - timedelta(days=8)
        audit.record(world["staff"], "booking.confirm", "booking", booking_id, at=NOW)
        db.session.commit()
        _refused(world, "no_eligible_booking", 403)


def test_a_booking_at_another_nursery_does_not_count(app, world):
    world["book"](nursery=world["other"])
    with app.app_context():
        _refused(world, "no_eligible_booking", 403)


def test_a_started_confirmed_booking_allows_a_rating(app, world):
    world["book"](start=TODAY)  # starts today: it has come
    with app.app_context():
        rating = _rate(world)
        assert (rating.term, rating.child_id, rating.parent_id) == (
            "2026-autumn",
            world["child"],
            world["parent"],
        )
        assert rating.stars() == GOOD


def test_an_ended_enrolment_still_allows_a_rating(app, world):
    world["book"](start=TODAY - timedelta(days=200), end=TODAY - timedelta(days=20))
    with app.app_context():
        assert _rate(world).id


def test_another_familys_child_does_not_exist(app, world):
    world["book"](child=world["child_b"], parent=world["parent_b"])
    with app.app_context():
        _refused(world, "child_not_found", 404, child=world["child_b"])


# --- once per child, nursery and term ----------------------------------------------------------


def test_a_second_rating_in_the_same_term_is_refused(app, world):
    world["book"]()
    with app.app_context():
        _rate(world)
        with pytest.raises(DomainError) as info:
            _rate(world, today=TODAY + timedelta(days=30), safety=1)
        assert info.value.status == 409 and info.value.code == "already_rated"
        assert "修改" in info.value.message
        assert _count(Rating) == 1
        assert db.session.get(RatingSummary, world["nursery"]).count == 1


def test_a_new_term_allows_another_rating(app, world):
    world["book"](start=TODAY - timedelta(days=100))
    with app.app_context():
        _rate(world)
        later = _rate(world, today=date(2027, 3, 1), safety=2)
        assert later.term == "2027-spring"
        summary = db.session.get(RatingSummary, world["nursery"])
        assert summary.count == 2 and summary.safety == 5 + 2


def test_the_database_refuses_a_second_rating_too(app, world):
    world["book"]()
    with app.app_context():
        first = _rate(world)
        db.session.add(
            Rating(
                nursery_id=first.nursery_id,
                parent_id=first.parent_id,
                child_id=first.child_id,
                term=first.term,
                created_at=NOW,
                updated_at=NOW,
                **GOOD,
            )
        )
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


def test_the_database_refuses_stars_out_of_range(app, world):
    with app.app_context():
        db.session.add(
            Rating(
                nursery_id=world["nursery"], term="2026-autumn", created_at=NOW, updated_at=NOW,
                **stars(food=6),
            )
        )  # fmt: skip
        with pytest.raises(IntegrityError):
            db.session.flush()
        db.session.rollback()


# --- editing keeps the history -----------------------------------------------------------------


def test_an_edit_keeps_the_earlier_version_and_moves_the_averages(app, world):
    world["book"]()
    with app.app_context():
        rating = _rate(world, comment="老师很耐心")
        services.moderate(world["admin"], rating.id, "approve", now=NOW)
        services.edit(
            world["parent"], rating.id, stars(safety=1), "老师很耐心", now=NOW + timedelta(hours=1)
        )
        rating = db.session.get(Rating, rating.id)
        assert rating.safety == 1
        assert rating.comment_status == "approved"  # the words did not change
        [old] = rating.revisions
        assert old.safety == 5 and old.comment == "老师很耐心" and old.comment_status == "approved"
        assert db.session.get(RatingSummary, world["nursery"]).safety == 1

        services.edit(world["parent"], rating.id, stars(safety=1), "改了：饭菜偏咸", now=NOW)
        rating = db.session.get(Rating, rating.id)
        assert rating.comment_status == "pending"  # new words go back to moderation
        assert [v.comment for v in rating.revisions] == ["老师很耐心", "老师很耐心"]
        assert queries.public_section(world["nursery"])["comments"] == []


def test_an_unchanged_edit_writes_no_version(app, world):
    world["book"]()
    with app.app_context():
        rating = _rate(world)
        services.edit(world["parent"], rating.id, GOOD, None)
        assert _count(RatingRevision) == 0


def test_another_parent_cannot_edit_a_rating(app, world):
    world["book"]()
    with app.app_context():
        rating = _rate(world)
        with pytest.raises(DomainError) as info:
            services.edit(world["parent_b"], rating.id, stars(safety=1), None)
        assert info.value.status == 404
        assert db.session.get(Rating, rating.id).safety == 5


# --- moderation ----------------------------------------------------------------------------------


def test_a_comment_is_public_only_once_approved(app, world, client):
    world["book"]()
    with app.app_context():
        rating_id = _rate(world, comment="每天都有照片反馈，很放心").id
        assert queries.public_section(world["nursery"])["comments"] == []
        assert queries.public_section(world["nursery"])["count"] == 1  # stars count at once
    page = client.get(f"/nurseries/{world['nursery']}").get_data(as_text=True)
    assert "每天都有照片反馈" not in page and "1 条评价" in page
    with app.app_context():
        services.moderate(world["admin"], rating_id, "approve", now=NOW)
    page = client.get(f"/nurseries/{world['nursery']}").get_data(as_text=True)
    assert "每天都有照片反馈" in page and "家长 · 2026 秋季学期" in page
    assert "王家长" not in page and "王小明" not in page


def test_a_hidden_comment_is_never_public_and_its_reason_is_kept(app, world, client):
    world["book"]()
    with app.app_context():
        rating = _rate(world, comment="张老师电话13800000000，太差劲")
        services.moderate(world["admin"], rating.id, "hide", "identifying", "含电话", now=NOW)
        rating = db.session.get(Rating, rating.id)
        assert (rating.comment_status, rating.hide_reason, rating.hide_note) == (
            "hidden",
            "identifying",
            "含电话",
        )
        assert rating.moderated_by == world["admin"]
        assert queries.nursery_portal(world["nursery"])["ratings"][0]["comment"] is None
    for path in (f"/nurseries/{world['nursery']}", f"/api/v1/nurseries/{world['nursery']}/ratings"):
        assert "13800000000" not in client.get(path).get_data(as_text=True)
    login(client, world["staff_login"])
    assert "13800000000" not in client.get("/portal/ratings").get_data(as_text=True)


def test_hiding_needs_a_reason_and_only_the_admin_moderates(app, world):
    world["book"]()
    with app.app_context():
        rating = _rate(world, comment="一般")
        with pytest.raises(DomainError) as info:
            services.moderate(world["admin"], rating.id, "hide", "", None)
        assert info.value.code == "invalid_reason"
        with pytest.raises(DomainError) as info:
            services.moderate(world["staff"], rating.id, "approve")
        assert info.value.status == 403
        assert db.session.get(Rating, rating.id).comment_status == "pending"


def test_the_admin_moderates_through_the_queue_page(app, world, client):
    world["book"]()
    with app.app_context():
        rating_id = _rate(world, comment="老师会蹲下来和孩子说话").id
    login(client, world["admin_login"])
    page = client.get("/admin/ratings").get_data(as_text=True)
    assert "老师会蹲下来和孩子说话" in page and "王小明" not in page and "王家长" not in page
    r = client.post(f"/admin/ratings/{rating_id}", data={"action": "hide", "reason": ""})
    assert r.status_code == 400 and "理由" in r.get_data(as_text=True)
    r = client.post(f"/admin/ratings/{rating_id}", data={"action": "approve"})
    assert r.status_code == 302
    with app.app_context():
        assert db.session.get(Rating, rating_id).comment_status == "approved"
    r = client.post(f"/admin/ratings/{rating_id}", data={"action": "approve"})
    assert r.status_code == 409


# --- the nursery's reply -----------------------------------------------------------------------


def test_the_nursery_replies_once_under_the_approved_comment(app, world, client):
    world["book"]()
    with app.app_context():
        rating = _rate(world, comment="希望多些户外活动")
        with pytest.raises(DomainError) as info:
            services.reply(world["staff"], rating.id, "谢谢建议")
        assert info.value.code == "comment_not_public"
        services.moderate(world["admin"], rating.id, "approve", now=NOW)
        rating_id = rating.id
    login(client, world["staff_login"])
    page = client.get("/portal/ratings").get_data(as_text=True)
    assert "希望多些户外活动" in page and "王家长" not in page and "王小明" not in page
    r = client.post(f"/portal/ratings/{rating_id}/reply", data={"reply": "下学期每天两次户外"})
    assert r.status_code == 302
    r = client.post(f"/portal/ratings/{rating_id}/reply", data={"reply": "再回复一次"})
    assert r.status_code == 409 and "只能回复一次" in r.get_data(as_text=True)
    public = client.get(f"/nurseries/{world['nursery']}").get_data(as_text=True)
    assert "下学期每天两次户外" in public and "再回复一次" not in public


def test_another_nurserys_staff_cannot_reply(app, world, client):
    world["book"]()
    with app.app_context():
        rating = _rate(world, comment="很好")
        services.moderate(world["admin"], rating.id, "approve", now=NOW)
        rating_id = rating.id
    login(client, world["staff_other_login"])
    r = client.post(f"/portal/ratings/{rating_id}/reply", data={"reply": "冒名回复"})
    assert r.status_code == 404
    with app.app_context():
        assert db.session.get(Rating, rating_id).reply is None


# --- averages --------------------------------------------------------------------------------


def test_the_averages_per_aspect_and_overall(app, world):
    world["book"]()
    world["book"](child=world["child_b"], parent=world["parent_b"])
    with app.app_context():
        _rate(world)
        _rate(world, child=world["child_b"], parent=world["parent_b"], safety=3, food=1)
        summary = queries.summary(world["nursery"])
        by_aspect = {a["aspect"]: a["average"] for a in summary["aspects"]}
        assert summary["count"] == 2
        assert by_aspect == {"safety": 4.0, "care": 4.0, "food": 2.0, "communication": 4.0,
                             "value": 5.0}  # fmt: skip
        assert summary["overall"] == pytest.approx((4 + 4 + 2 + 4 + 5) / 5)
        # The kept sums agree with adding up every rating.
        rows = db.session.scalars(select(Rating)).all()
        row = db.session.get(RatingSummary, world["nursery"])
        assert {a: sum(getattr(r, a) for r in rows) for a in ASPECTS} == row.sums()


# --- search ----------------------------------------------------------------------------------


def _search(client, **args):
    query = {"lat": 29.6, "lon": 106.52, **args}
    return client.get("/api/v1/nurseries", query_string=query)


def test_search_results_carry_the_rating_and_see_a_new_one(app, world, client):
    before = {h["id"]: h["rating"] for h in _search(client).get_json()["results"]}
    assert before[world["nursery"]] == {"average": None, "count": 0}
    world["book"]()
    with app.app_context():
        _rate(world)
    after = {h["id"]: h["rating"] for h in _search(client).get_json()["results"]}
    assert after[world["nursery"]] == {"average": 4.2, "count": 1}
    assert after[world["other"]] == {"average": None, "count": 0}


def test_search_filters_and_sorts_by_rating(app, world, client, make_nursery):
    third = make_nursery(name="星星托育园", lat=29.605)
    world["book"]()
    world["book"](child=world["child_b"], parent=world["parent_b"], nursery=third)
    with app.app_context():
        _rate(world, safety=1, care=1, food=1, communication=1, value=1)  # nearest, 1.0
        _rate(world, child=world["child_b"], parent=world["parent_b"], nursery=third)  # 4.2
    by_distance = [h["id"] for h in _search(client).get_json()["results"]]
    assert by_distance == [world["nursery"], third, world["other"]]
    ranked = _search(client, sort="rating").get_json()
    assert [h["id"] for h in ranked["results"]] == [third, world["nursery"], world["other"]]
    assert ranked["count"] == 3
    good = _search(client, min_rating=4).get_json()
    assert [h["id"] for h in good["results"]] == [third] and good["count"] == 1
    within = _search(client, min_rating="1", within=5000, sort="rating").get_json()
    assert [h["id"] for h in within["results"]] == [third, world["nursery"]]
    page = client.get("/", query_string={"lat": 29.6, "lon": 106.52, "sort": "rating",
                                          "min_rating": "4"}).get_data(as_text=True)  # fmt: skip
    assert "星星托育园" in page and "阳光托育园" not in page and "按家庭评价排序" in page


@pytest.mark.parametrize(
    "args", [{"min_rating": "0"}, {"min_rating": "6"}, {"min_rating": "abc"}, {"sort": "price"}]
)
def test_bad_rating_parameters_are_refused(app, world, client, args):
    r = _search(client, **args)
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "invalid_parameter"
    page = client.get("/", query_string={"lat": 29.6, "lon": 106.52, **args})
    assert page.status_code == 400


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        {"safety": 0},
        {"food": 6},
        {"value": "五"},
        {"care": None},
        {"communication": True},
        {"safety": 4.5},
    ],
)
def test_stars_outside_one_to_five_are_refused(app, world, bad):
    world["book"]()
    with app.app_context():
        with pytest.raises(DomainError) as info:
            _rate(world, **bad)
        assert info.value.status == 400 and info.value.code == "invalid_stars"
        assert info.value.field in bad
        assert _count(Rating) == 0 and _count(RatingSummary) == 0


def test_a_comment_of_2000_characters_is_refused_1999_accepted(app, world):
    world["book"]()
    with app.app_context():
        with pytest.raises(DomainError) as info:
            _rate(world, comment="好" * 2000)
        assert info.value.status == 400 and "1999" in info.value.message
        assert _count(Rating) == 0
        assert len(_rate(world, comment="好" * 1999).comment) == 1999


@pytest.mark.parametrize("text", ["老师\x00很好", "bell\x07", "esc\x1b[31m"])
def test_control_characters_are_refused(app, world, text):
    world["book"]()
    with app.app_context():
        with pytest.raises(DomainError) as info:
            _rate(world, comment=text)
        assert info.value.status == 400 and "控制字符" in info.value.message
        assert _count(Rating) == 0


def test_the_rating_page_refuses_bad_input_in_chinese_and_stores_nothing(app, world, client):
    world["book"]()
    login(client, world["parent_login"])
    form = {f: str(v) for f, v in GOOD.items()}
    path = f"/nurseries/{world['nursery']}/rate"
    r = client.post(path, data={**form, "comment": "好" * 2000})
    assert r.status_code == 400 and "不能超过 1999 字" in r.get_data(as_text=True)
    r = client.post(path, data={**form, "food": "9"})
    assert r.status_code == 400 and "1 到 5" in r.get_data(as_text=True)
    r = client.post(path, data={**form, "comment": "a\x00b"})
    assert r.status_code == 400
    with app.app_context():
        assert _count(Rating) == 0
    r = client.post(path, data={**form, "comment": "环境干净"})
    assert r.status_code == 302
    r = client.get(path)  # rated this term: the page offers the edit instead
    assert r.status_code == 302 and "/edit" in r.headers["Location"]
    r = client.post(path, data=form)
    assert r.status_code == 409 and "每学期只能评价一次" in r.get_data(as_text=True)


def test_the_rating_page_explains_who_may_rate(app, world, client):
    world["book"](status="pending")
    login(client, world["parent_login"])
    path = f"/nurseries/{world['nursery']}/rate"
    r = client.get(path)
    assert r.status_code == 200 and "已确认并已开始入托" in r.get_data(as_text=True)
    r = client.post(path, data={f: str(v) for f, v in GOOD.items()})
    assert r.status_code == 403 and "已确认并已开始入托" in r.get_data(as_text=True)


# --- children's data ---------------------------------------------------------------------------


def test_the_family_export_holds_its_ratings_with_their_history(app, world):
    world["book"]()
    with app.app_context():
        rating = _rate(world, comment="第一版")
        services.edit(world["parent"], rating.id, stars(care=2), "第二版")
        data = privacy.export_family_data(world["parent"])
        [exported] = data["ratings"]
        assert exported["comment"] == "第二版" and exported["stars"]["care"] == 2
        assert exported["nursery_name"] == "阳光托育园" and exported["child_id"] == world["child"]
        assert [v["comment"] for v in exported["history"]] == ["第一版"]


def test_deleting_the_account_unlinks_the_ratings_and_keeps_the_stars(app, world, client):
    world["book"]()
    with app.app_context():
        rating = _rate(world, comment="王小明很喜欢这里")
        services.moderate(world["admin"], rating.id, "approve", now=NOW)
        services.reply(world["staff"], rating.id, "欢迎王小明")
        services.edit(world["parent"], rating.id, stars(food=2), "王小明很喜欢这里！")
        rating_id = rating.id
        summary_before = db.session.get(RatingSummary, world["nursery"]).sums()
        privacy.delete_account(world["parent"], world["parent_login"][1],
                               Settings.from_config(app.config))  # fmt: skip
        rating = db.session.get(Rating, rating_id)
        assert (rating.parent_id, rating.child_id, rating.comment, rating.reply) == (None,) * 4
        assert rating.comment_status is None and rating.revisions == []
        assert rating.food == 2  # the stars stay in the figures
        assert db.session.get(RatingSummary, world["nursery"]).sums() == summary_before
    page = client.get(f"/nurseries/{world['nursery']}").get_data(as_text=True)
    assert "王小明" not in page and "1 条评价" in page


def test_deleting_a_child_unlinks_its_ratings(app, world):
    world["book"]()
    with app.app_context():
        rating_id = _rate(world, comment="孩子叫小明").id
        family.delete_child(world["parent"], world["child"], Settings.from_config(app.config))
        rating = db.session.get(Rating, rating_id)
        assert (rating.parent_id, rating.child_id, rating.comment) == (None, None, None)
        assert queries.family_export(world["parent"]) == []
        assert db.session.get(Child, world["child"]).name is None
