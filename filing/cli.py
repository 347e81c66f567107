"""`flask --app app filings …`: the review queue from the command line (deadlines at a glance)."""

import click
from flask.cli import AppGroup

filings = AppGroup("filings", help="Filing applications (备案申请).")


@filings.command("queue")
def queue_command():
    """List the applications waiting for review, the nearest deadline first."""
    from .queries import queue

    rows = queue("submitted")
    if not rows:
        click.echo("没有待审核的备案申请")
    for row in rows:
        a = row.application
        click.echo(
            f"#{a.id} {a.kind_label} {a.name} "
            f"期限 {a.due_at:%Y-%m-%d} 还剩 {row.days_left} 个工作日"
        )


COMMANDS = [filings]
