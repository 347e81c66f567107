"""Security headers on every response, the proxy switch, and CSRF on cookie-borne API calls.

- Content-Security-Policy: scripts and styles from this site only (no inline script: pages pass
  data in data-* attributes or <script type="application/json"> blocks, which never execute),
  images from this site, data: URIs and the map tile host of MAP_TILE_URL.
- HSTS only on a request that came over HTTPS (behind a proxy: TRUST_PROXY_HOPS, see below).
- The JSON API is exempt from CSRFProtect because its clients authenticate with bearer tokens;
  a state-changing API request that carries a logged-in session cookie and no bearer token must
  bring a CSRF token like a form would (a page's cookies never authorise a cross-site request).
"""

from functools import lru_cache
from urllib.parse import urlsplit

from flask import Flask, current_app, request, session
from werkzeug.middleware.proxy_fix import ProxyFix

from extensions import csrf

SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def tile_source(url_template: str) -> str | None:
    """The CSP source that allows the tiles of a Leaflet URL template, or None (same site).

    `https://webrd0{s}.is.autonavi.com/…` → `https://*.is.autonavi.com`: a placeholder in the
    first label of the host becomes CSP's subdomain wildcard; elsewhere it cannot be expressed,
    and the scheme and the rest of the host are allowed.
    """
    parts = urlsplit(url_template or "")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    host = parts.netloc.rsplit("@", 1)[-1]
    labels = host.split(".")
    if "{" in labels[0]:
        labels[0] = "*"
    if any("{" in label for label in labels):
        return f"{parts.scheme}:"
    return f"{parts.scheme}://{'.'.join(labels)}"


@lru_cache(maxsize=8)
def content_security_policy(tile_url: str) -> str:
    """The policy of every page, given the map tile URL template."""
    images = ["'self'", "data:"]
    tiles = tile_source(tile_url)
    if tiles:
        images.append(tiles)
    directives = {
        "default-src": "'self'",
        "script-src": "'self'",
        "style-src": "'self'",
        "img-src": " ".join(images),
        "connect-src": "'self'",
        "font-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def _set_headers(response):
    config = current_app.config
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy(config["MAP_TILE_URL"]))
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure and config["HSTS_SECONDS"] > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={config['HSTS_SECONDS']}")
    return response


def _cookie_authenticated() -> bool:
    """The request carries a logged-in session (or a remember cookie) but no bearer token."""
    if request.headers.get("Authorization", "").lower().startswith("bearer "):
        return False
    remember = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    return "_user_id" in session or remember in request.cookies


def csrf_for_cookie_api_calls() -> None:
    """Before each API request (api/__init__.py): CSRF for cookie-borne state changes."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return  # switched off, as for the forms (tests of plain form posts)
    if request.method not in SAFE_METHODS and _cookie_authenticated():
        csrf.protect()  # 400 without a valid token (JSON error under /api)


def init_app(app: Flask) -> None:
    """Install the headers and the proxy switch on `app`."""
    hops = app.config["TRUST_PROXY_HOPS"]
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.after_request(_set_headers)
