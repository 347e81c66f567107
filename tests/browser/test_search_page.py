"""End-to-end: the public search pages in headless Chromium on a 360 px phone screen."""

import re
from urllib.parse import parse_qs, urlparse

import pytest

from maps.coords import to_wgs84

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the browser fixture skips (or fails) with the reason
    PlaywrightTimeout = AssertionError

from .conftest import COMMUNITY, FILED, NURSERIES, ORIGIN, geodesic_m

pytestmark = pytest.mark.browser


def expected_order(lat: float, lon: float) -> list[tuple[str, float]]:
    """Filed nurseries as (name, geodesic metres from the point), nearest first."""
    return sorted(((n.name, geodesic_m(lat, lon, n.lat, n.lon)) for n in FILED), key=lambda x: x[1])


def search_community(page) -> None:
    page.goto("/")
    page.fill("#q", COMMUNITY)
    with page.expect_navigation():
        page.click("#search-form .locate button[type=submit]")


def result_rows(page) -> list[dict]:
    return page.eval_on_selector_all(
        "#results li.result",
        """els => els.map(li => ({
            id: li.dataset.id,
            name: li.querySelector('a.name').textContent.trim(),
            distance: parseFloat(li.dataset.distance),
            shown: li.querySelector('.distance strong').textContent.trim(),
        }))""",
    )


def assert_results_match(rows: list[dict], lat: float, lon: float, tolerance_m: float = 0.15):
    expected = expected_order(lat, lon)
    assert [r["name"] for r in rows] == [name for name, _ in expected]
    distances = [r["distance"] for r in rows]
    assert distances == sorted(distances)
    for row, (name, metres) in zip(rows, expected, strict=True):
        assert row["distance"] == pytest.approx(metres, abs=tolerance_m), name
        assert row["shown"] == f"{round(row['distance'])} 米"


def map_counts(page) -> dict:
    page.wait_for_selector('#map[data-ready="1"]', state="attached", timeout=5_000)
    return page.evaluate(
        """() => {
            const map = document.getElementById('map');
            return {
                markers: Number(map.dataset.markers),
                nurseryMarkers: map.querySelectorAll('path.nursery-marker').length,
                interactive: map.querySelectorAll('path.leaflet-interactive').length,
                paths: map.querySelectorAll('.leaflet-overlay-pane path').length,
            };
        }"""
    )


def assert_no_horizontal_overflow(page):
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, document.body.scrollWidth]"
    )
    assert max(widths) <= 360, f"page is wider than the 360 px screen: {widths}"


def test_search_by_community_lists_nearest_first(page, artifacts):
    page.goto("/")
    assert_no_horizontal_overflow(page)
    search_community(page)

    assert page.locator("#summary strong").inner_text() == COMMUNITY
    assert f"找到 {len(FILED)} 家" in page.locator("#summary").inner_text()
    rows = result_rows(page)
    assert_results_match(rows, *ORIGIN)
    assert rows[0]["name"] == "晨光托育园"
    assert "未备案看护点" not in page.content()
    first = page.locator("#results li.result").first.inner_text()
    assert "✓ 在5分钟圈" in first
    assert "步行约 3 分钟" in first  # 150 m × 1.25 detour at 4.5 km/h = 2.5 min
    assert page.locator("#map").bounding_box()["width"] <= 360
    assert_no_horizontal_overflow(page)

    page.screenshot(path=str(artifacts / "search-360.png"))
    page.screenshot(path=str(artifacts / "search-360-full.png"), full_page=True)


def test_search_map_shows_a_marker_per_result(page):
    search_community(page)
    counts = map_counts(page)
    assert counts["markers"] == len(result_rows(page)) == len(FILED)
    assert counts["nurseryMarkers"] == counts["markers"]
    # Markers and the home dot are clickable; the two service circles are drawn but are not.
    assert counts["interactive"] >= counts["markers"] + 1
    assert counts["paths"] >= counts["markers"] + 1 + 2
    assert page.js_errors == []


def test_click_on_the_map_searches_from_that_point(page):
    page.goto(f"/?lat={ORIGIN[0]}&lon={ORIGIN[1]}&label=起点&q=起点")
    assert page.locator("#summary strong").inner_text() == "起点"
    page.wait_for_selector('#map[data-ready="1"]', state="attached", timeout=5_000)
    box = page.locator("#map").bounding_box()
    with page.expect_navigation():
        page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)

    assert page.locator("#summary strong").inner_text() == "地图上选定的位置"
    query = parse_qs(urlparse(page.url).query)
    assert query["label"] == ["地图上选定的位置"]
    # The click comes back in the tiles' coordinate system (GCJ-02 by default), near the start.
    lat, lon = to_wgs84(float(query["lat"][0]), float(query["lon"][0]), query["coordsys"][0])
    assert 0 < geodesic_m(*ORIGIN, lat, lon) < 2000
    assert_results_match(result_rows(page), lat, lon, tolerance_m=0.5)
    assert map_counts(page)["markers"] == len(FILED)
    assert page.js_errors == []


def test_search_works_without_javascript(nojs_page):
    page = nojs_page
    search_community(page)
    assert page.locator("#summary strong").inner_text() == COMMUNITY
    assert_results_match(result_rows(page), *ORIGIN)
    assert_no_horizontal_overflow(page)


def test_locate_me_button_is_hidden_without_javascript(nojs_page):
    nojs_page.goto("/")
    assert nojs_page.locator("[data-locate-me]").is_hidden()


def test_check_my_home_answers_in_one_line(page, artifacts):
    page.goto(f"/check?q={COMMUNITY}")
    line = page.locator("#answer .one-line").inner_text()
    within_5 = sum(geodesic_m(*ORIGIN, n.lat, n.lon) <= 300 for n in FILED)
    within_15 = sum(geodesic_m(*ORIGIN, n.lat, n.lon) <= 1000 for n in FILED)
    assert (within_5, within_15) == (1, 3)
    assert re.sub(r"\s+", " ", line) == (
        f"{COMMUNITY} 在 {within_5} 家机构的 5 分钟步行圈内，"
        f" 在 {within_15} 家机构的 15 分钟步行圈内。"
    )
    items = page.locator("#answer li").all_inner_texts()
    assert len(items) == within_15
    assert items[0].startswith("晨光托育园：150 米") and items[0].endswith("（5 分钟圈）")
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts / "check-360.png"), full_page=True)


def test_nursery_page_shows_filing_number_and_offers(page, artifacts):
    search_community(page)
    with page.expect_navigation():
        page.locator("#results li.result a.name").first.click()

    nursery = next(n for n in NURSERIES if n.name == "晨光托育园")
    assert page.locator("h1").inner_text() == nursery.name
    filing = page.locator("dl.facts dt:text-is('备案号') + dd")
    assert filing.inner_text() == nursery.filing_no
    offers = page.locator("table.offers tbody tr")
    assert offers.count() == 2
    # Imported from the registry: care types, no classes yet, so no places to book.
    cells = offers.nth(0).locator("td").all_inner_texts()
    # the price cell names the regime under the price (a private nursery: 市场调节价)
    assert cells[0] == "全日托" and cells[2:] == ["0", "暂未开放"]
    assert cells[1].split("\n") == ["待公布", "市场调节价"]
    assert offers.nth(1).locator("td").all_inner_texts()[0] == "计时托"
    assert_no_horizontal_overflow(page)
    page.screenshot(path=str(artifacts / "nursery-360.png"), full_page=True)


def test_nursery_page_map_shows_the_nursery(page):
    nursery = FILED[0]
    search_community(page)
    row = next(r for r in result_rows(page) if r["name"] == nursery.name)
    page.goto(f"/nurseries/{row['id']}")
    counts = map_counts(page)
    assert counts["markers"] == 1 == counts["nurseryMarkers"]
    assert counts["paths"] >= 1 + 2  # the nursery and its two service circles
    assert page.js_errors == []
