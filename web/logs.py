"""The application's and gunicorn's own log lines as JSON (the access log: web/access_log.py).

One object per line — time, level, logger, message, worker pid and, inside a request, its
method and path (tracking codes masked, never the query string) — so a log collector indexes
fields instead of parsing prose, and a traceback stays one record. LOG_FORMAT=json turns it on
(gunicorn.conf.py makes it the default when serving); the Flask development server and the
tests keep Flask's plain text.
"""

import json
import logging

from flask import has_request_context, request
from flask.logging import default_handler

from .access_log import mask_path


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "type": "log",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        if has_request_context():
            entry["method"] = request.method
            entry["path"] = mask_path(request.path)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def install(app) -> None:
    """With LOG_FORMAT=json, every logger (the app's, the packages', SQLAlchemy's) writes JSON
    lines to stderr through the root logger, at INFO and above."""
    if app.config.get("LOG_FORMAT") != "json":
        return
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h.formatter, JsonFormatter)]:
        root.removeHandler(old)  # create_app twice in one process: one handler, not two
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    app.logger.removeHandler(default_handler)  # its records reach the root handler instead
