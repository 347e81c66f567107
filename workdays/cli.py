"""`flask --app app calendar …`: the holiday arrangements — import a year, list the years,
regenerate the shipped files from chinese_calendar."""

from pathlib import Path

import click
from flask.cli import AppGroup

from errors import DomainError

from . import services, store

calendar_group = AppGroup(
    "calendar", help="节假日安排：导入某年的安排、列出已有年份、生成随系统发布的文件。"
)


@calendar_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", default="", help="说明（记入审计日志）")
def import_command(file: str, reason: str):
    """Import one year's arrangement (JSON: year, source, holidays, workdays) and count the
    deadlines over it again."""
    try:
        data = services.parse(Path(file).read_bytes())
        done = services.import_year(data, None, reason or f"导入 {Path(file).name}")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    replaced = {"imported": "（替换此前导入的安排）", "shipped": "（替换随系统发布的安排）"}
    click.echo(
        f"已导入 {done.year} 年节假日安排{replaced.get(done.replaced, '')}；"
        f"重新计算了 {done.complaints} 件投诉、{done.bookings} 个预约的期限。"
    )


@calendar_group.command("years")
def years_command():
    """List the years with an arrangement: source, shipped or imported."""
    for row in store.years():
        if row["origin"] == "imported":
            origin = f"导入 {row['imported_at']:%Y-%m-%d %H:%M} {row['imported_by'] or '命令行'}"
            if row["overrides_shipped"]:
                origin += "（替换随系统发布的安排）"
        else:
            origin = "随系统发布"
        click.echo(f"{row['year']}\t{row['source']}\t{origin}")
    for year in store.missing():
        click.echo(f"{year}\t（未导入：该年期限暂按周一至周五推算，标为暂定）")


@calendar_group.command("export-shipped")
@click.option("--year", "years", type=int, multiple=True, help="年份（可重复；默认 2024–2026）")
@click.option(
    "--out",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="写入的目录（默认 workdays/holidays/，即随系统发布的文件）",
)
def export_shipped_command(years: tuple[int, ...], out: Path | None):
    """Write workdays/holidays/<year>.json from chinese_calendar (for the maintainers; the
    service itself reads the files)."""
    from . import calendar, export

    try:
        written = export.write_shipped(years or export.SHIPPED_YEARS, out or calendar.SHIPPED_DIR)
    except NotImplementedError as exc:
        raise click.ClickException(f"chinese_calendar 没有该年的安排：{exc}") from None
    for path in written:
        click.echo(f"已写入 {path}")


COMMANDS = [calendar_group]
