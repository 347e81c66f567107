"""gunicorn's access log as JSON lines without personal data (gunicorn.conf.py uses it).

A line is what an operator needs — time, method, path, status, size, duration, worker — and
nothing that identifies a person or opens a case: no query string (searches carry a home's
position, look-ups a name), no referrer, the client address cut to its network (/24, /48), and
tracking codes (投诉举报马上查) masked wherever a path carries one (`/track/<code>…`,
`/open311/v2/requests/<code>.json`): whoever reads the log must not be able to read the case.
"""

import ipaddress
import json
import re
import time

from gunicorn.glogging import Logger

MASK = "***"
# Paths whose segment after the prefix is a tracking code (any text there is masked: a mistyped
# code is as private as a right one).
CODE_PATHS = [
    (re.compile(r"^(/track/)[^/]+"), r"\g<1>" + MASK),
    (re.compile(r"^(/open311/v2/requests/)(?!requests\.)[^/]+?(\.(json|xml))?$"), r"\g<1>***\g<2>"),
]


def mask_path(path: str) -> str:
    """The path with any tracking code replaced by ***."""
    for pattern, replacement in CODE_PATHS:
        path = pattern.sub(replacement, path)
    return path


def network_of(address: str | None) -> str | None:
    """The client's network (IPv4 /24, IPv6 /48), not the person's address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return None  # a unix socket or a proxy's placeholder
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def access_record(status: str, method: str, path: str, size, seconds: float, remote) -> dict:
    return {
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "type": "access",
        "method": method,
        "path": mask_path(path),
        "status": int(str(status).split()[0]) if status else None,
        "bytes": size,
        "ms": round(seconds * 1000, 1),
        "client_net": network_of(remote),
    }


class AccessLogger(Logger):
    """Writes each access as one JSON object per line (gunicorn's `access()` hook), and
    gunicorn's own messages (workers booting, timeouts, errors) as JSON too."""

    def setup(self, cfg):
        from .logs import JsonFormatter  # web.logs imports this module's mask_path

        super().setup(cfg)
        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        record = access_record(
            getattr(resp, "status", None),
            environ.get("REQUEST_METHOD", ""),
            environ.get("PATH_INFO", ""),
            getattr(resp, "sent", None),
            request_time.total_seconds(),
            environ.get("REMOTE_ADDR"),
        )
        self.access_log.info(json.dumps(record, ensure_ascii=False))
