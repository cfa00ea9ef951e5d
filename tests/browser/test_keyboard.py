"""Each role's main task with the keyboard alone (Tab, Shift+Tab, Enter, Space; no
mouse, no click, no fill): the skip link comes first, every stop shows a visible
focus (a computed outline of 2 px or more, or a box-shadow, on :focus-visible), the
focus moves in reading order (each Tab to a later element of the page, each
Shift+Tab to an earlier one), signing in lands on the person's waiting work, and
the task is done from there:

- a communicator: from the report due on their page to the report submitted, then
  the quick exit ends the session and leaves for a neutral site;
- a program admin: from the applications waiting on their page to the review
  started on one of them;
- finance: from the cycles waiting on their page to a run built, released with a
  code and confirmed on the confirmation page;
- a club coordinator: from their mentoring page to a comment on a member's shared
  strategy.

Screenshots of the communicator's page at a phone's and a desktop's width go to
`tests.browser.screens.SCREENS` (docs/screens/ with `make screens`)."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from playwright.sync_api import Browser, expect
from playwright.sync_api import Error as PlaywrightError

from tests.browser.screens import SCREENS
from tests.helpers import next_code, wait_until
from tests.journeys import (
    ADMINS,
    active_communicator,
    approved_stipend,
    enrolled,
    enrolled_staff,
)
from tests.stack import System

PASSWORD = "correct horse battery staple"
NEUTRAL = "https://www.wikipedia.org/"
# what the focused element is, whether a sighted user sees where the focus is, and
# where the element stands in the page's reading (document) order
FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  const ringed = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2)
    || (s.boxShadow && s.boxShadow !== 'none');
  const all = [...document.querySelectorAll('*')];
  return {tag: e.tagName.toLowerCase(), name: e.getAttribute('name'),
          id: e.id, type: e.getAttribute('type'), value: e.getAttribute('value'),
          href: e.getAttribute('href'), text: (e.innerText || '').trim(),
          action: e.form ? e.form.getAttribute('action') : null,
          visible: e.matches(':focus-visible') && ringed,
          outline: s.outlineStyle + ' ' + s.outlineWidth, focused: document.hasFocus(),
          order: all.indexOf(e)};
}"""
# the page's own stylesheet is applied (its custom property is set): a focus ring
# before it is the browser's thin default, which the check above rightly refuses
STYLED = "() => getComputedStyle(document.documentElement)"
STYLED += ".getPropertyValue('--focus').trim() !== ''"


class Keyboard:
    """Moves the focus by Tab or Shift+Tab and checks every stop on the way: a
    visible focus, and the reading order (forward with Tab, back with Shift+Tab)."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.last = -1
        # the page a keyboard types into: only the focused page's focus is visible
        # (a page another test left open would otherwise keep it)
        page.bring_to_front()
        self.styled()

    def styled(self) -> None:
        """Wait for the stylesheet (a loaded machine can be slow to serve it), at
        most two reloads."""
        for _ in range(3):
            for _ in range(20):
                try:
                    if self.page.evaluate(STYLED):
                        return
                except PlaywrightError:  # a navigation under way: its page comes
                    pass
                self.page.wait_for_timeout(100)
            self.page.reload()
        raise AssertionError("the console's stylesheet did not apply")

    def arrived(self) -> None:
        """A new page: its order starts again."""
        self.last = -1
        self.styled()

    def step(self, key: str = "Tab") -> dict[str, Any]:
        self.page.keyboard.press(key)
        focused: dict[str, Any] = self.page.evaluate(FOCUSED)
        assert focused["visible"], f"no visible focus on {focused}"
        if key == "Tab":
            assert focused["order"] > self.last, f"Tab went back to {focused}"
        else:
            assert focused["order"] < self.last, f"Shift+Tab went on to {focused}"
        self.last = focused["order"]
        return focused

    def to(self, wanted: Any, key: str = "Tab", limit: int = 40) -> dict[str, Any]:
        """Press `key` until `wanted(focused)`."""
        for _ in range(limit):
            focused = self.step(key)
            if wanted(focused):
                return focused
        raise AssertionError(f"not reached with {key}")

    def press(self, key: str) -> None:
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.page.keyboard.type(text)


def sign_in(keys: Keyboard, email: str, code: str | None = None) -> None:
    first = keys.step()
    assert first["text"] == "Skip to the content"
    keys.press("Enter")
    # the skip link's jump: waited for (read at once, a loaded machine had not yet
    # moved to it)
    expect(keys.page).to_have_url(re.compile(r"#main$"))
    keys.to(lambda f: f["name"] == "email")
    keys.type(email)
    keys.to(lambda f: f["name"] == "password")
    keys.type(PASSWORD)
    if code is not None:
        keys.to(lambda f: f["name"] == "code")
        keys.type(code)
    keys.to(lambda f: f["tag"] == "button" and f["text"] == "Sign in")
    keys.press("Enter")
    keys.arrived()


def open_cycle(system: System, rpc: Any, communicator_id: str) -> dict[str, Any]:
    """A funded programme with a cycle taking reports, once stipends knows the
    communicator."""
    wait_until(
        lambda: system.sql(
            "stipends", "SELECT 1 FROM communicators WHERE id = :i", i=communicator_id
        ),
        "stipends to know the communicator",
    )
    programme = rpc.stipends.create_programme(
        ADMINS[0],
        {
            "name": f"Keyboard {uuid.uuid4().hex[:6]}",
            "currency": "EUR",
            "budget_minor": 100_000,
            "tier_amounts": {"professional": 25_000, "volunteer": 10_000},
            "min_accepted_reports": 1,
            "min_conversations": 1,
        },
    )
    deadline = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    period = datetime.now(UTC).strftime("%Y-%m")  # a new programme: any month is free
    cycle: dict[str, Any] = rpc.stipends.open_cycle(
        ADMINS[0], programme["id"], period, deadline
    )
    return cycle


def test_a_communicator_reports_and_leaves_with_the_keyboard_only(
    system: System, browser: Browser
) -> None:
    with system.rpc() as rpc:
        person = active_communicator(system, rpc, password=PASSWORD)
        cycle = open_cycle(system, rpc, person["id"])
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="en-GB"
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    keys = Keyboard(page)
    sign_in(keys, person["email"])
    expect(page.locator("#pseudonym")).to_have_text(person["pseudonym"])
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "me-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SCREENS / "me-desktop.png"), full_page=True)

    # the report due, from the waiting work on their page, to the report submitted
    # the earliest report due: this cycle's, or one another test of the run opened
    # (every open cycle asks every active communicator for a report)
    due = keys.to(lambda f: f["href"] == "/me/report" and "due" in f["text"])
    assert cycle["period"] in due["text"] or "is due by" in due["text"]
    keys.press("Enter")
    expect(page.locator("h1")).to_have_text("Activity report")
    keys.arrived()
    keys.to(lambda f: f["name"] == "conversations")
    keys.type("3")
    keys.to(lambda f: f["name"] == "audiences" and f["value"] == "family")
    keys.press("Space")
    keys.to(lambda f: f["name"] == "channels")
    keys.press("Space")
    keys.to(lambda f: f["name"] == "hours")
    keys.type("2")
    back = keys.step("Shift+Tab")  # one step back and forth again: the same order
    assert back["name"] == "topics"
    keys.to(lambda f: f["name"] == "hours")
    keys.to(lambda f: f["name"] == "observed_change")
    keys.press("Space")
    keys.to(lambda f: f["name"] == "narrative")
    keys.type("We spoke every evening.")
    keys.to(lambda f: f["tag"] == "button" and f["value"] == "submit")
    keys.press("Enter")
    expect(page.locator(".report-status")).to_have_attribute("data-code", "submitted")
    ((conversations, audiences, channels, hours, change),) = system.sql(
        "stipends",
        "SELECT conversations, audiences, channels, hours, observed_change "
        "FROM activity_reports WHERE communicator_id = :i AND status = 'submitted'",
        i=person["id"],
    )
    assert (conversations, audiences, hours) == (3, ["family"], 2)
    assert len(channels) == 1 and change  # the first channel and change, by Space

    # the quick exit is the first stop after the skip link on a communicator's page
    page.goto(f"{system.url}/me")
    keys.arrived()
    keys.step()
    leave = keys.step()
    assert leave["id"] == "quick-exit" and leave["text"] == "Quick exit"
    # the tests' closed network cannot reach the neutral site: the link is followed
    # with the context's own cookies, without the last redirect
    left = context.request.get(f"{system.url}/leave", max_redirects=0)
    assert left.status == 303 and left.headers["location"] == NEUTRAL
    assert "cookies" in left.headers["clear-site-data"]
    assert not [c for c in context.cookies() if c["name"] == "session"]
    # the session is over on the server too: the old page asks to sign in
    page.goto(f"{system.url}/me")
    assert "/sign-in" in page.url
    context.close()


def test_an_admin_starts_a_review_with_the_keyboard_only(
    system: System, browser: Browser
) -> None:
    with system.rpc() as rpc:
        _, email, totp = enrolled_staff(system, rpc, ["program_admin"])
    pseudonym = f"lark_{uuid.uuid4().hex[:6]}"
    applied = requests.post(
        f"{system.url}/api/v1/applications",
        timeout=30,
        json={
            "pseudonym": pseudonym,
            "legal_name": "Oleg S.",
            "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "country": "GE",
            "city": "Batumi",
            "consent_version": "2026-11",
            "consent": True,
        },
    )
    assert applied.status_code == 202, applied.text
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=False,
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    keys = Keyboard(page)
    sign_in(keys, email, totp.now())
    waiting = page.locator("#waiting-applications")
    assert int(waiting.get_attribute("data-count") or 0) >= 1
    keys.to(lambda f: f["href"] == "/admin/applications" and "vet" in f["text"])
    keys.to(lambda f: f["text"] == pseudonym)
    keys.press("Enter")
    expect(page.locator("h1")).to_have_text(pseudonym)
    keys.arrived()
    keys.to(lambda f: f["name"] == "reason")
    keys.type("documents complete")
    keys.to(lambda f: f["tag"] == "button" and f["value"] == "start_review")
    keys.press("Enter")
    expect(page.locator("#status")).to_have_attribute("data-code", "in_review")
    # the admin's first page, with what waits for them, at both widths
    page.goto(f"{system.url}/admin/applications")
    page.screenshot(path=str(SCREENS / "admin-home-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(SCREENS / "admin-home-phone.png"), full_page=True)
    context.close()


def test_finance_releases_a_run_with_the_keyboard_only(
    system: System, browser: Browser
) -> None:
    with system.rpc() as rpc:
        _, email, totp = enrolled_staff(system, rpc, ["finance"])
        cycle = approved_stipend(system, rpc)
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=False,
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    keys = Keyboard(page)
    sign_in(keys, email, totp.now())
    expect(page.locator("#waiting-runs_to_release")).to_be_visible()
    keys.to(lambda f: f["action"] == f"/finance/cycles/{cycle}/runs", limit=60)
    keys.press("Enter")
    expect(page.locator("#run-status")).to_have_attribute("data-code", "draft")
    keys.arrived()
    keys.to(lambda f: f["tag"] == "button" and (f["action"] or "").endswith("/release"))
    keys.press("Enter")
    expect(page.locator("#confirm")).to_have_attribute("data-code", "release_run")
    keys.arrived()
    keys.to(lambda f: f["name"] == "code")
    keys.type(next_code(totp))
    keys.to(lambda f: f["id"] == "confirm-button")
    keys.press("Enter")
    expect(page.locator("#run-status")).to_have_attribute("data-code", "released")
    context.close()


def test_a_coordinator_comments_on_a_strategy_with_the_keyboard_only(
    system: System, browser: Browser
) -> None:
    from tests.browser.test_strategies import professional_in_club, signed_in

    member, coordinator, _ = professional_in_club(system)
    # a coordinator has an authenticator (enrolled at their first sign-in)
    coordinator_totp = enrolled(system.url, coordinator["email"])
    # the member shares a strategy (not the walk under test: the mouse may do it)
    me = signed_in(browser, system, member["email"])
    me.goto(f"{system.url}/me/strategy")
    me.check("input[name=audiences][value=family]")
    me.check("input[name=channels][value=video]")
    me.check("input[name=approaches][value=listening]")
    me.fill("textarea[name=expected_change]", "My uncle asks questions instead")
    me.fill("input[name=horizon_months]", "6")
    me.click("button[value=share]")
    expect(me.locator("#done")).to_be_visible()
    me.context.close()

    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=False,
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    keys = Keyboard(page)
    sign_in(keys, coordinator["email"], next_code(coordinator_totp))
    expect(page.locator("nav a[href='/mentor']")).to_be_visible()
    keys.to(lambda f: f["href"] == "/mentor", limit=60)
    keys.press("Enter")
    expect(page.locator(f"#mentee-{member['id']}")).to_be_visible()
    keys.arrived()
    keys.to(lambda f: f["href"] == f"/mentor/{member['id']}", limit=60)
    keys.press("Enter")
    expect(page.locator("#versions")).to_be_visible()
    keys.arrived()
    keys.to(lambda f: f["name"] == "comment", limit=60)
    keys.type("Six months is ambitious: try three")
    keys.to(lambda f: f["tag"] == "button" and f["type"] == "submit")
    keys.press("Enter")
    expect(page.locator("#done")).to_be_visible()
    assert system.sql(
        "stipends",
        "SELECT 1 FROM strategy_comments WHERE by_mentor "
        "AND body LIKE 'Six months is ambitious%'",
    )
    # the coordinator's mentoring page at both widths
    page.goto(f"{system.url}/mentor")
    page.screenshot(
        path=str(SCREENS / "coordinator-mentor-desktop.png"), full_page=True
    )
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(SCREENS / "coordinator-mentor-phone.png"), full_page=True)
    context.close()
