"""The Content-Security-Policy in a real browser: every main page loads its scripts, styles and
map without one refused resource, and an inline script is refused (so the check can fail).

The `page` fixture fails a test on any CSP violation its console reports; these tests visit the
main pages on purpose, logged out and as a parent.
"""

import re
import subprocess

import pytest

from .conftest import BIN, COMMUNITY, ROOT

pytestmark = pytest.mark.browser

PARENT, PASSWORD = "csp_parent", "csp-browser-pass-1"


@pytest.fixture(scope="module")
def parent(live_server, server_env) -> str:
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", "users", "create", "--role", "parent",
         "--username", PARENT, "--password", PASSWORD],
        cwd=ROOT, env=server_env, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    return PARENT


def visit(page, path: str) -> None:
    response = page.goto(path)
    assert response.status == 200, path
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    page.wait_for_load_state("load")
    assert page.js_errors == [], (path, page.js_errors)
    assert page.csp_violations == [], page.csp_violations


def first_nursery_path(page) -> str:
    page.goto(f"/?q={COMMUNITY}")
    href = page.locator("#results li.result a.name").first.get_attribute("href")
    assert re.fullmatch(r"/nurseries/\d+", href), href
    return href


def test_public_pages_load_without_a_csp_violation(page):
    for path in ("/", f"/?q={COMMUNITY}", f"/check?q={COMMUNITY}", "/complaints/new", "/track",
                 "/login", "/register"):  # fmt: skip
        visit(page, path)
    visit(page, first_nursery_path(page))
    assert page.locator("#map .leaflet-container, #map.leaflet-container").count() == 1


def test_a_parents_pages_load_without_a_csp_violation(page, parent):
    page.goto("/login")
    page.get_by_label("用户名").fill(parent)
    page.get_by_label("密码").fill(PASSWORD)
    with page.expect_navigation():
        page.locator("main form button[type=submit]").click()
    nursery = first_nursery_path(page)
    for path in ("/children", "/children/new", "/bookings", "/inbox", "/account/password",
                 f"{nursery}/book"):  # fmt: skip
        visit(page, path)


def test_an_inline_script_is_refused_and_reported(page):
    """The watch can fail: a script element without src never runs and is reported."""
    visit(page, "/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.inlineRan = true"; document.body.appendChild(s); }"""
    )
    page.wait_for_timeout(200)
    assert page.evaluate("() => window.inlineRan === true") is False
    assert any("inline script" in v for v in page.csp_violations), page.csp_violations
    page.csp_violations.clear()  # expected here; the fixture checks the rest
