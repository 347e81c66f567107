"""Command-line interface: `flask --app app <command>`."""

import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from errors import DomainError
from extensions import db


def init_schema() -> None:
    """Create missing tables and the registry-version row (idempotent)."""
    import accounts.models  # noqa: F401  (the models must be imported to be created)
    import audit  # noqa: F401
    import booking.models  # noqa: F401
    import complaints.models  # noqa: F401
    import notifications.models  # noqa: F401
    import planning.network_models  # noqa: F401
    from maps.models import RegistryVersion

    db.create_all()
    if db.session.get(RegistryVersion, 1) is None:
        db.session.add(RegistryVersion(id=1, version=0))
        db.session.commit()


def register_commands(app: Flask) -> None:
    @app.cli.command("init-db")
    def init_db_command():
        """Create the schema in DATABASE_URL (idempotent)."""
        init_schema()
        click.echo(f"数据库已就绪：{db.engine.url.render_as_string(hide_password=True)}")

    @app.cli.command("demo-data")
    @click.option("--if-empty", is_flag=True, help="Do nothing when nurseries already exist.")
    @click.option("--seed", default=2026, show_default=True)
    def demo_data_command(if_empty: bool, seed: int):
        """Load the fictional demo district (nurseries, communities, accounts)."""
        from demo import load_demo
        from maps.models import Nursery

        init_schema()
        if db.session.scalar(select(Nursery.id).limit(1)) is not None:
            if if_empty:
                click.echo("已有数据，跳过演示数据。")
                return
            raise click.ClickException("数据库中已有机构数据；演示数据只能装入空库。")
        summary = load_demo(seed)
        click.echo(
            "演示数据已载入（虚构）：{streets} 个镇街、{communities} 个小区、"
            "{nurseries} 家托育机构、{users} 个账号、{complaints} 件投诉举报"
            "（演示查询码 DEMO-YXQ2-TRAC-K267）。".format(**summary)
        )

    nurseries = AppGroup("nurseries", help="Manage the nursery registry.")
    communities = AppGroup("communities", help="Manage residential communities.")
    users = AppGroup("users", help="Manage accounts.")
    app.cli.add_command(nurseries)
    app.cli.add_command(communities)
    app.cli.add_command(users)

    def run_import(importer, file: str, noun: str):
        init_schema()
        path = Path(file)
        try:
            result = importer(path.read_bytes(), path.name)
        except DomainError as exc:
            for line, reason in getattr(exc, "errors", []):
                click.echo(f"{path.name}:{line}: {reason}", err=True)
            raise click.ClickException(exc.message) from None
        click.echo(f"已导入 {result.created} 个{noun}。")
        if result.streets_created:
            click.echo("新建镇街：" + "、".join(result.streets_created))

    @nurseries.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_nurseries_command(file: str):
        """Import nurseries from CSV or GeoJSON (all or nothing)."""
        from maps.importer import import_nurseries

        run_import(import_nurseries, file, "托育机构")

    @communities.command("import")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_communities_command(file: str):
        """Import communities from CSV or GeoJSON (all or nothing)."""
        from maps.importer import import_communities

        run_import(import_communities, file, "小区")

    bookings = AppGroup("bookings", help="Booking housekeeping.")
    app.cli.add_command(bookings)

    @bookings.command("expire")
    def expire_bookings_command():
        """Expire unanswered requests and lapsed offers, offering the places on (run from cron)."""
        from booking.waitlist import Settings, expire_due
        from extensions import begin_write
        from notifications.services import drain_outbox

        init_schema()
        begin_write()
        count = expire_due(Settings.from_config(app.config), datetime.now().replace(microsecond=0))
        db.session.commit()
        drain_outbox()
        click.echo(f"已处理 {count} 个过期的预约或递补。")

    complaints = AppGroup("complaints", help="投诉举报：分办规则导入导出。")
    app.cli.add_command(complaints)

    @complaints.command("import-rules")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    @click.option("--reason", default="", help="本次修改的说明（记入审计日志）")
    def import_rules_command(file: str, reason: str):
        """Validate a routing-rules JSON file and make it the rules in force."""
        from complaints import rulebook

        init_schema()
        try:
            data, _rules = rulebook.parse(Path(file).read_bytes())
            version = rulebook.save(None, data, reason or f"导入 {Path(file).name}")
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"分办规则已更新（版本 {version}）。")

    @complaints.command("export-rules")
    def export_rules_command():
        """Print the routing rules in force as JSON."""
        import json

        from complaints import rulebook

        init_schema()
        click.echo(json.dumps(rulebook.current()[2], ensure_ascii=False, indent=2))

    coverage = AppGroup("coverage", help="规划：指标与服务圈覆盖。")
    app.cli.add_command(coverage)

    @coverage.command("report")
    @click.option("--street", "street_code", default=None, help="只统计一个镇街（代码）")
    @click.option("--mode", type=click.Choice(["straight", "network"]), default="straight")
    @click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
    def coverage_report_command(street_code, mode, fmt):
        """The seeds' indicators (DESIGN §3.5) with their targets, in the terminal."""
        import json

        from flask import current_app

        from planning import services as planning

        init_schema()
        settings = planning.Settings.from_config(current_app.config)
        try:
            data = planning.indicators.load()
            steps = 1 + (0 if street_code else len(data.streets))
            # The bar goes to stderr, so `--format json` output stays machine-readable.
            with click.progressbar(length=steps, label="计算中", file=sys.stderr) as bar:
                result = planning.report(
                    mode, street_code, settings, progress=lambda _step: bar.update(1), data=data
                )
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        if fmt == "json":
            result.pop("communities")
            click.echo(json.dumps(result, ensure_ascii=False, indent=2))
            return
        click.echo(_coverage_text(result))

    maps = AppGroup("maps", help="地图数据：步行路网（OpenStreetMap）。")
    app.cli.add_command(maps)

    @maps.command("load-network")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def load_network_command(file: str):
        """Load the walking network from OSM XML (.osm / .osm.gz), replacing it (all or nothing)."""
        from planning import network

        init_schema()
        try:
            click.echo(network.describe(network.load_network_file(file)))
        except DomainError as exc:
            raise click.ClickException(exc.message) from None

    @maps.command("demo-network")
    @click.argument("file", type=click.Path(dir_okay=False, writable=True))
    @click.option("--seed", default=2026, show_default=True)
    def demo_network_command(file: str, seed: int):
        """Write the fictional demo district's walking network as OSM XML."""
        from planning import network

        click.echo(network.write_demo_network(file, seed))

    @users.command("create")
    @click.option(
        "--role", required=True, type=click.Choice(["parent", "nursery_staff", "handler", "admin"])
    )
    @click.option("--username", required=True)
    @click.option("--password", required=True)
    @click.option("--name", default="")
    @click.option("--nursery", "nursery_id", type=int, default=None)
    @click.option("--department", "department_code", default=None)
    @click.option("--street", "street_code", default=None, help="镇街代码（street 部门的承办人）")
    def create_user_command(
        role, username, password, name, nursery_id, department_code, street_code
    ):
        """Create an account of any role."""
        from accounts.services import create_user

        init_schema()
        try:
            user = create_user(
                role, username, password, name, nursery_id, department_code, street_code
            )
        except DomainError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"已创建账号 {user.username}（{role}，id={user.id}）")


def _percent_or_count(figure: dict) -> str:
    value = figure["value"]
    if value is None:
        return "—"
    return f"{value:.2f}" if figure["unit"] != "%" else f"{value * 100:.1f}%"


def _coverage_text(result: dict) -> str:
    """The report as a terminal table: indicator, value, targets."""
    scope = result["street"]["name"] if result["street"] else result["district"]
    lines = [
        f"{scope} · {result['mode_label']}（5 分钟 {result['radius_m']['5']:.0f} 米，"
        f"15 分钟 {result['radius_m']['15']:.0f} 米）"
    ]
    for figure in result["indicators"].values():
        targets = "；".join(
            f"{_percent_or_count({**figure, 'value': t['value']})}（{t['source']}）"
            for t in figure["targets"]
        )
        lines.append(f"  {figure['label']}：{_percent_or_count(figure)}  目标 {targets or '—'}")
    lines.append(f"未覆盖（5 分钟）小区：{len(result['gaps'])} 个")
    return "\n".join(lines)
