"""Chromium from Debian's packages, driven by Playwright, against the real system.
Screenshots of every step land in artifacts/browser/."""

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.conftest import ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "artifacts" / "browser"
# the flags a closed network needs: no background calls home, no updates, no sync
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    assert Path(CHROMIUM).exists(), "chromium is not installed: run `make test`"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    yield browser
    browser.close()
    # No `playwright.stop()`: it awaits the driver's exit through asyncio's child
    # watcher, which the eventlet monkey patch of tests/conftest.py leaves waiting
    # forever. The driver exits by itself when this process closes its pipe. Its
    # event loop, suspended in a greenlet, still counts as running: forget it, or
    # later tests that start their own loop (aiosmtpd) are refused.
    asyncio.events._set_running_loop(None)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Any:
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []

    def shot(page: Any, name: str) -> None:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)

    shot.taken = taken  # type: ignore[attr-defined]
    return shot
