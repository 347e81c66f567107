"""`flask --app app coverage …` and `maps …`: indicators and the walking network."""

import json
import sys

import click
from flask import current_app
from flask.cli import AppGroup

from errors import DomainError

coverage = AppGroup("coverage", help="规划：指标与服务圈覆盖。")
maps = AppGroup("maps", help="地图数据：步行路网（OpenStreetMap）。")


@coverage.command("report")
@click.option("--street", "street_code", default=None, help="只统计一个镇街（代码）")
@click.option("--mode", type=click.Choice(["straight", "network"]), default="straight")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
def coverage_report_command(street_code, mode, fmt):
    """The seeds' indicators (DESIGN §3.5) with their targets, in the terminal."""
    from . import queries as planning

    settings = planning.Settings.from_config(current_app.config)
    try:
        data = planning.indicators.load()
        steps = 1 + (0 if street_code else len(data.streets))
        # The bar goes to stderr, so `--format json` output stays machine-readable.
        with click.progressbar(length=steps, label="计算中", file=sys.stderr) as bar:
            result = planning.report(
                mode, street_code, settings, progress=lambda _step: bar.update(1), data=data
            )
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    if fmt == "json":
        result.pop("communities")
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    click.echo(_coverage_text(result))


@maps.command("load-network")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--dem",
    type=click.Path(exists=True, dir_okay=False),
    help="GeoTIFF elevation model: street-level ways cost more uphill (default: WALK_DEM_FILE)",
)
def load_network_command(file: str, dem: str | None):
    """Load the walking network from OpenStreetMap (.osm, .osm.gz or .osm.pbf), replacing it
    (all or nothing); ways clipped at the extract's edge are cut there and counted."""
    from . import network, services

    try:
        click.echo(network.describe(services.load_network_file(file, dem)))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None


def _percent_or_count(figure: dict) -> str:
    value = figure["value"]
    if value is None:
        return "—"
    return f"{value:.2f}" if figure["unit"] != "%" else f"{value * 100:.1f}%"


def _coverage_text(result: dict) -> str:
    """The report as a terminal table: indicator, value, targets."""
    scope = result["street"]["name"] if result["street"] else result["district"]
    lines = [
        f"{scope} · {result['mode_label']}（5 分钟 {result['radius_m']['5']:.0f} 米，"
        f"15 分钟 {result['radius_m']['15']:.0f} 米）"
    ]
    for figure in result["indicators"].values():
        targets = "；".join(
            f"{t['text'] if t['value'] is None else _percent_or_count({**figure, **t})}"
            f"（{t['source']}）"
            for t in figure["targets"]
        )
        lines.append(f"  {figure['label']}：{_percent_or_count(figure)}  目标 {targets or '—'}")
    lines.append(f"未覆盖（5 分钟）小区：{len(result['gaps'])} 个")
    return "\n".join(lines)


COMMANDS = [coverage, maps]
