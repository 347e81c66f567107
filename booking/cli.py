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


privacy = AppGroup("privacy", help="Children's data: the retention job.")


@privacy.command("purge")
@click.option("--dry-run", is_flag=True, help="只统计将被匿名化的记录，不做任何修改")
@click.option(
    "--days",
    type=click.IntRange(min=0),
    default=None,
    help="保存期限（3 周岁生日后的天数），默认取 CHILD_DATA_RETENTION_DAYS",
)
def purge_command(dry_run, days):
    """Anonymise the children who turned three more than the retention period ago, and their
    bookings (run from cron; idempotent)."""
    from errors import DomainError

    from .services.privacy import purge_expired_children
    from .waitlist import Settings

    retention = days if days is not None else current_app.config["CHILD_DATA_RETENTION_DAYS"]
    try:
        result = purge_expired_children(
            Settings.from_config(current_app.config), retention, dry_run=dry_run
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    verb = "将匿名化" if dry_run else "已匿名化"
    click.echo(
        f"{verb} {result.children} 名儿童的信息、{result.bookings} 条预约"
        f"（其中取消进行中的 {result.cancelled} 条；保存期限：3 周岁后 {retention} 天）。"
        + ("（试运行，未作修改）" if dry_run else "")
    )
    if not dry_run:  # answers kept for Idempotency-Key retries hold bookings and codes too
        from idempotency.services import purge

        hours = current_app.config["IDEMPOTENCY_HOURS"]
        click.echo(f"已删除 {purge()} 条超过 {hours} 小时的幂等请求答复。")


COMMANDS = [bookings, subsidies, privacy]
