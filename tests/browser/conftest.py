"""A live server + headless Chromium for browser tests (reusable by every area).

Fixtures: `browser` (one Chromium per session), `page` (a fresh context per test, sized for
the admin UI), `live_site` (the live server with SITE_URL pointed at it and the role groups
present), `login(page, user)` and `artifacts_dir` (tests/browser/artifacts, git-ignored).

Chromium is /usr/bin/chromium (or $PM_CHROMIUM). Without it the tests are skipped with a
message — unless PM_REQUIRE_BROWSER=1 (CI), where a missing browser is a failure."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Playwright's sync API keeps an asyncio loop on the test thread; the ORM calls made by the
# test itself (factories) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Imported, not listed in pytest_plugins: pytest only allows that in the top-level conftest.
from tests.composer_fixtures import media_root  # noqa: E402, F401

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS_DIR = Path(__file__).parent / "artifacts"
PASSWORD = "pass-for-tests"


def _chromium_path() -> str | None:
    candidate = os.environ.get("PM_CHROMIUM") or "/usr/bin/chromium"
    if Path(candidate).exists():
        return candidate
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _unavailable(reason: str) -> None:
    if os.environ.get("PM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Browser tests are required (PM_REQUIRE_BROWSER=1) but {reason}")
    pytest.skip(f"Browser tests skipped: {reason} (install chromium or set PM_CHROMIUM)")


# One Chromium per test module: Playwright's sync API keeps an event loop running on this
# thread while it is open, which later (non-browser) tests must not inherit.
@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    path = _chromium_path()
    if path is None:
        _unavailable("no Chromium was found at /usr/bin/chromium or on PATH")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1500, "height": 1100})
    context.set_default_timeout(10_000)
    new_page = context.new_page()
    yield new_page
    context.close()


@pytest.fixture
def live_site(live_server, settings):
    """The live server, with SITE_URL (absolute image URLs) pointing at it."""
    from django.contrib.auth.models import Group

    from pushmarketing.core.roles import Role

    settings.SITE_URL = live_server.url
    # transactional_db flushes tables between tests, including the groups the roles migration made.
    for role in Role.values:
        Group.objects.get_or_create(name=role)
    return live_server


@pytest.fixture
def login(live_site) -> Callable[[object, object], None]:
    def do_login(page, user) -> None:
        page.goto(f"{live_site.url}/login/")
        page.fill("input[name=username]", user.get_username())
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_load_state("networkidle")

    return do_login


@pytest.fixture
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR
