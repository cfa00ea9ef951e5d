"""Irreversible steps ask first (gateway/confirm.py): the step's own form answers
with a page saying exactly what will happen, with a dangerous button that sends the
same fields again with `confirmed=yes` and a way back; nothing changes until that
second post. Rejecting an application, offboarding, disabling a staff account and a
communicator erasing their own data here; releasing a run in
test_finance_console.py."""

import re

import requests

from tests.gateway.integration.test_console import (
    PASSWORD,
    csrf,
    sign_in,
    signed_in_admin,
)
from tests.registry.integration.conftest import ADMIN_A, Registry, application


def confirm(browser: requests.Session, asked: requests.Response) -> requests.Response:
    """Press the dangerous button of a confirmation page: its form as it is."""
    form = re.search(
        r'<form method="post" action="([^"]+)" id="confirm-form">'
        r"(.*?)</form>",
        asked.text,
        re.S,
    )
    assert form, "a confirmation page"
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form.group(2)))
    assert fields["confirmed"] == "yes"
    return browser.post(
        asked.url.split("/", 3)[0] + "//" + asked.url.split("/")[2] + form.group(1),
        data=fields,
        timeout=30,
    )


def status(system: Registry, ident: str) -> str:
    ((found,),) = system.sql("SELECT status FROM communicators WHERE id = :i", i=ident)
    return str(found)


def test_rejecting_and_offboarding_ask_first_naming_the_pseudonym(
    system: Registry,
) -> None:
    admin, _ = signed_in_admin(system, "confirming@example.org")
    applicant = system.applicant()
    url = f"{system.url}/admin/applications/{applicant}"
    page = admin.get(url, timeout=30)
    asked = admin.post(
        url,
        timeout=30,
        data={"csrf": csrf(page.text), "step": "reject", "reason": "not reachable"},
    )
    assert asked.status_code == 200 and 'data-code="reject_application"' in asked.text
    (pseudonym,) = system.sql(
        "SELECT pseudonym FROM communicators WHERE id = :i", i=applicant
    )[0]
    assert pseudonym in asked.text and "not reachable" in asked.text
    assert f'href="/admin/applications/{applicant}" id="go-back"' in asked.text
    assert asked.text.count('name="csrf"') == 2  # the form's own, and sign-out's
    assert status(system, applicant) == "applied"  # nothing yet
    done = confirm(admin, asked)
    assert done.status_code == 200 and status(system, applicant) == "rejected"

    member = system.active(**application())
    url = f"{system.url}/admin/applications/{member}"
    page = admin.get(url, timeout=30)
    asked = admin.post(
        url,
        timeout=30,
        data={"csrf": csrf(page.text), "step": "offboard", "reason": "moved on"},
    )
    assert 'data-code="offboard"' in asked.text and status(system, member) == "active"
    confirm(admin, asked)
    assert status(system, member) == "offboarded"


def test_disabling_staff_asks_first_with_the_accounts_roles(system: Registry) -> None:
    admin, page = signed_in_admin(system, "staff.keeper@example.org")
    other = system.call(
        "create_staff_account",
        ADMIN_A,
        {"email": "leaving@example.org", "roles": ["finance"], "password": PASSWORD},
    )["id"]
    asked = admin.post(
        f"{system.url}/admin/staff/{other}?lang=en",
        timeout=30,
        data={"csrf": csrf(page), "action": "disable"},
    )
    assert 'data-code="disable_staff"' in asked.text and "Finance" in asked.text
    assert "leaving@example.org" not in asked.text
    (enabled,) = system.sql("SELECT NOT disabled FROM accounts WHERE id = :i", i=other)[
        0
    ]
    assert enabled
    confirm(admin, asked)
    (enabled,) = system.sql("SELECT NOT disabled FROM accounts WHERE id = :i", i=other)[
        0
    ]
    assert not enabled


def test_erasing_ones_own_data_asks_first_and_names_nobody(system: Registry) -> None:
    data = application(password=PASSWORD)
    ident = system.active(**data)
    browser, _ = sign_in(system, data["email"])
    home = browser.get(f"{system.url}/me?lang=en", timeout=30)
    asked = browser.post(
        f"{system.url}/me/erase",
        timeout=30,
        data={"csrf": csrf(home.text), "reason": "leaving", "confirm": "yes"},
    )
    assert 'data-code="erase_self"' in asked.text
    assert data["pseudonym"] not in asked.text.split("<main", 1)[1]
    assert "Yes, erase my data and close my account" in asked.text
    assert system.sql("SELECT erased_at FROM communicators WHERE id = :i", i=ident) == [
        (None,)
    ]
    confirm(browser, asked)
    ((erased,),) = system.sql(
        "SELECT erased_at FROM communicators WHERE id = :i", i=ident
    )
    assert erased is not None
