"""Chromium from Debian's packages, driven by Playwright, against the real system.
Screenshots of every step land in artifacts/browser/. Every page a test reaches is
audited with axe-core (tests/browser/audit.py): a test whose pages have any WCAG A/AA
violation fails at its teardown, with the violations listed."""

import asyncio
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from tests.browser.audit import Auditor
from tests.browser.screens import ARTIFACTS, REFRESHING, SCREENS
from tests.stack import running_system

CHROMIUM = "/usr/bin/chromium"
# how long an `expect` waits for the page to come right: Playwright's 5 s is short
# on a loaded CI host, where the browser jobs ran five times slower than on a quiet
# one (514 s against 98 s on 2026-12-07) and one wait for a page after a form's
# post ran out; a passing expectation does not wait any longer for it
expect.set_options(timeout=20_000)
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


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole system as real processes, as for the end-to-end tests but not
    observed: the consoles need no metrics pages, and a Prometheus scraping every
    process each second (every service sampling its tables each second for it)
    doubled an idle system's CPU (0.084 of a core against 0.040)."""
    var = Path(tmp_path_factory.mktemp("var"))
    with running_system(var, prefix="browser") as system:
        yield system


class AuditedBrowser:
    """The browser as the tests use it, except that every page of every context they
    open is audited after each load (see tests/browser/audit.py)."""

    def __init__(self, browser: Browser, auditor: Auditor) -> None:
        self._browser, self.auditor = browser, auditor

    def new_context(self, **options: Any) -> Any:
        context = self._browser.new_context(**options)
        context.on("page", self.auditor.watch)
        return context

    def new_page(self, **options: Any) -> Any:
        return self.new_context(**options).new_page()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def audited() -> Iterator[dict[str, Any]]:
    """What the session audited: (route, language, width, state) once each."""
    record: dict[str, Any] = {"done": set(), "seconds": 0.0}
    yield record
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe.json").write_text(
        json.dumps(
            {"seconds": round(record["seconds"], 1), "audited": sorted(record["done"])},
            indent=1,
        )
    )


@pytest.fixture(scope="module")
def browser(audited: dict[str, Any]) -> Iterator[Any]:
    assert Path(CHROMIUM).exists(), "chromium is not installed: run `make test`"
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
    auditor = Auditor(browser, done=audited["done"])
    yield AuditedBrowser(browser, auditor)
    audited["seconds"] += auditor.seconds
    auditor.close()
    browser.close()
    # No `playwright.stop()`: it awaits the driver's exit through asyncio's child
    # watcher, which the eventlet monkey patch of tests/conftest.py leaves waiting
    # forever. The driver exits by itself when this process closes its pipe. Its
    # event loop, suspended in a greenlet, still counts as running: forget it, or
    # later tests that start their own loop (aiosmtpd) are refused.
    asyncio.events._set_running_loop(None)


@pytest.fixture(autouse=True)
def accessible(browser: AuditedBrowser) -> Iterator[None]:
    """Fails the test whose pages axe found a WCAG A/AA violation in."""
    browser.auditor.violations.clear()
    yield
    browser.auditor.settle()
    found = list(browser.auditor.violations)
    browser.auditor.violations.clear()
    assert not found, "accessibility violations (axe-core):\n" + "\n".join(found)


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Any:
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    taken: list[Path] = []

    def shot(page: Any, name: str) -> None:
        path = folder / f"{len(taken) + 1:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
        if REFRESHING and (SCREENS / f"{name}.png").exists():  # the README's
            shutil.copyfile(path, SCREENS / f"{name}.png")

    shot.taken = taken  # type: ignore[attr-defined]
    return shot
