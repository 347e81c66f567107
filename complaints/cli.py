"""`flask --app app complaints …`: the routing rules in and out as JSON; the text classifier
trained, listed and rolled back."""

import json
from pathlib import Path

import click
from flask.cli import AppGroup

from errors import DomainError

from . import classifier, rulebook
from .routing import load_rules
from .services import rules, training

complaints = AppGroup(
    "complaints", help="投诉举报：分办规则导入导出，文本分类模型训练与回退，期限提醒。"
)


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


def _print_report(report: classifier.Report) -> None:
    click.echo(f"{'类别':<18}{'精确率':>8}{'召回率':>8}{'样本':>6}")
    for code, m in report.per_category.items():
        click.echo(f"{code:<20}{m['precision']:>9.2f}{m['recall']:>9.2f}{m['support']:>7.0f}")
    click.echo(
        f"准确率 {report.accuracy:.3f}；紧急召回率 {report.urgent_recall:.3f}，"
        f"紧急精确率 {report.urgent_precision:.3f}（留出集 {report.examples} 条）"
    )


@complaints.command("train")
@click.option("--note", default="", help="本次训练的说明（记入版本和审计日志）")
@click.option("--no-corrections", is_flag=True, help="只用语料库，不用处理人员的更正")
@click.option(
    "--ship",
    is_flag=True,
    help="只用语料库训练，写入随代码发布的模型文件（不存数据库）",
)
def train_command(note: str, no_corrections: bool, ship: bool):
    """Train the classifier on the corpus plus the handlers' corrections; print held-out
    precision and recall per category; save it as the newest version (the one in force)."""
    try:
        trained = training.train(
            note=note,
            with_corrections=not (no_corrections or ship),
            save=not ship,
            rules=load_rules() if ship else None,
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(
        f"训练样本：语料库 {trained.corpus_examples} 条，处理人员更正 {trained.corrections} 条；"
        f"特征 {trained.model.info['features']} 个"
    )
    _print_report(trained.report)
    if ship:
        classifier.SHIPPED_MODEL_PATH.parent.mkdir(exist_ok=True)
        classifier.SHIPPED_MODEL_PATH.write_bytes(trained.model.to_bytes())
        click.echo(f"已写入 {classifier.SHIPPED_MODEL_PATH}")
    else:
        click.echo(f"分类模型已保存为版本 {trained.version}，现已生效。")


@complaints.command("model-versions")
def model_versions_command():
    """List the trained classifier versions (newest first; version 0 is the shipped file)."""
    rows = training.versions()
    newest = rows[0].id if rows else 0
    for row in rows:
        info = json.loads(row.info or "{}")
        held = info.get("held_out", {})
        mark = "*" if row.id == newest else " "
        click.echo(
            f"{mark} {row.id:>4}  {row.saved_at:%Y-%m-%d %H:%M}  样本 {info.get('examples', '?')}"
            f"（更正 {info.get('corrections', 0)}）  准确率 {held.get('accuracy', 0):.3f}  "
            f"紧急召回 {held.get('urgent_recall', 0):.3f}  {row.note or ''}"
        )
    click.echo(f"{'*' if not rows else ' '}    0  随代码发布的模型文件")


@complaints.command("rollback-model")
@click.argument("version", type=click.IntRange(min=0))
def rollback_model_command(version: int):
    """Put an earlier classifier version in force again (as a new version); 0 = shipped file."""
    try:
        new = training.restore_version(version)
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"已回退到版本 {version} 的模型（新版本 {new}），现已生效。")


@complaints.command("remind")
def remind_command():
    """Remind the lead departments of deadlines due within a working day or passed (cron;
    safe on several hosts at once: each reminder is sent once)."""
    from .services.reminders import send_deadline_reminders

    click.echo(f"已发送 {send_deadline_reminders()} 条期限提醒。")


COMMANDS = [complaints]
