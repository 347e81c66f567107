"""`flask --app app nurseries …` and `communities …`: the registry from files."""

from pathlib import Path

import click
from flask.cli import AppGroup

from errors import DomainError

from . import services

nurseries = AppGroup("nurseries", help="Manage the nursery registry.")
communities = AppGroup("communities", help="Manage residential communities.")


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


COMMANDS = [nurseries, communities]
