"""Vouching in a real browser with JavaScript off: an applicant names a member, the
member sees the request in their own console (the applicant's pseudonym and city,
never their name or contacts) and confirms it; only then does the application need
one admin's approval, and the admin's page says so in words."""

import uuid
from typing import Any

import requests
from playwright.sync_api import Browser, expect

from tests.browser.test_oversight import signed_in_admin
from tests.journeys import ADMINS, PASSWORD, active_communicator
from tests.stack import System


def test_a_member_confirms_a_vouch_in_their_console(
    system: System, browser: Browser, shots: Any
) -> None:
    with system.rpc() as rpc:
        voucher = active_communicator(system, rpc, password=PASSWORD)
    applicant = {
        "pseudonym": f"finch_{uuid.uuid4().hex[:6]}",
        "legal_name": "Мария Соколова",
        "email": f"{uuid.uuid4().hex[:8]}@example.org",
        "phone": "+995 555 98 76 54",
        "country": "GE",
        "city": "Кутаиси",
        "consent_version": "2026-11",
        "consent": True,
        "referral": voucher["pseudonym"],
    }
    applied = requests.post(
        f"{system.url}/api/v1/applications", json=applicant, timeout=30
    )
    assert applied.status_code == 202, applied.text
    with system.rpc() as rpc:
        (found,) = rpc.registry.find_communicators(
            ADMINS[0], {"pseudonym": applicant["pseudonym"]}
        )
        before = rpc.registry.get_application(ADMINS[0], found["id"])
    assert (before["vouch"]["state"], before["approvals_needed"]) == ("pending", 2)

    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=ru")
    page.fill("input[name=email]", voucher["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    waiting = page.locator("#vouch-requests-waiting a")
    expect(waiting).to_contain_text("просят вашего поручительства: 1")
    shots(page, "home-says-a-request-waits")
    waiting.click()
    row = page.locator(".vouch-request", has_text=applicant["pseudonym"])
    expect(row).to_have_attribute("data-code", "pending")
    expect(row.locator(".city")).to_have_text("Кутаиси")
    content = page.content()
    for secret in (applicant["legal_name"], applicant["email"], "98 76 54"):
        assert secret not in content
    shots(page, "request")
    row.locator(".vouch-confirm button").click()
    expect(page.locator("#answered")).to_have_attribute("data-code", "confirmed")
    expect(page.locator("#answered")).to_contain_text("вы поручились")
    row = page.locator(".vouch-request", has_text=applicant["pseudonym"])
    expect(row).to_have_attribute("data-code", "confirmed")
    expect(row.locator(".vouch-confirm")).to_have_count(0)
    shots(page, "confirmed")
    context.close()

    with system.rpc() as rpc:
        after = rpc.registry.get_application(ADMINS[0], found["id"])
    assert (after["vouch"]["state"], after["approvals_needed"]) == ("confirmed", 1)

    admin = signed_in_admin(system, browser)
    admin.goto(f"{system.url}/admin/applications/{found['id']}?lang=en")
    vouched = admin.locator("#vouched")
    expect(vouched).to_have_attribute("data-code", "confirmed")
    expect(vouched).to_contain_text(
        f"{voucher['pseudonym']} confirmed that they know the applicant"
    )
    expect(admin.locator("#approvals")).to_have_text("0 / 1")
    shots(admin, "admin-sees-the-vouch")
    admin.context.close()
