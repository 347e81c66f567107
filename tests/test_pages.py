"""Server-rendered pages: they work without JavaScript, in Chinese, with clear errors."""

import json
import re

import pytest

from extensions import db
from maps.coords import wgs84_to_gcj02
from maps.geo import GEOD
from maps.models import Community

HOME = (29.6, 106.52)


def at(bearing, metres):
    lon, lat, _ = GEOD.fwd(HOME[1], HOME[0], bearing, metres)
    return {"lat": lat, "lon": lon}


@pytest.fixture
def district(app, make_nursery):
    with app.app_context():
        db.session.add(
            Community(name="桂花苑", lat=HOME[0], lon=HOME[1], population=3000, children_under_3=90)
        )
        db.session.commit()
    return [
        make_nursery(**at(0, 800), name="远一点托育园"),
        make_nursery(**at(90, 250), name="楼下托育园", inclusive=True),
    ]


def map_data(html):
    return json.loads(re.search(r'id="map-data">(.*?)</script>', html, re.S).group(1))


def test_search_by_community_name_lists_nurseries_nearest_first(client, district):
    r = client.get("/", query_string={"q": "桂花苑"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "从 <strong>桂花苑</strong> 出发，找到 2 家" in html
    assert html.index("楼下托育园") < html.index("远一点托育园")
    assert "250 米" in html and "✓ 在5分钟圈" in html and "✗ 不在5分钟圈" in html
    distances = [float(x) for x in re.findall(r'data-distance="([\d.]+)"', html)]
    assert distances == sorted(distances) and len(distances) == 2


def test_search_by_pinyin_initials_finds_the_community(client, district):
    html = client.get("/", query_string={"q": "ghy"}).get_data(as_text=True)
    assert "从 <strong>桂花苑</strong> 出发" in html


def test_filters_apply_on_the_page(client, district):
    html = client.get("/", query_string={"q": "桂花苑", "inclusive": "1"}).get_data(as_text=True)
    assert "楼下托育园" in html and "远一点托育园" not in html


def test_unknown_place_says_so_in_chinese(client, district):
    r = client.get("/", query_string={"q": "不存在的地方"})
    assert r.status_code == 404
    assert "没有找到“不存在的地方”" in r.get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ({"lat": "abc", "lon": "106.5"}, "lat 须为数字"),
        ({"lat": "95", "lon": "106.5"}, "纬度"),
        ({"lat": "29.6"}, "缺少经度"),
        ({"q": "桂花苑", "age_months": "40"}, "age_months"),
        ({"q": "桂花苑", "care_type": "夜托"}, "care_type"),
        ({"q": "桂" * 101}, "输入的地址过长"),
    ],
)
def test_bad_input_on_the_page_is_a_400_with_a_chinese_message(client, district, query, words):
    r = client.get("/", query_string=query)
    assert r.status_code == 400
    assert words in r.get_data(as_text=True)


def test_the_point_from_the_map_is_converted_and_new_text_replaces_it(client, district):
    lat, lon = wgs84_to_gcj02(*at(90, 250).values())
    html = client.get(
        "/", query_string={"lat": lat, "lon": lon, "coordsys": "gcj02", "label": "地图上选定的位置"}
    ).get_data(as_text=True)
    assert re.search(r'data-distance="(\d+\.\d)"', html).group(1) in ("0.0", "0.1")
    # Typing a new place in the same form wins over the hidden point of the last search.
    html = client.get(
        "/", query_string={"lat": lat, "lon": lon, "label": "地图上选定的位置", "q": "桂花苑"}
    ).get_data(as_text=True)
    assert "从 <strong>桂花苑</strong> 出发" in html


@pytest.mark.parametrize("coordsys", ["gcj02", "wgs84"])
def test_map_markers_are_shifted_into_the_tiles_coordinate_system(app, district, coordsys):
    app.config["MAP_TILE_COORDSYS"] = coordsys
    html = app.test_client().get("/", query_string={"q": "桂花苑"}).get_data(as_text=True)
    data = map_data(html)
    expected = wgs84_to_gcj02(*HOME) if coordsys == "gcj02" else HOME
    assert data["home"] == pytest.approx(list(expected), abs=1e-6)
    assert data["radii"] == [300.0, 1000.0] and len(data["markers"]) == 2


def test_nursery_page_shows_filing_offers_and_classes(client, district):
    html = client.get(f"/nurseries/{district[1]}").get_data(as_text=True)
    assert "楼下托育园" in html and "测备〔2024〕" in html and "普惠性" in html
    assert "全日托" in html and "1800 元/月" in html and "托小班" in html


def test_unknown_nursery_page_is_a_chinese_404(client, district):
    r = client.get("/nurseries/424242")
    assert r.status_code == 404 and "未找到该托育机构" in r.get_data(as_text=True)


def test_check_my_home_answers_in_one_line(client, district):
    html = client.get("/check", query_string={"q": "桂花苑"}).get_data(as_text=True)
    assert "在 1 家机构的 5 分钟步行圈内" in html and "在 2 家机构的 15 分钟步行圈内" in html
    far = client.get("/check", query_string={"lat": 29.9, "lon": 106.9}).get_data(as_text=True)
    assert "不在任何机构的 5 分钟步行圈内" in far and "也不在任何机构的 15 分钟步行圈内" in far


def test_leaflet_is_served_from_its_installed_package(client):
    r = client.get("/vendor/leaflet/leaflet.js")
    assert r.status_code == 200 and b"Leaflet" in r.data[:400]
    assert client.get("/vendor/leaflet/../../secret").status_code == 404


def test_pages_are_mobile_ready(client, district):
    html = client.get("/").get_data(as_text=True)
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert 'lang="zh-CN"' in html
