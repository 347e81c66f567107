"""Slopes from a digital elevation model (DEM) for the walking network (issue 15, optional).

OpenStreetMap has no heights, so without a DEM the network sees hills only where they are
mapped as steps. Chongqing's streets climb: with a GeoTIFF of terrain heights (SRTM, ASTER
or a surveyed model, in any projection) each street-level edge costs more uphill than down,
by Tobler's hiking function:

    speed(s) = 6 · exp(−3.5 · |s + 0.05|) km/h, s = rise / run

An edge then costs its length × speed(0) / speed(s) flat-walking metres, one factor for each
direction. Three rules keep this honest:

- **Never shorter than the path.** Tobler is fastest on a gentle descent (s = −5 %), but the
  service circles are distances along paths (GB 50180-2018): a descent costs at least its
  length, so the network never promises less than the walk.
- **Terrain only where one walks on it.** A DEM gives the ground's height, not a bridge deck's
  or a tunnel's: only street-level edges (`ground`) take slopes; so do not steps (they keep
  STEPS_FACTOR), escalators, elevators.
- **A DEM is coarse.** Heights are interpolated bilinearly at the nodes, and a slope steeper
  than MAX_SLOPE (a few metres of error over a short piece) is taken as MAX_SLOPE. Nodes
  outside the model or on its nodata cells leave their edges flat.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from errors import DomainError

MAX_SLOPE = 0.5  # 1 in 2: steeper than any street; steeper readings are the model's error
TOBLER_FLAT = 6.0 * math.exp(-3.5 * 0.05)  # km/h on the level: 5.04


def refuse(message: str) -> DomainError:
    return DomainError("invalid_dem", message, status=422, field="dem")


def node_heights(path: str | Path, lats, lons) -> np.ndarray:
    """Metres above the model's datum at each point (bilinear), NaN outside it or on nodata.

    Raises DomainError (in Chinese) for a file that is not a readable raster with a
    coordinate system.
    """
    # rasterio loads GDAL (~130 ms): only a load with an elevation model pays for it.
    import rasterio
    from rasterio.errors import RasterioError
    from rasterio.windows import Window

    lats = np.asarray(lats, dtype=float)
    lons = np.asarray(lons, dtype=float)
    heights = np.full(lats.size, np.nan)
    try:
        with rasterio.open(path) as dem:
            if dem.crs is None:
                raise refuse(f"高程文件 {Path(path).name} 没有坐标系，无法与路网对齐。")
            try:
                to_dem = Transformer.from_crs(
                    "EPSG:4326", CRS.from_wkt(dem.crs.to_wkt()), always_xy=True
                )
            except CRSError as exc:
                raise refuse(f"高程文件 {Path(path).name} 的坐标系无法识别。") from exc
            x, y = (np.asarray(c) for c in to_dem.transform(lons, lats))
            # Pixel coordinates (the inverse of the model's affine), pixel centres at integers.
            inv = ~dem.transform
            col = inv.a * x + inv.b * y + inv.c - 0.5
            row = inv.d * x + inv.e * y + inv.f - 0.5
            inside = (col >= 0) & (row >= 0) & (col <= dem.width - 1) & (row <= dem.height - 1)
            if not inside.any():
                return heights
            # Read only the window the nodes lie in (a province's model can be large).
            c0, r0 = int(np.floor(col[inside].min())), int(np.floor(row[inside].min()))
            c1 = min(int(np.floor(col[inside].max())) + 2, dem.width)
            r1 = min(int(np.floor(row[inside].max())) + 2, dem.height)
            grid = dem.read(1, window=Window(c0, r0, c1 - c0, r1 - r0), masked=True)
            values = np.ma.filled(grid.astype(float), np.nan)
    except RasterioError as exc:
        raise refuse(
            f"无法读取高程文件 {Path(path).name}：请提供 GeoTIFF 格式的数字高程模型。"
        ) from exc
    heights[inside] = _bilinear(values, col[inside] - c0, row[inside] - r0)
    return heights


def _bilinear(values: np.ndarray, col: np.ndarray, row: np.ndarray) -> np.ndarray:
    """Bilinear interpolation in a grid at fractional (col, row); NaN if a corner is NaN."""
    c = np.clip(np.floor(col).astype(int), 0, max(values.shape[1] - 2, 0))
    r = np.clip(np.floor(row).astype(int), 0, max(values.shape[0] - 2, 0))
    c2 = np.minimum(c + 1, values.shape[1] - 1)
    r2 = np.minimum(r + 1, values.shape[0] - 1)
    fc, fr = col - c, row - r
    top = values[r, c] * (1 - fc) + values[r, c2] * fc
    bottom = values[r2, c] * (1 - fc) + values[r2, c2] * fc
    return top * (1 - fr) + bottom * fr


def tobler_factor(slope) -> np.ndarray:
    """Flat-walking metres per metre of path at the given rise/run, at least 1."""
    s = np.clip(np.asarray(slope, dtype=float), -MAX_SLOPE, MAX_SLOPE)
    return np.maximum(np.exp(3.5 * (np.abs(s + 0.05) - 0.05)), 1.0)


def slope_costs(length, cost, h_u, h_v, applies) -> tuple[np.ndarray, np.ndarray]:
    """(cost u → v, cost v → u) with the slope between the two ends' heights, for the edges
    where `applies` and both heights are known; elsewhere both stay `cost`."""
    length = np.asarray(length, dtype=float)
    cost = np.asarray(cost, dtype=float)
    rise = np.asarray(h_v, dtype=float) - np.asarray(h_u, dtype=float)
    use = np.asarray(applies, dtype=bool) & np.isfinite(rise) & (length > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(use, rise / length, 0.0)
    forward = np.where(use, cost * tobler_factor(slope), cost)
    back = np.where(use, cost * tobler_factor(-slope), cost)
    return forward, back
