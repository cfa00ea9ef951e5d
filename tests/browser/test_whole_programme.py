"""A whole programme run from an empty system through the consoles alone, in a real
browser: no shell, no RPC, no SQL that acts. The only command is the installation's
one-time `registry.bootstrap` of the first admin (the README's first step); the only
other outside party is Stripe's sandbox, which plays the provider (its hosted
onboarding page, and paying the connected account out).

The first admin invites a second admin and two finance members, who set their own
passwords and authenticators from the mailed links; the admin creates and funds a
programme and opens a cycle; a communicator applies (JavaScript off, on a phone),
two admins vet them, they set up payments on the provider's page and report; an
admin accepts the report and closes the cycle after seeing what it will propose; the
other admin approves the stipends in one action; finance builds and releases the run
with a fresh code and it is paid in the sandbox; finance reconciles the period (not
signed off while it runs) and last month's, which the second finance member signs
off; the communicator confirms the money arrived.

Screenshots of each step land in artifacts/browser/<this test>/ (the README's guide
shows some of them)."""

import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header
from pathlib import Path
from typing import Any

import pyotp
import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from tests.conftest import ROOT
from tests.helpers import next_code, wait_until
from tests.journeys import enrol_on_page
from tests.stack import System, running_system

PASSWORD = "a long passphrase of one's own"


@pytest.fixture(scope="module")
def empty_system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A system of its own: empty databases, its own vhost and ports."""
    with running_system(tmp_path_factory.mktemp("whole"), prefix="whole") as system:
        yield system


class Person:
    """Someone at their own browser: a page, and their authenticator once set up."""

    def __init__(self, page: Page, email: str) -> None:
        self.page = page
        self.email = email
        self.totp: pyotp.TOTP | None = None

    def code(self) -> str:
        assert self.totp is not None
        return next_code(self.totp)


def browser_of(browser: Browser, **options: Any) -> Page:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB", **options
    )
    return context.new_page()


def sign_in_staff(system: System, person: Person, first_time: bool = False) -> None:
    page = person.page
    page.goto(f"{system.url}/sign-in?lang=en")
    page.fill("input[name=email]", person.email)
    page.fill("input[name=password]", PASSWORD)
    if not first_time:
        page.fill("input[name=code]", person.code())
    page.click("button[type=submit]")
    if first_time:  # the authenticator is set up at the first sign-in
        expect(page.locator("#totp-qr")).to_be_visible()
        person.totp = enrol_on_page(page)
    expect(page.locator("form[action='/sign-out']")).to_be_attached()


def invitation_link(system: System, email: str) -> str:
    def mail() -> Any:
        return [m for m in system.mails() if m["To"] == email]

    (message,) = wait_until(mail, f"the invitation to {email}", timeout=30)
    body = message.get_payload(decode=True).decode()
    found = re.search(r"(http://\S+/reset-password\?token=\S+)", body)
    assert found, str(make_header(decode_header(message["Subject"])))
    return found.group(1)


def accept_invitation(system: System, browser: Browser, email: str) -> Person:
    """The invitee, on their own: the mailed link, their own password, their own
    authenticator at the first sign-in."""
    person = Person(browser_of(browser), email)
    person.page.goto(invitation_link(system, email))
    person.page.fill("input[name=password]", PASSWORD)
    person.page.click("button[type=submit]")
    expect(person.page.locator("#message")).to_be_visible()
    sign_in_staff(system, person, first_time=True)
    return person


def bootstrap_first_admin(system: System, email: str) -> None:
    """The installation step of the README: the only command in this journey."""
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "registry.bootstrap",
            "--config",
            str(ROOT / "services/registry/config.yml"),
            "--email",
            email,
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        env=system.settings.env("registry"),
    )
    assert created.returncode == 0, created.stderr
    # a sentence that says what happened and what to do, and no library's notices
    assert created.stdout.startswith("created the program admin "), created.stdout
    assert "Warning" not in created.stderr, created.stderr


def test_a_whole_programme_from_an_empty_system_through_the_consoles(
    empty_system: System, browser: Browser, shots: Any
) -> None:
    system = empty_system
    tag = uuid.uuid4().hex[:6]
    # the provider pays a connected account out a second after a transfer lands
    requests.post(
        f"{system.sandbox}/_sandbox/config",
        json={"payout_outcome": "paid", "payout_after": 1},
        timeout=30,
    ).raise_for_status()

    # -- the first admin, and the staff they invite ---------------------------------
    anna = Person(browser_of(browser), f"anna.{tag}@example.org")
    bootstrap_first_admin(system, anna.email)
    sign_in_staff(system, anna, first_time=True)
    invited = {
        f"boris.{tag}@example.org": "program_admin",
        f"fatima.{tag}@example.org": "finance",
        f"gleb.{tag}@example.org": "finance",
    }
    for email, role in invited.items():
        anna.page.goto(f"{system.url}/admin/staff")
        anna.page.fill("#invite input[name=email]", email)
        anna.page.fill("#invite input[name=handle]", email.split(".")[0].title())
        anna.page.check(f"#invite input[value={role}]")
        anna.page.click("#invite button")
        expect(anna.page.locator("#notice")).to_contain_text("valid for 72 hours")
    shots(anna.page, "staff-invited")
    boris, fatima, gleb = (
        accept_invitation(system, browser, email) for email in invited
    )

    # -- a programme, its money and a cycle -----------------------------------------
    admin = anna.page
    admin.goto(f"{system.url}/admin/programmes")
    admin.fill("#create input[name=name]", f"Evenings {tag}")
    admin.select_option("#create select[name=currency]", "EUR")
    admin.fill("#create input[name=tier_volunteer]", "150")
    admin.fill("#create input[name=tier_professional]", "250")
    admin.fill("#create input[name=min_conversations]", "1")
    admin.uncheck("#create input[name=training_required]")
    shots(admin, "programme-new")
    admin.click("#create button[type=submit]")
    expect(admin.locator("h1")).to_have_text(f"Evenings {tag}")
    admin.fill("#fund input[name=amount]", "1000")
    admin.click("#fund button[type=submit]")
    expect(admin.locator("#budget")).to_have_text("€1,000.00")
    # the cycle's deadline has passed already, so it can close within the test
    deadline = (datetime.now(UTC) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M")
    admin.fill("#open-cycle input[name=period]", "2026-11")
    admin.fill("#open-cycle input[name=deadline]", deadline)
    admin.click("#open-cycle button[type=submit]")
    # a past deadline is asked about first: every report would count as late
    expect(admin.locator("#confirm")).to_have_attribute("data-code", "past_deadline")
    admin.click("#confirm-button")
    expect(admin.locator("#cycle-status")).to_have_attribute("data-code", "open")
    shots(admin, "cycle-opened")
    cycle_url = admin.url.removeprefix(system.url)
    assert cycle_url.startswith("/admin/cycles/")

    # -- a communicator applies, on a phone, with JavaScript off ---------------------
    phone = browser.new_context(
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
        locale="ru-RU",
    ).new_page()
    # a pseudonym in Cyrillic (one alphabet), its own in this run
    pseudonym = "Ласточка_" + "".join("абвгдежзик"[int(c, 16) % 10] for c in tag)
    communicator_email = f"swallow.{tag}@example.org"
    phone.goto(f"{system.url}/apply")
    phone.fill("input[name=pseudonym]", pseudonym)
    phone.fill("input[name=legal_name]", "Ольга Н.")
    phone.fill("input[name=email]", communicator_email)
    phone.fill("input[name=password]", PASSWORD)
    phone.select_option("select[name=country]", "DE")
    phone.fill("input[name=city]", "Берлин")
    phone.select_option("select[name=languages]", ["ru", "de"])
    phone.fill("textarea[name=motivation]", "Я говорю с родителями каждую неделю.")
    phone.check("input[name=consent]")
    shots(phone, "apply")
    phone.click("form[action='/apply'] button[type=submit]")
    expect(phone.locator("#message")).to_be_visible()

    # -- two admins vet the application ---------------------------------------------
    admin.goto(f"{system.url}/admin/applications")
    admin.click(f"text={pseudonym}")
    application_url = admin.url
    admin.fill("input[name=reason]", "documents complete")
    admin.click("button[value=start_review]")
    admin.fill("input[name=reason]", "interviewed by video")
    admin.click("button[value=approve]")
    shots(admin, "application-approved-once")
    boris.page.goto(application_url)
    boris.page.fill("input[name=reason]", "second interview")
    boris.page.click("button[value=approve]")
    expect(boris.page.locator("#status")).to_have_attribute("data-code", "active")

    # -- the communicator sets up payments on the provider's page and reports -------
    phone.goto(f"{system.url}/sign-in")
    phone.fill("input[name=email]", communicator_email)
    phone.fill("input[name=password]", PASSWORD)
    phone.click("button[type=submit]")
    expect(phone.locator("#status")).to_have_attribute("data-code", "active")
    phone.click("form[action='/me/payout-setup'] button")
    phone.click("#onboarding-link")  # Stripe's hosted onboarding, back to /me

    def ready() -> bool:
        phone.goto(f"{system.url}/me")
        code = phone.locator("#payout-setup-status").get_attribute("data-code")
        return code == "ready"

    wait_until(ready, "the payout set-up to be ready", timeout=60)
    shots(phone, "payments-set-up")
    phone.goto(f"{system.url}/me/report")
    phone.fill("input[name=conversations]", "5")
    phone.check("input[name=audiences][value=family]")
    phone.check("input[name=channels][value=video]")
    phone.fill("input[name=hours]", "4")
    phone.check("input[name=observed_change][value=some]")
    phone.fill("textarea[name=narrative]", "Отец впервые дослушал до конца.")
    shots(phone, "report")
    phone.click("button[value=submit]")
    expect(phone.locator(".report-status").first).to_have_attribute(
        "data-code", "submitted"
    )

    # -- the report accepted, the cycle closed after its preview --------------------
    admin.goto(f"{system.url}/admin/reports")
    admin.click("button[value=accepted]")
    admin.goto(f"{system.url}{cycle_url}")
    admin.click("#close-link")
    expect(admin.locator("#proposals")).to_contain_text(pseudonym)
    expect(admin.locator("#proposals")).to_contain_text("€150.00")
    shots(admin, "close-preview")
    admin.click("#confirm-close button")

    # -- the other admin approves the cycle's stipends in one action -----------------
    cycle = cycle_url.rsplit("/", 1)[1]
    approver = boris.page
    approver.goto(f"{system.url}/admin/stipends?cycle={cycle}")
    expect(approver.locator("#count-proposed")).to_have_text("1")
    approver.locator("input[name=stipend]").first.check()
    approver.click("#approve-ticked")
    expect(approver.locator("#outcomes li.outcome").first).to_have_attribute(
        "data-outcome", "approved"
    )
    shots(approver, "stipends-approved")

    # -- finance builds and releases the run; the sandbox pays it --------------------
    pay = fatima.page
    pay.goto(f"{system.url}/finance")
    pay.locator(f"form[action='/finance/cycles/{cycle}/runs'] button").click()
    expect(pay.locator("#run-status")).to_have_attribute("data-code", "draft")
    expect(pay.locator("#totals")).to_contain_text("€150.00")
    pay.click("form[action$='/release'] button")
    pay.fill("#confirm input[name=code]", fatima.code())  # asked on the check page
    pay.click("#confirm-button")  # releasing asks first
    expect(pay.locator("#run-status")).to_have_attribute("data-code", "released")

    def paid() -> bool:
        pay.reload()
        return pay.locator(".payout-status").get_attribute("data-code") == "paid"

    wait_until(paid, "the payout to be paid in the sandbox", timeout=90)
    shots(pay, "run-paid")

    # -- reconciled by one finance member, signed off by the other -------------------
    today = datetime.now(UTC).date()

    def reconcile(start: date, end: date) -> None:
        pay.goto(f"{system.url}/finance/reconciliations")
        pay.select_option("select[name=provider]", "stripe_connect")
        pay.fill("input[name=period_start]", str(start))
        pay.fill("input[name=period_end]", str(end))
        pay.click("#reconcile button[type=submit]")

    reconcile(today - timedelta(days=1), today + timedelta(days=1))
    expect(pay.locator("#rec-differences")).to_have_text("0")
    assert int(pay.locator("#rec-matched").inner_text()) >= 1
    # a period still running is not signed off: a payment booked in it later could
    # never be reconciled
    expect(pay.locator("#not-signable")).to_have_attribute(
        "data-code", "period_not_over"
    )
    expect(pay.locator("#not-signable")).to_contain_text("run the period again")
    expect(pay.locator("#sign-off")).to_have_count(0)
    shots(pay, "not-signable")
    # last month, run once it is over, is what the other finance member signs off
    reconcile(today - timedelta(days=31), today - timedelta(days=1))
    expect(pay.locator("#rec-differences")).to_have_text("0")
    reconciliation_url = pay.url
    signer = gleb.page
    signer.goto(reconciliation_url)
    signer.fill("#sign-off input[name=note]", "matched with the provider")
    signer.click("#sign-off button[type=submit]")
    expect(signer.locator("#confirm")).to_contain_text("signed off in your name")
    signer.click("#confirm-button")  # signing off asks first
    expect(signer.locator("#rec-status")).to_have_attribute("data-code", "signed_off")
    shots(signer, "signed-off")

    # -- the communicator says the money arrived --------------------------------------
    phone.goto(f"{system.url}/me")
    expect(phone.locator(".payment").first).to_have_attribute("data-code", "paid")
    phone.locator(".receipt-arrived button").first.click()
    expect(phone.locator("#receipt-saved")).to_have_attribute("data-code", "received")
    shots(phone, "receipt-confirmed")

    # what the consoles did, as the books and the records say it
    (stipend,) = system.sql(
        "stipends",
        "SELECT status, amount_minor FROM stipends WHERE cycle_id = :c",
        c=cycle,
    )
    assert tuple(stipend) == ("approved", 15000)
    ((received,),) = system.sql("stipends", "SELECT received FROM payout_receipts")
    assert received is True
    staff = system.sql("registry", "SELECT count(*) FROM accounts WHERE kind = 'staff'")
    assert staff[0][0] == 4
    assert Path(shots.taken[0]).stat().st_size > 1000
