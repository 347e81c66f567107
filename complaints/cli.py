"""`flask --app app complaints …`: the routing rules in and out as JSON."""

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from errors import DomainError

from . import rulebook
from .services import rules

complaints = AppGroup("complaints", help="投诉举报：分办规则导入导出。")


@complaints.command("import-rules")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", default="", help="本次修改的说明（记入审计日志）")
def import_rules_command(file: str, reason: str):
    """Validate a routing-rules JSON file and make it the rules in force."""
    try:
        data, _rules = rulebook.parse(Path(file).read_bytes())
        version = rules.save(None, data, reason or f"导入 {Path(file).name}")
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"分办规则已更新（版本 {version}）。")


@complaints.command("export-rules")
def export_rules_command():
    """Print the routing rules in force as JSON."""
    click.echo(json.dumps(rulebook.current()[2], ensure_ascii=False, indent=2))


COMMANDS = [complaints]
