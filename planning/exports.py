"""Exports of a planning report (queries.report) as CSV and GeoJSON.

CSV files are UTF-8 with a byte-order mark, so Excel opens the Chinese text correctly; every row
names the distance mode. Text cells that a spreadsheet would take for a formula (=, +, -, @) are
prefixed with an apostrophe.

GeoJSON: streets have no geometry yet, so the indicators file is a FeatureCollection of the
communities (points, WGS-84 [lon, lat] as RFC 7946 requires) with their street and coverage, and
carries the district's indicators and the per-street rows as foreign members beside `features`:

    {"type": "FeatureCollection", "mode": "straight", "mode_label": "直线距离",
     "district": "…", "street": null | {"code", "name"}, "radius_m": {"5": 300, "15": 1000},
     "indicators": {key: {label, unit, value, numerator, denominator, targets, meets_target}},
     "streets": [{code, name, <indicator key>: value, …}],
     "features": [{"type": "Feature", "id": 12, "geometry": {"type": "Point", …},
                   "properties": {name, street, population, children_under_3, distance_m,
                                  walk_minutes, coverage, snap_m, mode}}]}

`snap_m` is, in network mode, the metres from the community to the walkable way it enters the
network by (null off the network, and in straight-line mode).

The gap file is the same shape with only the communities outside the 5-minute circle, ranked by
children under three.
"""

from __future__ import annotations

import csv
import io
import math

from . import indicators
from .charts import format_value

BOM = "\ufeff"
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

INDICATOR_COLUMNS = [
    "mode",
    "mode_label",
    "scope",
    "street_code",
    "street_name",
    "indicator",
    "label",
    "unit",
    "value",
    "value_shown",
    "numerator",
    "denominator",
    "target",
    "target_source",
    "meets_target",
]
GAP_COLUMNS = [
    "mode",
    "mode_label",
    "rank",
    "community_id",
    "community",
    "street",
    "children_under_3",
    "population",
    "distance_m",
    "walk_minutes",
    "coverage",
]


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(round(value, 6))
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _csv(header: list[str], rows: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([_cell(v) for v in row] for row in rows)
    return BOM + out.getvalue()


def _targets_rows(values: dict, figure: dict) -> list[tuple]:
    """(target, source, meets) for each target of a figure; one empty row without targets."""
    targets = figure.get("targets") or []
    if not targets:
        return [(None, "", None)]
    value = values["value"]
    return [
        (t["text"] if t["value"] is None else t["value"], t["source"], indicators.meets(value, t))
        for t in targets
    ]


def indicators_csv(report: dict) -> str:
    """One row per scope (the district or street, then each street) × indicator × target."""
    mode, mode_label = report["mode"], report["mode_label"]
    rows = []
    scope_street = report.get("street") or {}
    scope = "镇街" if scope_street else "全区"
    for key, figure in report["indicators"].items():
        for target, source, meets in _targets_rows(figure, figure):
            rows.append(
                [
                    mode,
                    mode_label,
                    scope,
                    scope_street.get("code", ""),
                    scope_street.get("name", report.get("district", "")),
                    key,
                    figure["label"],
                    figure["unit"],
                    figure["value"],
                    format_value(figure["value"], figure["unit"]),
                    figure["numerator"],
                    figure["denominator"],
                    target,
                    source,
                    meets,
                ]
            )
    for street in report.get("streets", []):
        for key, figure in report["indicators"].items():
            value = street.get(key)
            for target, source, meets in _targets_rows({"value": value}, figure):
                rows.append(
                    [
                        mode,
                        mode_label,
                        "镇街",
                        street["code"],
                        street["name"],
                        key,
                        figure["label"],
                        figure["unit"],
                        value,
                        format_value(value, figure["unit"]),
                        None,
                        None,
                        target,
                        source,
                        meets,
                    ]
                )
    return _csv(INDICATOR_COLUMNS, rows)


def gaps_csv(report: dict) -> str:
    """The gap list: communities outside the 5-minute circle, most children under three first."""
    rows = [
        [
            report["mode"],
            report["mode_label"],
            rank,
            c["id"],
            c["name"],
            c["street"],
            c["children_under_3"],
            c["population"],
            c["distance_m"],
            c["walk_minutes"],
            c["coverage"],
        ]
        for rank, c in enumerate(report["gaps"], start=1)
    ]
    return _csv(GAP_COLUMNS, rows)


def _feature(c: dict, mode: str, rank: int | None = None) -> dict:
    properties = {
        "name": c["name"],
        "street": c["street"],
        "population": c["population"],
        "children_under_3": c["children_under_3"],
        "distance_m": c["distance_m"],
        "walk_minutes": c["walk_minutes"],
        "coverage": c["coverage"],
        "snap_m": c["snap_m"],
        "mode": mode,
    }
    if rank is not None:
        properties = {"rank": rank, **properties}
    return {
        "type": "Feature",
        "id": c["id"],
        "geometry": {"type": "Point", "coordinates": [c["lon"], c["lat"]]},
        "properties": properties,
    }


def _collection(report: dict, features: list[dict], **members) -> dict:
    return {
        "type": "FeatureCollection",
        "mode": report["mode"],
        "mode_label": report["mode_label"],
        "district": report.get("district", ""),
        "street": report.get("street"),
        "radius_m": report["radius_m"],
        **members,
        "features": features,
    }


def indicators_geojson(report: dict) -> dict:
    """Communities with their coverage, and the indicators as foreign members."""
    return _collection(
        report,
        [_feature(c, report["mode"]) for c in report["communities"]],
        indicators=report["indicators"],
        streets=report.get("streets", []),
    )


def gaps_geojson(report: dict) -> dict:
    """The gap list as ranked points."""
    return _collection(
        report,
        [_feature(c, report["mode"], rank) for rank, c in enumerate(report["gaps"], start=1)],
    )
