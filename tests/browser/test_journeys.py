"""Each role's main journey in a real browser against the real running system. The
communicator's runs with JavaScript disabled (Tor Browser's safest level) on a phone's
screen, and so does the club coordinator's; the admin's on a desktop one (finance's is
in test_finance_journey.py)."""

import uuid
from typing import Any

import requests
from playwright.sync_api import Browser, expect

from tests.journeys import ADMINS, active_communicator, enrol_on_page
from tests.stack import System

PASSWORD = "correct horse battery staple"


def test_a_communicator_applies_and_follows_the_application_without_javascript(
    system: System, browser: Browser, shots: Any
) -> None:
    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
        locale="ru-RU",
    )
    page = context.new_page()
    pseudonym, email = (
        f"crane_{uuid.uuid4().hex[:6]}",
        f"{uuid.uuid4().hex[:8]}@example.org",
    )
    page.goto(f"{system.url}/apply")
    shots(page, "apply-form")
    page.fill("input[name=pseudonym]", pseudonym)
    page.fill("input[name=legal_name]", "Мария Иванова")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.select_option("select[name=country]", "AM")
    page.fill("input[name=city]", "Ереван")
    page.select_option("select[name=languages]", ["ru", "hy"])
    page.fill("textarea[name=motivation]", "Разговаривать с отцом в Воронеже.")
    page.check("input[name=consent]")
    page.click("button[type=submit]")
    expect(page.locator("#message")).to_contain_text("Ваша заявка получена")
    assert email not in page.url and pseudonym not in page.url
    shots(page, "received")

    page.goto(f"{system.url}/sign-in")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#pseudonym")).to_have_text(pseudonym)
    expect(page.locator("#status")).to_have_attribute("data-code", "applied")
    expect(page.locator("#status")).to_have_text("Заявка получена")
    shots(page, "home")
    assert len(shots.taken) == 3 and all(p.stat().st_size > 1000 for p in shots.taken)
    context.close()


def test_an_admin_enrolls_a_second_factor_and_reviews_an_application(
    system: System, browser: Browser, shots: Any
) -> None:
    # an admin another admin made (the first admin's bootstrap, which needs a
    # system with none, is test_whole_programme's first step)
    admin_email = f"admin.{uuid.uuid4().hex[:6]}@example.org"
    with system.rpc() as rpc:
        rpc.registry.create_staff_account(
            ADMINS[0],
            {"email": admin_email, "roles": ["program_admin"], "password": PASSWORD},
        )
    # the applicant comes in through the JSON API, as from a phone
    pseudonym = f"stork_{uuid.uuid4().hex[:6]}"
    assert (
        requests.post(
            f"{system.url}/api/v1/applications",
            timeout=30,
            json={
                "pseudonym": pseudonym,
                "legal_name": "Pavel K.",
                "email": f"{uuid.uuid4().hex[:8]}@example.org",
                "country": "DE",
                "city": "Berlin",
                "consent_version": "2026-11",
                "consent": True,
            },
        ).status_code
        == 202
    )
    assert system.sql(
        "registry", "SELECT 1 FROM communicators WHERE pseudonym = :p", p=pseudonym
    )

    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-GB"
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    page.fill("input[name=email]", admin_email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    shots(page, "enroll")
    enrol_on_page(page)
    expect(page.locator("h1")).to_have_text("Applications")
    shots(page, "applications")
    page.click(f"text={pseudonym}")
    expect(page.locator("#status")).to_have_attribute("data-code", "applied")
    expect(page.locator("#status")).to_have_text("Application received")
    page.fill("input[name=reason]", "documents complete")
    page.click("button[value=start_review]")
    expect(page.locator("#status")).to_have_attribute("data-code", "in_review")
    expect(page.locator("#status")).to_have_text("Under review")
    page.fill("input[name=reason]", "interviewed by video")
    page.click("button[value=approve]")
    expect(page.locator("#approvals")).to_have_text("1 / 2")  # a second admin next
    shots(page, "approved-once")
    context.close()


def test_a_club_coordinator_sees_their_own_clubs_pseudonyms_only(
    system: System, browser: Browser, shots: Any
) -> None:
    with system.rpc() as rpc:
        coordinator = active_communicator(system, rpc, password=PASSWORD)
        own = rpc.registry.create_club(
            ADMINS[0],
            {
                "name": "Yerevan Thursdays",
                "country": "AM",
                "mode": "offline",
                "coordinator": coordinator["pseudonym"],
            },
        )["id"]
        other = rpc.registry.create_club(
            ADMINS[0], {"name": "Elsewhere", "country": "DE", "mode": "online"}
        )["id"]
        member = active_communicator(system, rpc, club_id=own)
        outsider = active_communicator(system, rpc, club_id=other)

    context = browser.new_context(
        java_script_enabled=False,
        viewport={"width": 390, "height": 844},
        locale="en-GB",
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    page.fill("input[name=email]", coordinator["email"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    # coordinating a club (their members' strategies): an authenticator first
    enrol_on_page(page)
    page.click("a[href='/coordinator']")
    expect(page.locator("h1")).to_have_text("My clubs")
    club = page.locator(f"#club-{own}")
    expect(club.locator("h2")).to_contain_text("Yerevan Thursdays")
    expect(club.locator(".members li")).to_have_text([member["pseudonym"]])
    content = page.content()
    for hidden in (
        outsider["pseudonym"],
        "Elsewhere",
        member["email"],
        member["legal_name"],
    ):
        assert hidden not in content
    assert coordinator["email"] not in page.url
    shots(page, "my-clubs")
    context.close()
