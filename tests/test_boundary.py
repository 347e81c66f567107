"""The district boundary: community and nursery imports refuse points outside it."""

import json

import pytest
from sqlalchemy import func, select

from extensions import db

# A 2 km × 2 km square around (29.6, 106.52).
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[106.51, 29.59], [106.53, 29.59], [106.53, 29.61], [106.51, 29.61],
                     [106.51, 29.59]]],
}  # fmt: skip
HEADER = "name,lat,lon,population,children_under_3\n"


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "wrap",
    [
        lambda g: g,
        lambda g: {"type": "Feature", "properties": {}, "geometry": g},
        lambda g: {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": g}]},
    ],
)
def test_a_community_outside_the_boundary_aborts_the_import(app, runner, tmp_path, wrap):
    from maps.models import Community

    app.config["DISTRICT_BOUNDARY"] = str(_write(tmp_path, "b.geojson", json.dumps(wrap(SQUARE))))
    rows = HEADER + "里面小区,29.6,106.52,1000,30\n外面小区,29.7,106.52,1000,30\n"
    result = runner.invoke(args=["communities", "import", str(_write(tmp_path, "c.csv", rows))])
    assert result.exit_code != 0
    assert "c.csv:3: 坐标不在本区范围内" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Community)) == 0

    inside = HEADER + "里面小区,29.6,106.52,1000,30\n"
    ok = runner.invoke(args=["communities", "import", str(_write(tmp_path, "d.csv", inside))])
    assert ok.exit_code == 0, ok.output


def test_without_a_boundary_any_point_in_china_is_accepted(app, runner, tmp_path):
    rows = HEADER + "远方小区,39.9,116.4,1000,30\n"
    result = runner.invoke(args=["communities", "import", str(_write(tmp_path, "c.csv", rows))])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "无法读取"),
        (json.dumps({"type": "Point", "coordinates": [106.5, 29.6]}), "只含多边形"),
        (json.dumps({"type": "Polygon", "coordinates": "x"}), "不是有效的 GeoJSON"),
    ],
)
def test_a_broken_boundary_file_is_reported_not_a_crash(app, runner, tmp_path, content, message):
    app.config["DISTRICT_BOUNDARY"] = str(_write(tmp_path, "b.geojson", content))
    rows = HEADER + "里面小区,29.6,106.52,1000,30\n"
    result = runner.invoke(args=["communities", "import", str(_write(tmp_path, "c.csv", rows))])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output
