"""An applicant saves a draft of the application on a phone with JavaScript off (Tor
Browser's safest level), comes back later in the same browser and finds it, then
sends it: the draft is gone from the server and from the browser. The server only
ever held ciphertext. Every page is audited with axe (tests/browser/conftest.py)."""

import uuid
from typing import Any

from playwright.sync_api import Browser, expect

from tests.stack import System

PASSWORD = "correct horse battery staple"


def drafts_holding(system: System, *values: str) -> int:
    """How many rows of the gateway's drafts show any of these values in clear."""
    rows = system.sql(
        "gateway", "SELECT row_to_json(d)::text FROM application_drafts d"
    )
    return sum(1 for (row,) in rows if any(v.lower() in row.lower() for v in values))


def audit_again(browser: Any, template: str = "apply") -> None:
    """The auditor audits a page once a session; a draft adds to the form (a status
    above it, a button), so each of its states is audited too, not only the form's
    first look: what it saw of this page is forgotten once its audits are done."""
    browser.auditor.settle()
    browser.auditor.done.difference_update(
        [seen for seen in browser.auditor.done if seen[0] == template]
    )


def test_an_applicant_saves_a_draft_comes_back_and_sends_it(
    system: System, browser: Browser, shots: Any
) -> None:
    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
        locale="ru-RU",
    )
    tag = uuid.uuid4().hex[:6]
    pseudonym, email = f"owl_{tag}", f"owl.{tag}@example.org"
    name, city = "Анна Смирнова", "Белград"
    before = system.sql("gateway", "SELECT count(*) FROM application_drafts")[0][0]

    page = context.new_page()
    page.goto(f"{system.url}/apply")
    expect(page.locator("#draft-notice")).to_contain_text("72")
    page.fill("input[name=pseudonym]", pseudonym)
    page.fill("input[name=legal_name]", name)
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.select_option("select[name=country]", "RS")
    page.fill("input[name=city]", city)
    page.select_option("select[name=languages]", ["ru", "sr"])
    page.fill("textarea[name=motivation]", "Пока думаю, что написать.")
    audit_again(browser)
    page.click("button[value=save_draft]")
    expect(page.locator("#draft-status")).to_have_attribute("data-draft", "saved")
    expect(page.locator("input[name=password]")).to_have_value("")
    shots(page, "draft-saved")

    # on the server: one more row, and nothing typed in it in clear
    count = system.sql("gateway", "SELECT count(*) FROM application_drafts")[0][0]
    assert count == before + 1
    typed = (email, pseudonym, name, "Смирнова", city, PASSWORD, "думаю")
    assert drafts_holding(system, *typed) == 0
    (cookie,) = [c for c in context.cookies() if c["name"] == "apply_draft"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["secure"]  # the running system keeps COOKIE_SECURE's default
    assert cookie["path"] == "/apply"
    page.close()

    # later, in the same browser: the form as it was left, but for the password
    page = context.new_page()
    audit_again(browser)
    page.goto(f"{system.url}/apply")
    expect(page.locator("#draft-status")).to_have_attribute("data-draft", "restored")
    expect(page.locator("input[name=pseudonym]")).to_have_value(pseudonym)
    expect(page.locator("input[name=legal_name]")).to_have_value(name)
    expect(page.locator("input[name=email]")).to_have_value(email)
    expect(page.locator("input[name=city]")).to_have_value(city)
    expect(page.locator("select[name=country]")).to_have_value("RS")
    expect(page.locator("textarea[name=motivation]")).to_have_value(
        "Пока думаю, что написать."
    )
    expect(page.locator("input[name=password]")).to_have_value("")
    expect(page.locator("button[value=delete_draft]")).to_be_visible()
    shots(page, "draft-restored")

    # another browser sees none of it
    other = browser.new_context(java_script_enabled=False, locale="ru-RU").new_page()
    other.goto(f"{system.url}/apply")
    expect(other.locator("#draft-status")).to_have_count(0)
    expect(other.locator("input[name=email]")).to_have_value("")
    other.context.close()

    # sent: the draft is gone from the server and the browser
    page.fill(
        "textarea[name=motivation]", "Я разговариваю с братом в Перми каждую неделю."
    )
    page.fill("input[name=password]", PASSWORD)
    page.check("input[name=consent]")
    page.click("form[action='/apply'] button[value=send]")
    expect(page.locator("#message")).to_contain_text("Ваша заявка получена")
    shots(page, "sent")
    assert system.sql("gateway", "SELECT count(*) FROM application_drafts")[0][0] == (
        before
    )
    assert not [c for c in context.cookies() if c["name"] == "apply_draft"]
    page.goto(f"{system.url}/apply")
    expect(page.locator("#draft-status")).to_have_count(0)
    expect(page.locator("input[name=email]")).to_have_value("")
    assert len(shots.taken) == 3 and all(p.stat().st_size > 1000 for p in shots.taken)
    context.close()
    browser.auditor.settle()
    audited = {seen[1:] for seen in browser.auditor.done if seen[0] == "apply"}
    assert {("ru", "phone", "shown"), ("en", "desktop", "shown")} <= audited
