"""Journeys through the running system that several tiers start from, set up through
the API, signed RPC and the Stripe sandbox's control API, as people and Stripe would."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import requests
import stripe

from svyaz import signing
from svyaz.keys import GATEWAY
from tests.helpers import actor, earlier_code, wait_until
from tests.stack import System


def as_console() -> Any:
    """A communicator's step the web console takes for them: the calls behind it
    take the gateway alone, so this process signs them with the gateway's key."""
    return signing.signing_as(GATEWAY)


ADMINS = [actor(["program_admin"]) for _ in range(2)]
PASSWORD = "correct horse battery staple"  # noqa: S105 - a test account's
REPORT = {
    "conversations": 4,
    "audiences": ["family"],
    "channels": ["video"],
    "hours": 3,
    "observed_change": "some",
    "narrative": "My father listened for the first time.",
}


def active_communicator(system: System, rpc: Any, **fields: Any) -> dict[str, Any]:
    """An application through the API, accepted by two admins over RPC: its fields,
    with the communicator's `id`."""
    data = {
        "pseudonym": f"wren_{uuid.uuid4().hex[:6]}",
        "legal_name": "Anna K.",
        "email": f"{uuid.uuid4().hex[:8]}@example.org",
        "country": "AM",
        "city": "Yerevan",
        "consent_version": "2026-11",
        "consent": True,
        **fields,
    }
    applied = requests.post(f"{system.url}/api/v1/applications", timeout=30, json=data)
    assert applied.status_code == 202, applied.text
    (me,) = rpc.registry.find_communicators(ADMINS[0], {"pseudonym": data["pseudonym"]})
    rpc.registry.start_review(ADMINS[0], me["id"], "documents complete")
    for admin in ADMINS:
        rpc.registry.approve(admin, me["id"], "interviewed")
    return {**data, "id": me["id"]}


def approved_stipend(system: System, rpc: Any, **fields: Any) -> str:
    """A paid-ready communicator in Germany with one approved stipend; its cycle.
    `fields` go into the application (a `password` gives them a login)."""
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
            **fields,
        },
    )
    assert applied.status_code == 202
    pseudonym = fields.get("pseudonym", pseudonym)
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
    rpc.stipends.fund_programme(ADMINS[0], programme["id"], 100_000, str(uuid.uuid4()))
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
    return str(cycle["id"])


def enrolled_staff(
    system: System, rpc: Any, roles: list[str], url: str | None = None
) -> tuple[str, str, pyotp.TOTP]:
    """(id, email, authenticator) of a new staff account, its authenticator enrolled
    through the JSON API (of the gateway at `url`, the first one by default)."""
    url = url or system.url
    email = f"{roles[0]}.{uuid.uuid4().hex[:6]}@example.org"
    account = rpc.registry.create_staff_account(
        ADMINS[0], {"email": email, "roles": roles, "password": PASSWORD}
    )
    return str(account["id"]), email, enrolled(url, email)


def enrolled(url: str, email: str) -> pyotp.TOTP:
    """The authenticator of an account that must have one (staff, a club's
    coordinator), enrolled through the JSON API at its first sign-in."""
    signed_in = requests.post(
        f"{url}/api/v1/session",
        json={"email": email, "password": PASSWORD},
        timeout=30,
    )
    enroll = signed_in.json()
    totp = pyotp.TOTP(enroll["totp_secret"])
    # the previous step's code (still accepted): the person's next sign-ins can use
    # the current step and the next one, and each code is good once
    done = requests.post(
        f"{url}/api/v1/session/second-factor",
        json={"code": earlier_code(totp)},
        headers={
            "X-CSRF-Token": enroll["csrf_token"],
            # the cookie is Secure; requests keeps such cookies off plain http
            "Cookie": f"session={signed_in.cookies['session']}",
        },
        timeout=30,
    )
    assert done.status_code == 200, done.text
    return totp


def enrol_on_page(page: Any) -> pyotp.TOTP:
    """In a browser, the page a first sign-in shows staff (and a club's
    coordinator): the authenticator added with the key it shows, confirmed with its
    code. Returns the authenticator."""
    totp = pyotp.TOTP(page.locator("#totp-secret").inner_text())
    page.fill("input[name=code]", totp.now())
    page.click("button[type=submit]")
    return totp
