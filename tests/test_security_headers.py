"""Security headers on every response, no inline script anywhere, HSTS only over HTTPS, and
CSRF on every state-changing form."""

import re
from pathlib import Path

import pytest

from web.security import content_security_policy, tile_source

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
AUTONAVI = (
    "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8"
    "&x={x}&y={y}&z={z}"
)


def _directives(policy: str) -> dict[str, list[str]]:
    return {
        name: values
        for name, *values in (part.split() for part in policy.split(";") if part.strip())
    }


@pytest.mark.parametrize(
    "path",
    ["/", "/check", "/login", "/register", "/complaints/new", "/track", "/healthz",
     "/no-such-page", "/static/css/site.css", "/api/v1/openapi.json",
     "/api/v1/nurseries?lat=29.6&lon=106.5", "/open311/v2/services.json"],
)  # fmt: skip
def test_every_response_carries_the_security_headers(client, path):
    r = client.get(path)
    assert r.status_code < 500
    policy = _directives(r.headers["Content-Security-Policy"])
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    # same-origin by default; pages showing a tracking code set the stricter no-referrer
    assert r.headers["Referrer-Policy"] in ("same-origin", "no-referrer")
    assert "Strict-Transport-Security" not in r.headers  # plain http


def test_the_policy_allows_no_inline_script_nor_eval(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "*" not in policy  # the tests run without a tile host


def test_map_tiles_are_allowed_from_the_configured_host_only():
    assert tile_source(AUTONAVI) == "https://*.is.autonavi.com"
    assert tile_source("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png") == (
        "https://*.tile.openstreetmap.org"
    )
    assert tile_source("https://tiles.example.cn/{z}/{x}/{y}.png") == "https://tiles.example.cn"
    assert tile_source("/tiles/{z}/{x}/{y}.png") is None  # same site: 'self' covers it
    assert tile_source("") is None
    images = _directives(content_security_policy(AUTONAVI))["img-src"]
    assert images == ["'self'", "data:", "https://*.is.autonavi.com"]
    assert "autonavi" not in content_security_policy("").split("img-src")[1]


def test_pages_use_the_configured_tile_host(app):
    app.config["MAP_TILE_URL"] = AUTONAVI
    policy = _directives(app.test_client().get("/").headers["Content-Security-Policy"])
    assert "https://*.is.autonavi.com" in policy["img-src"]
    assert "https://*.is.autonavi.com" not in policy["script-src"]


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://tuoyu.example.cn")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_behind_a_trusted_proxy_https_is_read_from_x_forwarded_proto(tmp_path):
    from app import create_app

    def make(hops):
        return create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "t",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/p{hops}.sqlite3",
                "TRUST_PROXY_HOPS": hops,
            }
        ).test_client()

    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    assert "Strict-Transport-Security" in make(1).get("/healthz", headers=forwarded).headers
    # Without the switch a client cannot claim HTTPS (or another address) by a header.
    assert "Strict-Transport-Security" not in make(0).get("/healthz", headers=forwarded).headers


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>")
EVENT_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_templates_have_no_inline_script_handlers_or_javascript_urls(template):
    html = template.read_text(encoding="utf-8")
    assert not INLINE_SCRIPT.search(html), "move the script into static/js/"
    assert not EVENT_HANDLER.search(html), "attach the handler from a static script"
    assert "javascript:" not in html.lower()
    assert not re.search(r"\sstyle=", html), "style attributes are refused by style-src 'self'"
    assert "<style" not in html


def test_the_inline_script_check_can_fail():
    assert INLINE_SCRIPT.search("<script>alert(1)</script>")
    assert not INLINE_SCRIPT.search('<script src="/static/js/map.js"></script>')
    assert not INLINE_SCRIPT.search('<script type="application/json" id="d">{}</script>')
    assert EVENT_HANDLER.search('<button onclick="x()">')


def _fill(rule) -> str:
    values = {name: 1 if type(conv).__name__ != "UnicodeConverter" else "x"
              for name, conv in rule._converters.items()}  # fmt: skip
    values = {k: ("x/y" if type(rule._converters[k]).__name__ == "PathConverter" else v)
              for k, v in values.items()}  # fmt: skip
    return rule.build(values, append_unknown=False)[1]


def test_every_state_changing_page_refuses_a_post_without_csrf_token(app):
    """CSRFProtect is global: every POST/PUT/PATCH/DELETE route outside the token API and
    Open311 answers 400 without a token, before any login or role check."""
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        methods = rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
        if not methods or rule.endpoint.split(".")[0] in ("api", "open311"):
            continue
        url = _fill(rule)
        for method in methods:
            r = client.open(url, method=method, data={"x": "1"})
            assert r.status_code == 400, (method, url, r.status_code)
            assert "安全令牌" in r.get_data(as_text=True)
            checked += 1
    assert checked >= 20  # the app has dozens of forms; an empty loop proves nothing
