"""The accessibility audit every browser test runs without asking: axe-core (vendored in
tests/browser/axe/, see its README) on every console page the tests reach, in Russian
and English, at a phone's width (360 px) and a desktop's, failing on any WCAG 2.x A/AA
violation (WCAG 2.2 AA included).

How: each page a test opens gets a `load` listener. On every load of a document the
listener takes the page's HTML as the test sees it (its DOM, whatever the test typed or
the server refused) and replays it, byte for byte, in a page of a separate context with
JavaScript enabled (the tests' own contexts often run with JavaScript off, as Tor
Browser's safest level does, and axe is JavaScript), where the real stylesheet loads
from the real gateway; axe runs there at both widths. The other language is a fresh GET
of the same address in that context with the test's cookies and the other `lang`
cookie (only after a GET: a form's answer is not posted twice, and the few GETs that
change something are never asked again, see REPLAY_UNSAFE). Nothing of this touches the
test's own page or context.

Each (page, language, width, with or without an error shown) is audited once per test
session: the page is the template the gateway drew (`data-page` on <body>) at an address
of a declared console route, so a page seen in ten tests costs one audit."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

AXE = Path(__file__).parent / "axe" / "axe.min.js"
# axe-core's tags for WCAG 2.0, 2.1 and 2.2, levels A and AA
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
WIDTHS = {
    "phone": {"width": 360, "height": 740},
    "desktop": {"width": 1280, "height": 900},
}
LANGUAGES = ("ru", "en")
# GET routes that do something when asked (a new second-factor secret, a one-time
# link): audited as the test saw them, never fetched again in the other language
REPLAY_UNSAFE = frozenset({"/me/payouts", "/reset-password/<token>", "/enroll"})
LANG = re.compile(r'<html[^>]*\slang="(\w+)"')
PAGE = re.compile(r'<body[^>]*\sdata-page="([\w-]+)"')
# axe in a race with a clock: a run that never answers fails the test, not the job
RUN = (
    "Promise.race([axe.run(document, {runOnly: {type: 'tag', values: %s},"
    " resultTypes: ['violations']}), new Promise((_, no) => setTimeout("
    "() => no(new Error('axe gave no answer in 60 s')), 60000))])"
)
SETTLE_SECONDS = 120.0
# at a desktop's width, the words of table cells that the browser broke across two
# lines (a column squeezed narrower than its longest word: "Amoun / t"); a break
# after a hyphen or a slash is a place words may break, so those parts count apart
BROKEN_WORDS = """() => {
  const broken = [];
  for (const cell of document.querySelectorAll('th, td')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.data.matchAll(/[^\\s\\-\\u2010-\\u2015\\/]+/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) broken.push(word[0]);
      }
    }
  }
  return broken;
}"""


def route_map() -> Map:
    import gateway.service  # noqa: F401  (declares the routes)
    from gateway.http import ROUTES

    rules = [
        Rule(route.path, methods=[route.method], endpoint=route.path)
        for route in ROUTES
        if route.kind == "page"
    ]
    return Map(rules, strict_slashes=False)


@dataclass
class Auditor:
    browser: Any
    done: set[tuple[str, ...]] = field(default_factory=set)
    violations: list[str] = field(default_factory=list)
    seconds: float = 0.0
    _routes: Any = None
    _context: Any = None
    _page: Any = None
    _pending: dict[str, str] = field(default_factory=dict)
    _queue: list[tuple[str, str, list[Any]]] = field(default_factory=list)
    _busy: bool = False
    _reading: dict[int, Any] = field(default_factory=dict)  # listener -> its page

    def route_of(self, url: str, method: str) -> str | None:
        """The declared route an address belongs to, or None (static, API, other)."""
        if self._routes is None:
            self._routes = route_map().bind("localhost")
        try:
            endpoint, _ = self._routes.match(urlsplit(url).path, method=method)
        except HTTPException:
            return None
        return str(endpoint)

    def page(self) -> Any:
        """The audit's own page, JavaScript on and axe loaded into every document."""
        if self._page is None:
            self._context = self.browser.new_context(bypass_csp=True)
            self._context.add_init_script(path=str(AXE))
            self._page = self._context.new_page()
            self._page.route("**/*", self._serve)
        return self._page

    def _serve(self, route: Any, request: Any) -> None:
        html = (
            self._pending.pop(request.url, None)
            if request.is_navigation_request()
            else None
        )
        if html is None:
            route.continue_()
        else:
            route.fulfill(
                status=200, content_type="text/html; charset=utf-8", body=html
            )

    def watch(self, page: Any) -> None:
        """Audit every document `page` loads from now on."""

        def on_load(_: Any) -> None:
            token = object()
            self._reading[id(token)] = page
            try:
                url, html = page.url, page.content()
                cookies = page.context.cookies()
            except Exception:  # the test closed its page meanwhile: nothing to see
                return
            finally:
                self._reading.pop(id(token), None)
            self._queue.append((url, html, cookies))
            self.drain()

        page.on("load", on_load)

    def drain(self) -> None:
        """Audit what was queued, one page at a time. Playwright calls listeners in
        greenlets of one thread: a load that comes while an audit waits on the browser
        only queues its page, for the listener already at work."""
        if self._busy:
            return
        self._busy = True
        try:
            while self._queue:
                self.audit(*self._queue.pop(0))
        finally:
            self._busy = False

    def settle(self) -> None:
        """Wait for the audits under way (a test's last pages) to finish: two
        minutes at most, then the test fails saying what was still under way.

        A listener still reading a page the test has closed is not waited for: it
        can audit nothing, and Playwright may never answer it (a `content()` asked
        as the page's context closed stayed unanswered, and this loop, which once
        had no end, held a CI run until its 90 minutes ran out)."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while self._busy or self._open_reads():
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the accessibility audit did not finish in {SETTLE_SECONDS:.0f} s"
                    f" (auditing: {self._busy}, pages being read:"
                    f" {[p.url for p in self._open_reads()]},"
                    f" queued: {[url for url, _, _ in self._queue]})"
                )
            self.page().wait_for_timeout(50)
        self.drain()

    def _open_reads(self) -> list[Any]:
        return [page for page in self._reading.values() if not page.is_closed()]

    def audit(self, url: str, html: str, cookies: list[Any]) -> None:
        """A page is known by its address only (a listener of requests, to learn the
        method, stalls Playwright's navigations): a GET route of that path, else the
        POST route that answered with a page."""
        route = self.route_of(url, "GET") or self.route_of(url, "POST")
        named = PAGE.search(html)
        if route is None or named is None:
            return
        route = named.group(1)  # the page's template: one audit however reached
        said = LANG.search(html)
        lang = said.group(1) if said else "ru"
        refused = 'aria-invalid="true"' in html or 'role="alert"' in html
        state = "refused" if refused else "shown"
        self.seen(url, route, lang, state, lambda: self.replay(url, html))
        if (
            state == "shown"
            and route not in REPLAY_UNSAFE
            and self.route_of(url, "GET")
        ):
            other = "ru" if lang == "en" else "en"
            fetched = lambda: self.fetch(url, other, cookies)  # noqa: E731
            self.seen(url, route, other, state, fetched, expect=route)

    def seen(
        self,
        url: str,
        route: str,
        lang: str,
        state: str,
        load: Any,
        expect: str | None = None,
    ) -> None:
        """Audit the page `load` shows at each width not yet audited. `expect`: the
        page (template) it must still show (a fetch after the test signed out lands on
        the sign-in page: that is not this route's audit)."""
        todo = [w for w in WIDTHS if (route, lang, w, state) not in self.done]
        if not todo:
            return
        page = self.page()
        started = time.monotonic()
        try:
            load()
        except PlaywrightError:  # the address cannot be asked again: seen only once
            return
        if expect is not None:
            shown = PAGE.search(page.content())
            if shown is None or shown.group(1) != expect:
                return
        for width in todo:
            self.done.add((route, lang, width, state))
            page.set_viewport_size(WIDTHS[width])
            result = page.evaluate(RUN % json.dumps(TAGS))
            for v in result["violations"]:
                targets = "; ".join(
                    " ".join(n["target"])
                    if isinstance(n["target"], list)
                    else str(n["target"])
                    for n in v["nodes"][:5]
                )
                self.violations.append(
                    f"{route} [{lang}, {width}, {state}] {v['id']} ({v['impact']}): "
                    f"{v['help']} — {targets}"
                )
            if width == "desktop":
                broken = page.evaluate(BROKEN_WORDS)
                if broken:
                    self.violations.append(
                        f"{route} [{lang}, {width}, {state}] words broken across "
                        f"lines in a table: {', '.join(sorted(set(broken))[:8])}"
                    )
        self.seconds += time.monotonic() - started

    def replay(self, url: str, html: str) -> None:
        self._pending[url] = html
        self.page().goto(url, wait_until="load")

    def fetch(self, url: str, lang: str, cookies: list[Any]) -> None:
        context = self.page().context
        context.clear_cookies()
        context.add_cookies([c for c in cookies if c["name"] != "lang"])
        context.add_cookies([{"name": "lang", "value": lang, "url": url}])
        self.page().goto(url, wait_until="load")
        context.clear_cookies()

    def close(self) -> None:
        if self._context is not None:
            self._context.close()
