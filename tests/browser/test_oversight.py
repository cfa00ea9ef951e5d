"""Clubs, trainings and oversight in a real browser against the running system, with
JavaScript off: an admin creates a club and names its coordinator from the list,
adds a training, records two completions at once, verifies the access log and
sends a parked notification again with a reason."""

import uuid
from typing import Any

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import create_engine, text

from tests.journeys import ADMINS, PASSWORD, active_communicator, enrolled_staff
from tests.stack import System


def signed_in_admin(system: System, browser: Browser) -> Page:
    with system.rpc() as rpc:
        _, email, totp = enrolled_staff(system, rpc, ["program_admin"])
    context = browser.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-GB",
        java_script_enabled=False,
    )
    page = context.new_page()
    page.goto(f"{system.url}/sign-in?lang=en")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=code]", totp.now())
    page.click("button[type=submit]")
    expect(page.locator("nav a[href='/admin/oversight']")).to_be_visible()
    return page


def park_a_delivery(system: System) -> int:
    """A sent notification marked as parked after an SMTP outage (as the sender
    parks one that failed every attempt)."""
    engine = create_engine(system.settings.db_uri("notifications"))
    try:
        with engine.begin() as conn:
            ident = conn.execute(
                text(
                    "UPDATE deliveries SET status = 'parked', "
                    "last_error = 'smtp: 421 try later' WHERE id = (SELECT max(id) "
                    "FROM deliveries WHERE channel = 'email' AND status = 'sent') "
                    "RETURNING id"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return int(ident)


def test_an_admin_runs_clubs_and_oversight_in_the_console(
    system: System, browser: Browser, shots: Any
) -> None:
    tag = uuid.uuid4().hex[:6]
    with system.rpc() as rpc:
        coordinator = rpc.registry.create_staff_account(
            ADMINS[0],
            {
                "email": f"coordinator.{tag}@example.org",
                "roles": ["club_coordinator"],
                "password": PASSWORD,
            },
        )["id"]
        people = [
            active_communicator(system, rpc, pseudonym=f"tern_{tag}_{n}")
            for n in (1, 2)
        ]
    admin = signed_in_admin(system, browser)

    # a club, its coordinator chosen from the list of staff who may coordinate
    admin.click("nav a[href='/admin/clubs']")
    name = f"Tbilisi Evenings {tag}"
    admin.fill("#new-club input[name=name]", name)
    admin.select_option("#new-club select[name=country]", "GE")
    admin.fill("#new-club input[name=city]", "Tbilisi")
    admin.select_option("#new-club select[name=coordinator]", coordinator)
    shots(admin, "new-club")
    admin.click("#new-club button[type=submit]")
    club = admin.locator("section.club", has_text=name)
    expect(club.locator(".coordinator")).to_contain_text(coordinator[:8])

    # a training for that club, on a date picked from a date input
    admin.fill("#new-training input[name=title]", f"Listening {tag}")
    admin.fill("#new-training input[name=held_on]", "2026-11-20")
    admin.select_option("#new-training select[name=club_id]", label=name)
    admin.click("#new-training button[type=submit]")
    row = admin.locator("#trainings tr", has_text=f"Listening {tag}")
    expect(row).to_contain_text(name)
    shots(admin, "clubs-and-trainings")

    # two completions at once, the people found by their pseudonyms
    row.locator("a").click()
    admin.fill("#search input[name=pseudonym]", f"tern_{tag}")
    admin.click("#search button")
    for person in people:
        admin.check(f"input[name=communicator_ids][value='{person['id']}']")
    shots(admin, "completions-ticked")
    admin.click("#completions-form button[type=submit]")
    expect(admin.locator("#recorded")).to_have_text("2")
    expect(admin.locator("#already")).to_have_text("0")
    shots(admin, "completions-recorded")

    # the access log's chain, checked with one button
    admin.click("nav a[href='/admin/oversight']")
    admin.click("#verify button")
    expect(admin.locator("#chain")).to_have_attribute("data-intact", "yes")
    expect(admin.locator("#chain")).to_contain_text("is intact")
    shots(admin, "access-log-intact")

    # a parked notification, sent again with a reason that the audit keeps
    delivery = park_a_delivery(system)
    admin.goto(f"{system.url}/admin/oversight/parked")
    parked = admin.locator(f"#delivery-{delivery}")
    expect(parked).to_contain_text("The mail or Telegram service failed")
    parked.locator("input[name=reason]").fill(f"the mail server is back {tag}")
    shots(admin, "parked-delivery")
    parked.locator("button[value=retry]").click()
    expect(admin.locator("#notice")).to_be_visible()
    audit = admin.locator("#actions tr", has_text=f"the mail server is back {tag}")
    expect(audit).to_contain_text("Sent again")
    shots(admin, "parked-retried")
