"""Finance's console tasks in a real browser (JavaScript off) against the running
system: a bank-transfer run released with a fresh code; finance downloads its
pain.001 file, imports the bank's statement, reads the trial balance and an
account's statement, opens the payout's trail, and resolves the payee's report that
the money did not arrive."""

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import Browser, expect

from tests.helpers import actor, next_code, wait_until
from tests.iso20022 import assert_valid_pain001
from tests.journeys import ADMINS, PASSWORD, REPORT, as_console, enrol_on_page
from tests.stack import System

IBAN = "GE29NB0000000101904917"


def approved_bank_stipend(system: System, rpc: Any) -> tuple[str, str]:
    """A communicator in Georgia paid by bank transfer, with one approved stipend of
    €250: (its cycle, the communicator's id)."""
    pseudonym = f"stork_{uuid.uuid4().hex[:6]}"
    applied = {
        "pseudonym": pseudonym,
        "legal_name": "Irina P.",
        "email": f"{uuid.uuid4().hex[:8]}@example.org",
        "country": "GE",
        "city": "Tbilisi",
        "consent_version": "2026-11",
        "consent": True,
    }
    answer = requests.post(
        f"{system.url}/api/v1/applications", json=applied, timeout=30
    )
    assert answer.status_code == 202, answer.text
    (me,) = rpc.registry.find_communicators(ADMINS[0], {"pseudonym": pseudonym})
    ident = me["id"]
    rpc.registry.start_review(ADMINS[0], ident, "documents complete")
    for admin in ADMINS:
        rpc.registry.approve(admin, ident, "interviewed")
    training = rpc.registry.create_training(
        ADMINS[0], {"title": f"Listening {pseudonym}", "held_on": "2026-10-01"}
    )
    rpc.registry.record_training_completion(ADMINS[0], training["id"], ident)
    rpc.registry.set_tier(ADMINS[0], ident, "professional", "trained")
    communicator = actor(["communicator"], ident)
    with as_console():
        assert rpc.registry.start_payout_setup(communicator)["provider"] == "bank_file"
        rpc.registry.set_bank_details(
            communicator, {"holder": "Irina P.", "iban": IBAN, "bic": "BAGAGE22"}
        )
    wait_until(
        lambda: system.sql(
            "stipends",
            "SELECT 1 FROM communicators WHERE id = :i AND payout_ready "
            "AND tier = 'professional'",
            i=ident,
        ),
        "the bank payee to be payout-ready in stipends",
        timeout=30,
    )
    programme = rpc.stipends.create_programme(
        ADMINS[0],
        {
            "name": f"Programme {pseudonym}",
            "currency": "EUR",
            "budget_minor": 100_000,
            "tier_amounts": {"professional": 25_000, "volunteer": 0},
            "min_accepted_reports": 1,
            "min_conversations": 1,
        },
    )
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cycle = rpc.stipends.open_cycle(ADMINS[0], programme["id"], "2026-10", past)
    with as_console():
        draft = rpc.stipends.save_report_draft(communicator, cycle["id"], REPORT)
        rpc.stipends.submit_report(communicator, draft["report"]["id"])
    rpc.stipends.review_report(ADMINS[0], draft["report"]["id"], "accepted", "")
    rpc.stipends.close_cycle(ADMINS[0], cycle["id"])
    (stipend,) = rpc.stipends.list_stipends(ADMINS[1], cycle["id"], "proposed")
    shown = rpc.stipends.get_stipend(ADMINS[1], stipend["id"])
    rpc.stipends.approve_stipend(ADMINS[1], stipend["id"], shown["digest"])
    return str(cycle["id"]), str(ident)


def test_finance_runs_the_bank_file_statement_ledger_trail_and_receipts(
    system: System, browser: Browser, shots: Any, tmp_path: Path
) -> None:
    email = f"finance.{uuid.uuid4().hex[:6]}@example.org"
    with system.rpc() as rpc:
        rpc.registry.create_staff_account(
            ADMINS[0], {"email": email, "roles": ["finance"], "password": PASSWORD}
        )
        cycle, payee = approved_bank_stipend(system, rpc)

    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=False,
        accept_downloads=True,
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    totp = enrol_on_page(page)
    expect(page.locator("h1")).to_have_text("Payout runs")
    page.locator(f"form[action='/finance/cycles/{cycle}/runs'] button").click()
    expect(page.locator("#totals tbody tr td")).to_have_text(
        ["EUR", "Bank transfer file", "1", "€250.00"]
    )
    page.click("form[action$='/release'] button")
    expect(page.locator("#confirm")).to_have_attribute("data-code", "release_run")
    page.fill("#confirm input[name=code]", next_code(totp))
    page.click("#confirm-button")  # releasing asks first
    expect(page.locator("#run-status")).to_have_attribute("data-code", "released")

    def sent() -> bool:
        page.reload()
        return page.locator(".payout-status").get_attribute("data-code") == "sent"

    wait_until(sent, "the worker to send the bank transfer", timeout=60)
    shots(page, "bank-run-sent")

    # 1. the pain.001 file, downloaded from the run's page
    with page.expect_download() as downloading:
        page.click("#pain001")
    file = tmp_path / downloading.value.suggested_filename
    downloading.value.save_as(file)
    assert file.name.endswith("pain001.xml")
    xml = file.read_text()
    assert "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09" in xml and IBAN in xml
    (payout,) = system.sql(
        "stipends", "SELECT id::text FROM payouts WHERE communicator_id = :c", c=payee
    )
    payout_id = payout[0]
    assert f"<EndToEndId>{uuid.UUID(payout_id).hex}</EndToEndId>" in xml
    assert_valid_pain001(xml)

    # 2. the bank's statement: our payment booked, and a line that is not ours
    page.click("nav a[href='/finance/bank-statements']")
    expect(page.locator("h1")).to_have_text("Import the bank's statement")
    page.set_input_files(
        "input[name=file]",
        {
            "name": "statement.csv",
            "mimeType": "text/csv",
            "buffer": (
                "reference,amount,currency,status\n"
                f"payout:{payout_id},250.00,EUR,booked\n"
                f"payout:{uuid.uuid4()},9.00,EUR,booked\n"
            ).encode(),
        },
    )
    page.click("#import-statement button[type=submit]")
    expect(page.locator("#paid-count strong")).to_have_text("1")
    expect(page.locator("#problem-count strong")).to_have_text("1")
    expect(page.locator("#statement-problems td[data-code]")).to_have_text(
        ["No bank transfer of ours has this reference"]
    )
    shots(page, "statement-imported")

    # 3. the trial balance, and an account's statement
    page.click("nav a[href='/finance/ledger']")
    expect(page.locator("#balanced")).to_have_attribute("data-code", "balanced")
    shots(page, "trial-balance")
    funds = page.locator("tr.account[data-code='provider_clearing'] a").first
    funds.click()
    expect(page.locator("h1")).to_contain_text("Sent to a provider, not yet confirmed")
    expect(page.locator("#statement td[data-code='payout_sent']").first).to_have_text(
        "Payment sent"
    )
    shots(page, "account-statement")

    # 4. the payout's page: its trail as a timeline
    page.goto(f"{system.url}/finance/payouts/{payout_id}")
    expect(page.locator("#payout-status")).to_have_attribute("data-code", "paid")
    steps = page.locator("#audit .audit-line")
    codes = [steps.nth(i).get_attribute("data-code") for i in range(steps.count())]
    for step in ("run_build", "run_release", "sent", "run_bank_file", "paid"):
        assert step in codes, (step, codes)
    expect(page.locator("#audit")).to_contain_text("Bank file downloaded")
    shots(page, "payout-trail")

    # 5. the payee says the money did not arrive; finance resolves it
    with system.rpc() as rpc, as_console():
        rpc.stipends.confirm_receipt(
            actor(["communicator"], payee), payout_id, False, "nothing on my account"
        )
    page.goto(f"{system.url}/finance")
    assert int(page.locator("#open-problems").inner_text()) >= 1
    page.click("#receipts-link")
    row = page.locator("#open-problems tr", has_text="nothing on my account")
    expect(row).to_contain_text("€250.00")
    shots(page, "receipt-queue")
    row.locator("select[name=resolution]").select_option("paid_confirmed_by_provider")
    row.locator("input[name=note]").fill("booked by the bank on the statement")
    row.locator("button[type=submit]").click()
    resolved = page.locator("#resolved-problems tr", has_text="booked by the bank")
    expect(resolved.locator(".resolution")).to_have_text(
        "The provider confirms it was paid"
    )
    shots(page, "receipt-resolved")
    (state,) = system.sql(
        "stipends",
        "SELECT problem_status FROM payout_receipts WHERE payout_id = :p",
        p=payout_id,
    )
    assert state[0] == "resolved"
    context.close()
