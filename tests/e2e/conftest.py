"""The end-to-end suite: the real app served on a loopback port, driven by Chromium.

One server runs for the whole session, on a fresh store (SQLite in a temporary folder, or a new
schema on the PostgreSQL server named by EDITORIAL_TEST_DATABASE_URL) holding a copy of the
sample site and two people with known passwords. Each test gets its own browser context, so
cookies never leak from one journey into another.

Without Chromium at /usr/bin/chromium (or the `playwright` package) the suite skips and says how
to run it; with EDITORIAL_REQUIRE_E2E=1 a missing browser fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

try:
    import playwright.sync_api  # noqa: F401
except ImportError:
    # A stand-in so that the journeys' imports succeed and each test skips (or, when the run
    # requires the suite, fails) with directions, instead of an error at collection.
    import types

    _stand_in = types.ModuleType("playwright.sync_api")
    _stand_in.__getattr__ = lambda name: None  # type: ignore[method-assign]
    sys.modules.setdefault("playwright", types.ModuleType("playwright"))
    sys.modules["playwright.sync_api"] = _stand_in
    PLAYWRIGHT = False
else:
    PLAYWRIGHT = True

from storekit import pg_schema

from editorial.auth import create_user
from editorial.db import make_engine, session_scope, upgrade
from editorial.ingest import ingest

from .world import EDITOR, EXPERT, PAGE_CACHE_SECONDS, Live, editorial_script

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Playwright

E2E = Path(__file__).resolve().parent
REPO = E2E.parent.parent
CHROMIUM = Path(os.environ.get("EDITORIAL_CHROMIUM", "/usr/bin/chromium"))
AXE = E2E / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(os.environ.get("EDITORIAL_SCREENSHOTS", REPO / "e2e-screenshots"))
HOW_TO_RUN = (
    "To run the browser suite: `apt-get install -y chromium` (Debian's Chromium at "
    "/usr/bin/chromium), `pip install -e '.[e2e]'`, `npm install --prefix tests/e2e`, then "
    "`pytest tests/e2e`. Set EDITORIAL_REQUIRE_E2E=1 to make a missing browser fail the run."
)
PG_URL = os.environ.get("EDITORIAL_TEST_DATABASE_URL")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark this folder's tests `e2e`, and leave them out of a run that did not ask for them.

    A plain `pytest` (the README's test command) stays fast and independent of a browser: the
    suite runs when its folder is named (`pytest tests/e2e`) or `-m e2e` is given.
    """
    mine = [item for item in items if E2E in Path(str(item.path)).parents]
    for item in mine:
        item.add_marker(pytest.mark.e2e)
    named = any(p == E2E or E2E in p.parents for p in map(_arg_path, config.args))
    if named or config.getoption("markexpr"):
        return
    config.hook.pytest_deselected(items=mine)
    items[:] = [item for item in items if item not in set(mine)]


def _arg_path(arg: str) -> Path:
    return Path(arg.split("::")[0]).resolve()


def _missing(reason: str) -> None:
    """Skip with directions, or fail when the run requires the browser suite."""
    message = f"{reason}. {HOW_TO_RUN}"
    if os.environ.get("EDITORIAL_REQUIRE_E2E") == "1":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def database_url_e2e() -> Iterator[str]:
    """A store that exists for this session only."""
    tmp = Path(os.environ.get("TMPDIR", "/tmp"))
    if not PG_URL:
        folder = tmp / f"editorial-e2e-{uuid.uuid4().hex[:8]}"
        folder.mkdir()
        yield f"sqlite:///{folder / 'editorial.db'}"
        shutil.rmtree(folder, ignore_errors=True)
        return
    with pg_schema("e2e") as url:
        yield url


def _prepare_store(database_url: str, content_dir: Path) -> None:
    """Schema, the sample site, and one editor and one expert."""
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        report = ingest(engine, content_dir, workers=1)
        assert not report.errors, report.errors
        with session_scope(engine) as session:
            for person in (EDITOR, EXPERT):
                create_user(session, person.name, person.email, person.role, person.password)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory, database_url_e2e: str) -> Iterator[Live]:
    """`editorial serve` on a free loopback port, stopped when the session ends."""
    root = tmp_path_factory.mktemp("live")
    content_dir = root / "content"
    shutil.copytree(REPO / "content", content_dir)
    _prepare_store(database_url_e2e, content_dir)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDITORIAL_")}
    env |= {
        "EDITORIAL_DATABASE_URL": database_url_e2e,
        "EDITORIAL_CONTENT_DIR": str(content_dir),
        "EDITORIAL_THEMES_DIR": str(REPO / "themes"),
        "EDITORIAL_INGEST_WORKERS": "1",
        "EDITORIAL_PAGE_CACHE_SECONDS": str(PAGE_CACHE_SECONDS),
        "EDITORIAL_SECRET_KEY": "e2e-" + uuid.uuid4().hex,
    }
    log = root / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(editorial_script()), "serve", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(server, url, log)
        yield Live(url, env, content_dir, database_url_e2e, log)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _wait_until_healthy(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    for _ in range(120):
        if server.poll() is not None:
            pytest.fail(f"editorial serve exited ({server.returncode}):\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    pytest.fail(f"editorial serve did not answer /healthz:\n{log.read_text()}")


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's driver, when the package and the browser it drives are installed."""
    if not CHROMIUM.exists():
        _missing(f"No Chromium at {CHROMIUM}")
    if not PLAYWRIGHT:
        _missing("The playwright package is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright's own browser download is not used."""
    browser = playwright_driver.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
    )
    yield browser
    browser.close()


@pytest.fixture
def context(browser: Browser, live: Live) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) at desktop width, pointed at the live server."""
    context = browser.new_context(base_url=live.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    """A tab in this test's browser profile."""
    return context.new_page()


@pytest.fixture
def new_context(browser: Browser, live: Live) -> Iterator[Any]:
    """A factory of further browser profiles (another person, JavaScript off, a phone)."""
    made: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("viewport", {"width": 1280, "height": 900})
        context = browser.new_context(base_url=live.url, **options)
        context.set_default_timeout(10_000)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The folder screenshots are written to (kept by .ci/run)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {SCREENSHOTS}")
    return SCREENSHOTS


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core, installed from the npm registry by `npm install --prefix tests/e2e`."""
    if not AXE.exists():
        _missing(f"axe-core is not installed at {AXE}")
    return AXE


@pytest.fixture
def accessible(axe_script: Path) -> Any:
    """A check to call on a page in an interesting state: no serious or critical violation."""
    from .steps import assert_accessible

    return lambda page: assert_accessible(page, axe_script)
