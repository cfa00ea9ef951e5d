"""Finance's main journey in a real browser against the real running system: a
communicator onboarded to Stripe Connect in the sandbox, a cycle closed and its stipend
approved by two other people; finance enrolls TOTP, builds the run, checks its control
totals, releases it with a fresh code, and watches the payout reach the sandbox."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import requests
import stripe
from playwright.sync_api import Browser, expect

from tests.helpers import wait_until
from tests.stack import System

PASSWORD = "correct horse battery staple"
ADMINS = [{"id": str(uuid.uuid4()), "roles": ["program_admin"]} for _ in range(2)]
REPORT = {
    "conversations": 4,
    "audiences": ["family"],
    "channels": ["video"],
    "hours": 3,
    "observed_change": "some",
    "narrative": "My father listened for the first time.",
}


def approved_stipend(system: System, rpc: Any) -> str:
    """A paid-ready communicator in Germany with one approved stipend; its cycle."""
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    pseudonym = f"ibis_{uuid.uuid4().hex[:6]}"
    applied = requests.post(
        f"{system.url}/api/v1/applications",
        timeout=30,
        json={
            "pseudonym": pseudonym,
            "legal_name": "Lev N.",
            "email": email,
            "country": "DE",
            "city": "Leipzig",
            "consent_version": "2026-11",
            "consent": True,
        },
    )
    assert applied.status_code == 202
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
    communicator = {"id": ident, "roles": ["communicator"]}
    setup = rpc.registry.start_payout_setup(communicator)
    assert setup["provider"] == "stripe_connect"
    client = stripe.StripeClient(
        "sk_test_dev-registry", base_addresses={"api": system.sandbox}
    )
    (account,) = [
        a
        for a in client.accounts.list().data
        if a.metadata.to_dict().get("communicator_id") == ident
    ]
    onboarded = requests.post(
        f"{system.sandbox}/_sandbox/accounts/{account.id}/complete_onboarding",
        json={},
        timeout=30,
    )
    assert onboarded.status_code == 200
    # account.updated: sandbox → gateway (signature verified) → registry → stipends
    wait_until(
        lambda: system.sql(
            "stipends",
            "SELECT 1 FROM communicators WHERE id = :i AND payout_ready "
            "AND tier = 'professional'",
            i=ident,
        ),
        "the communicator to be payout-ready in stipends",
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
    rpc.stipends.fund_programme(ADMINS[0], programme["id"], 100_000)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cycle = rpc.stipends.open_cycle(ADMINS[0], programme["id"], "2026-10", past)
    draft = rpc.stipends.save_report_draft(communicator, cycle["id"], REPORT)
    rpc.stipends.submit_report(communicator, draft["report"]["id"])
    rpc.stipends.review_report(ADMINS[0], draft["report"]["id"], "accepted", "")
    rpc.stipends.close_cycle(ADMINS[0], cycle["id"])
    (stipend,) = rpc.stipends.list_stipends(ADMINS[1], cycle["id"], "proposed")
    shown = rpc.stipends.get_stipend(ADMINS[1], stipend["id"])
    rpc.stipends.approve_stipend(ADMINS[1], stipend["id"], shown["digest"])
    return str(cycle["id"])


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
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text())
    page.fill("input[name=code]", totp.now())
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Payout runs")
    shots(page, "cycles")
    page.locator(f"form[action='/finance/cycles/{cycle}/runs'] button").click()
    expect(page.locator("#run-status")).to_have_text("draft")
    totals = page.locator("#totals tbody tr td")
    expect(totals).to_have_text(["EUR", "stripe_connect", "1", "250.00"])
    shots(page, "control-totals")
    page.fill("input[name=code]", "000000")
    page.click("form[action$='/release'] button")
    expect(page.locator("#error")).to_contain_text("The code is not right")
    page.fill("input[name=code]", totp.now())
    page.click("form[action$='/release'] button")
    expect(page.locator("#run-status")).to_have_text("released")
    shots(page, "released")

    def paid() -> bool:
        page.reload()
        return page.locator(".payout-status").inner_text().startswith(("sent", "paid"))

    wait_until(paid, "the payout to reach the sandbox", timeout=60)
    shots(page, "paid")
    rows = system.sql("stipends", "SELECT status, provider_ref FROM payouts")
    assert rows[0][0] in ("sent", "paid") and rows[0][1].startswith("tr_")
    context.close()
