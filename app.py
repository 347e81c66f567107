"""The Flask application factory; `gunicorn app:app` serves it."""

import os
import time
from pathlib import Path

import click
from flask import Flask

import config as settings
from accounts import sessions
from database import MIGRATIONS, upgrade_schema
from extensions import csrf, db, limiter, login_manager, migrate
from web import health, input_guard, security
from web.errors import register_error_handlers
from web.http import DatabaseIdConverter, JSONProvider
from web.logs import install as install_logs


def _use_timezone(name: str) -> None:
    """Run the process on the district's local time (default China Standard Time).

    Deadlines, "today" and every stored time are local wall-clock times (naive datetimes):
    a server whose clock runs on UTC would otherwise put "today" eight hours behind Beijing
    and label tracking-page times wrongly. Process-wide on purpose: every module's
    datetime.now() and date.today() then agree.
    """
    if os.environ.get("TZ") != name:
        os.environ["TZ"] = name
        time.tzset()


def create_app(test_config: dict | None = None) -> Flask:
    """Build the app from environment configuration, with overrides for tests."""
    app = Flask(__name__, instance_relative_config=True)
    app.json = JSONProvider(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_mapping(settings.from_environment(app.instance_path))
    app.json.ensure_ascii = False  # Chinese stays readable in API responses
    if test_config:
        app.config.from_mapping(test_config)
    _use_timezone(app.config["TIMEZONE"])
    install_logs(app)  # first: the start-up warnings below are log lines too

    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "请先登录"
    sessions.init_app(app)  # versioned session ids, idle and absolute lifetimes
    security.init_app(app)  # CSP and other headers, ProxyFix behind TRUST_PROXY_HOPS
    input_guard.init_app(app)  # control characters refused with a 400, on every request

    # Ids in URLs are database integers: a larger number is simply not found (404), not a 500.
    app.url_map.converters["int"] = DatabaseIdConverter

    import accounts.api  # noqa: F401  (registers routes on the API blueprint)
    import booking.api  # noqa: F401
    import maps.api  # noqa: F401
    import policies.api  # noqa: F401
    import ratings.api  # noqa: F401
    from accounts.views import bp as accounts_bp
    from api import bp as api_bp
    from api.openapi import bp as openapi_bp
    from audit.views import bp as audit_bp
    from booking.views.family import bp as booking_bp
    from booking.views.staff import bp as portal_bp
    from complaints.api import bp as open311_bp
    from complaints.views.admin import bp as complaint_admin_bp
    from complaints.views.handling import bp as handling_bp
    from complaints.views.public import bp as complaints_bp
    from filing.views import admin_bp as filing_admin_bp
    from filing.views import bp as filing_bp
    from inspections.views import bp as inspections_bp
    from inspections.views import portal_bp as inspections_portal_bp
    from maps.views import admin_bp as price_admin_bp
    from maps.views import bp as maps_bp
    from planning.views import bp as planning_bp
    from policies.views import admin_bp as policy_admin_bp
    from policies.views import bp as policies_bp
    from ratings.views import admin_bp as rating_admin_bp
    from ratings.views import bp as ratings_bp
    from ratings.views import portal_bp as rating_portal_bp

    # The API authenticates with bearer tokens; a request riding on a logged-in session cookie
    # is checked by the API blueprint itself (web/security.py).
    csrf.exempt(api_bp)
    app.register_blueprint(health.bp)  # /healthz, /readyz
    health.warn_at_startup(app)
    app.register_blueprint(api_bp)
    app.register_blueprint(openapi_bp)
    app.register_blueprint(accounts_bp)
    app.register_blueprint(maps_bp)
    app.register_blueprint(booking_bp)
    app.register_blueprint(portal_bp)
    csrf.exempt(open311_bp)  # GeoReport v2 clients post plain forms without a session
    app.register_blueprint(open311_bp)
    app.register_blueprint(complaints_bp)
    app.register_blueprint(handling_bp)
    app.register_blueprint(complaint_admin_bp)
    app.register_blueprint(inspections_bp)
    app.register_blueprint(inspections_portal_bp)
    app.register_blueprint(planning_bp)
    app.register_blueprint(price_admin_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(filing_bp)
    app.register_blueprint(filing_admin_bp)
    app.register_blueprint(policies_bp)
    app.register_blueprint(policy_admin_bp)
    app.register_blueprint(ratings_bp)
    app.register_blueprint(rating_admin_bp)
    app.register_blueprint(rating_portal_bp)

    from workdays import store as workday_store

    workday_store.install()  # deadlines count on the shipped and imported holiday years
    from maps.postgis import include_object

    # PostGIS's column, index and table live outside the models (migration 0016).
    migrate.init_app(app, db, directory=str(MIGRATIONS), include_object=include_object)
    _register_commands(app)
    register_error_handlers(app)

    return app


def _register_commands(app: Flask) -> None:
    """`flask --app app …`: init-db here, `db …` from Flask-Migrate, each feature's own group."""
    import accounts.cli
    import booking.cli
    import complaints.cli
    import demo.cli
    import filing.cli
    import inspections.cli
    import maps.cli
    import planning.cli
    import policies.cli
    import ratings.cli
    import workdays.cli

    @app.cli.command("init-db")
    def init_db_command():
        """Create or upgrade the schema in DATABASE_URL to the newest migration (idempotent)."""
        upgrade_schema()
        click.echo(f"数据库已就绪：{db.engine.url.render_as_string(hide_password=True)}")

    modules = (
        accounts.cli,
        maps.cli,
        booking.cli,
        complaints.cli,
        planning.cli,
        policies.cli,
        workdays.cli,
        filing.cli,
        ratings.cli,
        inspections.cli,
    )
    for module in (*modules, demo.cli):
        for command in module.COMMANDS:
            app.cli.add_command(command)


app = create_app()
