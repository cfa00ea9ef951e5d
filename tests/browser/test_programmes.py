"""A program admin runs a programme in a real browser against the running system:
creates it (currency from a list, amounts in euros), funds it (the same form sent
twice funds once), reverses a funding typed wrong (the budget back where it was),
opens a cycle with a date and time, and approves several stipends in one action,
each outcome shown."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
import stripe
from playwright.sync_api import Browser, expect

from tests.browser.test_staff import signed_in_admin
from tests.helpers import actor, wait_until
from tests.journeys import ADMINS, REPORT, active_communicator, as_console
from tests.stack import System


def payout_ready_professional(system: System, rpc: Any) -> str:
    """An active communicator in Germany, trained, professional, onboarded to
    Stripe Connect in the sandbox, and known as such to stipends."""
    ident = active_communicator(system, rpc, country="DE", city="Leipzig")["id"]
    training = rpc.registry.create_training(
        ADMINS[0], {"title": f"Listening {ident[:8]}", "held_on": "2026-10-01"}
    )
    rpc.registry.record_training_completion(ADMINS[0], training["id"], ident)
    rpc.registry.set_tier(ADMINS[0], ident, "professional", "trained")
    with as_console():
        rpc.registry.start_payout_setup(actor(["communicator"], ident))
    client = stripe.StripeClient(
        "sk_test_dev-registry", base_addresses={"api": system.sandbox}
    )
    (account,) = [
        a
        for a in client.accounts.list().data
        if a.metadata.to_dict().get("communicator_id") == ident
    ]
    requests.post(
        f"{system.sandbox}/_sandbox/accounts/{account.id}/complete_onboarding",
        json={},
        timeout=30,
    ).raise_for_status()
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
    return str(ident)


def proposed_stipends(system: System, programme: str, payees: int) -> str:
    """A cycle of `programme` past its deadline, a report of each payee accepted,
    closed by another admin: one proposed stipend each. Its id."""
    with system.rpc() as rpc:
        people = [payout_ready_professional(system, rpc) for _ in range(payees)]
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        cycle = rpc.stipends.open_cycle(ADMINS[0], programme, "2026-09", past)["id"]
        for ident in people:
            me = actor(["communicator"], ident)
            with as_console():
                draft = rpc.stipends.save_report_draft(me, cycle, REPORT)
                rpc.stipends.submit_report(me, draft["report"]["id"])
            rpc.stipends.review_report(ADMINS[0], draft["report"]["id"], "accepted", "")
        rpc.stipends.close_cycle(ADMINS[0], cycle)
    return str(cycle)


def test_an_admin_creates_funds_opens_and_approves_in_bulk(
    system: System, browser: Browser, shots: Any
) -> None:
    admin = signed_in_admin(system, browser, "en-GB")
    name = f"Evenings {uuid.uuid4().hex[:6]}"
    admin.click("nav a[href='/admin/programmes']")
    admin.fill("#create input[name=name]", name)
    admin.select_option("#create select[name=currency]", "EUR")
    admin.fill("#create input[name=tier_professional]", "250")
    admin.fill("#create input[name=min_conversations]", "1")
    shots(admin, "new-programme")
    admin.click("#create button[type=submit]")
    expect(admin.locator("h1")).to_have_text(name)
    expect(admin.locator("#budget")).to_have_text("€0.00")
    programme = admin.url.rsplit("/", 1)[1]

    # the same funding form sent twice (a double click, a resend): funded once
    fields = {
        key: admin.locator(f"#fund input[name={key}]").get_attribute("value") or ""
        for key in ("csrf", "currency", "idempotency_key")
    }
    admin.fill("#fund input[name=amount]", "1000")
    admin.click("#fund button[type=submit]")
    expect(admin.locator("#budget")).to_have_text("€1,000.00")
    again = admin.request.post(
        f"{system.url}/admin/programmes/{programme}/funding",
        form={**fields, "amount": "1000"},
    )
    assert again.ok
    admin.reload()
    expect(admin.locator("#budget")).to_have_text("€1,000.00")
    expect(admin.locator("#available")).to_have_text("€1,000.00")
    shots(admin, "funded-once")

    # a funding typed wrong (250 too many) is reversed: asked why, confirmed first
    admin.fill("#fund input[name=amount]", "250")
    admin.click("#fund button[type=submit]")
    expect(admin.locator("#budget")).to_have_text("€1,250.00")
    mistake = admin.locator("#fundings tbody tr").first
    expect(mistake).to_have_attribute("data-code", "in_budget")
    expect(mistake.locator("td.amount")).to_have_text("€250.00")
    mistake.locator("input[name=reason]").fill("typed on top of the right funding")
    mistake.locator("button[type=submit]").click()
    expect(admin.locator("#confirm")).to_have_attribute("data-code", "reverse_funding")
    expect(admin.locator("#what")).to_contain_text("€1,250.00 to €1,000.00")
    shots(admin, "reverse-funding-confirm")
    admin.click("#confirm-button")
    expect(admin.locator("#budget")).to_have_text("€1,000.00")
    expect(admin.locator("#available")).to_have_text("€1,000.00")
    reversed_row = admin.locator("#fundings tbody tr").first
    expect(reversed_row).to_have_attribute("data-code", "reversed")
    expect(reversed_row).to_contain_text("typed on top of the right funding")
    shots(admin, "funding-reversed")

    # far enough not to pass during the run, within the year a deadline may be away
    far = datetime.now(UTC) + timedelta(days=300)
    admin.fill("#open-cycle input[name=period]", "2026-11")
    admin.fill("#open-cycle input[name=deadline]", far.strftime("%Y-%m-%dT18:00"))
    admin.click("#open-cycle button[type=submit]")
    expect(admin.locator("#cycle-status")).to_have_attribute("data-code", "open")
    # as English writes the moment (C's %b is English's month)
    expect(admin.locator("main")).to_contain_text(
        f"{far:%b} {far.day}, {far.year}, 18:00 UTC"
    )
    shots(admin, "cycle-opened")

    cycle = proposed_stipends(system, programme, 3)
    admin.goto(f"{system.url}/admin/stipends?cycle={cycle}")
    expect(admin.locator("#count-proposed")).to_have_text("3")
    boxes = admin.locator("input[name=stipend]")
    expect(boxes).to_have_count(3)
    for n in range(3):
        boxes.nth(n).check()
    shots(admin, "ticked")
    admin.click("#approve-ticked")
    outcomes = admin.locator("#outcomes li.outcome")
    expect(outcomes).to_have_count(3)
    for n in range(3):
        expect(outcomes.nth(n)).to_have_attribute("data-outcome", "approved")
    expect(admin.locator("#count-approved")).to_have_text("3")
    shots(admin, "approved-in-one-action")
    statuses = system.sql(
        "stipends", "SELECT status FROM stipends WHERE cycle_id = :c", c=cycle
    )
    assert sorted(s for (s,) in statuses) == ["approved"] * 3
