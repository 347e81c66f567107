"""`flask --app app ratings …`: the ratings' housekeeping."""

import click
from flask.cli import AppGroup

ratings = AppGroup("ratings", help="家庭评价：汇总重算。")


@ratings.command("recount")
def recount_command():
    """Rebuild every nursery's rating summary from the ratings on file."""
    from .services import recount

    click.echo(f"已重算 {recount()} 家机构的评价汇总。")


COMMANDS = (ratings,)
