"""Configuration from environment variables, each with an embedded default."""

import os
import secrets
from datetime import timedelta
from pathlib import Path


def _float(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes")


def _choice(name: str, allowed: tuple[str, ...], default: str) -> str:
    value = os.environ.get(name, default).strip().lower()
    if value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return value


def _secret_key(instance_path: str) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in the instance folder."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    path = Path(instance_path) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def _engine_options(database_url: str) -> dict:
    """A ping before each checkout guards against a database server restart; an embedded
    SQLite file needs none. A PostgreSQL server that does not answer fails the connection
    after DATABASE_CONNECT_TIMEOUT seconds (a 503, web/errors.py) instead of hanging the worker.
    Statement parameters (a complainant's phone, a child's name) never reach the logs, even
    when an operator turns SQL logging on."""
    options = {"pool_pre_ping": not database_url.startswith("sqlite"), "hide_parameters": True}
    if database_url.startswith("postgresql"):
        timeout = int(os.environ.get("DATABASE_CONNECT_TIMEOUT", "5"))
        options["connect_args"] = {"connect_timeout": timeout}
    return options


def from_environment(instance_path: str) -> dict:
    """Build the Flask config mapping; tests pass overrides on top of it."""
    default_db = "sqlite:///" + str(Path(instance_path) / "tuoyu.sqlite3")
    redis_url = os.environ.get("REDIS_URL", "")
    database_url = os.environ.get("DATABASE_URL", default_db)
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "TIMEZONE": os.environ.get("TIMEZONE", "Asia/Shanghai"),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": _engine_options(database_url),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_ENABLED": os.environ.get("RATELIMIT_ENABLED", "1") != "0",
        "RATELIMIT_HEADERS_ENABLED": True,
        # Map tiles: a URL template and the coordinate system its tiles are drawn in. Markers are
        # shifted into that system for display only; everything is stored in WGS-84.
        "MAP_TILE_URL": os.environ.get(
            "MAP_TILE_URL",
            "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
            "&x={x}&y={y}&z={z}",
        ),
        "MAP_TILE_SUBDOMAINS": os.environ.get("MAP_TILE_SUBDOMAINS", "1234"),
        "MAP_TILE_COORDSYS": os.environ.get("MAP_TILE_COORDSYS", "gcj02"),
        "MAP_TILE_ATTRIBUTION": os.environ.get("MAP_TILE_ATTRIBUTION", "© 高德地图"),
        # Service circles (GB 50180-2018 life circles) and the walking model behind "minutes".
        "CIRCLE_5MIN_M": _float("CIRCLE_5MIN_M", 300.0),
        "CIRCLE_15MIN_M": _float("CIRCLE_15MIN_M", 1000.0),
        "WALK_SPEED_KMH": _float("WALK_SPEED_KMH", 4.5),
        "DETOUR_FACTOR": _float("DETOUR_FACTOR", 1.25),
        # Network mode: a home or nursery farther than this from every walkable way is off the
        # network (reported, never walked by a detour: planning/network.py).
        "WALK_MAX_SNAP_M": _float("WALK_MAX_SNAP_M", 200.0),
        # A GeoTIFF of terrain heights for `maps load-network` (slopes by Tobler), or none.
        "WALK_DEM_FILE": os.environ.get("WALK_DEM_FILE") or None,
        # "gazetteer" (local, default) or "geopy:<GeocoderClass>" with GEOCODER_OPTIONS as JSON.
        "GEOCODER": os.environ.get("GEOCODER", "gazetteer"),
        "GEOCODER_OPTIONS": os.environ.get("GEOCODER_OPTIONS", "{}"),
        "DEMO_NOTICE": os.environ.get(
            "DEMO_NOTICE",
            "演示站点：所有托育机构、小区和账号均为虚构数据（渝星区），不代表真实机构。",
        ),
        # Bookings (入托网上约).
        "BOOKING_HORIZON_DAYS": int(os.environ.get("BOOKING_HORIZON_DAYS", "90")),
        "TEMPORARY_MAX_DAYS": int(os.environ.get("TEMPORARY_MAX_DAYS", "15")),
        "NURSERY_RESPONSE_WORKING_DAYS": int(os.environ.get("NURSERY_RESPONSE_WORKING_DAYS", "3")),
        "OFFER_HOLD_HOURS": int(os.environ.get("OFFER_HOLD_HOURS", "48")),
        "CONSENT_RULES_VERSION": os.environ.get("CONSENT_RULES_VERSION", "2026-11"),
        # Children's data: kept this many days after the child's third birthday, then
        # anonymised by `flask --app app privacy purge` (cron, daily).
        "CHILD_DATA_RETENTION_DAYS": int(os.environ.get("CHILD_DATA_RETENTION_DAYS", "365")),
        # Complaints: look-ups by tracking code (page, answer/rate forms, Open311) share one
        # limit per address, so codes cannot be guessed; filing is limited too.
        "COMPLAINT_LOOKUP_LIMIT": os.environ.get(
            "COMPLAINT_LOOKUP_LIMIT", "30 per minute;300 per hour"
        ),
        "COMPLAINT_FILE_LIMIT": os.environ.get("COMPLAINT_FILE_LIMIT", "10 per minute;60 per hour"),
        # The district boundary (GeoJSON polygon, WGS-84): imports refuse points outside it.
        "DISTRICT_BOUNDARY": os.environ.get("DISTRICT_BOUNDARY", ""),
        # District planning: the targets file (DESIGN §3.5; default planning/targets.json).
        "PLANNING_TARGETS": os.environ.get("PLANNING_TARGETS", ""),
        # Idempotency-Key answers are replayed for this long, then purged (`privacy purge`).
        "IDEMPOTENCY_HOURS": int(os.environ.get("IDEMPOTENCY_HOURS", "24")),
        # "json": the application's log lines as JSON objects (web/logs.py; gunicorn.conf.py sets
        # it when serving), else Flask's plain text.
        "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text"),
        # Where search, circles and coverage run: "index" (each process's in-memory KD-tree,
        # the default) or "postgis" (the database, PostgreSQL with PostGIS: maps/postgis.py).
        "SPATIAL_BACKEND": _choice("SPATIAL_BACKEND", ("index", "postgis"), "index"),
        # Online filing (备案): the commission decides within this many working days of a
        # (re)submission (the seeds set no period: our default); issued numbers read
        # <prefix>〔<year>〕<seq>号; a minimum floor area per place (0: none, the seeds set none).
        "FILING_REVIEW_WORKDAYS": int(os.environ.get("FILING_REVIEW_WORKDAYS", "20")),
        "FILING_NO_PREFIX": os.environ.get("FILING_NO_PREFIX", "卫托备"),
        "FILING_MIN_FLOOR_M2_PER_PLACE": _float("FILING_MIN_FLOOR_M2_PER_PLACE", 0.0),
        # Policy look-up: the district this service runs for, as a region path (docs/policies.md);
        # its nurseries and its operating subsidies are matched against the policies of it.
        "POLICY_DISTRICT": os.environ.get("POLICY_DISTRICT", "重庆市/渝星区"),
        "API_TOKEN_DAYS": int(os.environ.get("API_TOKEN_DAYS", "30")),
        # Sessions (docs/security.md): cookies are HttpOnly and SameSite=Lax always, Secure when
        # SESSION_COOKIE_SECURE=1 (set it whenever the site is served over HTTPS); a session ends
        # after SESSION_IDLE_MINUTES without a request and SESSION_MAX_HOURS after login.
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", False),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE", False),
        "SESSION_IDLE_MINUTES": int(os.environ.get("SESSION_IDLE_MINUTES", "60")),
        "SESSION_MAX_HOURS": int(os.environ.get("SESSION_MAX_HOURS", "12")),
        "PERMANENT_SESSION_LIFETIME": timedelta(
            minutes=int(os.environ.get("SESSION_IDLE_MINUTES", "60"))
        ),
        "PASSWORD_HASH_METHOD": os.environ.get("PASSWORD_HASH_METHOD", "scrypt"),
        # Behind a reverse proxy (nginx, a load balancer) that sets X-Forwarded-For/-Proto/-Host:
        # the number of proxies to trust, so the client address (rate limits) and HTTPS (HSTS,
        # Secure cookies) are read from their headers. 0 (default): served directly.
        "TRUST_PROXY_HOPS": int(os.environ.get("TRUST_PROXY_HOPS", "0")),
        "HSTS_SECONDS": int(os.environ.get("HSTS_SECONDS", "31536000")),
        # Password guessing: per client address on the login page and the token endpoint, and
        # per username whatever the address; registration and password change likewise.
        "LOGIN_LIMIT": os.environ.get("LOGIN_LIMIT", "20 per minute"),
        "LOGIN_USERNAME_LIMIT": os.environ.get(
            "LOGIN_USERNAME_LIMIT", "30 per minute;100 per hour"
        ),
        "REGISTER_LIMIT": os.environ.get("REGISTER_LIMIT", "20 per minute;100 per hour"),
        "PASSWORD_CHANGE_LIMIT": os.environ.get("PASSWORD_CHANGE_LIMIT", "10 per minute"),
        "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,  # three 5 MB photos and the form
        "WTF_CSRF_TIME_LIMIT": None,
    }
