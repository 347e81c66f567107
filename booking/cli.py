"""`flask --app app bookings …`: booking housekeeping run from cron; `subsidies …`: the
district's operating subsidies to inclusive nurseries (运营补贴)."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

bookings = AppGroup("bookings", help="Booking housekeeping.")


@bookings.command("expire")
def expire_bookings_command():
    """Expire unanswered requests and lapsed offers, offering the places on, and deliver queued
    messages (run from cron)."""
    from notifications.services import drain_outbox

    from .services.family import expire_overdue
    from .waitlist import Settings

    count = expire_overdue(Settings.from_config(current_app.config))
    drain_outbox()  # also retries messages an earlier delivery failed to send
    click.echo(f"已处理 {count} 个过期的预约或递补。")


subsidies = AppGroup(
    "subsidies", help="运营补贴：区里按班级付给普惠性托育机构的每生每年补贴（导入、导出）。"
)


@subsidies.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", default="", help="说明（记入审计日志）")
def import_subsidies_command(file: str, reason: str):
    """Replace the operating subsidies with a JSON file's ({"subsidies": [{"class_type",
    "yuan_per_year", "source"}]}); bookings keep the amount recorded when they were made."""
    from .rules import RuleError, parse_subsidies
    from .services.admin import replace_subsidies

    path = Path(file)
    try:
        count = replace_subsidies(
            parse_subsidies(path.read_bytes()), None, reason or f"导入 {path.name}"
        )
    except RuleError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"已导入 {count} 个班级的运营补贴（付给机构），原有金额已替换。")


@subsidies.command("export")
def export_subsidies_command():
    """Print the operating subsidies in force as JSON."""
    from .queries import subsidy_rows
    from .rules import dump_subsidies

    click.echo(dump_subsidies(subsidy_rows()), nl=False)


COMMANDS = [bookings, subsidies]
