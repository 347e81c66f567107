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


COMMANDS = [bookings]
