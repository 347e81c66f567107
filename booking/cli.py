"""`flask --app app bookings …`: booking housekeeping run from cron."""

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


COMMANDS = [bookings, privacy]
