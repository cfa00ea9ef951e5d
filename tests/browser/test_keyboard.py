"""A communicator's whole visit with the keyboard alone (Tab and Enter, no mouse, no
click): the skip link comes first, every stop shows a visible focus, signing in lands
on their page, and the quick exit ends the session and leaves for a neutral site.
Screenshots of the communicator's page at a phone's and a desktop's width go to
docs/screens/."""

from typing import Any

from playwright.sync_api import Browser, expect

from tests.conftest import ROOT
from tests.journeys import active_communicator
from tests.stack import System

PASSWORD = "correct horse battery staple"
SCREENS = ROOT / "docs" / "screens"
NEUTRAL = "https://www.wikipedia.org/"
# what the focused element is, and whether it shows an outline a sighted user sees
FOCUSED = """() => {
  const e = document.activeElement, s = getComputedStyle(e);
  return {tag: e.tagName.toLowerCase(), name: e.getAttribute('name'),
          id: e.id, text: (e.innerText || '').trim(),
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2};
}"""


def tab_to(page: Any, wanted: Any, limit: int = 30) -> dict[str, Any]:
    """Press Tab until `wanted(focused)`; every stop on the way must show its focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused: dict[str, Any] = page.evaluate(FOCUSED)
        assert focused["outline"], f"no visible focus on {focused}"
        if wanted(focused):
            return focused
    raise AssertionError("not reached with Tab")


def test_a_communicator_signs_in_and_leaves_with_the_keyboard_only(
    system: System, browser: Browser
) -> None:
    with system.rpc() as rpc:
        person = active_communicator(system, rpc, password=PASSWORD)
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, locale="en-GB"
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")

    first = tab_to(page, lambda f: True)
    assert first["text"] == "Skip to the content"
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    tab_to(page, lambda f: f["name"] == "email")
    page.keyboard.type(person["email"])
    tab_to(page, lambda f: f["name"] == "password")
    page.keyboard.type(PASSWORD)
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Sign in")
    page.keyboard.press("Enter")
    expect(page.locator("#pseudonym")).to_have_text(person["pseudonym"])
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "me-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SCREENS / "me-desktop.png"), full_page=True)

    # the quick exit is the first stop after the skip link on a communicator's page
    page.goto(f"{system.url}/me")
    tab_to(page, lambda f: True)
    leave = tab_to(page, lambda f: True)
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
