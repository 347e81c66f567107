"""gunicorn's settings for this service (`gunicorn app:app` reads this file from the working
directory; `make run` and production use it; flags on the command line override it).

- Workers: WEB_CONCURRENCY if set, else 2 × cores + 1 (at most 8) when rate limits are kept in
  Redis (REDIS_URL). Without Redis every worker would count the limits apart, so one worker
  serves — with GUNICORN_THREADS threads (`make run` sets 4), so the limits hold and requests
  still run side by side. The number of workers is exported (WEB_CONCURRENCY) for the app,
  whose /readyz and start-up log warn when several workers count limits in memory.
- Timeouts: a request is cut after 60 s (the import runs from the command line, not the web);
  on SIGTERM workers finish their requests for up to 30 s (graceful shutdown), keep-alive 5 s
  behind a reverse proxy.
- Logs: JSON lines without personal data: the access log on stdout (web/access_log.py),
  gunicorn's and the application's messages on stderr (web/logs.py; LOG_FORMAT defaults to
  json here).
"""

import multiprocessing
import os

bind = os.environ.get(
    "GUNICORN_BIND", f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
)


def _workers() -> int:
    if os.environ.get("WEB_CONCURRENCY"):
        return max(1, int(os.environ["WEB_CONCURRENCY"]))
    if os.environ.get("REDIS_URL"):
        return min(2 * multiprocessing.cpu_count() + 1, 8)
    return 1


os.environ.setdefault("LOG_FORMAT", "json")  # read by the app in each worker (web/logs.py)
workers = _workers()
threads = max(1, int(os.environ.get("GUNICORN_THREADS", "1")))
timeout = 60
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
logger_class = "web.access_log.AccessLogger"


def on_starting(server):
    """Tell the app (loaded in each worker, after this) how many workers serve: `-w` on the
    command line included."""
    os.environ["WEB_CONCURRENCY"] = str(server.cfg.workers)
