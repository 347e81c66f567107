"""Importing nurseries and communities: formats, coordinate systems, all-or-nothing errors."""

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy import text as sa_text

from extensions import db
from maps.coords import wgs84_to_bd09, wgs84_to_gcj02
from maps.geo import distance_m
from maps.importer import ImportFailed
from maps.models import Community, Nursery, Offer, Street
from maps.services import import_communities, import_nurseries

HEADER = "name,address,lat,lon,coordsys,filing_no,kind,inclusive,street,phone,care_types,capacity\n"
WGS = (29.601234, 106.521234)


def csv(*rows, header=HEADER) -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode()


def count(model):
    return db.session.scalar(select(func.count()).select_from(model))


def test_csv_import_creates_nurseries_offers_and_streets(ctx):
    data = csv(
        f"星湖托育园,星湖路1号,{WGS[0]},{WGS[1]},wgs84,渝备001,公办,1,星湖街道,023-60000001,全日托;hourly,30",
        "未备案小屋,龙溪路2号,29.61,106.53,,,family,0,,,,5",
    )
    result = import_nurseries(data, "n.csv")
    assert result.created == 2 and result.streets_created == ["星湖街道"]
    filed = db.session.scalar(select(Nursery).where(Nursery.name == "星湖托育园"))
    assert (filed.kind, filed.inclusive, filed.filing_no, filed.street.name) == (
        "public",
        True,
        "渝备001",
        "星湖街道",
    )
    # The care types as filed, with no places until the nursery registers its classes: the
    # filed 托位数 (30) is an upper bound, not a class.
    assert {o.care_type: o.capacity for o in filed.offers} == {"full_day": 0, "hourly": 0}
    assert filed.capacity == 30 and filed.classes == []
    hidden = db.session.scalar(select(Nursery).where(Nursery.name == "未备案小屋"))
    assert hidden.filing_no is None and hidden.kind == "family"


@pytest.mark.parametrize("coordsys", ["gcj02", "bd09"])
def test_coordinates_in_chinese_map_systems_are_stored_as_exact_wgs84(ctx, coordsys):
    lat, lon = (wgs84_to_gcj02 if coordsys == "gcj02" else wgs84_to_bd09)(*WGS)
    import_nurseries(csv(f"园,路1号,{lat!r},{lon!r},{coordsys},备1,,0,,,,10"), "n.csv")
    n = db.session.scalar(select(Nursery))
    assert n.source_coordsys == coordsys
    assert distance_m(n.lat, n.lon, *WGS) < 0.02  # stored to 1e-7 degrees


def test_geojson_import_reads_points_and_properties(ctx):
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [WGS[1], WGS[0]]},
                "properties": {
                    "name": "几何园",
                    "address": "几何路3号",
                    "filing_no": "G-1",
                    "inclusive": 1,
                    "care_types": "half_day",
                    "capacity": 12,
                },
            },
        ],
    }
    assert import_nurseries(json.dumps(doc).encode(), "n.geojson").created == 1
    n = db.session.scalar(select(Nursery))
    assert (n.name, n.lat, n.inclusive) == ("几何园", WGS[0], True)
    assert [o.care_type for o in n.offers] == ["half_day"]


@pytest.mark.parametrize(
    ("data", "line", "words"),
    [
        (csv("a,b,29.6,106.5", header="name,address,lat\n"), 1, "缺少必填列 lon"),
        (csv("a,b,29.6,106.5,x", header="name,address,lat,lon,colour\n"), 1, "无法识别的列 colour"),
        (b"", 1, "文件为空"),
        (HEADER.encode(), 1, "没有数据行"),
        (HEADER.encode() + "托育园,路,29.6,106.5,,,,0,,,,1\n".encode("gbk"), 2, "UTF-8"),
        (csv("伦敦园,路,51.5,-0.12,,,,0,,,,1"), 2, "不在中国境内"),
        (csv("反园,路,106.5,29.6,,,,0,,,,1"), 2, "坐标超出范围"),
        (csv("园,路,abc,106.5,,,,0,,,,1"), 2, "lat 不是数字"),
        (csv("园,路,nan,106.5,,,,0,,,,1"), 2, "有限数字"),
        (csv("园,路,29.6,106.5,utm,,,0,,,,1"), 2, "coordsys"),
        (csv("园,路,29.6,106.5,,,school,0,,,,1"), 2, "kind"),
        (csv("园,路,29.6,106.5,,,,maybe,,,,1"), 2, "inclusive"),
        (csv("园,路,29.6,106.5,,,,0,,,overnight,1"), 2, "未知托育类型"),
        (csv("园,路,29.6,106.5,,,,0,,,,-3"), 2, "非负整数"),
        (csv(",路,29.6,106.5,,,,0,,,,1"), 2, "name 不能为空"),
        (csv("园,路,29.6,106.5,,,,0,,,"), 2, "列"),
        (csv("甲,路1,29.6,106.5,,A1,,0,,,,1", "乙,路2,29.6,106.5,,A1,,0,,,,1"), 3, "重复"),
        (csv("甲,路1,29.6,106.5,,,,0,,,,1", "甲,路1,29.6,106.5,,,,0,,,,1"), 3, "重复"),
    ],
)
def test_a_bad_file_is_refused_with_line_and_reason_and_nothing_written(ctx, data, line, words):
    import_nurseries(csv("先导园,先导路1号,29.6,106.5,,P-0,,0,,,,1"), "ok.csv")
    with pytest.raises(ImportFailed) as caught:
        import_nurseries(data, "bad.csv")
    first_line, reason = caught.value.errors[0]
    assert (first_line, words in reason) == (line, True), caught.value.errors
    assert "未写入任何数据" in caught.value.message
    assert (count(Nursery), count(Street), count(Offer)) == (1, 0, 1)


def test_a_bad_row_after_good_ones_aborts_the_whole_import(ctx):
    rows = [f"园{i},路{i}号,29.6,106.5,,F-{i},,0,新街道,,,5" for i in range(5)]
    rows.append("坏园,路,29.6,abc,,F-x,,0,,,,5")
    with pytest.raises(ImportFailed) as caught:
        import_nurseries(csv(*rows), "n.csv")
    assert caught.value.errors == [(7, "lon 不是数字：'abc'")]
    assert "第 7 行" in caught.value.message
    assert count(Nursery) == 0 and count(Street) == 0


def test_duplicates_of_what_is_already_in_the_registry_are_refused(ctx):
    import_nurseries(csv("甲园,甲路1号,29.6,106.5,,D-1,,0,,,,5"), "a.csv")
    for row in ("乙园,乙路1号,29.6,106.5,,D-1,,0,,,,5", "甲园,甲路1号,29.6,106.5,,,,0,,,,5"):
        with pytest.raises(ImportFailed) as caught:
            import_nurseries(csv(row), "b.csv")
        assert "已在登记库中" in caught.value.errors[0][1]
    assert count(Nursery) == 1


def test_geojson_that_is_not_a_point_collection_is_refused(ctx):
    for doc in (
        "{",
        json.dumps({"type": "Feature"}),
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": []},
                        "properties": {},
                    }
                ],
            }
        ),
    ):
        with pytest.raises(ImportFailed):
            import_nurseries(doc.encode(), "x.geojson")
    assert count(Nursery) == 0


def test_import_bumps_the_registry_so_search_sees_new_nurseries(client):
    before = client.get("/api/v1/nurseries?lat=29.6&lon=106.5").get_json()["count"]
    with client.application.app_context():
        import_nurseries(csv("新园,新路1号,29.6,106.5,,N-1,,0,,,,5"), "n.csv")
    after = client.get("/api/v1/nurseries?lat=29.6&lon=106.5").get_json()["count"]
    assert (before, after) == (0, 1)


COMMUNITY_HEADER = "name,lat,lon,population,children_under_3,street\n"


def test_communities_import_and_validation(ctx):
    ok = csv("桂花苑,29.6,106.5,5000,150,星湖街道", header=COMMUNITY_HEADER)
    assert import_communities(ok, "c.csv").created == 1
    c = db.session.scalar(select(Community))
    assert (c.population, c.children_under_3, c.street.name) == (5000, 150, "星湖街道")
    for row, words in [
        ("新苑,29.6,106.5,,10,", "population 不能为空"),
        ("新苑,29.6,106.5,-5,1,", "非负整数"),
        ("新苑,29.6,106.5,100,200,", "不能大于"),
        ("桂花苑,29.6,106.5,100,2,", "已在库中"),
    ]:
        with pytest.raises(ImportFailed) as caught:
            import_communities(csv(row, header=COMMUNITY_HEADER), "c.csv")
        assert words in caught.value.errors[0][1]
    assert count(Community) == 1


def test_cli_import_reports_errors_with_file_and_line(runner, tmp_path, app):
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv("园,路,29.6,106.5,,,,0,,,,1", "园2,路2,91,106.5,,,,0,,,,1"))
    result = runner.invoke(args=["nurseries", "import", str(bad)])
    assert result.exit_code == 1
    assert "bad.csv:3:" in result.output and "未写入任何数据" in result.output
    good = tmp_path / "good.csv"
    good.write_bytes(csv("园,路,29.6,106.5,,,,0,,,,1"))
    result = runner.invoke(args=["nurseries", "import", str(good)])
    assert result.exit_code == 0 and "已导入 1 个托育机构" in result.output
    with app.app_context():
        assert count(Nursery) == 1


def test_streets_take_their_kind_from_the_name_and_communities_an_urban_flag(ctx):
    """街道 / 镇 / 乡 from the name's ending (the 街道 indicator counts 街道 only); a community is
    城镇 unless the file says 农村 (绍兴's 5-minute life circles are over 城镇 communities)."""
    header = "name,lat,lon,population,children_under_3,street,urban\n"
    data = csv(
        "桂花苑,29.6,106.5,5000,150,星湖街道,",
        "稻香村,29.61,106.5,800,20,青杠镇,农村",
        "山前组,29.62,106.5,300,9,白云乡,0",
        "镇中小区,29.63,106.5,2000,60,青杠镇,城镇",
        header=header,
    )
    result = import_communities(data, "c.csv")
    assert sorted(result.streets_created) == ["星湖街道", "白云乡", "青杠镇"]
    kinds = dict(db.session.execute(select(Street.name, Street.kind)).all())
    assert kinds == {"星湖街道": "subdistrict", "青杠镇": "town", "白云乡": "township"}
    urban = dict(db.session.execute(select(Community.name, Community.urban)).all())
    assert urban == {"桂花苑": True, "稻香村": False, "山前组": False, "镇中小区": True}
    with pytest.raises(ImportFailed) as caught:
        import_communities(csv("新苑,29.6,106.5,100,2,,半城", header=header), "c.csv")
    assert "urban 须为 1（城镇）或 0（农村）" in caught.value.errors[0][1]


def test_an_admin_sets_a_streets_kind_and_a_communitys_area_from_the_command_line(app, runner):
    with app.app_context():
        import_communities(csv("桂花苑,29.6,106.5,5000,150,星湖", header=COMMUNITY_HEADER), "c.csv")
        code = db.session.scalar(select(Street.code))
    listed = runner.invoke(args=["streets", "list"])
    assert listed.exit_code == 0 and f"{code}\t星湖\t街道" in listed.output
    done = runner.invoke(args=["streets", "set-kind", code, "镇"])
    assert done.exit_code == 0 and "星湖：镇" in done.output
    refused = runner.invoke(args=["streets", "set-kind", code, "村"])
    assert refused.exit_code != 0 and "镇街类型须为 街道、镇、乡" in refused.output
    unknown = runner.invoke(args=["streets", "set-kind", "NOPE", "town"])
    assert unknown.exit_code != 0 and "未知的镇街代码：NOPE" in unknown.output
    rural = runner.invoke(args=["communities", "set-urban", "桂花苑", "农村"])
    assert rural.exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(Street.kind)) == "town"
        assert db.session.scalar(select(Community.urban)) is False


PRICED = HEADER.rstrip("\n") + ",price_full_day\n"


def test_update_matches_by_filing_number_and_reports_what_changed(ctx):
    """A district re-imports its monthly registry export: rows already filed update their
    nursery, new ones are added, and the rest are counted as unchanged."""
    import_nurseries(
        csv(
            "甲园,甲路1号,29.6,106.5,,U-1,private,0,云岭街道,,全日托,30,",
            "乙园,乙路2号,29.61,106.51,,U-2,private,0,云岭街道,,全日托,20,",
            header=PRICED,
        ),
        "first.csv",
    )
    first = {n.filing_no: n.id for n in db.session.scalars(select(Nursery))}
    monthly = csv(
        # U-1 moved, became public and inclusive, gained places and the hourly care type
        "甲园,甲路9号,29.602,106.503,,U-1,公办,1,星湖街道,,全日托;计时托,60,",
        "乙园,乙路2号,29.61,106.51,,U-2,private,0,云岭街道,,全日托,20,",  # unchanged
        "丙园,丙路3号,29.62,106.52,,U-3,private,0,,,全日托,10,1800",  # new
        header=PRICED,
    )
    result = import_nurseries(monthly, "monthly.csv", update=True)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 1)
    assert result.streets_created == ["星湖街道"]
    db.session.expire_all()
    moved = db.session.get(Nursery, first["U-1"])
    assert (moved.address, moved.lat, moved.lon) == ("甲路9号", 29.602, 106.503)
    assert (moved.kind, moved.inclusive, moved.capacity, moved.street.name) == (
        "public",
        True,
        60,
        "星湖街道",
    )
    assert sorted(o.care_type for o in moved.offers) == ["full_day", "hourly"]
    assert db.session.get(Nursery, first["U-2"]).address == "乙路2号"
    new = db.session.scalar(select(Nursery).where(Nursery.filing_no == "U-3"))
    assert [(o.care_type, o.price_yuan) for o in new.offers] == [("full_day", 1800)]
    again = import_nurseries(monthly, "monthly.csv", update=True)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert count(Nursery) == 3


def test_without_update_a_filed_nursery_is_still_refused(ctx):
    import_nurseries(csv("甲园,甲路1号,29.6,106.5,,U-1,,0,,,,30"), "a.csv")
    with pytest.raises(ImportFailed, match="已在登记库中"):
        import_nurseries(csv("甲园,甲路9号,29.6,106.5,,U-1,,0,,,,60"), "b.csv")
    assert db.session.scalar(select(Nursery.capacity)) == 30


def test_an_update_with_one_bad_row_changes_nothing(ctx):
    import_nurseries(
        csv("甲园,甲路1号,29.6,106.5,,U-1,,0,,,,30", "乙园,乙路2号,29.61,106.5,,U-2,,0,,,,5"),
        "a.csv",
    )
    bad = csv(
        "甲园,甲路1号,29.6,106.5,,U-1,,0,,,,99",
        "新园,新路1号,91,106.5,,U-9,,0,,,,5",  # latitude out of range
    )
    with pytest.raises(ImportFailed) as refused:
        import_nurseries(bad, "bad.csv", update=True)
    assert refused.value.errors[0][0] == 3
    # Another nursery's site under a different filing number is a clash, not an update.
    clash = csv("乙园,乙路2号,29.61,106.5,,U-7,,0,,,,5")
    with pytest.raises(ImportFailed, match="乙园"):
        import_nurseries(clash, "clash.csv", update=True)
    db.session.expire_all()
    assert count(Nursery) == 2 and db.session.scalar(select(func.max(Nursery.capacity))) == 30


def test_a_registry_larger_than_sqlites_parameter_limit_imports_in_one_go(ctx):
    """35,000 rows: more than SQLite's 32,766 parameters in one statement would allow."""
    rows = [
        f"园{i},路{i}号,{29.5 + (i % 1000) * 1e-4},{106.4 + (i // 1000) * 1e-3},,B-{i},,0,,,,10"
        for i in range(35_000)
    ]
    assert import_nurseries(csv(*rows), "big.csv").created == 35_000
    assert count(Nursery) == 35_000 and count(Offer) == 35_000
    result = import_nurseries(csv(*rows), "big.csv", update=True)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 35_000)


def test_the_cli_updates_and_draws_progress_on_stderr(app, tmp_path):
    path = tmp_path / "n.csv"
    path.write_bytes(csv("甲园,甲路1号,29.6,106.5,,U-1,,0,,,,30"))
    runner = app.test_cli_runner()
    assert "已导入 1 个" in runner.invoke(args=["nurseries", "import", str(path)]).output
    path.write_bytes(csv("甲园,甲路1号,29.6,106.5,,U-1,,0,,,,45"))
    refused = runner.invoke(args=["nurseries", "import", str(path)])
    assert refused.exit_code == 1 and "已在登记库中" in refused.output
    done = runner.invoke(args=["nurseries", "import", "--update", str(path)])
    assert done.exit_code == 0, done.output
    assert "新增 0 个、更新 1 个、未变 0 个托育机构" in done.stdout
    assert "写入登记库" in done.stderr and "写入登记库" not in done.stdout


def test_bulk_rows_take_the_models_defaults_and_the_sequence_moves_on(ctx):
    """COPY (PostgreSQL) and executemany (SQLite) fill what a row leaves out as the ORM would:
    Python defaults, server defaults; ids come from the table's sequence, so the next ORM
    insert does not collide."""
    from datetime import time

    from database import use_case

    import_nurseries(csv("甲园,甲路1号,29.6,106.5,,D-1,,0,,,,30"), "a.csv")
    bulk = db.session.scalar(select(Nursery))
    assert (bulk.opens_at, bulk.closes_at, bulk.demonstration) == (time(7, 30), time(17, 30), False)
    assert bulk.updated_at is not None and bulk.offers[0].price_yuan is None
    with use_case():
        later = Nursery(name="乙园", address="乙路2号", lat=29.6, lon=106.5)
        db.session.add(later)
    assert later.id > bulk.id


def test_a_bulk_import_refreshes_the_planners_statistics_on_postgresql(ctx):
    """After more than 1,000 rows, PostgreSQL's planner is told the registry's new size
    (ANALYZE): otherwise searches scan the whole tables until autovacuum comes by."""
    rows = [f"园{i},路{i}号,{29.5 + i * 1e-5},106.4,,S-{i},,0,,,,10" for i in range(1200)]
    assert import_nurseries(csv(*rows), "big.csv").created == 1200
    if db.engine.dialect.name != "postgresql":
        return  # SQLite's planner keeps no such statistics unless asked (nothing to refresh)
    analysed = db.session.execute(
        sa_text("SELECT reltuples FROM pg_class WHERE relname = 'nurseries'")
    ).scalar_one()
    assert analysed >= 1200
