"""A communicator's own pages and API beyond the basics: saying whether a paid
payout arrived (one's own payout only, and only once it is paid), bank details that
their country's rules refuse (API and console, in Russian and English), the
authenticator's QR code, and applying with a Cyrillic pseudonym."""

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import requests
import segno

from gateway import pages
from stipends.logic.payouts import actions, runs
from stipends.service import StipendsService
from svyaz import banking
from tests.gateway.conftest import Stipends, funded_programme, ready_payee
from tests.gateway.integration.test_api import Client
from tests.gateway.integration.test_console import PASSWORD, apply, csrf, sign_in
from tests.helpers import actor
from tests.registry.integration.conftest import ADMIN_A, Registry, application
from tests.stipends.integration.conftest import logic_actor

FINANCE = actor(["finance"])
NOBODY = "00000000-0000-4000-8000-000000000000"
REPORT = {
    "conversations": 3,
    "audiences": ["family"],
    "channels": ["phone"],
    "hours": 2,
    "observed_change": "some",
}


@pytest.fixture
def quiet_stipends(
    system: Registry, database: Any, service_config: Any, container_factory: Any
) -> Iterator[Stipends]:
    """stipends without its payout worker: the test moves its payouts itself."""
    url = database("stipends")
    container = container_factory(
        StipendsService,
        service_config("stipends", DB_URI=url, PAYOUT_WORKER_ENABLED=False),
    )
    container.start()
    handle = Stipends(url, container)
    yield handle
    handle.engine.dispose()


def released_payouts(
    system: Registry, stipends: Stipends, people: list[dict[str, Any]]
) -> dict[str, str]:
    """Each person (active, payout-ready) with an approved stipend in a released
    run: {communicator id: payout id}, the payouts queued, none paid yet."""
    idents = [ready_payee(system, stipends, person) for person in people]
    programme = funded_programme(stipends, 100_000, 25_000)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-10", past)["id"]
    for ident in idents:
        me = actor(["communicator"], ident)
        draft = stipends.call("save_report_draft", me, cycle, REPORT)
        stipends.call("submit_report", me, draft["report"]["id"])
        stipends.call("review_report", ADMIN_A, draft["report"]["id"], "accepted", "")
    stipends.call("close_cycle", ADMIN_A, cycle)
    approver = actor(["program_admin"])
    for stipend in stipends.call("list_stipends", approver, cycle, "proposed"):
        shown = stipends.call("get_stipend", approver, stipend["id"])
        stipends.call("approve_stipend", approver, stipend["id"], shown["digest"])
    with stipends.session() as session, session.begin():
        built = runs.build_run(
            session, logic_actor(FINANCE), uuid.UUID(cycle), {"stripe_connect"}
        )
        runs.release_run(
            session,
            logic_actor(FINANCE),
            built.run.id,
            built.run.totals_digest,
            True,
            datetime.now(UTC),
        )
    rows = stipends.sql("SELECT communicator_id, id, status FROM payouts")
    assert {r[2] for r in rows} == {"queued"}
    return {str(r[0]): str(r[1]) for r in rows}


def mark_paid(stipends: Stipends, payout_id: str) -> None:
    with stipends.session() as session, session.begin():
        actions.operator_action(
            session,
            logic_actor(FINANCE),
            uuid.UUID(payout_id),
            "mark_paid_offline",
            "seen on the bank portal",
            datetime.now(UTC),
        )


def test_a_communicator_says_whether_their_paid_payout_arrived(
    system: Registry, quiet_stipends: Stipends
) -> None:
    stipends = quiet_stipends
    anna = application(password=PASSWORD, country="DE", city="Berlin")
    lev = application(password=PASSWORD, country="DE", city="Leipzig")
    payouts = released_payouts(system, stipends, [anna, lev])
    (anna_id,) = [
        str(r[0])
        for r in system.sql(
            "SELECT id FROM communicators WHERE pseudonym = :p", p=anna["pseudonym"]
        )
    ]
    (lev_id,) = [
        str(r[0])
        for r in system.sql(
            "SELECT id FROM communicators WHERE pseudonym = :p", p=lev["pseudonym"]
        )
    ]
    mine, theirs = payouts[anna_id], payouts[lev_id]

    # not paid yet: no answer offered, and one sent anyway is refused
    browser, signed_in = sign_in(system, anna["email"])
    assert signed_in.status_code == 303
    home = browser.get(f"{system.url}/me?lang=en", timeout=30)
    assert f'action="/me/payouts/{mine}/receipt"' not in home.text
    assert "You can answer once it shows as paid." in home.text
    early = browser.post(
        f"{system.url}/me/payouts/{mine}/receipt",
        data={"csrf": csrf(home.text), "received": "no"},
        timeout=30,
    )
    assert early.status_code == 409
    assert "This payment is not paid yet" in early.text and 'id="error"' in early.text
    api = Client(system.url)
    assert api.sign_in(anna["email"]).status_code == 200
    refused = api("POST", f"/api/v1/me/payouts/{mine}/receipt", {"received": True})
    assert refused.status_code == 409
    assert refused.json()["code"] == "payout_not_paid"
    assert refused.headers["Content-Type"] == "application/problem+json"

    mark_paid(stipends, mine)
    mark_paid(stipends, theirs)
    (line,) = api("GET", "/api/v1/me/stipends").json()
    assert line["payout_id"] == mine and line["payout_status"] == "paid"
    assert line["can_confirm_receipt"] is True and line["receipt"] is None

    # someone else's payout, paid or not, is not found for them
    other = api("POST", f"/api/v1/me/payouts/{theirs}/receipt", {"received": False})
    assert other.status_code == 404
    home = browser.get(f"{system.url}/me?lang=en", timeout=30)
    assert f'action="/me/payouts/{theirs}/receipt"' not in home.text
    stolen = browser.post(
        f"{system.url}/me/payouts/{theirs}/receipt",
        data={"csrf": csrf(home.text), "received": "no"},
        timeout=30,
    )
    assert stolen.status_code == 404
    assert not stipends.sql("SELECT 1 FROM payout_receipts")

    # it did not arrive: finance's queue gets it, and the page says what happens
    missing = browser.post(
        f"{system.url}/me/payouts/{mine}/receipt",
        data={"csrf": csrf(home.text), "received": "no", "note": "nothing yet"},
        timeout=30,
    )
    assert missing.status_code == 200
    assert 'id="receipt-saved" data-code="not_received"' in missing.text
    assert "finance will look into it" in missing.text
    assert re.search(r'class="receipt" data-code="not_received"', missing.text)
    (problem,) = stipends.call("list_receipt_problems", FINANCE)
    assert (problem["payout_id"], problem["note"]) == (mine, "nothing yet")

    # then it arrived after all (through the API): the problem is withdrawn
    arrived = api("POST", f"/api/v1/me/payouts/{mine}/receipt", {"received": True})
    assert arrived.status_code == 200, arrived.text
    body = arrived.json()
    assert body["received"] is True and body["problem_status"] == "withdrawn"
    assert not stipends.call("list_receipt_problems", FINANCE)
    russian = browser.get(f"{system.url}/me?lang=ru", timeout=30)
    assert "Вы подтвердили, что она пришла." in russian.text
    bad = api("POST", f"/api/v1/me/payouts/{mine}/receipt", {"received": "maybe"})
    assert bad.status_code == 400


def svg_modules(svg: str) -> set[tuple[int, int]]:
    """The dark modules of segno's SVG path ("M x y.5 h n m dx dy h n ...")."""
    (path,) = re.findall(r'<path stroke="#000" d="([^"]+)"', svg)
    dark: set[tuple[int, int]] = set()
    x = y = 0.0
    for op, args in re.findall(r"([Mmh])([-\d.\s]+)", path):
        numbers = [float(n) for n in args.split()]
        if op == "M":
            x, y = numbers
        elif op == "m":
            x, y = x + numbers[0], y + numbers[1]
        else:
            for step in range(int(numbers[0])):
                dark.add((int(x) + step, int(y)))
            x += numbers[0]
    return dark


def expected_modules(uri: str) -> set[tuple[int, int]]:
    matrix = segno.make(uri, error="m", micro=False).matrix
    return {
        (col + pages.QR_BORDER, row + pages.QR_BORDER)
        for row, line in enumerate(matrix)
        for col, bit in enumerate(line)
        if bit
    }


def enrollment_uri(secret: str, account_id: str) -> str:
    """The otpauth URI the registry writes (registry.logic.accounts)."""
    return pyotp.TOTP(secret).provisioning_uri(
        name=account_id[:8], issuer_name="Account"
    )


def shown_qr(page: str) -> tuple[str, set[tuple[int, int]]]:
    """The key as text and the modules of the QR code beside it."""
    key = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', page)
    svg = re.search(r'<svg [^>]*id="totp-qr".*?</svg>', page, re.S)
    assert key and svg, "the page shows the key and its QR code"
    return key.group(1), svg_modules(svg.group(0))


def test_the_enrollment_pages_show_the_key_as_a_qr_code(system: Registry) -> None:
    # staff at their first sign-in
    email = f"finance.{uuid.uuid4().hex[:6]}@example.org"
    account = system.call(
        "create_staff_account",
        ADMIN_A,
        {"email": email, "roles": ["finance"], "password": PASSWORD},
    )["id"]
    _, page = sign_in(system, email)
    assert page.status_code == 200
    secret, drawn = shown_qr(page.text)
    assert drawn == expected_modules(enrollment_uri(secret, str(account)))
    assert drawn != expected_modules(enrollment_uri(secret, str(uuid.uuid4())))
    assert "<script" not in page.text and "data:" not in page.text
    assert "img-src 'self'" in page.headers["Content-Security-Policy"]

    # a communicator turning the code on from their security page
    data = application(password=PASSWORD)
    ident = system.active(**data)
    browser, _ = sign_in(system, data["email"])
    security = browser.get(f"{system.url}/me/security?lang=en", timeout=30)
    offered = browser.post(
        f"{system.url}/me/security",
        data={"csrf": csrf(security.text)},
        timeout=30,
    )
    assert offered.status_code == 200
    assert "Scan this QR code with your authenticator app" in offered.text
    secret, drawn = shown_qr(offered.text)
    assert drawn == expected_modules(enrollment_uri(secret, ident))


def apply_in(
    system: Registry, lang: str, **changes: Any
) -> tuple[requests.Response, dict[str, Any]]:
    """The application form sent from a page in `lang`."""
    browser = requests.Session()
    form = browser.get(f"{system.url}/apply?lang={lang}", timeout=30)
    data = application(password=PASSWORD, **changes)
    body = {
        **{k: v for k, v in data.items() if isinstance(v, str)},
        "languages": "ru",
        "consent": "yes",
        "csrf": csrf(form.text),
    }
    return browser.post(f"{system.url}/apply", data=body, timeout=30), data


def test_a_cyrillic_pseudonym_applies_and_a_mixed_one_is_told_to_use_one_alphabet(
    system: Registry,
) -> None:
    cyrillic = f"Ирина_{uuid.uuid4().int % 10**6}"  # digits: one alphabet
    response, data = apply(system, pseudonym=cyrillic)
    assert response.status_code == 200, response.text
    assert system.sql("SELECT 1 FROM communicators WHERE pseudonym = :p", p=cyrillic)
    # the API takes it too, and documents the rule
    api = requests.post(
        f"{system.url}/api/v1/applications",
        json={
            **application(pseudonym=f"Мария.{uuid.uuid4().int % 10**6}"),
            "phone": None,
        },
        timeout=30,
    )
    assert api.status_code == 202, api.text

    mixed = "Ivаn_" + uuid.uuid4().hex[:4]  # a Cyrillic "а" among Latin letters
    refused, _ = apply_in(system, "ru", pseudonym=mixed)
    assert refused.status_code == 400
    said = re.search(
        r'<p class="field-error" id="error-pseudonym">([^<]+)</p>', refused.text
    )
    assert said and said.group(1).startswith("Используйте один алфавит")
    english, _ = apply_in(system, "en", pseudonym=mixed)
    assert "Use one alphabet" in english.text
    assert not system.sql("SELECT 1 FROM communicators WHERE pseudonym = :p", p=mixed)
    through_api = requests.post(
        f"{system.url}/api/v1/applications",
        json={**application(pseudonym=mixed), "phone": None},
        timeout=30,
    )
    assert through_api.status_code == 400
    assert "one alphabet" in through_api.json()["errors"]["pseudonym"][0]


def test_the_application_form_has_real_controls_and_explains_vouching(
    system: Registry,
) -> None:
    form = requests.get(f"{system.url}/apply?lang=en", timeout=30)
    assert re.search(r'<select name="country" id="country" required', form.text)
    assert '<option value="GE">Georgia</option>' in form.text
    assert re.search(
        r'<select name="languages" id="languages" required\s+multiple', form.text
    )
    assert 'id="vouching"' in form.text
    assert "one admin's approval instead of two" in form.text
    # several languages ticked: each reaches the registry
    browser = requests.Session()
    page = browser.get(f"{system.url}/apply", timeout=30)
    data = application(password=PASSWORD)
    body = [
        *((k, v) for k, v in data.items() if isinstance(v, str)),
        ("languages", "ru"),
        ("languages", "uk"),
        ("consent", "yes"),
        ("csrf", csrf(page.text)),
    ]
    sent = browser.post(f"{system.url}/apply", data=body, timeout=30)
    assert sent.status_code == 200, sent.text
    ((ident,),) = system.sql(
        "SELECT id FROM communicators WHERE pseudonym = :p", p=data["pseudonym"]
    )
    shown = system.call("get_application", ADMIN_A, str(ident))
    assert shown["languages"] == ["ru", "uk"]


def test_a_member_answers_a_request_to_vouch_and_nobody_else_can(
    system: Registry,
) -> None:
    voucher = application(password=PASSWORD, city="Yerevan")
    system.active(**voucher)
    applicant = {
        **application(password=PASSWORD, city="Batumi", phone="+995 555 12 34 56"),
        "referral": voucher["pseudonym"].upper(),
    }
    stranger = {**application(password=PASSWORD), "referral": "nobody_here"}
    answers = [
        requests.post(
            f"{system.url}/api/v1/applications", json=person, timeout=30
        ).json()
        for person in (applicant, stranger)
    ]
    assert answers[0] == answers[1] == {"status": "received"}  # nothing told

    member = Client(system.url)
    assert member.sign_in(voucher["email"]).status_code == 200
    assert member("GET", "/api/v1/me").json()["vouch_requests"] == 1
    listed = member("GET", "/api/v1/me/vouches")
    assert listed.status_code == 200, listed.text
    (request,) = listed.json()
    assert (request["applicant"], request["city"], request["state"]) == (
        applicant["pseudonym"],
        "Batumi",
        "pending",
    )
    for secret in (applicant["email"], applicant["legal_name"], "555 12 34"):
        assert secret not in listed.text

    # the applicant (signed in) neither sees nor answers it; a bad answer changes
    # nothing
    own = Client(system.url)
    assert own.sign_in(applicant["email"]).status_code == 200
    assert own("GET", "/api/v1/me/vouches").json() == []
    path = f"/api/v1/me/vouches/{request['id']}"
    for body in ({"answer": "maybe"}, {}, None):
        assert member("POST", path, body).status_code == 400
    self_confirmed = own("POST", path, {"answer": "confirm"})
    assert self_confirmed.status_code == 404
    assert self_confirmed.json()["code"] == "vouch_not_found"
    unknown = member("POST", f"/api/v1/me/vouches/{NOBODY}", {"answer": "confirm"})
    assert unknown.status_code == 404
    ((ident,),) = system.sql(
        "SELECT id FROM communicators WHERE pseudonym = :p", p=applicant["pseudonym"]
    )
    view = system.call("get_application", ADMIN_A, str(ident))
    assert (view["vouch"]["state"], view["approvals_needed"]) == ("pending", 2)

    confirmed = member("POST", path, {"answer": "confirm"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json() == {"id": request["id"], "state": "confirmed"}
    again = member("POST", path, {"answer": "decline"})
    assert (again.status_code, again.json()["code"]) == (409, "vouch_not_pending")
    view = system.call("get_application", ADMIN_A, str(ident))
    assert (view["vouch"]["state"], view["approvals_needed"]) == ("confirmed", 1)
    assert member("GET", "/api/v1/me").json()["vouch_requests"] == 0


# GE, check digits that fit, a BBAN one digit short: a mod-97 check alone accepts it
SHORT_IBAN = "GE59 NB00 0000 0101 9049 1"
GOOD_BANK = {"holder": "Ирина П.", "iban": "GE29NB0000000101904917", "bic": "NBGEGE22"}


def test_bank_details_its_country_would_refuse_are_refused_saying_what_to_fix(
    system: Registry,
) -> None:
    data = application(password=PASSWORD, country="GE", city="Tbilisi")
    ident = system.active(**data)
    api = Client(system.url)
    assert api.sign_in(data["email"]).status_code == 200
    setup = api("POST", "/api/v1/me/payout-setup").json()
    assert setup == {"provider": "bank_file", "next": "bank_details", "status": "none"}
    check = api("POST", "/api/v1/me/payout-setup/check")
    assert (check.status_code, check.json()) == (200, {"status": "none"})

    def nothing_saved() -> bool:
        return not system.sql(
            "SELECT 1 FROM payout_accounts WHERE communicator_id = :i", i=ident
        )

    for change, field, code in [
        ({"iban": SHORT_IBAN}, "iban", "iban_length"),
        ({"iban": "GE92 NBA0 0000 1019 0491 7X"}, "iban", "iban_format"),
        ({"iban": "XX29NB0000000101904917"}, "iban", "iban_country"),
        ({"iban": "GE29NB0000000101904918"}, "iban", "invalid_iban"),
        ({"bic": "NBGEXX22"}, "bic", "bic_country"),
        ({"bic": "COBADEFFXXX"}, "bic", "bic_not_iban_country"),  # a German bank
        ({"bic": "NBGEGE2"}, "bic", "invalid_bic"),
    ]:
        refused = api("POST", "/api/v1/me/bank-details", {**GOOD_BANK, **change})
        assert refused.status_code == 400, refused.text
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["errors"] == {field: [banking.MESSAGES[code]]}
        assert change[field] not in refused.text  # never repeated back
        assert nothing_saved()

    # the console says it in the person's language
    browser, _ = sign_in(system, data["email"])
    for lang, said in [
        ("ru", "В этом IBAN больше или меньше знаков, чем положено для его страны."),
        ("en", "This IBAN has too many or too few characters for its country."),
    ]:
        home = browser.get(f"{system.url}/me?lang={lang}", timeout=30)
        page = browser.post(
            f"{system.url}/me/bank-details",
            timeout=30,
            data={"csrf": csrf(home.text), **GOOD_BANK, "iban": SHORT_IBAN},
        )
        assert page.status_code == 400 and said in page.text
        assert "iban_length" not in page.text and "GE59" not in page.text
        assert 'id="bank-details"' in page.text  # the form again, to correct
        assert 'id="bank-not-kept"' in page.text  # and why it is empty
        assert nothing_saved()
    home = browser.get(f"{system.url}/me?lang=ru", timeout=30)
    bad_bic = browser.post(
        f"{system.url}/me/bank-details",
        timeout=30,
        data={"csrf": csrf(home.text), **GOOD_BANK, "bic": "NBGEXX22"},
    )
    assert "Пятая и шестая буквы BIC — код страны" in bad_bic.text
    assert nothing_saved()
    no_name = browser.post(  # a field's rule, in the page's words and its label
        f"{system.url}/me/bank-details",
        timeout=30,
        data={"csrf": csrf(home.text), **GOOD_BANK, "holder": "Z"},
    )
    assert no_name.status_code == 400 and "Length must be" not in no_name.text
    assert "Владелец счёта" in no_name.text and "holder:" not in no_name.text
    assert nothing_saved()

    saved = api("POST", "/api/v1/me/bank-details", {**GOOD_BANK, "bic": "nbge ge22"})
    assert (saved.status_code, saved.json()) == (200, {"status": "ready"})
    assert "GE29" not in saved.text
    assert api("GET", "/api/v1/me").json()["payout_setup"] == "ready"
    assert api("POST", "/api/v1/me/payout-setup/check").json() == {"status": "ready"}
