"""Staff accounts' life cycle in a real browser against the running system: an admin
invites a finance member, who sets their own password from the mailed link and their
own authenticator (JavaScript off); the admin disables them (signed out at once) and
enables them again; a lost authenticator is reset by two different admins."""

import re
import uuid
from email.header import decode_header, make_header
from typing import Any

import pyotp
from playwright.sync_api import Browser, Page, expect

from tests.helpers import wait_until
from tests.journeys import enrol_on_page, enrolled_staff
from tests.stack import System

PASSWORD = "the finance member's own passphrase"


def signed_in_admin(system: System, browser: Browser, locale: str) -> Page:
    with system.rpc() as rpc:
        _, email, totp = enrolled_staff(system, rpc, ["program_admin"])
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale=locale
    )
    page = context.new_page()
    lang = locale[:2]
    page.goto(f"{system.url}/sign-in?lang={lang}")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", "correct horse battery staple")
    page.fill("input[name=code]", totp.now())
    page.click("button[type=submit]")
    expect(page.locator("nav a[href='/admin/staff']")).to_be_visible()
    return page


def invitation_link(system: System, email: str) -> str:
    def mail() -> Any:
        return [m for m in system.mails() if m["To"] == email]

    (message,) = wait_until(mail, "the invitation mail", timeout=30)
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "Ваш новый кабинет"  # the language the admin picked
    body = message.get_payload(decode=True).decode()
    for word in ("Svyaz", "stipend", "war", "Связь"):
        assert word not in body and word not in str(message["From"])
    found = re.search(r"(http://\S+/reset-password\?token=\S+)", body)
    assert found
    return found.group(1)


def test_an_invited_finance_member_sets_up_their_own_account(
    system: System, browser: Browser, shots: Any
) -> None:
    admin = signed_in_admin(system, browser, "en-GB")
    email = f"finance.{uuid.uuid4().hex[:6]}@example.org"
    admin.goto(f"{system.url}/admin/staff")
    shots(admin, "staff")
    admin.fill("#invite input[name=email]", email)
    admin.check("#invite input[value=finance]")
    admin.click("#invite button")  # no name: the browser asks for it first
    expect(admin.locator("#notice")).to_have_count(0)
    admin.fill("#invite input[name=handle]", "Fatima (finance)")
    # the page is English, so is the invitation unless the admin picks Russian
    expect(admin.locator("#invite input[name=language][value=en]")).to_be_checked()
    admin.check("#invite input[name=language][value=ru]")
    admin.click("#invite button")
    expect(admin.locator("#notice")).to_contain_text("valid for 72 hours")
    expect(admin.locator("#staff")).to_contain_text("Invited")
    expect(admin.locator("#staff")).to_contain_text("Fatima (finance)")
    shots(admin, "invited")

    # the invitee, on their own, with JavaScript off
    context = browser.new_context(java_script_enabled=False, locale="ru-RU")
    invitee = context.new_page()
    invitee.goto(invitation_link(system, email))
    invitee.fill("input[name=password]", PASSWORD)
    invitee.click("button[type=submit]")
    invitee.goto(f"{system.url}/sign-in")
    invitee.fill("input[name=email]", email)
    invitee.fill("input[name=password]", PASSWORD)
    invitee.click("button[type=submit]")
    secret = invitee.locator("#totp-secret").inner_text()
    enrol_on_page(invitee)
    expect(invitee).to_have_url(re.compile(r"/finance$"))
    shots(invitee, "invitee-signed-in")

    (ident,) = system.sql(
        "registry",
        "SELECT id FROM accounts WHERE kind = 'staff' AND roles = 'finance' "
        "ORDER BY created_at DESC LIMIT 1",
    )[0]
    row = f"#staff-{ident}"
    admin.goto(f"{system.url}/admin/staff")
    expect(admin.locator(f"{row} .state")).to_have_text("Active")
    admin.click(f"{row} .name summary")
    admin.fill(f"{row} .rename input[name=handle]", "Fatima K. (finance)")
    admin.click(f"{row} .rename button")
    expect(admin.locator(f"{row} .name")).to_contain_text("Fatima K. (finance)")
    admin.click(f"{row} button[value=disable]")
    expect(admin.locator("#confirm")).to_have_attribute("data-code", "disable_staff")
    expect(admin.locator("#confirm")).to_contain_text("Fatima K. (finance)")
    admin.click("#confirm-button")  # disabling asks first
    expect(admin.locator(f"{row} .state")).to_have_text("Disabled")
    invitee.goto(f"{system.url}/finance")
    expect(invitee).to_have_url(re.compile(r"/sign-in$"))  # signed out at once
    admin.click(f"{row} button[value=enable]")
    expect(admin.locator(f"{row} .state")).to_have_text("Active")
    shots(admin, "enabled-again")

    # a lost phone: one admin asks, another approves, the person enrolls anew
    admin.fill(f"{row} input[name=reason]", "phone lost on a trip")
    admin.click(f"{row} button[value=reset]")
    expect(admin.locator(row)).to_contain_text("another admin approves it")
    second = signed_in_admin(system, browser, "ru-RU")
    second.goto(f"{system.url}/admin/staff")
    expect(second.locator(row)).to_contain_text("phone lost on a trip")
    shots(second, "reset-waiting")
    second.click(f"{row} form[action^='/admin/second-factor-resets'] button")
    expect(second.locator(f"{row} .state")).to_have_text("Подключает аутентификатор")
    invitee.goto(f"{system.url}/sign-in")
    invitee.fill("input[name=email]", email)
    invitee.fill("input[name=password]", PASSWORD)
    invitee.click("button[type=submit]")
    fresh = invitee.locator("#totp-secret").inner_text()
    assert fresh != secret  # a new authenticator, set up by the person alone
    invitee.fill("input[name=code]", pyotp.TOTP(fresh).now())
    invitee.click("button[type=submit]")
    expect(invitee).to_have_url(re.compile(r"/finance$"))
    context.close()
