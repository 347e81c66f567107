"""The public complaint pages: filing (anonymous or named), the tracking code, 投诉举报马上查.

Run on SQLite and PostgreSQL through the `app` fixture, with CSRF protection on as in
production: every POST carries the token the pages hand out. Handler actions that put a case
into a state (accepted, awaiting information, resolved) are the real use cases of
`complaints.services`, called directly.
"""

import hashlib
import io
import os
import re
from html import unescape

import pytest
from PIL import ExifTags, Image
from sqlalchemy import func, select

from accounts.models import User
from complaints import queries
from complaints.models import Complaint, ComplaintEvent, ComplaintPhoto
from complaints.services import handling
from extensions import db
from maps.coords import wgs84_to_gcj02
from maps.models import Community, bump_registry_version
from tests.conftest import remote_address

CODE_SHOWN = re.compile(r"^[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$")
NAME, PHONE, EMAIL = "张晓梅", "13912345678", "zhang.xm@example.cn"


class Visitor:
    """A member of the public: a test client that sends the page's CSRF token with each POST."""

    def __init__(self, app, environ=None):
        self.app = app
        self.client = app.test_client()
        self.environ = environ or {}
        html = self.html("/complaints/new")
        tag = re.search(r'<input[^>]*\bname="csrf_token"[^>]*>', html)
        assert tag, "no CSRF token on the complaint form"
        self.token = re.search(r'\bvalue="([^"]+)"', tag.group(0)).group(1)

    def get(self, path, **kwargs):
        return self.client.get(path, environ_base=self.environ, **kwargs)

    def html(self, path):
        r = self.get(path)
        assert r.status_code == 200, (path, r.status_code, text_of(r)[:500])
        return r.get_data(as_text=True)

    def post(self, path, data=None, **kwargs):
        return self.client.post(
            path, data={"csrf_token": self.token, **(data or {})}, environ_base=self.environ,
            **kwargs,
        )  # fmt: skip

    def file(self, photos=(), **fields):
        """POST the complaint form; `photos` are (bytes, filename) pairs."""
        data = dict(fields)
        if photos:
            data["photos"] = [(io.BytesIO(b), name) for b, name in photos]
        return self.post("/complaints/new", data, content_type="multipart/form-data")

    def file_ok(self, **fields) -> str:
        """File a complaint that must be accepted; returns its tracking code (no dashes)."""
        r = self.file(**fields)
        assert r.status_code == 303, text_of(r)[:3000]
        assert r.headers["Location"].endswith("/complaints/filed")
        page = self.get("/complaints/filed")
        assert page.status_code == 200
        shown = re.search(r'id="tracking-code"[^>]*>([^<]+)<', page.get_data(as_text=True))
        return shown.group(1).replace("-", "")


def text_of(response) -> str:
    """The response's visible text (tags stripped, entities decoded, spaces collapsed)."""
    html = response.get_data(as_text=True)
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def field_errors(response) -> list[str]:
    return [
        unescape(m)
        for m in re.findall(
            r'<p class="error[^"]*"[^>]*>(.*?)</p>', response.get_data(as_text=True)
        )
    ]


def complaint_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Complaint))


def stored(app, code: str) -> dict:
    """The stored complaint behind a code, as plain values."""
    with app.app_context():
        c = queries.by_code(code)
        return {
            "id": c.id,
            "status": c.status,
            "nursery_id": c.nursery_id,
            "lead": c.lead_department,
            "category": c.category,
            "description": c.description,
            "site_name": c.site_name,
            "site_address": c.site_address,
            "lat": c.lat,
            "lon": c.lon,
            "name": c.complainant_name,
            "phone": c.complainant_phone,
            "email": c.complainant_email,
            "photos": [p.data for p in c.photos],
            "rating": c.rating,
            "code_hash": c.code_hash,
        }


def jpeg(size=(64, 48), gps=False) -> bytes:
    image = Image.new("RGB", size, (200, 40, 40))
    out = io.BytesIO()
    if gps:
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "PhoneMaker"
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (29.0, 36.0, 1.5)
        gps_ifd[ExifTags.GPS.GPSLongitudeRef] = "E"
        gps_ifd[ExifTags.GPS.GPSLongitude] = (106.0, 31.0, 12.25)
        image.save(out, "JPEG", exif=exif)
    else:
        image.save(out, "JPEG")
    return out.getvalue()


def gps_of(data: bytes) -> dict:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))


@pytest.fixture
def visitor(app):
    return Visitor(app)


@pytest.fixture
def nursery(make_nursery):
    return make_nursery(name="晨光托育园", kind="private")


def about(nursery_id, **extra) -> dict:
    return {
        "nursery_id": str(nursery_id),
        "category": "care_quality",
        "description": "老师对孩子态度冷淡，午睡时不管哭闹的孩子。",
        **extra,
    }


def handler(app, make_user, department: str) -> int:
    username, _ = make_user(role="handler", department_code=department)
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def act(app, user_id: int, action, *args, **kwargs):
    """Run a handler's use case as that handler."""
    with app.app_context():
        user = db.session.get(User, user_id)
        action(user, *args, **kwargs)


# --- filing -----------------------------------------------------------------------------------


def test_anonymous_complaint_about_a_filed_nursery(app, visitor, nursery):
    search = visitor.html("/complaints/new?nursery_q=晨光")
    assert re.search(rf'name="nursery_id" value="{nursery}"', search)
    assert "晨光托育园" in search

    code = visitor.file_ok(**about(nursery))

    page = visitor.get("/complaints/filed")
    html = page.get_data(as_text=True)
    shown = re.search(r'class="tracking-code"[^>]*>([^<]+)<', html).group(1)
    assert CODE_SHOWN.match(shown)
    assert f'href="http://localhost/track/{code}"' in html  # the plain, copyable link
    assert "data-copy" in html  # the copy button (shown by its script)
    assert "请立即保存查询码" in text_of(page)
    assert "卫生健康委" in text_of(page)  # care quality → health leads
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"

    saved = stored(visitor.app, code)
    assert saved["nursery_id"] == nursery
    assert saved["lead"] == "health"
    assert saved["name"] is saved["phone"] is saved["email"] is None
    assert saved["code_hash"] == hashlib.sha256(code.encode()).hexdigest()
    assert complaint_count(app) == 1


def test_named_complaint_keeps_the_contact_details_off_every_public_page(app, visitor, nursery):
    code = visitor.file_ok(**about(nursery, name=NAME, phone=PHONE, email=EMAIL))
    saved = stored(app, code)
    assert (saved["name"], saved["phone"], saved["email"]) == (NAME, PHONE, EMAIL)
    for path in ("/complaints/filed", f"/track/{code}"):
        body = visitor.get(path).get_data(as_text=True)
        for secret in (NAME, PHONE, EMAIL):
            assert secret not in body, (path, secret)


def test_an_unregistered_site_is_filed_with_its_point_converted_to_wgs84(app, visitor):
    wgs = (29.5630, 106.5516)
    gcj = wgs84_to_gcj02(*wgs)
    code = visitor.file_ok(
        nursery_id="site",
        site_name="某小区 3 栋家庭看护点",
        site_address="渝星区测试路 8 号 3 栋",
        lat=f"{gcj[0]:.7f}",
        lon=f"{gcj[1]:.7f}",
        coordsys="gcj02",
        category="unlicensed",
        description="小区里有人在家里收了十几个孩子，没有任何备案。",
    )
    saved = stored(app, code)
    assert saved["nursery_id"] is None
    assert saved["site_address"] == "渝星区测试路 8 号 3 栋"
    assert saved["lat"] == pytest.approx(wgs[0], abs=1e-6)
    assert saved["lon"] == pytest.approx(wgs[1], abs=1e-6)
    assert abs(gcj[1] - wgs[1]) > 1e-3  # the conversion mattered
    page = text_of(visitor.get(f"/track/{code}"))
    assert "某小区 3 栋家庭看护点" in page and "卫生健康委" in page


def test_a_description_of_exactly_4000_characters_with_line_breaks_is_accepted(app, visitor):
    """Browsers send a line break as CRLF; it counts as one character, as the count hint shows."""
    text = "园里午饭常有变质的菜。\n" * 300  # 3600 characters
    text += "菜" * (4000 - len(text))
    sent = text.replace("\n", "\r\n")
    assert len(sent) == 4300
    code = visitor.file_ok(
        nursery_id="site",
        site_address="测试路 1 号",
        lat="29.6",
        lon="106.52",
        category="food_safety",
        description=sent,
    )
    saved = stored(app, code)
    assert saved["description"] == text
    assert saved["lead"] == "market"


def test_photo_location_metadata_is_removed(app, visitor, nursery):
    original = jpeg(gps=True)
    assert gps_of(original), "control: the test photo must carry GPS to begin with"
    code = visitor.file_ok(photos=[(original, "IMG_0001.jpg")], **about(nursery))
    photos = stored(app, code)["photos"]
    assert len(photos) == 1
    assert gps_of(photos[0]) == {}
    with Image.open(io.BytesIO(photos[0])) as image:
        assert image.format == "JPEG" and image.size == (64, 48)
        assert not image.getexif()


def test_three_photos_are_accepted_and_never_shown_on_the_tracking_page(app, visitor, nursery):
    png = io.BytesIO()
    Image.new("RGB", (10, 10)).save(png, "PNG")
    files = [(jpeg(), "a.jpg"), (png.getvalue(), "b.png"), (jpeg((20, 20)), "c.jpg")]
    code = visitor.file_ok(photos=files, **about(nursery))
    assert len(stored(app, code)["photos"]) == 3
    body = visitor.get(f"/track/{code}").get_data(as_text=True)
    assert "<img" not in body and "/photos" not in body


BAD_INPUT = {
    "missing category": ({"category": ""}, None, 400, "category", "请选择投诉举报的类别"),
    "unknown category": ({"category": "aliens"}, None, 400, "category", "未知的投诉举报类别"),
    "missing description": ({"description": "  "}, None, 400, "description", "请填写问题描述"),
    "description of 5000 characters": (
        {"description": "孩" * 5000},
        None,
        400,
        "description",
        "问题描述不能超过 4000 字（现有 5000 字）",
    ),
    "unknown nursery": ({"nursery_id": "999999"}, None, 400, "nursery_id", "未找到该托育机构"),
    "nursery id too large": (
        {"nursery_id": "99999999999999"},
        None,
        400,
        "nursery_id",
        "未找到该托育机构",
    ),
    "nursery id not a number": ({"nursery_id": "abc"}, None, 400, "nursery_id", "编号不正确"),
    "invalid phone": ({"phone": "call me"}, None, 400, "phone", "电话号码格式不正确"),
    "invalid email": ({"email": "no-at-sign"}, None, 400, "email", "电子邮箱格式不正确"),
    "name too long": ({"name": "名" * 40}, None, 400, "name", "姓名不能超过 32 字"),
    "not an image": (
        {},
        [(b"%PDF-1.4 not a photo at all", "scan.jpg")],
        400,
        "photos",
        "第 1 张照片无法识别为图片",
    ),
    "empty photo": ({}, [(b"", "empty.jpg")], 400, "photos", "第 1 张照片是空文件"),
    "photo over 5 MB": (
        {},
        [(b"\xff\xd8\xff\xe0" + os.urandom(5 * 1024 * 1024), "big.jpg")],
        413,
        "photos",
        "第 1 张照片超过 5 MB",
    ),
    "four photos": ({}, "four", 400, "photos", "最多上传 3 张照片"),
    "second photo bad": (
        {},
        "good-then-bad",
        400,
        "photos",
        "第 2 张照片无法识别为图片",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT), ids=list(BAD_INPUT))
def test_bad_input_is_refused_beside_its_field_and_nothing_is_stored(app, visitor, nursery, case):
    changes, photos, status, field, message = BAD_INPUT[case]
    if photos == "four":
        photos = [(jpeg(), f"{i}.jpg") for i in range(4)]
    elif photos == "good-then-bad":
        photos = [(jpeg(), "ok.jpg"), (b"GIF89a\x01\x00", "x.png")]
    description = "门口的栏杆松动了<b>请尽快处理</b>"
    fields = about(nursery, description=description) | changes
    r = visitor.file(photos=photos or (), **fields)

    assert r.status_code == status, text_of(r)[:2000]
    assert any(message in e for e in field_errors(r)), field_errors(r)
    html = r.get_data(as_text=True)
    # The message sits beside its field: after the field's input, before the next section.
    assert html.index(f'name="{field}"') < html.index(message)
    # The user's input is kept (escaped), and nothing at all was stored.
    if "description" not in changes:
        assert "门口的栏杆松动了&lt;b&gt;请尽快处理&lt;/b&gt;" in html
    if changes.get("nursery_id") is None:
        assert re.search(rf'name="nursery_id" value="{nursery}" checked', html)
    if photos:
        assert "请重新选择" in html
    assert complaint_count(app) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ComplaintPhoto)) == 0
        assert db.session.scalar(select(func.count()).select_from(ComplaintEvent)) == 0


# A complaint about a site that is not in the registry, as the page submits it.
UNLISTED_SITE = {
    "nursery_id": "site",
    "site_address": "测试路 2 号",
    "lat": "29.6",
    "lon": "106.52",
    "coordsys": "wgs84",
    "category": "unlicensed",
    "description": "没有备案的托育点",
}
SITE_CASES = {
    "outside China": ({"lat": "48.8566", "lon": "2.3522"}, "lat", "场所位置不在中国境内"),
    "outside China in BD-09": (
        {"lat": "-80", "lon": "-170", "coordsys": "bd09"},
        "lat",
        "场所位置不在中国境内",
    ),
    "latitude not a number": ({"lat": "二十九"}, "lat", "纬度须为数字"),
    "latitude out of range": ({"lat": "91"}, "lat", "纬度超出范围"),
    "longitude only": ({"lat": ""}, "lat", "请同时填写纬度和经度"),
    "neither point nor address": (
        {"lat": "", "lon": "", "site_address": " "},
        "lat",
        "请选择托育机构，或在地图上标出场所位置、填写场所地址（至少其一）",
    ),
    "unknown coordinate system": ({"coordsys": "mars"}, "coordsys", "请选择坐标来源"),
}


@pytest.mark.parametrize("case", list(SITE_CASES), ids=list(SITE_CASES))
def test_bad_unregistered_site_is_refused_and_nothing_is_stored(app, visitor, case):
    changes, field, message = SITE_CASES[case]
    fields = UNLISTED_SITE | changes
    r = visitor.file(**fields)
    assert r.status_code == 400, text_of(r)[:2000]
    assert any(message in e for e in field_errors(r)), field_errors(r)
    html = r.get_data(as_text=True)
    assert html.index(f'name="{field}"') < html.index(message)
    assert "没有备案的托育点" in html
    assert complaint_count(app) == 0


@pytest.mark.parametrize(
    "located", [{"site_address": ""}, {"lat": "", "lon": ""}], ids=["point only", "address only"]
)
def test_an_unregistered_site_needs_a_point_or_an_address(app, visitor, located):
    fields = UNLISTED_SITE | located
    r = visitor.file(**fields)
    assert r.status_code == 303, text_of(r)[:2000]
    assert complaint_count(app) == 1


def test_no_nursery_and_no_site_asks_to_choose_one(app, visitor):
    r = visitor.file(category="fees", description="乱收费")
    assert r.status_code == 400
    assert any("请选择托育机构" in e for e in field_errors(r))
    html = r.get_data(as_text=True)
    assert html.index('name="nursery_id"') < html.index("请选择托育机构")
    assert complaint_count(app) == 0


def test_an_unfiled_nursery_cannot_be_chosen_or_found(app, visitor, make_nursery):
    hidden = make_nursery(name="未备案看护点", filed=False)
    assert f'value="{hidden}"' not in visitor.html("/complaints/new?nursery_q=未备案")
    r = visitor.file(**about(hidden))
    assert r.status_code == 400
    assert any("未找到该托育机构" in e for e in field_errors(r))
    assert complaint_count(app) == 0


def test_a_request_larger_than_the_upload_limit_gets_a_clear_413(app, visitor, nursery):
    limit = app.config["MAX_CONTENT_LENGTH"]
    six_mb = b"\xff\xd8" + b"\0" * (6 * 1024 * 1024)
    r = visitor.file(photos=[(six_mb, f"{i}.jpg") for i in range(3)], **about(nursery))
    assert 3 * len(six_mb) > limit and r.status_code == 413
    assert "上传的内容过大" in text_of(r) and "每张不超过 5 MB" in text_of(r)
    assert f"合计不超过 {limit // (1024 * 1024)} MB" in text_of(r)
    assert complaint_count(app) == 0


def test_a_post_without_the_csrf_token_is_refused(app, nursery):
    client = app.test_client()
    r = client.post("/complaints/new", data=about(nursery))
    assert r.status_code == 400
    assert "安全令牌" in text_of(r)
    assert complaint_count(app) == 0


def test_script_in_the_text_is_stored_as_typed_and_escaped_on_output(app, visitor, make_user):
    evil = "<script>alert('x')</script>"
    code = visitor.file_ok(
        nursery_id="site",
        site_name=f"看护点{evil}",
        site_address=f"测试路{evil}",
        lat="29.6",
        lon="106.52",
        category="other",
        description=f"描述{evil}",
    )
    saved = stored(app, code)
    assert saved["site_name"] == f"看护点{evil}"  # stored as typed
    lead = handler(app, make_user, saved["lead"])
    act(app, lead, handling.add_note, saved["id"], f"说明{evil}", True)
    body = visitor.get(f"/track/{code}").get_data(as_text=True)
    assert "<script>alert" not in body
    assert "看护点&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in body
    assert "说明&lt;script&gt;" in body


# --- choosing the nursery ---------------------------------------------------------------------


def test_the_form_lists_categories_with_their_plain_examples(app, visitor):
    html = visitor.html("/complaints/new")
    assert 'name="category" value="abuse"' in html and "虐待体罚" in html
    assert "罚站罚饿" in html  # the plain-Chinese examples of abuse
    assert 'name="category" value="other"' in html
    assert 'accept="image/jpeg,image/png"' in html and "multiple" in html
    assert 'enctype="multipart/form-data"' in html


def test_nurseries_are_found_by_the_name_of_a_place_near_them(app, visitor, make_nursery):
    close = make_nursery(name="东篱幼儿托班", lat=29.6010, lon=106.5200)
    far = make_nursery(name="远山托育中心", lat=29.7, lon=106.7)
    with app.app_context():
        db.session.add(
            Community(name="星湖花园", lat=29.6, lon=106.52, population=3000, children_under_3=90)
        )
        bump_registry_version()
        db.session.commit()
    r = visitor.get("/complaints/new?nursery_q=星湖花园")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "“星湖花园”附近的机构" in text_of(r)
    assert html.index(f'value="{close}"') < html.index(f'value="{far}"')


def test_nurseries_near_the_browsers_location_are_listed_nearest_first(app, visitor, make_nursery):
    near = make_nursery(name="近处托育", lat=29.6005, lon=106.52)
    further = make_nursery(name="稍远托育", lat=29.61, lon=106.52)
    r = visitor.get("/complaints/new?near_lat=29.6&near_lon=106.52")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.index(f'value="{near}"') < html.index(f'value="{further}"')
    assert re.search(r"近处托育 .{0,40}约 5\d 米", text_of(r))
    # The search is carried by the complaint form, so a refused POST lists them again.
    assert 'name="near_lat" value="29.6000000"' in html


@pytest.mark.parametrize(
    "query, message",
    [
        ("near_lat=abc&near_lon=106", "纬度须为数字"),
        ("near_lat=29.6", "位置不完整"),
        ("nursery_q=" + "托" * 51, "搜索词不能超过 50 字"),
    ],
)
def test_bad_search_input_is_a_400_with_the_form_still_usable(app, visitor, query, message):
    r = visitor.get("/complaints/new?" + query)
    assert r.status_code == 400
    assert message in text_of(r)
    assert 'id="complaint-form"' in r.get_data(as_text=True)


def test_a_nursery_can_be_preselected_by_link(app, visitor, nursery):
    html = visitor.html(f"/complaints/new?nursery_id={nursery}")
    assert re.search(rf'name="nursery_id" value="{nursery}" checked', html)
    assert "晨光托育园" in html


# --- the filed page ---------------------------------------------------------------------------


def test_the_code_stays_in_this_browser_until_the_user_has_kept_it(app, visitor, nursery):
    code = visitor.file_ok(**about(nursery))
    assert code in visitor.get("/complaints/filed").get_data(as_text=True)  # a refresh shows it
    done = visitor.post("/complaints/filed")
    assert done.status_code == 303 and done.headers["Location"].endswith("/track")
    gone = visitor.get("/complaints/filed")
    assert gone.status_code == 404
    assert "查询码只在提交投诉举报后显示" in text_of(gone)
    assert code not in gone.get_data(as_text=True)
    assert complaint_count(app) == 1


def test_another_browser_never_sees_the_code(app, visitor, nursery):
    visitor.file_ok(**about(nursery))
    stranger = app.test_client()
    assert stranger.get("/complaints/filed").status_code == 404


# --- the tracking page ------------------------------------------------------------------------


def test_tracking_page_shows_department_deadlines_and_public_notes_only(
    app, visitor, nursery, make_user
):
    code = visitor.file_ok(
        **about(
            nursery,
            category="security",
            description="接孩子时门卫不核对身份，陌生人也能随便进出。",
            name=NAME,
            phone=PHONE,
        )
    )
    saved = stored(app, code)
    assert saved["lead"] == "police"
    police = handler(app, make_user, "police")
    act(app, police, handling.accept, saved["id"])
    act(app, police, handling.add_note, saved["id"], "内部：已调取门口监控，待核实", False)
    act(app, police, handling.add_note, saved["id"], "已到现场检查门卫登记制度", True)
    act(app, police, handling.extend, saved["id"], 10, "需要等待监控录像恢复")

    r = visitor.get(f"/track/{code.lower()}")  # any case works
    assert r.status_code == 200
    page = text_of(r)
    with app.app_context():
        c = queries.by_code(code)
        accept_by, conclude_by = c.accept_by, c.conclude_by
    assert "公安局" in page and "办理中" in page
    assert f"{accept_by:%Y-%m-%d %H:%M} 前" in page
    assert f"{conclude_by:%Y-%m-%d %H:%M} 前" in page
    assert "已延长 10 天，理由：需要等待监控录像恢复" in page  # police: 信访工作条例, 日
    assert "信访工作条例" in page and "日历日" in page
    assert "已到现场检查门卫登记制度" in page
    assert "内部：已调取门口监控" not in page
    assert NAME not in page and PHONE not in page
    assert "接孩子时门卫不核对身份" not in page  # the description may identify the family
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"


def test_the_code_form_and_lookup_by_query(app, visitor, nursery):
    code = visitor.file_ok(**about(nursery))
    form = visitor.get("/track")
    assert form.status_code == 200 and 'name="code"' in form.get_data(as_text=True)
    dashed = "-".join(code[i : i + 4] for i in range(0, 16, 4)).lower()
    r = visitor.get(f"/track?code=+{dashed}+")
    assert r.status_code == 200
    assert "卫生健康委" in text_of(r) and "待受理" in text_of(r)
    assert r.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path, status, message",
    [
        ("/track/NOT-A-CODE", 400, "查询码格式不正确"),
        ("/track/ABCDEFGHJKLMNPQ1", 400, "查询码格式不正确"),  # 1 is not in the alphabet
        ("/track?code=xyz", 400, "查询码格式不正确"),
        ("/track?code=+", 400, "请输入查询码"),
        ("/track/AAAABBBBCCCCDDDD", 404, "未找到该查询码对应的投诉举报"),
        ("/track?code=AAAA-BBBB-CCCC-DDDD", 404, "未找到该查询码对应的投诉举报"),
    ],
)
def test_malformed_and_unknown_codes(app, visitor, nursery, path, status, message):
    visitor.file_ok(**about(nursery))
    r = visitor.get(path)
    assert r.status_code == status
    assert message in text_of(r)
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Referrer-Policy"] == "no-referrer"


@pytest.mark.parametrize("action", ["answer", "rate"])
def test_posting_to_a_malformed_or_unknown_code(app, visitor, action):
    data = {"answer": "补充", "rating": "satisfied"}
    bad = visitor.post(f"/track/bad-code/{action}", data)
    assert bad.status_code == 400 and "查询码格式不正确" in text_of(bad)
    unknown = visitor.post(f"/track/AAAABBBBCCCCDDDD/{action}", data)
    assert unknown.status_code == 404 and "未找到该查询码" in text_of(unknown)


def test_the_complainant_answers_a_request_for_information(app, visitor, nursery, make_user):
    code = visitor.file_ok(**about(nursery))
    cid = stored(app, code)["id"]
    health = handler(app, make_user, "health")
    act(app, health, handling.accept, cid)

    not_asked = visitor.post(f"/track/{code}/answer", {"answer": "我想补充"})
    assert not_asked.status_code == 409
    assert "目前不需要补充材料" in text_of(not_asked)

    act(app, health, handling.request_info, cid, "请说明发生的具体日期和班级")
    page = visitor.get(f"/track/{code}")
    assert "需要您补充材料" in text_of(page) and "请说明发生的具体日期和班级" in text_of(page)
    assert "待补充材料" in text_of(page)

    empty = visitor.post(f"/track/{code}/answer", {"answer": "  "})
    assert empty.status_code == 400
    assert "请填写补充说明" in field_errors(empty)
    assert stored(app, code)["status"] == "awaiting_info"

    answer = "3 月 2 日下午，小二班。<i>当时有两位老师在场</i>"
    r = visitor.post(f"/track/{code}/answer", {"answer": answer.replace("。", "。\r\n")})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/track/{code}")
    assert stored(app, code)["status"] == "accepted"
    after = visitor.get(f"/track/{code}")
    assert "已提交补充说明" in text_of(after)
    assert "当时有两位老师在场" in text_of(after)
    assert "&lt;i&gt;当时有两位老师在场&lt;/i&gt;" in after.get_data(as_text=True)
    assert "需要您补充材料" not in text_of(after)
    with app.app_context():
        texts = [e.text for e in queries.by_code(code).events if e.kind == "info_provided"]
    assert texts == [answer.replace("。", "。\n")]


def _resolved(app, visitor, nursery, make_user) -> tuple[str, int]:
    code = visitor.file_ok(**about(nursery))
    cid = stored(app, code)["id"]
    health = handler(app, make_user, "health")
    act(app, health, handling.accept, cid)
    act(app, health, handling.resolve, cid, "已责令机构整改，并对带班老师进行培训")
    return code, cid


def test_rating_a_resolved_case_once(app, visitor, nursery, make_user):
    code = visitor.file_ok(**about(nursery))
    early = visitor.post(f"/track/{code}/rate", {"rating": "satisfied"})
    assert early.status_code == 409 and "尚未办结" in text_of(early)

    code, _ = _resolved(app, visitor, nursery, make_user)
    page = visitor.get(f"/track/{code}")
    assert "已责令机构整改" in text_of(page) and "评价办理结果" in text_of(page)
    assert "已办结" in text_of(page)

    wrong = visitor.post(f"/track/{code}/rate", {"rating": "great"})
    assert wrong.status_code == 400 and "请选择 满意、基本满意 或 不满意" in field_errors(wrong)
    assert stored(app, code)["rating"] is None

    r = visitor.post(f"/track/{code}/rate", {"rating": "basically"})
    assert r.status_code == 303
    assert stored(app, code)["rating"] == "basically"
    after = visitor.get(f"/track/{code}")
    assert re.search(r"您的评价：\s*基本满意", text_of(after))
    assert 'name="rating"' not in after.get_data(as_text=True)

    again = visitor.post(f"/track/{code}/rate", {"rating": "dissatisfied"})
    assert again.status_code == 409 and "已评价" in text_of(again)
    assert stored(app, code)["rating"] == "basically"


def test_dissatisfied_reopens_the_case_for_review(app, visitor, nursery, make_user):
    code, _ = _resolved(app, visitor, nursery, make_user)
    r = visitor.post(f"/track/{code}/rate", {"rating": "dissatisfied"})
    assert r.status_code == 303
    saved = stored(app, code)
    assert saved["status"] == "reopened" and saved["rating"] == "dissatisfied"
    page = text_of(visitor.get(f"/track/{code}"))
    assert "案件已重新进入复查" in page  # the flash message
    assert "复查中" in page and "复查期限" in page
    assert "投诉人对办理结果不满意" in page  # the public timeline


# --- rate limits ------------------------------------------------------------------------------


@pytest.fixture
def limited_app(rate_limited):
    return rate_limited(COMPLAINT_LOOKUP_LIMIT="4 per minute", COMPLAINT_FILE_LIMIT="2 per minute")


def test_look_ups_share_one_limit_and_the_next_gets_a_clear_429(limited_app):
    visitor = Visitor(limited_app, remote_address())
    responses = [
        visitor.get("/track/AAAABBBBCCCCDDDD"),
        visitor.get("/track?code=AAAABBBBCCCCDDDE"),
        visitor.post("/track/AAAABBBBCCCCDDDF/answer", {"answer": "x"}),
        visitor.post("/track/AAAABBBBCCCCDDDG/rate", {"rating": "satisfied"}),
        visitor.get("/track/AAAABBBBCCCCDDDH"),
    ]
    assert [r.status_code for r in responses] == [404, 404, 404, 404, 429]
    assert "查询过于频繁，请稍后再试" in text_of(responses[-1])
    assert "查询码被猜测" in text_of(responses[-1])
    other = Visitor(limited_app, remote_address())  # another address has its own allowance
    assert other.get("/track/AAAABBBBCCCCDDDD").status_code == 404


def test_filing_is_limited_but_the_form_is_not(limited_app):
    visitor = Visitor(limited_app, remote_address())
    posts = [visitor.file(category="fees", description="乱收费") for _ in range(3)]
    assert [r.status_code for r in posts] == [400, 400, 429]
    assert "提交过于频繁" in text_of(posts[-1])
    assert all(visitor.get("/complaints/new").status_code == 200 for _ in range(4))
    assert complaint_count(limited_app) == 0
