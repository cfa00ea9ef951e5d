"""The audit of tests/browser/audit.py can fail: a page with known faults shown to a
JavaScript-less page of an audited browser is reported, with the rule and the element;
a clean one is not. And the vendored axe-core is the one its README names."""

import base64
import hashlib
from typing import Any

from tests.browser.audit import AXE, Auditor
from tests.browser.conftest import AuditedBrowser

SRI = "sha256-KTSJmUUM3yhJqOcLeRL8LahahJ2jnA0NU5T1HUqe2Vw="  # axe-core 4.14.1
# an address no server answers, on a declared route (the audit keeps to those)
URL = "http://127.0.0.1:9/sign-in"
HEAD = '<!doctype html><html lang="en"><head><title>Account</title></head>'
FAULTY = (
    HEAD
    + """<body data-page="sign_in">
<main><h1>Sign in</h1><form><input name="email" id="email"></form>
<img src="/static/x.png"><p style="color:#bbb">faint text</p></main></body></html>"""
)
CLEAN = (
    HEAD
    + """<body data-page="sign_in">
<main><h1>Sign in</h1><form><label for="email">Email</label>
<input name="email" id="email"></form></main></body></html>"""
)


def test_the_vendored_axe_core_is_the_published_one() -> None:
    digest = base64.b64encode(hashlib.sha256(AXE.read_bytes()).digest()).decode()
    assert f"sha256-{digest}" == SRI
    assert AXE.read_text()[:20].startswith("/*! axe v4.14.1")


def audited_page(browser: Any, html: str) -> list[str]:
    own = AuditedBrowser(browser._browser, Auditor(browser._browser))
    context = own.new_context(java_script_enabled=False)
    page = context.new_page()
    page.route(URL, lambda route: route.fulfill(content_type="text/html", body=html))
    page.goto(URL)
    own.auditor.settle()
    context.close()
    own.auditor.close()
    assert own.auditor.done, "the page was not audited"
    return own.auditor.violations


def test_a_page_with_faults_is_reported_at_both_widths(browser: Any) -> None:
    found = audited_page(browser, FAULTY)
    for rule in ("label", "image-alt", "color-contrast"):
        for width in ("phone", "desktop"):
            assert any(f"[en, {width}, shown] {rule} " in v for v in found), (
                rule,
                found,
            )
    assert any("#email" in v for v in found)


def test_a_clean_page_passes(browser: Any) -> None:
    assert audited_page(browser, CLEAN) == []
