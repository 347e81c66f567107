"""`flask --app app nurseries …`, `communities …` and `prices …`: the registry and the
district's price rules from files."""

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from errors import DomainError

from . import services

nurseries = AppGroup("nurseries", help="Manage the nursery registry.")
communities = AppGroup("communities", help="Manage residential communities.")
streets = AppGroup("streets", help="镇街：列出，设置类型（街道、镇、乡）。")


def _refused(path: Path, exc: DomainError) -> click.ClickException:
    for line, reason in getattr(exc, "errors", []):
        click.echo(f"{path.name}:{line}: {reason}", err=True)
    return click.ClickException(exc.message)


def _run_import(importer, file: str, noun: str) -> None:
    path = Path(file)
    try:
        result = importer(path.read_bytes(), path.name)
    except DomainError as exc:
        raise _refused(path, exc) from None
    click.echo(f"已导入 {result.created} 个{noun}。")
    if result.streets_created:
        click.echo("新建镇街：" + "、".join(result.streets_created))


@nurseries.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--update",
    is_flag=True,
    help="备案号已在登记库中的行更新该机构（类型、托位数、地址、位置等），而不是整份拒绝",
)
@click.option("--quiet", is_flag=True, help="不在 stderr 显示进度条")
def import_nurseries_command(file: str, update: bool, quiet: bool):
    """Import nurseries from CSV or GeoJSON (all or nothing); --update re-imports a registry
    export, matching rows by 备案号."""
    path = Path(file)
    bar = _ProgressBar(enabled=not quiet)
    try:
        result = services.import_nurseries(
            path.read_bytes(), path.name, update=update, progress=bar
        )
    except DomainError as exc:
        bar.close()
        raise _refused(path, exc) from None
    bar.close()
    if update:
        click.echo(
            f"新增 {result.created} 个、更新 {result.updated} 个、"
            f"未变 {result.unchanged} 个托育机构。"
        )
    else:
        click.echo(f"已导入 {result.created} 个托育机构。")
    if result.streets_created:
        click.echo("新建镇街：" + "、".join(result.streets_created))


class _ProgressBar:
    """click's progress bar on stderr, created once the import knows how many rows it writes."""

    def __init__(self, enabled: bool):
        self.enabled, self.bar = enabled, None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label="写入登记库", file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


@communities.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_communities_command(file: str):
    """Import communities from CSV or GeoJSON (all or nothing)."""
    _run_import(services.import_communities, file, "小区")


@nurseries.command("postgis")
def postgis_command():
    """Store positions as PostGIS geography (migration 0016's step, once the extension exists)."""
    from database import postgis_positions

    if not postgis_positions():
        raise click.ClickException(
            "数据库不支持 PostGIS：需要 PostgreSQL，安装 postgresql-15-postgis-3，"
            "并由超级用户在本库执行 CREATE EXTENSION postgis"
        )
    click.echo("nurseries.geog 与 GiST 索引已就绪：可设置 SPATIAL_BACKEND=postgis")


@nurseries.command("check-capacity")
def check_capacity_command():
    """Report nurseries whose classes or offers break the national limits (exit 1 if any)."""
    from .queries import capacity_breaches, nursery_count

    found = capacity_breaches()
    for nursery, breaches in found:
        click.echo(f"{nursery.id} {nursery.name}")
        for b in breaches:
            click.echo(f"  [{b.code}] {b.message}")
    click.echo(f"共 {nursery_count()} 家机构，{len(found)} 家不符合国家托育机构设置标准。")
    if found:
        raise SystemExit(1)


@communities.command("set-urban")
@click.argument("name")
@click.argument("area", type=click.Choice(["城镇", "农村", "urban", "rural"]))
def set_urban_command(name: str, area: str):
    """Mark a community 城镇 (urban) or 农村 (rural)."""
    try:
        services.set_community_urban(name, area in ("城镇", "urban"))
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"{name}：{'城镇' if area in ('城镇', 'urban') else '农村'}")


@streets.command("list")
def list_streets_command():
    """Every 镇街 with its code and kind."""
    from sqlalchemy import select

    from extensions import db

    from .domain import STREET_KINDS
    from .models import Street

    for street in db.session.scalars(select(Street).order_by(Street.code)):
        click.echo(f"{street.code}\t{street.name}\t{STREET_KINDS[street.kind]}")


@streets.command("set-kind")
@click.argument("code")
@click.argument("kind")
def set_kind_command(code: str, kind: str):
    """Set a 镇街's kind: 街道, 镇 or 乡 (subdistrict, town, township)."""
    try:
        street = services.set_street_kind(code, kind)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    from .domain import STREET_KINDS

    click.echo(f"{street.code} {street.name}：{STREET_KINDS[street.kind]}")


prices = AppGroup(
    "prices", help="价格管理：本区的政府指导价和普惠限价（导入、导出、检查已有价格）。"
)


@prices.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False), required=False)
@click.option("--reason", default="", help="说明（记入审计日志）")
def import_prices_command(file: str | None, reason: str):
    """Replace the guided prices and caps with a JSON file's (default: the shipped
    maps/price_rules.json, whose figures are demo data); reports offers the new rules refuse."""
    from .pricing import SHIPPED_RULES, PriceRuleError, parse_rules
    from .queries import offers_outside_price_rules

    path = Path(file) if file else SHIPPED_RULES
    try:
        rules = parse_rules(path.read_bytes())
        count = services.replace_price_rules(rules, None, reason or f"导入 {path.name}")
    except (DomainError, PriceRuleError) as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"已导入 {count} 条价格规则（{path.name}），原有规则已替换。")
    if any("演示" in r.source for r in rules):
        click.echo("注意：其中有标为演示数据的金额，不是本区公布的价格。")
    outside = offers_outside_price_rules()
    if outside:
        click.echo(f"有 {len(outside)} 项已有价格不符合新规则（未改动，请机构调整）：")
        _echo_outside(outside)


@prices.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True), required=False)
def export_prices_command(file: str | None):
    """Write the rules in force as JSON (to FILE, or to standard output)."""
    from .models import price_rules
    from .pricing import dump_rules

    text = dump_rules(price_rules())
    if file:
        Path(file).write_text(text, encoding="utf-8")
        click.echo(f"已导出到 {file}")
    else:
        click.echo(text, nl=False)


@prices.command("check")
def check_prices_command():
    """Report offers whose price the rules in force refuse (exit 1 if any)."""
    from .queries import offers_outside_price_rules

    outside = offers_outside_price_rules()
    _echo_outside(outside)
    click.echo(f"{len(outside)} 项价格不符合本区的政府指导价或普惠限价。")
    if outside:
        raise SystemExit(1)


def _echo_outside(outside) -> None:
    for nursery, offer, message in outside:
        click.echo(f"  {nursery.id} {nursery.name} · 托育项目 {offer.id}：{message}")


COMMANDS = [nurseries, communities, streets, prices]
