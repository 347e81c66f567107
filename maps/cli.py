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


COMMANDS = [nurseries, communities]
