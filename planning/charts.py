"""Charts for the planning pages as inline SVG, drawn on the server.

They render without network access, print with the page and need no script. Every function is
pure: figures in, SVG markup (a `Markup` string) out, every label escaped. Bars are drawn to a
scale that starts at zero, so a bar's length is proportional to its value and a target marker
sits where a bar of the target's value would end: bar width / marker position = value / target.

Also here: how the pages, charts and exports write a figure (`format_value`, `format_gap`), so
the same number reads the same everywhere.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

SVG_NS = "http://www.w3.org/2000/svg"
COLOURS = {
    "bar": "#0b5394",
    "met": "#1b7f3b",
    "track": "#e7eef7",
    "target": "#b00020",
    "text": "#1d2733",
    "muted": "#5b6673",
    "5min": "#1b7f3b",
    "15min": "#e0a800",
    "none": "#c0392b",
    "nodata": "#d5dce4",
}
COVERAGE_LABELS = {"5min": "5分钟内", "15min": "15分钟内", "none": "未覆盖"}


# --- numbers as people read them ------------------------------------------------------------


def format_value(value: float | None, unit: str) -> str:
    """A figure as shown: shares as percentages with one decimal, counts with two."""
    if value is None or not math.isfinite(value):
        return "无数据"
    if unit == "%":
        return f"{value * 100:.1f}%"
    return f"{value:.2f} {unit}".rstrip()


def format_gap(value: float | None, target: float, unit: str) -> str:
    """How far a figure is from a target, in words."""
    if value is None or not math.isfinite(value):
        return "无数据"
    if value >= target:
        return "已达到"
    gap = target - value
    if unit == "%":
        return f"差 {gap * 100:.1f} 个百分点"
    return f"差 {gap:.2f} {unit}".rstrip()


def _num(x: float) -> str:
    """A coordinate for SVG: short, and never in exponent notation."""
    return f"{x:.2f}".rstrip("0").rstrip(".") or "0"


def _scale_max(unit: str, values: Sequence[float | None]) -> float:
    """The value at the right end of the axis: 100 % for shares (more if a value exceeds it),
    else a round number a little above the largest value."""
    finite = [v for v in values if v is not None and math.isfinite(v) and v > 0]
    top = max(finite, default=0.0)
    if unit == "%":
        return max(1.0, top)
    if top <= 0:
        return 1.0
    step = 10 ** math.floor(math.log10(top * 1.1))
    return math.ceil(top * 1.1 / step) * step


def _label_rows(xs: Sequence[float], min_gap: float) -> list[int]:
    """A row (0, 1, 2…) for each label centred at xs, so that neighbours closer than min_gap
    go on different rows instead of overprinting each other (4 targets at 4.5–5.5 take four)."""
    rows = [0] * len(xs)
    last: list[float] = []  # the rightmost label on each row so far
    for i in sorted(range(len(xs)), key=lambda i: xs[i]):
        row = next((r for r, x in enumerate(last) if xs[i] - x >= min_gap), len(last))
        if row == len(last):
            last.append(xs[i])
        rows[i], last[row] = row, xs[i]
    return rows


def _svg(width: float, height: float, label: str, body: list[str], css_class: str) -> Markup:
    label = escape(label)
    # every text in `body` and the label are escaped where they are written; numbers are floats
    return Markup(  # nosec B704
        f'<svg xmlns="{SVG_NS}" class="chart {css_class}" viewBox="0 0 {_num(width)} '
        f'{_num(height)}" width="100%" role="img" aria-label="{label}" '
        f'preserveAspectRatio="xMinYMin meet" font-family="sans-serif">'
        f"<title>{label}</title>{''.join(body)}</svg>"
    )


# --- one indicator against its targets ------------------------------------------------------

GAUGE_W, GAUGE_H, GAUGE_X0, GAUGE_BAR_Y, GAUGE_BAR_H = 320.0, 46.0, 4.0, 12.0, 14.0


def numeric_targets(figure: dict) -> list[dict]:
    """The targets with a number to draw (a text-only goal, e.g. 基本建成, is not drawn), each
    with `n`, its number in the page's list of targets."""
    return [
        {**t, "n": n}
        for n, t in enumerate(figure.get("targets") or [], start=1)
        if t.get("value") is not None
    ]


def indicator_gauge(figure: dict, mode_label: str) -> Markup:
    """A horizontal bar of the figure's value with a marker at each target.

    `figure` is one entry of report()["indicators"]: label, unit, value, targets, meets_target.
    """
    unit, value = figure["unit"], figure["value"]
    targets = numeric_targets(figure)
    span = GAUGE_W - 2 * GAUGE_X0
    top = _scale_max(unit, [value, *(t["value"] for t in targets)])
    shown = format_value(value, unit)
    described = [f"{figure['label']}（{mode_label}）：{shown}"]
    body = [
        f'<rect class="track" x="{_num(GAUGE_X0)}" y="{_num(GAUGE_BAR_Y)}" width="{_num(span)}" '
        f'height="{_num(GAUGE_BAR_H)}" rx="3" fill="{COLOURS["track"]}"/>'
    ]
    if value is not None and math.isfinite(value):
        width = max(0.0, value) / top * span
        colour = COLOURS["met"] if figure.get("meets_target") else COLOURS["bar"]
        body.append(
            f'<rect class="bar" x="{_num(GAUGE_X0)}" y="{_num(GAUGE_BAR_Y)}" '
            f'width="{width:.4f}" height="{_num(GAUGE_BAR_H)}" rx="3" fill="{colour}" '
            f'data-value="{float(value)!r}" data-scale="{float(top)!r}"/>'
        )
    xs = [GAUGE_X0 + t["value"] / top * span for t in targets]
    rows = _label_rows(xs, 70.0)
    height = GAUGE_H + 12 * max(rows, default=0)
    for i, (target, x, row) in enumerate(zip(targets, xs, rows, strict=True), start=1):
        i = target.get("n", i)
        text = format_value(target["value"], unit)
        tip = f"目标{i}：{text}（{target['source']}）"
        described.append(f"目标{i} {text}（{target['source']}）")
        anchor = "end" if x > GAUGE_W - 34 else ("start" if x < 34 else "middle")
        body.append(
            f'<line class="target" x1="{x:.4f}" x2="{x:.4f}" y1="{_num(GAUGE_BAR_Y - 6)}" '
            f'y2="{_num(GAUGE_BAR_Y + GAUGE_BAR_H + 4)}" stroke="{COLOURS["target"]}" '
            f'stroke-width="2" data-value="{float(target["value"])!r}"><title>'
            f"{escape(tip)}</title></line>"
            f'<text x="{x:.2f}" y="{_num(GAUGE_H - 2 + 12 * row)}" font-size="10" '
            f'text-anchor="{anchor}" '
            f'fill="{COLOURS["target"]}">{escape(f"目标{i} {text}")}</text>'
        )
    return _svg(GAUGE_W, height, "；".join(described), body, "gauge")


# --- several bars against targets (indicators by street, straight vs network) ---------------

ROW_H, LABEL_W, VALUE_W, CHART_W, HEAD_H = 22.0, 84.0, 56.0, 340.0, 22.0


def _short(text: str, chars: int = 7) -> str:
    return text if len(text) <= chars else text[: chars - 1] + "…"


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float | None]],
    unit: str,
    targets: Sequence[dict] = (),
    css_class: str = "bars",
) -> Markup:
    """Horizontal bars, one per (label, value) row, with a dashed line at each target."""
    span = CHART_W - LABEL_W - VALUE_W
    top = _scale_max(unit, [v for _, v in rows] + [t["value"] for t in targets])
    height = HEAD_H + ROW_H * len(rows) + 16
    body = [
        f'<text x="0" y="14" font-size="12" font-weight="bold" fill="{COLOURS["text"]}">'
        f"{escape(title)}</text>"
    ]
    for i, (label, value) in enumerate(rows):
        y = HEAD_H + i * ROW_H
        shown = format_value(value, unit)
        body.append(
            f'<g class="row"><title>{escape(f"{label}：{shown}")}</title>'
            f'<text x="{_num(LABEL_W - 4)}" y="{_num(y + 14)}" font-size="11" text-anchor="end" '
            f'fill="{COLOURS["text"]}">{escape(_short(label))}</text>'
            f'<rect class="track" x="{_num(LABEL_W)}" y="{_num(y + 4)}" width="{_num(span)}" '
            f'height="14" fill="{COLOURS["track"]}"/>'
        )
        if value is not None and math.isfinite(value):
            met = bool(targets) and value >= targets[-1]["value"]
            colour = COLOURS["met"] if met else COLOURS["bar"]
            body.append(
                f'<rect class="bar" x="{_num(LABEL_W)}" y="{_num(y + 4)}" '
                f'width="{max(0.0, value) / top * span:.4f}" height="14" '
                f'fill="{colour}" data-value="{float(value)!r}"/>'
            )
        body.append(
            f'<text x="{_num(CHART_W)}" y="{_num(y + 14)}" font-size="11" text-anchor="end" '
            f'fill="{COLOURS["muted"]}">{escape(shown)}</text></g>'
        )
    bottom = HEAD_H + ROW_H * len(rows)
    xs = [LABEL_W + t["value"] / top * span for t in targets]
    label_rows = _label_rows(xs, 36.0)
    height += 12 * max(label_rows, default=0)
    for i, (target, x, row) in enumerate(zip(targets, xs, label_rows, strict=True), start=1):
        i = target.get("n", i)
        text = format_value(target["value"], unit)
        tip = f"目标{i}：{text}（{target['source']}）"
        body.append(
            f'<line class="target" x1="{x:.4f}" x2="{x:.4f}" y1="{_num(HEAD_H)}" '
            f'y2="{_num(bottom + 2)}" stroke="{COLOURS["target"]}" stroke-width="1.5" '
            f'stroke-dasharray="4 3" data-value="{float(target["value"])!r}"><title>'
            f"{escape(tip)}</title></line>"
            f'<text x="{x:.2f}" y="{_num(bottom + 13 + 12 * row)}" font-size="10" '
            f'text-anchor="middle" fill="{COLOURS["target"]}">{escape(f"目标{i}")}</text>'
        )
    return _svg(CHART_W, height, title, body, css_class)


def street_indicator_chart(streets: Sequence[dict], key: str, figure: dict, mode_label: str):
    """One indicator for every street (report()["streets"]) against the district's targets."""
    title = f"{figure['label']}（各镇街，{mode_label}）"
    rows = [(s["name"], s.get(key)) for s in streets]
    return bar_chart(title, rows, figure["unit"], numeric_targets(figure), "by-street")


# --- coverage by street, stacked ------------------------------------------------------------


def coverage_chart(streets: Sequence[dict], mode_label: str, targets: Sequence[dict] = ()):
    """Per street, the population share within 5 minutes, within 15 minutes only, and beyond,
    as one stacked bar of 100 %; dashed lines at the 5-minute targets."""
    span = CHART_W - LABEL_W - VALUE_W
    title = f"各镇街服务圈覆盖（按人口，{mode_label}）"
    legend_h = 18.0
    height = HEAD_H + legend_h + ROW_H * len(streets) + 16
    body = [
        f'<text x="0" y="14" font-size="12" font-weight="bold" fill="{COLOURS["text"]}">'
        f"{escape(title)}</text>"
    ]
    x = 0.0
    for cls in ("5min", "15min", "none"):
        body.append(
            f'<rect x="{_num(x)}" y="{_num(HEAD_H)}" width="10" height="10" '
            f'fill="{COLOURS[cls]}"/><text x="{_num(x + 14)}" y="{_num(HEAD_H + 9)}" '
            f'font-size="10" fill="{COLOURS["text"]}">{escape(COVERAGE_LABELS[cls])}</text>'
        )
        x += 80
    top_y = HEAD_H + legend_h
    for i, street in enumerate(streets):
        y = top_y + i * ROW_H
        c5, c15 = street.get("coverage_5min"), street.get("coverage_15min")
        name = street["name"]
        if c5 is None or c15 is None:
            tip = f"{name}：无人口数据"
            parts, shown = [("nodata", 1.0)], "无数据"
        else:
            parts = [("5min", c5), ("15min", max(0.0, c15 - c5)), ("none", max(0.0, 1.0 - c15))]
            shown = format_value(c5, "%")
            tip = (
                f"{name}：5分钟内 {format_value(c5, '%')}，15分钟内 {format_value(c15, '%')}，"
                f"未覆盖 {format_value(max(0.0, 1.0 - c15), '%')}"
            )
        body.append(
            f'<g class="row"><title>{escape(tip)}</title>'
            f'<text x="{_num(LABEL_W - 4)}" y="{_num(y + 14)}" font-size="11" text-anchor="end" '
            f'fill="{COLOURS["text"]}">{escape(_short(name))}</text>'
        )
        x = LABEL_W
        for cls, share in parts:
            width = share * span
            body.append(
                f'<rect class="seg seg-{cls}" x="{x:.4f}" y="{_num(y + 4)}" width="{width:.4f}" '
                f'height="14" fill="{COLOURS[cls]}" data-value="{float(share)!r}"/>'
            )
            x += width
        body.append(
            f'<text x="{_num(CHART_W)}" y="{_num(y + 14)}" font-size="11" text-anchor="end" '
            f'fill="{COLOURS["muted"]}">{escape(shown)}</text></g>'
        )
    bottom = top_y + ROW_H * len(streets)
    xs = [LABEL_W + min(1.0, t["value"]) * span for t in targets]
    label_rows = _label_rows(xs, 36.0)
    height += 12 * max(label_rows, default=0)
    for i, (target, tx, row) in enumerate(zip(targets, xs, label_rows, strict=True), start=1):
        text = format_value(target["value"], "%")
        tip = f"5分钟目标{i}：{text}（{target['source']}）"
        body.append(
            f'<line class="target" x1="{tx:.4f}" x2="{tx:.4f}" y1="{_num(top_y)}" '
            f'y2="{_num(bottom + 2)}" stroke="{COLOURS["target"]}" stroke-width="1.5" '
            f'stroke-dasharray="4 3" data-value="{float(target["value"])!r}"><title>'
            f"{escape(tip)}</title></line>"
            f'<text x="{tx:.2f}" y="{_num(bottom + 13 + 12 * row)}" font-size="10" '
            f'text-anchor="middle" fill="{COLOURS["target"]}">{escape(f"目标{i}")}</text>'
        )
    return _svg(CHART_W, height, title, body, "coverage")
