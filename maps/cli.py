"""`flask --app app nurseries …` and `communities …`: the registry from files."""

from pathlib import Path

import click
from flask.cli import AppGroup

from errors import DomainError

from . import services

nurseries = AppGroup("nurseries", help="Manage the nursery registry.")
communities = AppGroup("communities", help="Manage residential communities.")
streets = AppGroup("streets", help="镇街：列出，设置类型（街道、镇、乡）。")


def _run_import(importer, file: str, noun: str) -> None:
    path = Path(file)
    try:
        result = importer(path.read_bytes(), path.name)
    except DomainError as exc:
        for line, reason in getattr(exc, "errors", []):
            click.echo(f"{path.name}:{line}: {reason}", err=True)
        raise click.ClickException(exc.message) from None
    click.echo(f"已导入 {result.created} 个{noun}。")
    if result.streets_created:
        click.echo("新建镇街：" + "、".join(result.streets_created))


@nurseries.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_nurseries_command(file: str):
    """Import nurseries from CSV or GeoJSON (all or nothing)."""
    _run_import(services.import_nurseries, file, "托育机构")


@communities.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def import_communities_command(file: str):
    """Import communities from CSV or GeoJSON (all or nothing)."""
    _run_import(services.import_communities, file, "小区")


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


COMMANDS = [nurseries, communities, streets]
