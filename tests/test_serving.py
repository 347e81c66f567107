"""Serving (issue 14): gunicorn.conf.py's JSON access log carries no personal data — no
tracking code, no query string, the client's network only — and the app knows how many
workers serve it, so /readyz warns when rate limits are counted apart."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from web.access_log import access_record, mask_path, network_of

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CODE = "DEMO-YXQ2-TRAC-K267"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/track/{CODE}", "/track/***"),
        (f"/track/{CODE}/answer", "/track/***/answer"),
        ("/track/anything-typed", "/track/***"),
        (f"/open311/v2/requests/{CODE}.json", "/open311/v2/requests/***.json"),
        (f"/open311/v2/requests/{CODE}.xml", "/open311/v2/requests/***.xml"),
        ("/open311/v2/requests.json", "/open311/v2/requests.json"),
        ("/track", "/track"),
        ("/nurseries/12", "/nurseries/12"),
    ],
)
def test_tracking_codes_are_masked_in_paths(path, logged):
    assert mask_path(path) == logged


def test_only_the_clients_network_is_kept():
    assert network_of("203.0.113.77") == "203.0.113.0/24"
    assert network_of("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert network_of("unix:/run/gunicorn.sock") is None and network_of(None) is None
    record = access_record("200 OK", "GET", f"/track/{CODE}", 512, 0.0123, "198.51.100.9")
    assert record["status"] == 200 and record["ms"] == 12.3
    assert CODE not in json.dumps(record) and "198.51.100.9" not in json.dumps(record)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:  # noqa: S310 - loopback only
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_gunicorn_with_the_config_logs_json_lines_without_codes_or_queries(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 's.sqlite3'}",
        "SECRET_KEY": "serving-test",
        "MAP_TILE_URL": "",
        "RATELIMIT_ENABLED": "0",
    }
    env.pop("REDIS_URL", None)
    env.pop("WEB_CONCURRENCY", None)
    flask = [str(BIN / "flask"), "--app", "app", "init-db"]
    subprocess.run(flask, cwd=ROOT, env=env, check=True, capture_output=True, timeout=120)
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(BIN / "gunicorn"), "app:app", "-w", "2", "-b", f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if _get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                time.sleep(0.2)
        assert _get(f"{base}/track/{CODE}")[0] in (200, 404)
        query = urllib.parse.urlencode({"q": "测试花园", "lat": "29.6012", "lon": "106.5234"})
        _get(f"{base}/?{query}")
        status, body = _get(base + "/readyz")
        ready = json.loads(body)
        # two workers and no Redis: the limits are counted apart, and the service says so
        assert status == 200 and "REDIS_URL" in ready["warnings"]["rate_limits"]
    finally:
        server.terminate()
        server.wait(timeout=30)
    text = log.read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines() if line.startswith('{"time"')]
    paths = [r["path"] for r in records if r["type"] == "access"]
    assert "/track/***" in paths and "/readyz" in paths
    assert CODE not in text and "29.6012" not in text and "%E6%B5%8B" not in text
    assert all(r["client_net"] == "127.0.0.0/24" for r in _records(text, "access"))
    assert "生产环境请设置 REDIS_URL" in text  # the start-up warning of each worker
    # gunicorn's own messages and the app's are JSON records too (web/logs.py)
    logs = _records(text, "log")
    assert any(r["logger"] == "gunicorn.error" and "Booting worker" in r["message"] for r in logs)
    assert any("REDIS_URL" in r["message"] and r["level"] == "warning" for r in logs)
    assert all(line.startswith('{"') for line in text.splitlines() if line.strip())


def _records(text: str, kind: str) -> list[dict]:
    return [
        r
        for r in (json.loads(line) for line in text.splitlines() if line.startswith('{"time"'))
        if r["type"] == kind
    ]


def test_log_lines_are_json_with_the_request_and_a_masked_code(sqlite_app, caplog):
    """web/logs.py: one JSON object per record: level, logger, message, the request's method
    and path with its tracking code masked, the traceback in one field."""
    import logging

    from web.logs import JsonFormatter

    formatter = JsonFormatter()
    with sqlite_app.test_request_context(f"/track/{CODE}?lat=29.6012"):
        try:
            raise ValueError("坏了")
        except ValueError:
            record = logging.getLogger("tuoyu.test").makeRecord(
                "tuoyu.test", logging.ERROR, __file__, 1, "处理 %s 失败", ("投诉",), sys.exc_info()
            )
        entry = json.loads(formatter.format(record))
    assert entry["level"] == "error" and entry["logger"] == "tuoyu.test"
    assert entry["message"] == "处理 投诉 失败" and entry["type"] == "log"
    assert entry["method"] == "GET" and entry["path"] == "/track/***"
    assert "ValueError: 坏了" in entry["exception"]
    assert CODE not in json.dumps(entry) and "29.6012" not in json.dumps(entry)
    outside = json.loads(formatter.format(logging.makeLogRecord({"msg": "启动", "name": "x"})))
    assert "path" not in outside and outside["message"] == "启动"


def test_log_format_json_routes_every_logger_through_one_json_handler(tmp_path):
    import logging

    from app import create_app
    from web.logs import JsonFormatter

    def json_handlers():
        return [h for h in logging.getLogger().handlers if isinstance(h.formatter, JsonFormatter)]

    before = logging.getLogger().level
    try:
        config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'l.sqlite3'}"}
        create_app({**config, "LOG_FORMAT": "text"})
        assert json_handlers() == []
        for _ in range(2):
            app = create_app({**config, "LOG_FORMAT": "json"})
        assert len(json_handlers()) == 1  # twice in one process: still one handler
        assert app.logger.handlers == []  # the app's records reach the root's JSON handler
    finally:
        for handler in json_handlers():
            logging.getLogger().removeHandler(handler)
        logging.getLogger().setLevel(before)
