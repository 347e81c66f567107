"""Liveness and readiness for load balancers and monitoring (docs/operations.md).

- `/healthz`: the process answers (it never touches the database): restart it when this fails.
- `/readyz`: this process can serve now: the database answers within a short timeout, its
  schema is at the newest migration, and the nurseries' spatial index is loaded (loading it
  here warms a new worker before traffic reaches it; with SPATIAL_BACKEND=postgis, that the
  database has the geography column instead). 503 with the failing checks otherwise:
  take the worker out of rotation, do not restart it. Rate limits kept per process (no Redis)
  while more than one worker serves are reported as a warning: the service still answers,
  but every limit is multiplied by the number of workers.
"""

import os

from flask import Blueprint, current_app
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from extensions import db

bp = Blueprint("health", __name__)
STATEMENT_TIMEOUT_MS = 2000


@bp.get("/healthz")
def healthz():
    return {"status": "ok"}


def _database() -> str | None:
    """None when the database answers `SELECT 1` within the timeout; else why not."""
    try:
        with db.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}"))
            conn.execute(text("SELECT 1"))
            if conn.dialect.name == "postgresql":
                conn.execute(text("RESET statement_timeout"))
    except SQLAlchemyError as exc:
        return f"数据库无法连接（{type(exc).__name__}）"
    return None


def _migrations() -> str | None:
    from database import head_revision, schema_revision

    at, head = schema_revision(), head_revision()
    if at != head:
        return f"数据库结构版本为 {at or '未标记'}，应为 {head}（请运行 flask --app app init-db）"
    return None


def workers() -> int:
    """Worker processes serving this app (gunicorn reads WEB_CONCURRENCY; gunicorn.conf.py
    sets it), 1 when unknown."""
    try:
        return max(1, int(os.environ.get("WEB_CONCURRENCY", "1")))
    except ValueError:
        return 1


def rate_limit_warning(config=None) -> str | None:
    storage = (config or current_app.config).get("RATELIMIT_STORAGE_URI", "memory://")
    if storage.startswith("memory://") and workers() > 1:
        return (
            f"限流计数保存在各进程内存中（未设置 REDIS_URL），{workers()} 个进程各自计数，"
            "每项限制实际放宽为其倍数"
        )
    return None


def warn_at_startup(app) -> None:
    """Say in the log, once per process, what /readyz reports as a warning."""
    warning = rate_limit_warning(app.config)
    if warning:
        app.logger.warning("%s；生产环境请设置 REDIS_URL", warning)


@bp.get("/readyz")
def readyz():
    from maps import postgis
    from maps.queries import nursery_index

    failures = {}
    failure = _database()
    if failure:
        failures["database"] = failure
    else:
        failure = _migrations()
        if failure:
            failures["migrations"] = failure
        else:
            try:
                misconfigured = postgis.misconfigured()
                if misconfigured:
                    failures["spatial_backend"] = misconfigured
                # With PostGIS the database searches: no index to warm in this process.
                indexed = None if postgis.enabled() else len(nursery_index())
            except SQLAlchemyError as exc:
                failures["spatial_index"] = f"空间索引无法载入（{type(exc).__name__}）"
    body = {"status": "unavailable" if failures else "ready", "checks": failures}
    if not failures:
        body["nurseries_indexed"] = indexed
        body["spatial_backend"] = "postgis" if postgis.enabled() else "index"
    warning = rate_limit_warning()
    if warning:
        body["warnings"] = {"rate_limits": warning}
    headers = {"Cache-Control": "no-store"}
    if failures:
        headers["Retry-After"] = "10"
        return body, 503, headers
    return body, 200, headers
