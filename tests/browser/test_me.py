"""A communicator's own page in a real browser with JavaScript off: a payout paid in
the Stripe sandbox that did not arrive is reported to finance; and the authenticator
set-up shows its QR code (drawn by the server as inline SVG) beside the key."""

import re
import uuid
from typing import Any

from playwright.sync_api import Browser, expect

from svyaz import errors, signing
from svyaz.keys import FINANCE_CLI
from tests.helpers import actor, wait_until
from tests.journeys import ADMINS, PASSWORD, approved_stipend, enrolled_staff
from tests.stack import System


def paid_payout(system: System, email: str) -> str:
    """A communicator (signing in with `email`) whose stipend is paid: finance builds
    and releases the run with a fresh code (as the finance CLI does), the sandbox
    takes the transfer; a transfer still `sent` is marked paid by finance."""
    with system.rpc() as rpc:
        finance_id, _, totp = enrolled_staff(system, rpc, ["finance"])
        cycle = approved_stipend(system, rpc, email=email, password=PASSWORD)
    finance = actor(["finance"], finance_id)
    with system.rpc(FINANCE_CLI) as rpc, signing.signing_as(FINANCE_CLI):
        run = rpc.stipends.build_payout_run(finance, cycle)
        rpc.stipends.release_payout_run(
            finance, run["id"], run["totals_digest"], totp.now()
        )
        (payout,) = rpc.stipends.list_payouts(finance, run["id"])

        def settled() -> str | None:
            (row,) = system.sql(
                "stipends", "SELECT status FROM payouts WHERE id = :i", i=payout["id"]
            )
            return row[0] if row[0] in ("sent", "paid") else None

        if wait_until(settled, "the payout to reach the sandbox", timeout=60) == "sent":
            try:
                rpc.stipends.payout_action(
                    finance, payout["id"], "mark_paid_offline", "seen on the statement"
                )
            except errors.Conflict:
                # the sandbox's webhook paid it between the look and the action
                assert settled() == "paid"
    return str(payout["id"])


def test_a_communicator_reports_a_payout_that_did_not_arrive_without_javascript(
    system: System, browser: Browser, shots: Any
) -> None:
    email = f"{uuid.uuid4().hex[:8]}@example.org"
    payout = paid_payout(system, email)
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    row = page.locator(f"#payout-{payout}")
    expect(row.locator(".payment")).to_have_attribute("data-code", "paid")
    expect(row.locator(".payment")).to_have_text("Paid")
    shots(page, "paid")
    row.locator("textarea[name=note]").fill("Nothing on my card after a week")
    row.locator(".receipt-missing button").click()
    expect(page.locator("#receipt-saved")).to_have_attribute(
        "data-code", "not_received"
    )
    expect(page.locator("#receipt-saved")).to_contain_text("finance will look into it")
    row = page.locator(f"#payout-{payout}")
    expect(row.locator(".receipt")).to_have_attribute("data-code", "not_received")
    expect(row.locator(".receipt-arrived button")).to_have_text("It arrived")
    shots(page, "reported")
    (problem,) = system.sql(
        "stipends",
        "SELECT received, problem_status, note FROM payout_receipts "
        "WHERE payout_id = :p",
        p=payout,
    )
    assert tuple(problem) == (False, "open", "Nothing on my card after a week")

    # the second factor: the key as a QR code beside it, with JavaScript off
    page.goto(f"{system.url}/me/security")
    page.click("form[action='/me/security'] button[type=submit]")
    qr = page.locator("#totp-qr-figure svg#totp-qr")
    expect(qr).to_be_visible()
    expect(page.locator("#totp-secret")).to_have_text(re.compile(r"^[A-Z2-7]{16,}$"))
    box = qr.bounding_box()
    assert box and box["width"] >= 100 and box["height"] >= 100
    shots(page, "qr-code")
    context.close()


def test_staff_see_the_qr_code_when_they_first_sign_in(
    system: System, browser: Browser, shots: Any
) -> None:
    email = f"admin.{uuid.uuid4().hex[:6]}@example.org"
    with system.rpc() as rpc:
        rpc.registry.create_staff_account(
            ADMINS[0],
            {"email": email, "roles": ["program_admin"], "password": PASSWORD},
        )
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=ru")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#totp-qr-figure")).to_have_attribute(
        "aria-label", "QR-код ключа: отсканируйте его приложением-аутентификатором"
    )
    expect(page.locator("svg#totp-qr")).to_be_visible()
    shots(page, "enroll-qr")
    context.close()
