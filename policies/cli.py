"""`flask --app app policies import FILE | export`: the policies families look up, as a JSON
file (policies/policies.json is the shipped set, from the seeds and national rules)."""

from pathlib import Path

import click
from flask.cli import AppGroup

policies = AppGroup("policies", help="托育政策：导入、导出政策数据（JSON）。")


@policies.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--reason", default="", help="记入审计日志的说明")
def import_command(file: str, reason: str):
    """Add or update the policies of a JSON file ({"policies": [...]}), matched by code;
    policies the file does not name are kept. All or nothing."""
    from .document import PolicyError, parse_document
    from .services import import_policies

    path = Path(file)
    try:
        added, updated = import_policies(
            parse_document(path.read_bytes()), None, reason or f"导入 {path.name}"
        )
    except PolicyError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"已导入 {path.name}：新增 {added} 条，更新 {updated} 条")


@policies.command("export")
def export_command():
    """Print every policy (hidden ones too) as the JSON file `import` reads."""
    from .document import dump_document
    from .queries import all_data

    click.echo(dump_document(all_data()), nl=False)


COMMANDS = [policies]
