"""A live server on a real port and Debian's Chromium driven by Playwright, for page tests."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from chengyun.adapters.clock import ManualClock
from chengyun.api.app import create_app
from chengyun.bootstrap import Center, build
from chengyun.domain.access import Role
from chengyun.settings import Settings
from liveserver import serving
from street import STREET, T0, load_street

CHROMIUM = "/usr/bin/chromium"


@dataclass
class LiveServer:
    url: str
    center: Center
    clock: ManualClock
    token: str
    stop: Callable[[], None]  # stops the server now (it stops at the test's end anyway)


@pytest.fixture
def live_server(sqlite_template: Path, tmp_path: Path) -> Iterator[LiveServer]:
    target = tmp_path / "e2e.db"
    shutil.copyfile(sqlite_template, target)
    clock = ManualClock(T0)
    center = build(Settings(database_url=f"sqlite:///{target}", run_worker=False), clock=clock, migrate=False)
    load_street(center)
    token, _ = center.auth.issue(Role.DIRECTOR, [STREET], staff_id="D1")
    with ExitStack() as stack:
        url = stack.enter_context(serving(create_app(center)))
        yield LiveServer(url, center, clock, token, stack.close)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"page tests need Debian's chromium at {CHROMIUM} (apt-get install chromium fonts-noto-cjk)"
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server: LiveServer) -> Iterator[Page]:
    """A fresh browser context per test, closed before the server stops (no live feed left open)."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    yield page
    context.close()
