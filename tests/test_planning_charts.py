"""The planning charts: well-formed inline SVG, bars to scale against their targets, escaped
labels; and how figures are written."""

import xml.etree.ElementTree as ET

import pytest

from planning import charts

NS = {"s": "http://www.w3.org/2000/svg"}
NASTY = "<script>alert('x')</script> & \"引号\""


def parse(svg) -> ET.Element:
    root = ET.fromstring(str(svg))
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def figure(value, targets, unit="%", label="普惠性托位占比", meets=None) -> dict:
    return {
        "label": label,
        "unit": unit,
        "value": value,
        "targets": [{"value": v, "source": s} for v, s in targets],
        "meets_target": meets,
    }


def bar_width(root) -> float:
    return float(root.find("s:rect[@class='bar']", NS).get("width"))


def target_xs(root, where=".//") -> list[float]:
    return [float(line.get("x1")) for line in root.findall(f"{where}s:line[@class='target']", NS)]


@pytest.mark.parametrize(
    ("value", "targets", "unit"),
    [
        (0.694, [(0.85, "荣昌 目标")], "%"),
        (0.48, [(0.40, "绍兴 2024 年目标"), (0.65, "绍兴 2027 年目标")], "%"),
        (3.01, [(4.8, "荣昌 2025 年目标"), (5.5, "绍兴 2027 年目标")], "个"),
        (6.14, [(4.8, "荣昌"), (5.5, "绍兴")], "个"),
        (1.2, [(0.7, "超过 100% 的使用率")], "%"),
    ],
)
def test_gauge_bar_is_to_scale_with_its_target_markers(value, targets, unit):
    root = parse(charts.indicator_gauge(figure(value, targets, unit), "直线距离"))
    x0 = float(root.find("s:rect[@class='track']", NS).get("x"))
    track = float(root.find("s:rect[@class='track']", NS).get("width"))
    width = bar_width(root)
    xs = target_xs(root)
    assert len(xs) == len(targets)
    for x, (target, _) in zip(xs, targets, strict=True):
        assert width / (x - x0) == pytest.approx(value / target, rel=1e-4)
    # Everything fits on the track, which starts at zero.
    assert 0 < width <= track + 1e-6
    assert all(x0 < x <= x0 + track + 1e-6 for x in xs)


def test_shares_are_drawn_on_a_scale_to_100_percent():
    root = parse(charts.indicator_gauge(figure(0.25, [(0.5, "s")]), "直线距离"))
    track = float(root.find("s:rect[@class='track']", NS).get("width"))
    assert bar_width(root) == pytest.approx(track / 4)


def test_gauge_names_value_targets_sources_and_mode_and_escapes_them():
    svg = charts.indicator_gauge(figure(0.3, [(0.4, NASTY)], label=NASTY + "指标"), "步行路网")
    assert "<script>" not in str(svg)
    root = parse(svg)
    title = root.find("s:title", NS).text
    assert title.startswith(NASTY + "指标（步行路网）：30.0%")
    assert f"目标1 40.0%（{NASTY}）" in title
    assert root.get("aria-label") == title
    assert root.find(".//s:line/s:title", NS).text == f"目标1：40.0%（{NASTY}）"


def test_gauge_without_a_value_has_no_bar_and_says_so():
    root = parse(charts.indicator_gauge(figure(None, [(0.6, "绍兴")]), "直线距离"))
    assert root.find("s:rect[@class='bar']", NS) is None
    assert "无数据" in root.find("s:title", NS).text
    assert len(target_xs(root)) == 1


def test_met_targets_turn_the_bar_green():
    met = parse(charts.indicator_gauge(figure(0.9, [(0.8, "s")], meets=True), "直线距离"))
    unmet = parse(charts.indicator_gauge(figure(0.5, [(0.8, "s")], meets=False), "直线距离"))
    assert met.find("s:rect[@class='bar']", NS).get("fill") == charts.COLOURS["met"]
    assert unmet.find("s:rect[@class='bar']", NS).get("fill") == charts.COLOURS["bar"]


def test_close_target_labels_go_on_two_rows():
    root = parse(charts.indicator_gauge(figure(3.0, [(4.8, "a"), (5.5, "b")], "个"), "直线距离"))
    ys = [float(t.get("y")) for t in root.findall("s:text", NS)]
    assert len(ys) == 2 and ys[0] != ys[1]
    far = parse(charts.indicator_gauge(figure(0.5, [(0.1, "a"), (0.9, "b")]), "直线距离"))
    ys = [float(t.get("y")) for t in far.findall("s:text", NS)]
    assert ys[0] == ys[1]


def test_street_chart_has_a_row_per_street_to_scale_with_the_target():
    streets = [
        {"name": "云岭镇", "places_per_1000": 2.5},
        {"name": "星湖街道", "places_per_1000": 6.0},
        {"name": NASTY, "places_per_1000": None},
    ]
    fig = figure(3.0, [(4.8, "荣昌 2025 年目标")], "个", label="每千人口托位数")
    svg = charts.street_indicator_chart(streets, "places_per_1000", fig, "直线距离")
    assert "<script>" not in str(svg)
    root = parse(svg)
    rows = root.findall("s:g[@class='row']", NS)
    assert [r.find("s:title", NS).text for r in rows] == [
        "云岭镇：2.50 个",
        "星湖街道：6.00 个",
        f"{NASTY}：无数据",
    ]
    x0 = float(rows[0].find("s:rect[@class='track']", NS).get("x"))
    [target_x] = target_xs(root)
    for row, value in zip(rows[:2], (2.5, 6.0), strict=True):
        width = float(row.find("s:rect[@class='bar']", NS).get("width"))
        assert width / (target_x - x0) == pytest.approx(value / 4.8, rel=1e-4)
    assert rows[2].find("s:rect[@class='bar']", NS) is None
    assert "每千人口托位数（各镇街，直线距离）" == root.find("s:title", NS).text
    # Long names are shortened on the chart; the row's title keeps them whole.
    assert rows[2].find("s:text", NS).text.endswith("…")


def test_coverage_chart_stacks_5_15_and_uncovered_shares_to_100_percent():
    streets = [
        {"name": "甲街道", "coverage_5min": 0.3, "coverage_15min": 0.8},
        {"name": "乙镇", "coverage_5min": 1.0, "coverage_15min": 1.0},
        {"name": "丙镇", "coverage_5min": None, "coverage_15min": None},
    ]
    root = parse(charts.coverage_chart(streets, "步行路网", [{"value": 0.65, "source": "绍兴"}]))
    rows = root.findall("s:g[@class='row']", NS)
    assert len(rows) == 3
    x0 = charts.LABEL_W
    span = charts.CHART_W - charts.LABEL_W - charts.VALUE_W
    segments = rows[0].findall("s:rect", NS)
    assert [s.get("class") for s in segments] == ["seg seg-5min", "seg seg-15min", "seg seg-none"]
    widths = [float(s.get("width")) for s in segments]
    assert widths == pytest.approx([0.3 * span, 0.5 * span, 0.2 * span], rel=1e-4)
    assert float(segments[1].get("x")) == pytest.approx(x0 + widths[0], abs=1e-3)
    assert sum(float(s.get("width")) for s in rows[1].findall("s:rect", NS)) == pytest.approx(span)
    assert rows[2].find("s:rect", NS).get("class") == "seg seg-nodata"
    [target_x] = target_xs(root)
    assert target_x == pytest.approx(x0 + 0.65 * span)
    assert "步行路网" in root.get("aria-label")


@pytest.mark.parametrize(
    ("value", "unit", "shown"),
    [
        (0.6944, "%", "69.4%"),
        (1.0, "%", "100.0%"),
        (0.0, "%", "0.0%"),
        (3.0075, "个", "3.01 个"),
        (None, "%", "无数据"),
        (float("nan"), "个", "无数据"),
    ],
)
def test_format_value(value, unit, shown):
    assert charts.format_value(value, unit) == shown


@pytest.mark.parametrize(
    ("value", "target", "unit", "gap"),
    [
        (0.48, 0.65, "%", "差 17.0 个百分点"),
        (0.48, 0.40, "%", "已达到"),
        (0.65, 0.65, "%", "已达到"),
        (3.01, 4.8, "个", "差 1.79 个"),
        (None, 4.8, "个", "无数据"),
    ],
)
def test_format_gap(value, target, unit, gap):
    assert charts.format_gap(value, target, unit) == gap


def test_many_close_targets_each_get_a_row_and_keep_their_number_in_the_list():
    """荣昌, 大足 and 绍兴 give 4.5, 4.5, 5.5 and 4.8 places per 1,000: four labels within a few
    pixels take four rows; a goal with no number (text only) is listed but not drawn, and the
    drawn ones keep the numbers the page's list gives them."""
    four = figure(3.0, [(4.5, "大足"), (4.5, "绍兴"), (5.5, "绍兴"), (4.8, "荣昌")], "个")
    root = parse(charts.indicator_gauge(four, "直线距离"))
    ys = [float(t.get("y")) for t in root.findall("s:text", NS)]
    assert len(set(ys)) == 4
    assert float(root.get("viewBox").split()[3]) >= charts.GAUGE_H + 36  # room for the rows
    mixed = figure(0.5, [(0.63, "绍兴 2024")], "%")
    mixed["targets"].insert(0, {"value": None, "text": "≥全市平均水平", "source": "大足"})
    root = parse(charts.indicator_gauge(mixed, "直线距离"))
    assert [t.text for t in root.findall("s:text", NS)] == ["目标2 63.0%"]
    assert len(root.findall("s:line[@class='target']", NS)) == 1
