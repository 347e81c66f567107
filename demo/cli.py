"""`flask --app app demo-data` (the fictional district into an empty database) and
`flask --app app maps demo-network FILE` (its walking network as OSM XML)."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from database import upgrade_schema
from extensions import db
from planning.cli import maps


@click.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Do nothing when nurseries already exist.")
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo_data_command(if_empty: bool, seed: int):
    """Load the fictional demo district (nurseries, communities, accounts)."""
    from maps.models import Nursery

    from .district import load_demo

    upgrade_schema()
    if db.session.scalar(select(Nursery.id).limit(1)) is not None:
        if if_empty:
            click.echo("已有数据，跳过演示数据。")
            return
        raise click.ClickException("数据库中已有机构数据；演示数据只能装入空库。")
    summary = load_demo(seed)
    click.echo(
        "演示数据已载入（虚构）：{streets} 个镇街、{communities} 个小区、"
        "{nurseries} 家托育机构、{users} 个账号、{complaints} 件投诉举报"
        "（演示查询码 DEMO-YXQ2-TRAC-K267）。".format(**summary)
    )


@maps.command("demo-network")
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
@click.option("--seed", default=2026, show_default=True)
def demo_network_command(file: str, seed: int):
    """Write the fictional demo district's walking network as OSM XML."""
    from .network import write_demo_network

    click.echo(write_demo_network(file, seed))


COMMANDS = [demo_data_command]  # `maps demo-network` joins the maps group of planning.cli
