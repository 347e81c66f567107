"""`flask --app app inspections …`: the overdue rectifications, for a department's weekly look."""

import click
from flask.cli import AppGroup

inspections = AppGroup("inspections", help="监督检查：逾期未整改的检查。")


@inspections.command("overdue")
def overdue_command():
    """List every open rectification past its deadline (calendar days)."""
    from . import queries

    rows = queries.overdue_rectifications()
    for r in rows:
        click.echo(
            f"#{r['id']}\t{r['nursery']}\t{r['department_name']}\t{r['kind_label']}\t"
            f"整改期限 {r['rectify_by']}\t已逾期 {-r['days_left']} 天"
        )
    click.echo(f"共 {len(rows)} 项逾期未整改")


COMMANDS = [inspections]
