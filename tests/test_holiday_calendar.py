"""The holiday calendar as data (workdays/): the shipped years 2024–2026 generated from
chinese_calendar and cross-checked with `holidays`; the checks an imported year must pass; the
admin page and the CLI; and what an import does — a year without an arrangement (2027) counts
weekends only and says so (暂定) on the tracking page, the case page and Open311, until the year
is loaded and every deadline over it is counted again, complaints and bookings alike.

The 2027 arrangement below is a test fixture, not the State Council's (not published yet).
"""

import ast
import copy
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import holidays as holidays_lib
import pytest
from sqlalchemy import select

from audit import AuditEntry
from complaints.models import Complaint
from complaints.services import filing, handling
from errors import DomainError
from extensions import db
from tests.conftest import login
from workdays import calendar, export, services, store
from workdays.models import HolidayYear

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_YEARS = (2024, 2025, 2026)

# A test arrangement for 2027: Jan 1–3 and Sat Feb 6 – Sat Feb 13 off, Sun Feb 14 and Sat Feb 20
# working days.
TEST_2027 = {
    "year": 2027,
    "source": "测试用 2027 年节假日安排（非国务院通知）",
    "holidays": [{"date": f"2027-01-0{d}", "name": "元旦"} for d in (1, 2, 3)]
    + [{"date": f"2027-02-{d:02d}", "name": "春节"} for d in range(6, 14)],
    "workdays": ["2027-02-14", "2027-02-20"],
}


def test_the_shipped_files_are_chinese_calendars_arrangements():
    """Each file is what `flask calendar export-shipped` writes, byte for byte."""
    for year in SHIPPED_YEARS:
        path = calendar.SHIPPED_DIR / f"{year}.json"
        assert path.read_text(encoding="utf-8") == calendar.file_text(export.arrangement(year))
    assert set(calendar.shipped()) == set(SHIPPED_YEARS)
    assert calendar.shipped()[2026].source == "国务院办公厅关于2026年部分节假日安排的通知"


def test_every_day_of_the_shipped_years_agrees_with_chinese_calendar():
    cal = calendar.shipped_calendar()
    day = date(2024, 1, 1)
    while day.year <= 2026:
        assert cal.is_working_day(day) == chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


@pytest.mark.parametrize("year", SHIPPED_YEARS)
def test_every_statutory_holiday_the_holidays_package_lists_is_a_day_off(year):
    cal = calendar.shipped_calendar()
    listed = holidays_lib.China(years=year)
    assert len(listed) >= 10
    assert [(d, name) for d, name in sorted(listed.items()) if cal.is_working_day(d)] == []


def test_2027_is_not_shipped_and_counts_as_a_guess():
    cal = calendar.shipped_calendar()
    assert not cal.is_known(2027) and cal.is_known(2026)
    assert cal.is_working_day(date(2027, 1, 1))  # a Friday, taken as a working day
    assert cal.provisional(datetime(2026, 12, 28), datetime(2027, 1, 6))
    assert not cal.provisional(datetime(2026, 3, 2), datetime(2026, 12, 31))


def test_no_module_imports_chinese_calendar_at_run_time():
    """Only the generator of the shipped files does (the tests cross-check with it)."""
    importing = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in {".venv", "tests", "bench", "migrations", "instance"}:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n.split(".")[0] == "chinese_calendar" for n in names):
                importing.append(str(rel))
    assert importing == ["workdays/export.py"]


def _with(**changes):
    data = copy.deepcopy(TEST_2027)
    data.update(changes)
    return data


BAD = [
    (_with(year=1999), "year 须为 2000–2100"),
    (_with(year=2101), "year 须为 2000–2100"),
    (_with(year=True), "year 须为 2000–2100"),
    (_with(year="2027"), "year 须为 2000–2100"),
    (_with(source=""), "source 须写明依据的通知"),
    (_with(holidays=[]), "holidays 须为非空列表"),
    (_with(holidays=[{"date": "2026-12-31", "name": "元旦"}]), "2026-12-31 不在 2027 年内"),
    (_with(workdays=["2028-01-02"]), "2028-01-02 不在 2027 年内"),
    (_with(holidays=[{"date": "2027/01/01", "name": "元旦"}]), "须写成 YYYY-MM-DD"),
    (_with(holidays=[{"date": "2027-02-30", "name": "春节"}]), "“2027-02-30”不是有效日期"),
    (_with(holidays=[{"date": "2027-01-01"}]), "name 须为节日名称"),
    (_with(holidays=[{"date": "2027-01-01", "name": "元旦", "off": 1}]), "第 1 项：须为"),
    (_with(holidays=TEST_2027["holidays"] + [{"date": "2027-01-01", "name": "元旦"}]), "重复"),
    (_with(workdays=["2027-02-14", "2027-02-14"]), "workdays 第 2 项：2027-02-14 重复"),
    (_with(workdays=["2027-02-15"]), "2027-02-15 不是周六或周日"),
    (_with(workdays=["2027-02-07"]), "2027-02-07 同时列为节假日（春节）"),
    (_with(notes="x"), "未知字段 notes"),
    ([], "须为 JSON 对象"),
]


@pytest.mark.parametrize("data, message", BAD)
def test_a_bad_arrangement_is_refused_in_chinese(data, message):
    with pytest.raises(ValueError) as info:
        calendar.arrangement_from_dict(data)
    assert message in str(info.value)


def test_the_test_arrangement_itself_is_valid():
    a = calendar.arrangement_from_dict(TEST_2027)
    assert a.year == 2027 and date(2027, 2, 14) in a.workdays and len(a.holidays) == 11


# --- imports, and the deadlines they move --------------------------------------------------------

MONDAY = datetime(2026, 12, 28, 9, 0)  # market case: 7 working days reach into 2027
FEES = ("fees", "托育园乱收费，多收了三个月伙食费还不给收据")
HYGIENE = ("hygiene", "教室很久没有消毒，厕所有异味")


@pytest.fixture
def world(street_nursery, make_user):
    return {
        "nursery": street_nursery,
        "users": {
            "market": make_user("handler", department_code="market"),
            "health": make_user("handler", department_code="health"),
            "admin": make_user("admin"),
            "parent": make_user("parent"),
        },
    }


def file(app, world, kind, now=MONDAY):
    with app.app_context():
        f = filing.Filing(category=kind[0], description=kind[1], nursery_id=world["nursery"])
        c, code = filing.file_complaint(f, now=now)
        return c.id, code


def get(app, cid) -> Complaint:
    with app.app_context():
        c = db.session.get(Complaint, cid)
        c.provisional_now = c.deadlines_provisional  # while the calendar is at hand
        db.session.expunge(c)
        return c


def test_importing_2027_moves_the_deadlines_and_drops_the_provisional_mark(app, world):
    market, code = file(app, world, FEES)
    health, _ = file(app, world, HYGIENE)
    client = app.test_client()
    before = get(app, market)
    assert before.lead_department == "market" and before.provisional_now
    # Dec 29, 30, 31, Jan 1 (a Friday, guessed a working day), 4, 5, 6
    assert before.accept_by == datetime(2027, 1, 6, 9, 0)
    assert 'id="deadline-provisional"' in client.get(f"/track/{code}").get_data(as_text=True)
    row = client.get(f"/open311/v2/requests/{code}.json").get_json()[0]
    assert "期限暂定" in row["service_notice"] and row["deadline_regime"]["provisional"]
    calm = get(app, health)
    assert not calm.provisional_now  # calendar days: no holiday to wait for

    with app.app_context():
        done = services.import_year(copy.deepcopy(TEST_2027), None, now=datetime(2026, 12, 29))
    assert (done.year, done.replaced, done.complaints, done.bookings) == (2027, None, 1, 0)
    after = get(app, market)
    assert after.accept_by == datetime(2027, 1, 7, 9, 0)  # Jan 1 is a holiday now
    assert not after.provisional_now
    assert after.conclude_by > before.conclude_by  # the Spring Festival of 2027 counted
    assert get(app, health).accept_by == calm.accept_by
    page = client.get(f"/track/{code}").get_data(as_text=True)
    assert 'id="deadline-provisional"' not in page and "2027-01-07 09:00 前" in page
    row = client.get(f"/open311/v2/requests/{code}.json").get_json()[0]
    assert "期限暂定" not in row["service_notice"] and not row["deadline_regime"]["provisional"]
    login(client, world["users"]["market"])
    case_page = client.get(f"/handle/{market}").get_data(as_text=True)
    assert "暂定</span>" not in case_page and 'id="deadline-provisional"' not in case_page
    with app.app_context():
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action.like("holiday%")))
        assert (entry.action, entry.subject_type, entry.subject_id) == (
            "holiday_year_imported",
            "holiday_year",
            2027,
        )


def test_the_case_page_marks_provisional_deadlines(app, world):
    market, _ = file(app, world, FEES)
    client = app.test_client()
    login(client, world["users"]["market"])
    page = client.get(f"/handle/{market}").get_data(as_text=True)
    assert "暂定</span>" in page and 'id="deadline-provisional"' in page


def test_recounting_follows_acceptance_extension_and_reopening(app, world):
    """Deadlines counted again from the moments they run from, in the case's regime: an
    extension before a reopening no longer applies to the review, one after it does."""
    from accounts.models import User

    cases = [file(app, world, FEES, now=datetime(2026, 11, 2, 9))[0] for _ in range(3)]
    extended, extended_then_reopened, reopened_then_extended = cases
    with app.app_context():
        market = db.session.scalar(select(User).where(User.username == world["users"]["market"][0]))
        handling.accept(market, extended, now=datetime(2026, 11, 20, 9))
        handling.extend(market, extended, 10, "需要检测", now=datetime(2026, 11, 21, 9))
        for cid in cases[1:]:
            handling.accept(market, cid, now=datetime(2026, 11, 3, 9))
        handling.extend(market, extended_then_reopened, 15, "需要检测", now=datetime(2026, 11, 4))
        for cid in cases[1:]:
            handling.resolve(market, cid, "已退费", now=datetime(2026, 11, 5, 9))
            handling.reopen(market, cid, "复查", now=datetime(2026, 12, 21, 9))
        handling.extend(market, reopened_then_extended, 5, "复查需检测", now=datetime(2026, 12, 22))
    guessed = {cid: get(app, cid) for cid in cases}
    with app.app_context():
        done = services.import_year(copy.deepcopy(TEST_2027))
    assert done.complaints == 3
    cal = calendar.Calendar({**calendar.shipped(), 2027: calendar.arrangement_from_dict(TEST_2027)})
    after = {cid: get(app, cid) for cid in cases}
    expect = cal.add_working_days(cal.add_working_days(datetime(2026, 11, 20, 9), 45), 10)
    assert after[extended].conclude_by == expect != guessed[extended].conclude_by
    review = cal.add_working_days(datetime(2026, 12, 21, 9), 30)
    assert after[extended_then_reopened].conclude_by == review
    assert after[reopened_then_extended].conclude_by == cal.add_working_days(review, 5)
    assert guessed[extended_then_reopened].conclude_by != review
    for cid in cases:  # acceptance in 2026: unchanged
        assert after[cid].accept_by == guessed[cid].accept_by


def test_pending_bookings_answer_deadlines_are_counted_again(app, world):
    from booking import queries
    from booking.models import Booking
    from booking.rules import Request
    from booking.services import family
    from booking.waitlist import Settings
    from tests.booking_helpers import birth_for, make_bookable_nursery

    settings = Settings()
    now = datetime(2026, 12, 30, 9, 0)
    with app.app_context():
        from accounts.models import User

        nursery = make_bookable_nursery()
        parent = db.session.scalar(select(User).where(User.username == world["users"]["parent"][0]))
        child = family.register_child(parent.id, "小明", birth_for(20), True, settings, now=now)
        req = Request(care_type="full_day", start_date=date(2027, 1, 18))
        booking, _ = family.book(parent.id, child.id, nursery, req, True, settings, now=now)
        assert booking.status == "pending"
        assert booking.respond_by == datetime(2027, 1, 4, 9, 0)  # Dec 31, Jan 1 (guess), Jan 4
        assert queries.booking_dict(booking, None)["respond_by_provisional"] is True
        booking_id = booking.id
    client = app.test_client()
    login(client, world["users"]["parent"])
    assert "暂定</span>" in client.get("/bookings").get_data(as_text=True)
    with app.app_context():
        done = services.import_year(copy.deepcopy(TEST_2027), response_working_days=3)
        assert done.bookings == 1
        booking = db.session.get(Booking, booking_id)
        assert booking.respond_by == datetime(2027, 1, 5, 9, 0)  # Jan 1 is a holiday now
        assert queries.booking_dict(booking, None)["respond_by_provisional"] is False
    assert "暂定</span>" not in client.get("/bookings").get_data(as_text=True)


def test_importing_again_replaces_the_year_and_every_worker_sees_it(app, world):
    with app.app_context():
        assert services.import_year(copy.deepcopy(TEST_2027)).replaced is None
        assert store.current().is_known(2027)
        changed = copy.deepcopy(TEST_2027)
        changed["holidays"].append({"date": "2027-01-04", "name": "元旦"})
        assert services.import_year(changed).replaced == "imported"
        assert not store.current().is_working_day(date(2027, 1, 4))
        assert db.session.scalar(select(HolidayYear.revision)) == 2
        # another process writes a year: this one sees it on its next read (revision key)
        db.session.add(
            HolidayYear(
                year=2028,
                data=json.dumps(
                    _with(
                        year=2028, holidays=[{"date": "2028-01-03", "name": "元旦"}], workdays=[]
                    ),
                    ensure_ascii=False,
                ),
                source="测试",
                imported_at=datetime(2026, 12, 30),
                revision=3,
            )
        )
        db.session.commit()
        assert store.current().is_known(2028)
        assert not store.current().is_working_day(date(2028, 1, 3))
        # a shipped year can be corrected: the import overrides the file
        fixed = export.arrangement(2026)
        fixed["holidays"].append({"date": "2026-12-31", "name": "测试"})
        assert services.import_year(fixed).replaced == "shipped"
        assert not store.current().is_working_day(date(2026, 12, 31))
        assert calendar.shipped_calendar().is_working_day(date(2026, 12, 31))


def test_a_bad_import_stores_nothing(app, world):
    market, _ = file(app, world, FEES)
    with app.app_context():
        with pytest.raises(DomainError) as info:
            services.import_year(_with(workdays=["2027-02-15"]))
        assert info.value.code == "calendar_invalid" and info.value.status == 400
        assert info.value.message.startswith("节假日安排有误：")
        for raw, message in (
            (b"\xff\xfe", "UTF-8"),
            (b"{", "不是有效的 JSON"),
            (b" " * (65 * 1024), "过大"),
        ):
            with pytest.raises(DomainError) as info:
                services.parse(raw)
            assert message in info.value.message
        assert db.session.scalar(select(HolidayYear)) is None
    assert get(app, market).provisional_now


# --- the admin page and the command line ------------------------------------------------------


def _upload(client, data, reason=""):
    from io import BytesIO

    body = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    return client.post(
        "/admin/complaint-rules/holidays",
        data={"file": (BytesIO(body), "2027.json"), "reason": reason},
        content_type="multipart/form-data",
    )


def test_the_admin_page_lists_years_warns_and_imports(app, world, monkeypatch):
    class Late2026(date):
        @classmethod
        def today(cls):
            return cls(2026, 11, 1)

    monkeypatch.setattr(store, "date", Late2026)
    market, _ = file(app, world, FEES)
    client = app.test_client()
    login(client, world["users"]["admin"])
    index = client.get("/admin/complaint-rules").get_data(as_text=True)
    assert 'id="calendar-missing"' in index and "尚未导入 2027 年的节假日安排" in index
    page = client.get("/admin/complaint-rules/holidays")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "节假日安排" in html
    assert 'data-year="2026" data-origin="shipped"' in html and "2027 年" in html
    assert 'href="/admin/complaint-rules/holidays"' in index  # the admin nav links to it

    r = _upload(client, _with(workdays=["2027-02-15"]))
    assert r.status_code == 400
    assert (
        "导入失败：节假日安排有误：2027 年节假日安排 workdays 第 1 项：2027-02-15 不是周六或周日"
        in (r.get_data(as_text=True))
    )
    assert _upload(client, b"not json").status_code == 400
    r = _upload(client, TEST_2027, "国务院办公厅通知已发布")
    assert r.status_code == 303
    html = client.get("/admin/complaint-rules/holidays").get_data(as_text=True)
    assert "已导入 2027 年节假日安排，重新计算了 1 件投诉、0 个预约的期限" in html
    assert 'data-year="2027" data-origin="imported"' in html and 'id="calendar-missing"' not in html
    index = client.get("/admin/complaint-rules").get_data(as_text=True)
    assert 'id="calendar-missing"' not in index
    assert not get(app, market).provisional_now
    download = client.get("/admin/complaint-rules/holidays/2027.json")
    assert download.status_code == 200
    assert calendar.arrangement_from_dict(json.loads(download.data)).year == 2027
    assert client.get("/admin/complaint-rules/holidays/2031.json").status_code == 404


@pytest.mark.parametrize("who", ["market", "parent"])
def test_only_admins_may_see_or_import_the_calendar(app, world, who):
    client = app.test_client()
    assert client.get("/admin/complaint-rules/holidays").status_code in (302, 401)
    login(client, world["users"][who])
    assert client.get("/admin/complaint-rules/holidays").status_code == 403
    assert _upload(client, TEST_2027).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(HolidayYear)) is None


def test_the_command_line_imports_and_lists_years(app, world, tmp_path):
    runner = app.test_cli_runner()
    good, bad = tmp_path / "2027.json", tmp_path / "bad.json"
    good.write_text(json.dumps(TEST_2027, ensure_ascii=False), encoding="utf-8")
    bad.write_text(json.dumps(_with(year=1999)), encoding="utf-8")
    listed = runner.invoke(args=["calendar", "years"])
    assert listed.exit_code == 0
    assert "2026\t国务院办公厅关于2026年部分节假日安排的通知\t随系统发布" in listed.output
    refused = runner.invoke(args=["calendar", "import", str(bad)])
    assert refused.exit_code != 0 and "year 须为 2000–2100" in refused.output
    done = runner.invoke(args=["calendar", "import", str(good)])
    assert done.exit_code == 0, done.output
    assert "已导入 2027 年节假日安排" in done.output
    listed = runner.invoke(args=["calendar", "years"]).output
    assert "2027\t测试用 2027 年节假日安排（非国务院通知）\t导入" in listed and "命令行" in listed


def test_the_shipped_files_are_regenerated_by_the_command(app, tmp_path):
    runner = app.test_cli_runner()
    done = runner.invoke(args=["calendar", "export-shipped", "--out", str(tmp_path)])
    assert done.exit_code == 0, done.output
    for year in SHIPPED_YEARS:
        written = (tmp_path / f"{year}.json").read_text(encoding="utf-8")
        assert written == (calendar.SHIPPED_DIR / f"{year}.json").read_text(encoding="utf-8")
    refused = runner.invoke(args=["calendar", "export-shipped", "--year", "2031", "--out", "x"])
    assert refused.exit_code != 0 and "chinese_calendar 没有该年的安排" in refused.output
