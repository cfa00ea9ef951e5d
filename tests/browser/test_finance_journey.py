"""Finance's main journey in a real browser against the real running system: a
communicator onboarded to Stripe Connect in the sandbox, a cycle closed and its stipend
approved by two other people; finance enrolls TOTP, builds the run, checks its control
totals, releases it with a fresh code, and watches the payout reach the sandbox; then
reconciles the day with Stripe (the provider's figure and the ledger's clearing figure
are the sandbox's own), uploads a bank statement, writes its difference off,
is told that a second person signs off, and ends on the trial balance, whose
clearing figure for the Stripe period is what the sandbox reports for it."""

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import stripe
from playwright.sync_api import Browser, expect

from svyaz import money
from tests.browser.screens import SCREENS
from tests.helpers import next_code, wait_until, written_day
from tests.journeys import ADMINS, approved_stipend, enrol_on_page
from tests.stack import System

PASSWORD = "correct horse battery staple"


def test_finance_releases_a_run_with_a_fresh_code_and_it_is_paid(
    system: System, browser: Browser, shots: Any
) -> None:
    email = f"finance.{uuid.uuid4().hex[:6]}@example.org"
    with system.rpc() as rpc:
        rpc.registry.create_staff_account(
            ADMINS[0], {"email": email, "roles": ["finance"], "password": PASSWORD}
        )
        cycle = approved_stipend(system, rpc)

    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    totp = enrol_on_page(page)
    expect(page.locator("h1")).to_have_text("Payout runs")
    shots(page, "cycles")
    # the first page after sign-in: what waits for finance, with counts
    expect(page.locator("#waiting-runs_to_release")).to_be_visible()
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / "finance-home-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 740})
    page.screenshot(path=str(SCREENS / "finance-home-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.locator(f"form[action='/finance/cycles/{cycle}/runs'] button").click()
    expect(page.locator("#run-status")).to_have_attribute("data-code", "draft")
    expect(page.locator("#run-status")).to_have_text("Draft: not released")
    totals = page.locator("#totals tbody tr td")
    expect(totals).to_have_text(["EUR", "Stripe Connect", "1", "€250.00"])
    shots(page, "control-totals")
    page.click("form[action$='/release'] button")
    # releasing asks first, saying what will be sent, and asks for the code there
    expect(page.locator("#confirm #totals")).to_contain_text("€250.00")
    page.fill("#confirm input[name=code]", "000000")
    shots(page, "confirm-release")
    page.click("#confirm-button")
    # a wrong code is said on the same page, which asks again
    expect(page.locator("#confirm")).to_have_attribute("data-code", "release_run")
    expect(page.locator("#error")).to_contain_text(
        "The code is not right; nothing was released"
    )
    expect(page.locator("#confirm #totals")).to_contain_text("€250.00")
    expect(page.locator("#confirm input[name=code]")).to_have_value("")
    # the enrollment used this step
    page.fill("#confirm input[name=code]", next_code(totp))
    page.click("#confirm-button")
    expect(page.locator("#run-status")).to_have_attribute("data-code", "released")
    expect(page.locator("#run-status")).to_have_text("Released")
    shots(page, "released")

    def paid() -> bool:
        page.reload()
        state = page.locator(".payout-status").get_attribute("data-code")
        return state in ("sent", "paid")

    wait_until(paid, "the payout to reach the sandbox", timeout=60)
    shots(page, "paid")
    run = page.url.rsplit("/", 1)[1]
    rows = system.sql(
        "stipends",
        "SELECT status, provider_ref FROM payouts WHERE run_id = :r",
        r=run,
    )
    assert rows[0][0] in ("sent", "paid") and rows[0][1].startswith("tr_")

    # reconcile today's Stripe period: the transfer matches
    today = datetime.now(UTC).date()
    period = (str(today - timedelta(days=1)), str(today + timedelta(days=1)))
    page.click("a[href='/finance/reconciliations']")
    expect(page.locator("h1")).to_have_text("Reconciliation")
    page.select_option("select[name=provider]", "stripe_connect")
    page.fill("input[name=period_start]", period[0])
    page.fill("input[name=period_end]", period[1])
    page.click("#reconcile button[type=submit]")
    expect(page.locator("#rec-status")).to_have_attribute("data-code", "open")
    expect(page.locator("#rec-status")).to_have_text("In progress")
    expect(page.locator("#rec-differences")).to_have_text("0")
    assert int(page.locator("#rec-matched").inner_text()) >= 1
    # the provider's figure and the ledger's, on the page: the sandbox's own
    sandbox_figure = sandbox_period_figure(system, *period)
    figure = page.locator("#figures tr.figure", has_text="EUR")
    expect(figure.locator("td")).to_have_text(
        ["EUR", sandbox_figure, sandbox_figure, "€0.00"]
    )
    shots(page, "reconciled")
    # the bank's statement, uploaded, names a payment that is not ours
    page.click("a[href='/finance/reconciliations']")
    page.select_option("select[name=provider]", "bank_file")
    # a day with no bank payout of ours (other tests pay by bank today)
    page.fill("input[name=period_start]", "2020-01-01")
    page.fill("input[name=period_end]", "2020-01-02")
    page.select_option("select[name=source]", "bank_statement")
    page.set_input_files(
        "input[name=file]",
        {
            "name": "statement.csv",
            "mimeType": "text/csv",
            "buffer": (
                "reference,amount,currency,status\n"
                f"payout:{uuid.uuid4()},12.00,EUR,booked\n"
            ).encode(),
        },
    )
    page.click("#reconcile button[type=submit]")
    expect(page.locator("#rec-differences")).to_have_text("1")
    expect(page.locator(".item-kind")).to_have_attribute(
        "data-code", "unexpected_at_provider"
    )
    expect(page.locator(".item-kind")).to_have_text(["Unexpected at the provider"])
    shots(page, "work-queue")
    page.check("input[name=item]")
    page.select_option("select[name=action]", "write_off")
    page.fill("#resolve input[name=reason]", "a test line from the bank")
    page.click("#resolve button[type=submit]")
    expect(page.locator("#rec-open")).to_have_text("0")
    # who ran it is not offered the sign-off: the page says a colleague signs
    expect(page.locator("#sign-off")).to_have_count(0)
    expect(page.locator("#not-signable")).to_have_attribute("data-code", "segregation")
    expect(page.locator("#not-signable")).to_contain_text("second finance person")
    shots(page, "sign-off-refused")

    # the journey ends on the trial balance: balanced, and for the Stripe period
    # the ledger's clearing figure is what the sandbox itself reports for it
    page.click("nav a[href='/finance/ledger']")
    expect(page.locator("#balanced")).to_have_attribute("data-code", "balanced")
    stripe_row = page.locator(
        "#clearing tr.clearing[data-code='stripe_connect'][data-currency='EUR']"
    )
    last = str(date.fromisoformat(period[1]) - timedelta(days=1))  # to its last day
    expect(stripe_row.locator("td").nth(1)).to_have_text(
        f"{written_day(period[0])} – {written_day(last)}"
    )
    expect(stripe_row.locator(".provider-figure")).to_have_text(sandbox_figure)
    expect(stripe_row.locator(".clearing-figure")).to_have_text(sandbox_figure)
    expect(stripe_row.locator(".difference")).to_have_text("€0.00")
    shots(page, "trial-balance-clearing")
    context.close()


def sandbox_period_figure(system: System, start: str, end: str) -> str:
    """What the sandbox's own balance transactions say left the platform for
    transfers created in [start, end), net of the reversals booked in it, in EUR
    as the consoles show money."""
    client = stripe.StripeClient(
        "sk_test_dev-stipends", base_addresses={"api": system.sandbox}
    )
    created = {
        "gte": int(datetime.fromisoformat(start).replace(tzinfo=UTC).timestamp()),
        "lt": int(datetime.fromisoformat(end).replace(tzinfo=UTC).timestamp()),
    }
    moved = sum(
        -int(txn.amount)
        for txn in client.v1.balance_transactions.list(
            {"created": created, "currency": "eur", "limit": 100}
        ).auto_paging_iter()
        if txn.type in ("transfer", "transfer_refund")
    )
    return money.display(moved, "EUR", "en")
