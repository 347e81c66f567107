"""Slopes from an elevation model (planning/elevation.py): Tobler's function, heights read from
GeoTIFFs written here with rasterio (in lon/lat and in UTM), and a network whose streets climb:
uphill costs more than down, steps, bridges and tunnels keep their own costs, and the load
stores both directions."""

import math

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from test_network import osm_xml

from errors import DomainError
from planning import elevation, network
from planning import services as planning_services
from planning.network import STEPS_FACTOR, from_osm_bytes

LAT0, LON0 = 29.55, 106.55  # Chongqing


def from_origin(west: float, north: float, x_step: float, y_step: float) -> Affine:
    """The affine of a north-up grid (rasterio's from_origin, which warns with affine 3)."""
    return Affine(x_step, 0.0, west, 0.0, -y_step, north)


def _geotiff(path, heights, transform, crs="EPSG:4326", nodata=None):
    with rasterio.open(
        path, "w", driver="GTiff", width=heights.shape[1], height=heights.shape[0], count=1,
        dtype="float32", crs=crs, transform=transform, nodata=nodata,
    ) as out:  # fmt: skip
        out.write(heights.astype("float32"), 1)
    return path


def _plane_lonlat(path, per_degree_north=10_000.0, base=200.0, nodata=None):
    """A DEM rising `per_degree_north` metres per degree of latitude northwards (≈ 9 cm per
    metre), 0.0005° pixels over 0.04° × 0.04° around LAT0, LON0."""
    size, step = 80, 0.0005
    west, north = LON0 - 0.02, LAT0 + 0.02
    lat_centres = north - (np.arange(size) + 0.5) * step
    heights = np.repeat((base + (lat_centres - LAT0) * per_degree_north)[:, None], size, axis=1)
    return _geotiff(path, heights, from_origin(west, north, step, step), nodata=nodata)


def test_tobler_factor_costs_climbs_and_steep_descents_never_less_than_the_path():
    assert elevation.tobler_factor(0.0) == pytest.approx(1.0)
    assert elevation.tobler_factor(0.10) == pytest.approx(math.exp(3.5 * 0.10))  # 1.42
    assert elevation.tobler_factor(-0.05) == 1.0  # Tobler's fastest: still the path's length
    assert elevation.tobler_factor(-0.02) == 1.0
    assert elevation.tobler_factor(-0.20) == pytest.approx(math.exp(3.5 * 0.10))
    # A reading steeper than MAX_SLOPE is the model's error: taken as MAX_SLOPE.
    assert elevation.tobler_factor(3.0) == elevation.tobler_factor(elevation.MAX_SLOPE)
    factors = elevation.tobler_factor(np.linspace(0, 0.5, 20))
    assert (np.diff(factors) > 0).all()  # steeper is slower


def test_heights_are_interpolated_in_a_lonlat_model(tmp_path):
    dem = _plane_lonlat(tmp_path / "dem.tif")
    lats = LAT0 + np.array([0.0, 0.0031, -0.0107, 0.5])  # the last one is outside
    lons = LON0 + np.array([0.0, 0.0013, 0.0171, 0.0])
    h = elevation.node_heights(dem, lats, lons)
    # Bilinear interpolation is exact on a plane (away from the outermost half pixel).
    assert h[:3] == pytest.approx(200.0 + (lats[:3] - LAT0) * 10_000.0, abs=1e-3)
    assert math.isnan(h[3])


def test_heights_are_read_from_a_projected_model_and_nodata_is_unknown(tmp_path):
    """A UTM (zone 48N) model rising 1 m per 20 m eastwards, with a hole of nodata."""
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    x0, y0 = to_utm.transform(LON0, LAT0)
    size, step = 200, 10.0
    west, north = x0 - 1000.0, y0 + 1000.0
    x_centres = west + (np.arange(size) + 0.5) * step
    heights = np.repeat(((x_centres - x0) / 20.0 + 300.0)[None, :], size, axis=0)
    heights[90:110, 140:160] = -9999.0  # a hole ~500 m east of the centre
    dem = _geotiff(tmp_path / "utm.tif", heights, from_origin(west, north, step, step),
                   crs="EPSG:32648", nodata=-9999.0)  # fmt: skip
    lons = LON0 + np.array([0.0, 0.004, -0.006, 0.0052])
    lats = LAT0 + np.array([0.0, 0.002, -0.003, 0.0])
    x, _ = to_utm.transform(lons, lats)
    h = elevation.node_heights(dem, lats, lons)
    assert h[:3] == pytest.approx((np.asarray(x[:3]) - x0) / 20.0 + 300.0, abs=1e-3)
    assert math.isnan(h[3])  # in the hole


def test_unreadable_models_are_refused_in_chinese(tmp_path):
    text = tmp_path / "dem.tif"
    text.write_text("not a raster")
    with pytest.raises(DomainError, match="无法读取高程文件") as caught:
        elevation.node_heights(text, [LAT0], [LON0])
    assert caught.value.status == 422 and caught.value.code == "invalid_dem"
    no_crs = _geotiff(tmp_path / "nocrs.tif", np.zeros((4, 4)), from_origin(0, 4, 1, 1), crs=None)
    with pytest.raises(DomainError, match="没有坐标系"):
        elevation.node_heights(no_crs, [LAT0], [LON0])


def test_a_coordinate_system_pyproj_cannot_read_is_refused(tmp_path, monkeypatch):
    from pyproj.exceptions import CRSError

    dem = _plane_lonlat(tmp_path / "dem.tif")

    def unreadable(_wkt):
        raise CRSError("unknown")

    monkeypatch.setattr(elevation.CRS, "from_wkt", unreadable)
    with pytest.raises(DomainError, match="坐标系无法识别"):
        elevation.node_heights(dem, [LAT0], [LON0])


# A street climbing north from S to N (≈ 333 m, 9 % up), steps beside it from S2 to N2, a
# bridge from N westwards over the valley to W, and a street from N eastwards on the level.
HILL = {
    "S": (1, LAT0 - 0.0015, LON0),
    "N": (2, LAT0 + 0.0015, LON0),
    "S2": (3, LAT0 - 0.0015, LON0 + 0.001),
    "N2": (4, LAT0 + 0.0015, LON0 + 0.001),
    "W": (5, LAT0 - 0.0015, LON0 - 0.002),
}
HILL_WAYS = [
    (1, ["1", "2"], {"highway": "residential"}),
    (2, ["3", "4"], {"highway": "steps"}),
    (3, ["1", "3"], {"highway": "footway"}),
    (4, ["2", "4"], {"highway": "footway"}),
    (5, ["2", "5"], {"highway": "footway", "bridge": "yes", "layer": "1"}),
]


@pytest.fixture
def hill_file():
    return osm_xml(nodes=HILL, ways=HILL_WAYS)


def _edge(parsed, a: str, b: str) -> int:
    ids = parsed.osm_ids.tolist()
    pa, pb = ids.index(HILL[a][0]), ids.index(HILL[b][0])
    for e, (u, v) in enumerate(zip(parsed.u.tolist(), parsed.v.tolist(), strict=True)):
        if {u, v} == {pa, pb}:
            return e if u == pa else ~e  # ~e: stored the other way round
    raise AssertionError(f"no edge {a}–{b}")


def _length(parsed, a: str, b: str) -> float:
    e = _edge(parsed, a, b)
    return float(parsed.length_m[e if e >= 0 else ~e])


def _costs(parsed, a: str, b: str) -> tuple[float, float]:
    """(metres walking a → b, metres walking b → a)."""
    e = _edge(parsed, a, b)
    if e >= 0:
        return float(parsed.cost_m[e]), float(parsed.cost_back_m[e])
    return float(parsed.cost_back_m[~e]), float(parsed.cost_m[~e])


def test_a_street_costs_more_uphill_and_only_street_level_ways_take_slopes(tmp_path, hill_file):
    dem = _plane_lonlat(tmp_path / "dem.tif", per_degree_north=30_000.0)  # 0.27 m per m north
    flat = from_osm_bytes(hill_file, "hill.osm")
    hilly = from_osm_bytes(hill_file, "hill.osm", dem=dem)
    assert hilly.dem == "dem.tif" and hilly.heights == 5 and flat.dem is None
    up, down = _costs(hilly, "S", "N")
    length = _length(flat, "S", "N")
    slope = 0.003 * 30_000.0 / length  # the rise over the run
    assert up == pytest.approx(length * math.exp(3.5 * slope), rel=1e-3)
    assert down == pytest.approx(length * math.exp(3.5 * (slope - 0.05 - 0.05)), rel=1e-3)
    assert up > down > length
    # Steps keep their own cost; the bridge is level whatever the valley below.
    steps = STEPS_FACTOR * _length(flat, "S2", "N2")
    assert _costs(hilly, "S2", "N2") == pytest.approx((steps, steps), rel=1e-9)
    assert _costs(hilly, "N", "W") == pytest.approx((_length(flat, "N", "W"),) * 2, rel=1e-9)
    # On the level east–west footways nothing changes.
    assert _costs(hilly, "S", "S2") == pytest.approx(_costs(flat, "S", "S2"))
    # Walking: up the street, or along the steps (twice their length) if that is cheaper.
    graph = hilly.graph()
    lat_s, lon_s = HILL["S"][1:]
    lat_n, lon_n = HILL["N"][1:]
    going_up = graph.distances_from(lat_s, lon_s, [lat_n], [lon_n])[0]
    going_down = graph.distances_from(lat_n, lon_n, [lat_s], [lon_s])[0]
    steps_way = (
        _costs(hilly, "S", "S2")[0] + _costs(hilly, "S2", "N2")[0] + _costs(hilly, "N2", "N")[0]
    )
    assert going_up == pytest.approx(min(up, steps_way), rel=1e-9)
    assert going_down == pytest.approx(min(down, steps_way), rel=1e-9)
    assert going_up > going_down
    # The multi-source search walks to the site: down to S from N is the cheap way.
    assert graph.nearest_site_m([lat_s], [lon_s], [lat_n], [lon_n])[0] == pytest.approx(going_down)


def test_nodes_outside_the_model_leave_their_edges_flat(tmp_path, hill_file):
    # A model covering only the southern half: the street S–N has one end without a height.
    size, step = 40, 0.0005
    heights = np.full((size, size), 100.0)
    dem = _geotiff(tmp_path / "south.tif", heights, from_origin(LON0 - 0.01, LAT0, step, step))
    hilly = from_osm_bytes(hill_file, "hill.osm", dem=dem)
    flat = from_osm_bytes(hill_file, "hill.osm")
    assert hilly.heights == 3  # S, S2 and W
    assert _costs(hilly, "S", "N") == pytest.approx(_costs(flat, "S", "N"))


def test_a_model_of_another_place_is_refused_and_nothing_is_replaced(ctx, tmp_path, hill_file):
    planning_services.load_network(hill_file, "hill.osm")
    elsewhere = _geotiff(tmp_path / "beijing.tif", np.full((10, 10), 50.0),
                         from_origin(116.3, 39.95, 0.001, 0.001))  # fmt: skip
    with pytest.raises(DomainError, match="不覆盖路网范围") as caught:
        planning_services.load_network(hill_file, "hill.osm", dem=elsewhere)
    assert caught.value.code == "invalid_dem" and caught.value.status == 422
    assert network.network_info()["version"] == 1 and network.network_info()["dem"] is None


def test_loading_with_a_model_stores_both_directions(app, ctx, tmp_path, hill_file):
    dem = _plane_lonlat(tmp_path / "dem.tif", per_degree_north=30_000.0)
    summary = planning_services.load_network(hill_file, "hill.osm", dem=dem)
    assert summary["dem"] == "dem.tif" and summary["heights"] == 5
    assert "按高程模型 dem.tif 计入坡度（5 个节点有高程）" in network.describe(summary)
    assert network.network_info()["dem"] == "dem.tif"
    network.reset()
    graph = network.current_graph()
    parsed = from_osm_bytes(hill_file, "hill.osm", dem=dem)
    assert np.allclose(np.sort(graph.cost), np.sort(parsed.graph().cost))
    assert np.allclose(np.sort(graph.back), np.sort(parsed.graph().back))
    assert (graph.cost != graph.back).any()
    # WALK_DEM_FILE is the default; a missing file is refused before anything is replaced.
    app.config["WALK_DEM_FILE"] = str(tmp_path / "missing.tif")
    with pytest.raises(DomainError, match="找不到高程文件"):
        planning_services.load_network(hill_file, "hill.osm")
    assert network.network_info()["version"] == 1
    app.config["WALK_DEM_FILE"] = str(dem)
    assert planning_services.load_network(hill_file, "hill.osm")["dem"] == "dem.tif"


def test_the_command_takes_a_model(app, runner, tmp_path, hill_file):
    osm = tmp_path / "hill.osm"
    osm.write_bytes(hill_file)
    dem = _plane_lonlat(tmp_path / "dem.tif")
    result = runner.invoke(args=["maps", "load-network", str(osm), "--dem", str(dem)])
    assert result.exit_code == 0, result.output
    assert "按高程模型 dem.tif 计入坡度" in result.output
    bad = tmp_path / "bad.tif"
    bad.write_text("no")
    result = runner.invoke(args=["maps", "load-network", str(osm), "--dem", str(bad)])
    assert result.exit_code != 0 and "无法读取高程文件" in result.output
