"""The real app under gunicorn on a throwaway SQLite database, and headless Chromium to drive it.

The data is a small fixed set: the community 测试花园 at ORIGIN and nurseries at known geodesic
distances and bearings from it, loaded through the same CLI importers an operator uses.
Without Chromium (Debian's /usr/bin/chromium) or the playwright package the tests are skipped,
or fail where REQUIRE_SERVICES=1.
"""

import csv
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from pyproj import Geod

from tests.conftest import service_missing

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--lang=zh-CN",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
GEOD = Geod(ellps="WGS84")

COMMUNITY = "测试花园"
ORIGIN = (29.6, 106.52)  # lat, lon (WGS-84) of the community


@dataclass(frozen=True)
class SeedNursery:
    name: str
    bearing_deg: float
    distance_m: float
    filing_no: str | None
    lat: float = 0.0
    lon: float = 0.0


def _place(n: SeedNursery) -> SeedNursery:
    lon, lat, _ = GEOD.fwd(ORIGIN[1], ORIGIN[0], n.bearing_deg, n.distance_m)
    # The importer keeps 7 decimals; round here so expected distances match the stored points.
    return SeedNursery(
        n.name, n.bearing_deg, n.distance_m, n.filing_no, round(lat, 7), round(lon, 7)
    )


# Listed out of distance order on purpose; the unfiled one must never be shown.
NURSERIES = [
    _place(n)
    for n in (
        SeedNursery("远山托育中心", 270, 1500, "测备〔2025〕004号"),
        SeedNursery("晨光托育园", 0, 150, "测备〔2025〕001号"),
        SeedNursery("南坪宝贝屋", 180, 800, "测备〔2025〕003号"),
        SeedNursery("东篱幼儿托班", 90, 420, "测备〔2025〕002号"),
        SeedNursery("未备案看护点", 45, 60, None),
    )
]
FILED = [n for n in NURSERIES if n.filing_no]


def geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _flask(env: dict, *args: str) -> None:
    subprocess.run(
        [str(BIN / "flask"), "--app", "app", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture(scope="session")
def browser_tmp(tmp_path_factory) -> Path:
    """The session's scratch folder: the SQLite file, the seed CSVs and the gunicorn log."""
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="session")
def server_env(browser_tmp) -> dict:
    """The environment the live server runs with (DATABASE_URL of its SQLite file, …).

    Tests that need more data than the seed set load it with `flask --app app …` under a copy
    of this environment, so the CLI writes to the very database the server reads.
    """
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{browser_tmp / 'b.sqlite3'}",
        "RATELIMIT_ENABLED": "0",
        "MAP_TILE_URL": "",  # no tile requests: the closed network would refuse them anyway
        "GEOCODER": "gazetteer",
        "SECRET_KEY": "browser-test-secret",  # keeps the instance folder untouched
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    return env


@pytest.fixture(scope="session")
def live_server(browser_tmp, server_env):
    """Base URL of gunicorn serving the app on a fresh SQLite database with the seed data."""
    tmp, env = browser_tmp, server_env
    care = "全日托;计时托"
    nurseries = _write_csv(
        tmp / "nurseries.csv",
        ["name", "address", "lat", "lon", "filing_no", "kind", "care_types", "capacity"],
        [
            [n.name, f"测试路{i}号", n.lat, n.lon, n.filing_no or "", "private", care, 30]
            for i, n in enumerate(NURSERIES, start=1)
        ],
    )
    communities = _write_csv(
        tmp / "communities.csv",
        ["name", "lat", "lon", "population", "children_under_3", "street"],
        [[COMMUNITY, ORIGIN[0], ORIGIN[1], 3000, 90, "测试街道"]],
    )
    try:
        _flask(env, "init-db")
        _flask(env, "nurseries", "import", str(nurseries))
        _flask(env, "communities", "import", str(communities))
    except subprocess.CalledProcessError as exc:
        pytest.fail(f"loading the seed data failed: {exc.cmd}\n{exc.stderr.decode()}")

    port = _free_port()
    log_path = tmp / "gunicorn.log"
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "app:app", "-w", "1", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"gunicorn exited with {proc.returncode}:\n{_tail(log_path)}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer /healthz in 30 s:\n{_tail(log_path)}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium, launched by Playwright (never Playwright's own download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        service_missing(f"Chromium not installed: the playwright package is missing ({exc})")
    if not (Path(CHROMIUM).exists() and shutil.which(CHROMIUM)):
        service_missing(f"Chromium not installed: {CHROMIUM} not found (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}


def watch(page):
    """Collect on `page` uncaught script errors (`page.js_errors`) and what the browser refused
    under the Content-Security-Policy (`page.csp_violations`, from its console)."""
    page.js_errors = []
    page.csp_violations = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))

    def console(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            page.csp_violations.append(f"{page.url}: {message.text}")

    page.on("console", console)
    return page


def assert_no_csp_violation(page) -> None:
    assert page.csp_violations == [], "\n".join(page.csp_violations)


@pytest.fixture
def page(browser, live_server):
    """A fresh 360×740 phone page whose relative URLs go to the live server.

    `page.js_errors` collects uncaught script errors, for tests to assert on; any CSP violation
    on any page a test visits fails the test at the end.
    """
    context = browser.new_context(base_url=live_server, **PHONE)
    context.set_default_timeout(15_000)
    page = watch(context.new_page())
    yield page
    context.close()
    assert_no_csp_violation(page)


@pytest.fixture
def nojs_page(browser, live_server):
    context = browser.new_context(base_url=live_server, java_script_enabled=False, **PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
