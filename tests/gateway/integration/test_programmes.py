"""Programmes, cycles and stipends run from the console and the API by program admins:
the forms' effects in the stipends database, and their refusals in place."""

import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from tests.gateway.conftest import Stipends, funded_programme, ready_payee
from tests.gateway.integration.test_api import Client, staff
from tests.gateway.integration.test_console import PASSWORD, csrf, signed_in_admin
from tests.helpers import actor
from tests.registry.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    Registry,
    actor_for,
    application,
)

REPORT = {
    "conversations": 6,
    "audiences": ["family"],
    "channels": ["video"],
    "hours": 5,
    "observed_change": "some",
    "narrative": "My aunt asked where to read more.",
}


def field(page: str, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert found, f"the page has a {name} field"
    return found.group(1)


def programme_row(stipends: Stipends, name: str) -> Any:
    (row,) = stipends.sql(
        "SELECT id::text, currency, tier_amounts, budget_minor, version, "
        "min_conversations, training_required, approval_bands "
        "FROM programmes WHERE name = :n",
        n=name,
    )
    return row


def test_an_admin_creates_edits_and_funds_a_programme_in_the_console(
    system: Registry, stipends: Stipends
) -> None:
    admin, _ = signed_in_admin(system, "admin.programmes@example.org")
    listing = admin.get(f"{system.url}/admin/programmes?lang=en", timeout=30)
    assert (
        '<option value="EUR"' in listing.text and '<option value="JPY"' in listing.text
    )
    form = {
        "csrf": csrf(listing.text),
        "name": "Evenings 2027",
        "currency": "EUR",
        "tier_volunteer": "0",
        "tier_professional": "250.50",
        "min_accepted_reports": "1",
        "min_conversations": "3",
        "training_required": "yes",
        "band_up_to_1": "300",
        "band_approvers_1": "1",
        "band_up_to_2": "",
        "band_approvers_2": "2",
    }
    bad = admin.post(
        f"{system.url}/admin/programmes",
        data={**form, "tier_professional": "lots"},
        timeout=30,
    )
    assert bad.status_code == 400 and "250.50" in bad.text  # says how to write it
    assert not stipends.sql("SELECT 1 FROM programmes")
    made = admin.post(f"{system.url}/admin/programmes", data=form, timeout=30)
    assert made.status_code == 200 and "Evenings 2027" in made.text
    ident, currency, tiers, budget, _, least, trained, bands = programme_row(
        stipends, "Evenings 2027"
    )
    assert (currency, tiers, budget, least, trained) == (
        "EUR",
        {"volunteer": 0, "professional": 25_050},
        0,
        3,
        True,
    )
    assert bands == [
        {"up_to_minor": 30_000, "approvers": 1},
        {"up_to_minor": None, "approvers": 2},
    ]

    # funding: the key drawn into the form makes a double submit fund once
    page = admin.get(f"{system.url}/admin/programmes/{ident}?lang=en", timeout=30)
    key = field(page.text, "idempotency_key")
    uuid.UUID(key)
    funding = {"csrf": csrf(page.text), "currency": "EUR", "amount": "1000.00"}
    for _ in range(2):
        sent = admin.post(
            f"{system.url}/admin/programmes/{ident}/funding",
            data={**funding, "idempotency_key": key},
            timeout=30,
        )
        assert sent.status_code == 200
    assert programme_row(stipends, "Evenings 2027")[3] == 100_000
    assert 'id="budget">€1,000.00<' in sent.text
    assert 'id="available">€1,000.00<' in sent.text
    assert 'id="notice">The funding is booked' in sent.text  # said, once done
    assert field(sent.text, "idempotency_key") != key  # a new form, a new key
    reused = admin.post(
        f"{system.url}/admin/programmes/{ident}/funding",
        data={**funding, "idempotency_key": key, "amount": "5"},
        timeout=30,
    )
    assert reused.status_code == 409 and "Reload the page" in reused.text
    assert programme_row(stipends, "Evenings 2027")[3] == 100_000
    for nothing in ("0", "-5"):  # the amount's own words, nothing funded
        refused = admin.post(
            f"{system.url}/admin/programmes/{ident}/funding",
            data={**funding, "idempotency_key": str(uuid.uuid4()), "amount": nothing},
            timeout=30,
        )
        assert refused.status_code == 400
        assert "Give an amount greater than zero." in refused.text
    too_much = admin.post(  # the service's limit, said next to the amount typed
        f"{system.url}/admin/programmes/{ident}/funding",
        data={**funding, "idempotency_key": str(uuid.uuid4()), "amount": "9" * 14},
        timeout=30,
    )
    assert too_much.status_code == 400
    assert 'name="amount"' in too_much.text
    assert re.search(r'name="amount"[^>]*aria-invalid="true"', too_much.text)
    assert programme_row(stipends, "Evenings 2027")[3] == 100_000

    # an edit as of the version drawn (a funding leaves it as it is); a stale
    # one shows the current values
    stale_page = sent.text
    version = int(field(stale_page, "version"))
    edit = {
        "csrf": csrf(stale_page),
        "version": field(stale_page, "version"),
        "currency": "EUR",
        "name": "Evenings 2027",
        "tier_volunteer": "10",
        "tier_professional": "300",
        "min_accepted_reports": "2",
        "min_conversations": "3",
        "band_up_to_1": "300",
        "band_approvers_1": "1",
        "band_approvers_2": "2",
    }
    saved = admin.post(f"{system.url}/admin/programmes/{ident}", data=edit, timeout=30)
    assert saved.status_code == 200
    row = programme_row(stipends, "Evenings 2027")
    assert row[2] == {"volunteer": 1_000, "professional": 30_000}
    assert row[6] is False  # the box was not ticked
    assert row[4] == version + 1
    stale = admin.post(
        f"{system.url}/admin/programmes/{ident}",
        data={**edit, "tier_professional": "999"},
        timeout=30,
    )
    assert stale.status_code == 409
    assert "Someone else changed this programme" in stale.text
    assert field(stale.text, "version") == str(version + 1)
    assert 'name="tier_professional" min="0" step="0.01" required value="300.00"' in (
        stale.text
    )
    assert programme_row(stipends, "Evenings 2027")[2]["professional"] == 30_000

    # the budgets page of before lands on the list, for finance too
    budgets = admin.get(f"{system.url}/admin/budgets?lang=en", timeout=30)
    assert budgets.url.endswith("/admin/programmes")
    assert "€1,000.00" in budgets.text


def test_a_cycle_opened_followed_previewed_and_refused_to_lock(
    system: Registry, stipends: Stipends
) -> None:
    stipends.call(
        "create_programme",
        ADMIN_A,
        {"name": "Cycles", "currency": "EUR", "tier_amounts": {"professional": 100}},
    )
    ident = programme_row(stipends, "Cycles")[0]
    admin, _ = signed_in_admin(system, "admin.cycles@example.org")
    # far enough not to pass during the run, within the year a deadline may be away
    far = (datetime.now(UTC) + timedelta(days=300)).replace(
        hour=18, minute=30, second=0, microsecond=0
    )
    page = admin.get(f"{system.url}/admin/programmes/{ident}?lang=en", timeout=30)
    opened = admin.post(
        f"{system.url}/admin/programmes/{ident}/cycles",
        data={
            "csrf": csrf(page.text),
            "period": "2027-03",
            "deadline": far.strftime("%Y-%m-%dT%H:%M"),
        },
        timeout=30,
    )
    assert opened.status_code == 200
    # the deadline as the page's language writes a moment (C's %b is English's)
    assert f"{far:%b} {far.day}, {far.year}, {far:%H:%M} UTC" in opened.text
    (cycle, deadline) = stipends.sql("SELECT id::text, deadline FROM cycles")[0]
    assert deadline == far
    assert 'id="submitted">0 / 0<' in opened.text
    again = admin.post(
        f"{system.url}/admin/programmes/{ident}/cycles",
        data={
            "csrf": csrf(page.text),
            "period": "2027-03",
            "deadline": far.strftime("%Y-%m-%dT%H:%M"),
        },
        timeout=30,
    )
    assert again.status_code == 400 and "Choose another month" in again.text
    preview = admin.get(f"{system.url}/admin/cycles/{cycle}/close?lang=en", timeout=30)
    assert preview.status_code == 200
    assert "Close it after the deadline" in preview.text  # the blocker, translated
    assert 'id="confirm-close"' not in preview.text
    early = admin.post(
        f"{system.url}/admin/cycles/{cycle}/close",
        data={"csrf": csrf(page.text)},
        timeout=30,
    )
    assert early.status_code == 409 and "after the deadline" in early.text
    assert stipends.sql("SELECT status FROM cycles")[0][0] == "open"
    locked = admin.post(
        f"{system.url}/admin/cycles/{cycle}/lock",
        data={"csrf": csrf(page.text)},
        timeout=30,
    )
    assert locked.status_code == 409 and 'id="error"' in locked.text
    assert stipends.sql("SELECT status FROM cycles")[0][0] == "open"

    # a deadline already past is asked about first (every report would be late,
    # nobody reminded), and opened only once confirmed
    past = {
        "csrf": csrf(page.text),
        "period": "2026-01",
        "deadline": "2026-02-05T18:00",
    }
    asked = admin.post(
        f"{system.url}/admin/programmes/{ident}/cycles?lang=en",
        data=past,
        timeout=30,
    )
    assert 'data-code="past_deadline"' in asked.text
    assert "Feb 5, 2026, 18:00 UTC, has passed: every report" in asked.text
    assert stipends.sql("SELECT count(*) FROM cycles WHERE period = '2026-01'") == [
        (0,)
    ]
    confirmed = admin.post(
        f"{system.url}/admin/programmes/{ident}/cycles?lang=en",
        data={**past, "confirmed": "yes"},
        timeout=30,
    )
    assert confirmed.status_code == 200 and "Feb 5, 2026, 18:00 UTC" in confirmed.text
    assert stipends.sql("SELECT count(*) FROM cycles WHERE period = '2026-01'") == [
        (1,)
    ]


def closed_cycle_with_stipends(
    system: Registry, stipends: Stipends, payees: int, approvers: int = 1
) -> tuple[str, list[str]]:
    """A funded programme's closed cycle, one proposed stipend (€200) per payee,
    proposed by ADMIN_A, each needing `approvers` approvals; (cycle, stipend ids)."""
    people = [
        ready_payee(
            system,
            stipends,
            application(password=PASSWORD, country="DE", city="Berlin"),
        )
        for _ in range(payees)
    ]
    programme = stipends.call(
        "create_programme",
        ADMIN_A,
        {
            "name": f"Bulk {uuid.uuid4().hex[:6]}",
            "currency": "EUR",
            "tier_amounts": {"professional": 20_000, "volunteer": 0},
            "min_conversations": 1,
            "approval_bands": [{"up_to_minor": None, "approvers": approvers}],
        },
    )["id"]
    stipends.call("fund_programme", ADMIN_A, programme, 100_000, str(uuid.uuid4()))
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-10", past)["id"]
    for person in people:
        me = actor_for(person)
        draft = stipends.call("save_report_draft", me, cycle, REPORT)
        stipends.call("submit_report", me, draft["report"]["id"])
        stipends.call("review_report", ADMIN_A, draft["report"]["id"], "accepted", "")
    preview = stipends.call("preview_close_cycle", ADMIN_A, cycle)
    assert preview["can_close"] and preview["eligible_count"] == payees
    stipends.call("close_cycle", ADMIN_A, cycle)
    ids = [s["id"] for s in stipends.call("list_stipends", ADMIN_A, cycle, None)]
    return str(cycle), [str(i) for i in ids]


def test_an_approval_of_two_says_it_waits_for_another_admin(
    system: Registry, stipends: Stipends
) -> None:
    """Ticked and approved, a stipend that needs two approvals is not said to be
    approved (an outside reading: "approved" while it still waited), and its row
    offers this admin no second approval."""
    cycle, (only,) = closed_cycle_with_stipends(system, stipends, 1, approvers=2)
    admin, _ = signed_in_admin(system, "admin.first.of.two@example.org")
    page = admin.get(f"{system.url}/admin/stipends?cycle={cycle}&lang=en", timeout=30)
    bulk = admin.post(
        f"{system.url}/admin/stipends/approvals",
        data={
            "csrf": csrf(page.text),
            "cycle": cycle,
            "stipend": [only],
            f"digest-{only}": field(page.text, f"digest-{only}"),
        },
        timeout=30,
    )
    assert bulk.status_code == 200
    outcome = re.search(rf'id="outcome-{only}".*?</li>', bulk.text, re.S)
    assert outcome and "your approval is recorded (1 of 2)" in outcome.group(0)
    row = re.search(rf'<tr id="stipend-{only}">.*?</tr>', bulk.text, re.S)
    assert row and 'value="approve"' not in row.group(0)
    assert "You approved it: another admin gives the next approval." in row.group(0)
    assert status_of(stipends) == {only: "proposed"}


def status_of(stipends: Stipends) -> dict[str, str]:
    return dict(stipends.sql("SELECT id::text, status FROM stipends"))


def test_many_stipends_approved_in_one_action_amended_rejected_then_locked(
    system: Registry, stipends: Stipends
) -> None:
    cycle, ids = closed_cycle_with_stipends(system, stipends, 3)
    admin, _ = signed_in_admin(system, "admin.bulk@example.org")
    page = admin.get(f"{system.url}/admin/stipends?cycle={cycle}&lang=en", timeout=30)
    assert 'id="count-proposed">3<' in page.text and "Page 1 of 1" in page.text
    first, second, third = ids
    refused = admin.post(
        f"{system.url}/admin/stipends/approvals",
        data={"csrf": csrf(page.text), "cycle": cycle},
        timeout=30,
    )
    assert refused.status_code == 400 and "Tick at least one stipend" in refused.text
    bulk = admin.post(
        f"{system.url}/admin/stipends/approvals",
        data={
            "csrf": csrf(page.text),
            "cycle": cycle,
            "stipend": [first, second, third],
            f"digest-{first}": field(page.text, f"digest-{first}"),
            f"digest-{second}": field(page.text, f"digest-{second}"),
            f"digest-{third}": "0" * 64,  # what someone saw before a change
        },
        timeout=30,
    )
    assert bulk.status_code == 200
    # each outcome names the payee as the list does, by pseudonym
    names = dict(
        stipends.sql(
            "SELECT s.id::text, c.pseudonym FROM stipends s "
            "JOIN communicators c ON c.id = s.communicator_id"
        )
    )
    for ident in ids:
        assert re.search(
            rf'id="outcome-{ident}"[^>]*>\s*<a href="/admin/stipends/{ident}">'
            rf"The stipend of {re.escape(names[ident])}</a>",
            bulk.text,
        )
    assert re.search(rf'id="outcome-{first}" data-outcome="approved"', bulk.text)
    assert re.search(rf'id="outcome-{second}" data-outcome="approved"', bulk.text)
    assert re.search(
        rf'id="outcome-{third}" data-outcome="refused">.*?changed since you opened',
        bulk.text,
        re.S,
    )
    assert status_of(stipends) == {
        first: "approved",
        second: "approved",
        third: "proposed",
    }
    # the proposer's own approval is refused per item, with the words for it
    proposer = stipends.call("stipends_page", ADMIN_A, cycle, 0, 50, "proposed")
    (row,) = proposer["items"]
    outcome = stipends.call(
        "approve_stipends", ADMIN_A, [{"stipend_id": third, "digest": row["digest"]}]
    )
    assert outcome[0]["code"] == "own_proposal"

    record = admin.get(f"{system.url}/admin/stipends/{third}?lang=en", timeout=30)
    assert "Stipend proposed" in record.text and 'id="amend"' in record.text
    amended = admin.post(
        f"{system.url}/admin/stipends/{third}",
        data={
            "csrf": csrf(record.text),
            "cycle": cycle,
            "currency": "EUR",
            "step": "amend",
            "amount": "150.5",
            "reason": "half the month abroad",
            "back": "record",
        },
        timeout=30,
    )
    assert amended.status_code == 200 and 'id="amount">€150.50<' in amended.text
    assert "Amount changed" in amended.text
    (amount,) = stipends.sql("SELECT amount_minor FROM stipends WHERE id = :i", i=third)
    assert amount[0] == 15_050
    lock_page = admin.get(f"{system.url}/admin/cycles/{cycle}?lang=en", timeout=30)
    early = admin.post(
        f"{system.url}/admin/cycles/{cycle}/lock",
        data={"csrf": csrf(lock_page.text)},
        timeout=30,
    )
    assert early.status_code == 409 and "Decide on them first" in early.text
    rejected = admin.post(
        f"{system.url}/admin/stipends/{third}",
        data={
            "csrf": csrf(record.text),
            "cycle": cycle,
            "step": "reject",
            "reason": "no report this month after all",
            "confirmed": "yes",
            "back": "record",
        },
        timeout=30,
    )
    assert rejected.status_code == 200 and "no report this month" in rejected.text
    assert status_of(stipends)[third] == "rejected"
    locked = admin.post(
        f"{system.url}/admin/cycles/{cycle}/lock",
        data={"csrf": csrf(lock_page.text)},
        timeout=30,
    )
    assert locked.status_code == 200 and 'data-code="locked"' in locked.text
    assert stipends.sql("SELECT status FROM cycles")[0][0] == "locked"


def test_the_api_runs_a_programme_and_pages_its_stipends(
    system: Registry, stipends: Stipends
) -> None:
    cycle, ids = closed_cycle_with_stipends(system, stipends, 2)
    admin = staff(system, ["program_admin"])
    nothing = admin(  # every refused field at once, as the stipends service says
        "POST",
        "/api/v1/programmes",
        {"name": "   ", "currency": "XYZ", "tier_amounts": {}},
    )
    assert nothing.status_code == 400
    assert set(nothing.json()["errors"]) == {"name", "currency", "tier_amounts"}
    made = admin(
        "POST",
        "/api/v1/programmes",
        {"name": "By API", "currency": "JPY", "tier_amounts": {"professional": 5000}},
    )
    assert made.status_code == 201, made.text
    programme = made.json()
    assert programme["budget_minor"] == 0 and programme["currency"] == "JPY"
    key = str(uuid.uuid4())
    path = f"/api/v1/programmes/{programme['id']}/funding"
    for _ in range(2):
        funded = admin.http.post(
            admin.url + path,
            json={"amount_minor": 70_000},
            headers={"X-CSRF-Token": admin.csrf, "Idempotency-Key": key},
            timeout=30,
        )
        assert funded.status_code == 200, funded.text
    assert funded.json()["budget_minor"] == 70_000  # twice sent, funded once
    # a funding does not move the version of the rules the admin opened
    assert funded.json()["version"] == programme["version"]
    keyless = admin("POST", path, {"amount_minor": 1})
    assert keyless.status_code == 400
    assert keyless.json()["code"] == "idempotency_key_required"
    # two keys that differ are refused: a retry sending one of them would fund again
    two_keys = admin.http.post(
        admin.url + path,
        json={"amount_minor": 500, "idempotency_key": "body-key-0001"},
        headers={"X-CSRF-Token": admin.csrf, "Idempotency-Key": "hdr-key-0001"},
        timeout=30,
    )
    assert two_keys.status_code == 400, two_keys.text
    assert two_keys.json()["code"] == "idempotency_keys_differ"
    assert "idempotency_key" in two_keys.json()["errors"]
    # a key is one shape wherever it is sent (an outside reading: `.` and `:`
    # passed in the body and not in the header, so the same key in both failed)
    dotted = admin.http.post(
        admin.url + path,
        json={"amount_minor": 500, "idempotency_key": "fund.2026:dec-01"},
        headers={"X-CSRF-Token": admin.csrf},
        timeout=30,
    )
    assert dotted.status_code == 400 and dotted.json()["code"] == "invalid_input"
    assert "idempotency_key" in dotted.json()["errors"]
    both = admin.http.post(
        admin.url + path,
        json={"amount_minor": 500, "idempotency_key": "fund-2026-dec-01"},
        headers={"X-CSRF-Token": admin.csrf, "Idempotency-Key": "fund-2026-dec-01"},
        timeout=30,
    )
    assert both.status_code == 200, both.text
    assert both.json()["budget_minor"] == 70_500
    # a field the rules do not have says why it is not one
    fixed = admin(
        "PATCH",
        f"/api/v1/programmes/{programme['id']}",
        {"version": programme["version"], "currency": "USD"},
    )
    assert fixed.status_code == 400 and fixed.json()["code"] == "invalid_input"
    assert "currency is fixed" in fixed.json()["errors"]["currency"][0]
    changed = admin(
        "PATCH",
        f"/api/v1/programmes/{programme['id']}",
        {"version": programme["version"], "min_conversations": 4},
    )
    assert changed.status_code == 200 and changed.json()["min_conversations"] == 4
    stale = admin(
        "PATCH",
        f"/api/v1/programmes/{programme['id']}",
        {"version": programme["version"], "min_conversations": 5},
    )
    assert stale.status_code == 409 and stale.json()["code"] == "programme_changed"
    opened = admin(
        "POST",
        f"/api/v1/programmes/{programme['id']}/cycles",
        {
            "period": "2027-02",
            "deadline": (datetime.now(UTC) + timedelta(days=300)).strftime(
                "%Y-%m-%dT18:00:00+03:00"
            ),
        },
    )
    assert opened.status_code == 201 and opened.json()["status"] == "open"
    # a deadline already passed is asked about, as the console asks
    late = {"period": "2026-01", "deadline": "2026-01-31T18:00:00+00:00"}
    unasked = admin("POST", f"/api/v1/programmes/{programme['id']}/cycles", late)
    assert unasked.status_code == 400 and unasked.json()["code"] == "invalid_input"
    (said,) = unasked.json()["errors"]["deadline"]
    assert "accept_past_deadline" in said
    assert ("2026-01",) not in stipends.sql("SELECT period FROM cycles")  # no change
    meant = admin(
        "POST",
        f"/api/v1/programmes/{programme['id']}/cycles",
        {**late, "accept_past_deadline": True},
    )
    assert meant.status_code == 201 and meant.json()["period"] == "2026-01"
    naive = admin(
        "POST",
        f"/api/v1/programmes/{programme['id']}/cycles",
        {"period": "2027-03", "deadline": "2027-03-31T18:00"},
    )
    assert naive.status_code == 400  # a deadline says its time zone
    assert set(naive.json()["errors"]) == {"deadline"}
    both = admin(  # every refused field at once
        "POST",
        f"/api/v1/programmes/{programme['id']}/cycles",
        {"period": "2027-13", "deadline": "tomorrow"},
    )
    assert both.status_code == 400 and set(both.json()["errors"]) == {
        "period",
        "deadline",
    }
    assert both.json()["code"] == "invalid_input"

    first = admin("GET", f"/api/v1/cycles/{cycle}/stipends?limit=1")
    assert first.status_code == 200
    body = first.json()
    assert body["total"] == 2 and body["counts"] == {"proposed": 2}
    (item,) = body["items"]
    second = admin("GET", f"/api/v1/cycles/{cycle}/stipends?limit=1&offset=1")
    (other,) = second.json()["items"]
    assert {item["id"], other["id"]} == set(ids)
    approved = admin(
        "POST",
        "/api/v1/stipends/approvals",
        {
            "approvals": [
                {"stipend_id": item["id"], "digest": item["digest"]},
                {"stipend_id": other["id"], "digest": other["digest"]},
            ]
        },
    )
    assert approved.status_code == 200
    assert [o["outcome"] for o in approved.json()] == ["approved", "approved"]
    trail = admin("GET", f"/api/v1/stipends/{item['id']}/activity")
    assert [line["action"] for line in trail.json()][:2] == ["proposed", "approved"]
    progress = admin("GET", f"/api/v1/cycles/{cycle}/progress")
    assert progress.json()["reports_by_status"]["accepted"] == 2
    locked = admin("POST", f"/api/v1/cycles/{cycle}/lock")
    assert locked.status_code == 200 and locked.json()["status"] == "locked"
    spec = requests.get(f"{system.url}/api/v1/openapi.json", timeout=30).json()
    funding = spec["paths"]["/api/v1/programmes/{programme_id}/funding"]["post"]
    assert "Idempotency-Key" in funding["summary"]


def test_a_funding_booked_by_mistake_is_reversed_from_the_console_and_the_api(
    system: Registry, stipends: Stipends
) -> None:
    """The programme's page lists its fundings; *Reverse…* asks why, shows what
    leaves the budget, and only the confirmed post reverses. Refused in people's
    words: no reason, reversed already, the budget it added already reserved."""
    cycle, (stipend,) = closed_cycle_with_stipends(system, stipends, 1)
    ((ident,),) = stipends.sql(
        "SELECT programme_id::text FROM cycles WHERE id = :c", c=cycle
    )
    (row,) = stipends.call("stipends_page", ADMIN_A, cycle, 0, 50, "proposed")["items"]
    stipends.call("approve_stipend", ADMIN_B, stipend, row["digest"])  # €200 reserved
    admin, _ = signed_in_admin(system, "admin.reversal@example.org")
    url = f"{system.url}/admin/programmes/{ident}"
    page = admin.get(f"{url}?lang=en", timeout=30)
    funding = {"csrf": csrf(page.text), "currency": "EUR", "amount": "9000.00"}
    sent = admin.post(
        f"{url}/funding",
        data={**funding, "idempotency_key": str(uuid.uuid4())},
        timeout=30,
    )
    assert 'id="budget">€10,000.00<' in sent.text
    (original, mistake) = [
        e
        for (e,) in stipends.sql(
            "SELECT id FROM journal_entries WHERE kind = 'funding' "
            "AND programme_id = :p ORDER BY id",
            p=ident,
        )
    ]
    assert re.search(
        rf'id="funding-{mistake}" data-code="in_budget">.*?€9,000\.00.*?you',
        sent.text,
        re.S,
    )
    action = f"/admin/programmes/{ident}/fundings/{mistake}/reversal"
    assert f'action="{action}"' in sent.text

    # no reason: refused next to the field, nothing asked or done
    blank = admin.post(
        f"{system.url}{action}?lang=en",
        data={"csrf": csrf(sent.text), "reason": "  "},
        timeout=30,
    )
    assert blank.status_code == 400 and "Say why in the reason field" in blank.text
    assert 'id="error-reason"' in blank.text
    # with one: the confirmation says what leaves the budget, and changes nothing
    asked = admin.post(
        f"{system.url}{action}?lang=en",
        data={
            "csrf": csrf(sent.text),
            "reason": "typed 9000 for 90",
            "idempotency_key": str(uuid.uuid4()),
        },
        timeout=30,
    )
    assert asked.status_code == 200 and 'data-code="reverse_funding"' in asked.text
    assert "€9,000.00" in asked.text and "€10,000.00 to €1,000.00" in asked.text
    assert "€9,800.00 to €800.00" in asked.text  # available, €200 reserved
    assert "typed 9000 for 90" in asked.text
    assert programme_row_of(stipends, ident) == 1_000_000
    # confirmed (twice, as a double click): reversed once, the page shows it
    confirm = {
        "csrf": csrf(asked.text),
        "reason": "typed 9000 for 90",
        "idempotency_key": field(asked.text, "idempotency_key"),
        "confirmed": "yes",
    }
    for _ in range(2):
        done = admin.post(f"{system.url}{action}?lang=en", data=confirm, timeout=30)
        assert done.status_code == 200
    assert programme_row_of(stipends, ident) == 100_000
    assert 'id="budget">€1,000.00<' in done.text
    assert 'id="available">€800.00<' in done.text
    assert re.search(
        rf'id="funding-{mistake}" data-code="reversed">.*?typed 9000 for 90',
        done.text,
        re.S,
    )
    assert stipends.sql(
        "SELECT count(*) FROM journal_entries WHERE reverses = :e", e=mistake
    ) == [(1,)]
    # reversed already: a new form for it is refused, in Russian too
    again = admin.post(
        f"{system.url}{action}?lang=ru",
        data={"csrf": csrf(done.text), "reason": "again"},
        timeout=30,
    )
    assert again.status_code == 409 and "уже" in again.text
    # the budget it added is partly reserved: refused, saying what to do next
    in_use = admin.post(
        f"{url}/fundings/{original}/reversal?lang=en",
        data={"csrf": csrf(done.text), "reason": "wrong programme"},
        timeout=30,
    )
    assert in_use.status_code == 409
    assert "Add the right amount as a new funding first" in in_use.text
    assert programme_row_of(stipends, ident) == 100_000

    # the API: finance reverses a new funding once per Idempotency-Key
    finance = staff(system, ["finance"])
    extra = finance.http.post(
        f"{finance.url}/api/v1/programmes/{ident}/funding",
        json={"amount_minor": 5_000},
        headers={"X-CSRF-Token": finance.csrf, "Idempotency-Key": str(uuid.uuid4())},
        timeout=30,
    ).json()
    newest = extra["fundings"][0]
    assert (newest["amount_minor"], newest["reversed"]) == (5_000, False)
    assert newest["blocked_by"] is None
    path = f"/api/v1/programmes/{ident}/fundings/{newest['entry_id']}/reversal"
    key = str(uuid.uuid4())
    for _ in range(2):
        reversed_ = finance.http.post(
            finance.url + path,
            json={"reason": "sent twice"},
            headers={"X-CSRF-Token": finance.csrf, "Idempotency-Key": key},
            timeout=30,
        )
        assert reversed_.status_code == 200, reversed_.text
    body = reversed_.json()
    assert body["budget_minor"] == 100_000
    assert body["fundings"][0]["reversed"] is True
    assert body["fundings"][0]["reversal_reason"] == "sent twice"
    twice = finance("POST", path, {"reason": "sent twice"})  # a new key
    assert twice.status_code == 409 and twice.json()["code"] == "reversed_already"
    used = finance(
        "POST",
        f"/api/v1/programmes/{ident}/fundings/{original}/reversal",
        {"reason": "oops"},
    )
    assert used.status_code == 409 and used.json()["code"] == "funding_in_use"
    empty = finance("POST", path, {"reason": ""})
    assert empty.status_code == 400
    elsewhere = finance(
        "POST",
        f"/api/v1/programmes/{uuid.uuid4()}/fundings/{original}/reversal",
        {"reason": "oops"},
    )
    assert elsewhere.status_code == 404
    assert programme_row_of(stipends, ident) == 100_000
    spec = requests.get(f"{system.url}/api/v1/openapi.json", timeout=30).json()
    reversal = spec["paths"][
        "/api/v1/programmes/{programme_id}/fundings/{entry_id}/reversal"
    ]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in reversal["parameters"])


def programme_row_of(stipends: Stipends, ident: str) -> int:
    ((budget,),) = stipends.sql(
        "SELECT budget_minor FROM programmes WHERE id = :i", i=ident
    )
    return int(budget)


def test_trails_name_the_staff_member_who_acted(
    system: Registry, stipends: Stipends
) -> None:
    """The programme's fundings (and every other trail admins and finance read)
    show a staff member's name, not the start of an account number."""
    fatima = system.call(
        "create_staff_account",
        ADMIN_A,
        {
            "email": f"fatima.{uuid.uuid4().hex[:6]}@example.org",
            "roles": ["finance"],
            "password": PASSWORD,
            "handle": "Fatima (finance)",
        },
    )["id"]
    programme = stipends.call(
        "create_programme",
        ADMIN_A,
        {"name": "Named", "currency": "EUR", "tier_amounts": {"professional": 100}},
    )["id"]
    stipends.call(
        "fund_programme",
        actor(["finance"], fatima),
        programme,
        50_000,
        str(uuid.uuid4()),
    )
    admin, _ = signed_in_admin(system, "admin.trails@example.org")
    page = admin.get(f"{system.url}/admin/programmes/{programme}?lang=en", timeout=30)
    assert re.search(r'class="who">Fatima \(finance\)</td>', page.text)
    assert fatima[:8] not in page.text


def test_a_report_with_many_wrong_fields_is_refused_naming_each(
    system: Registry, stipends: Stipends
) -> None:
    """The API's answer names every refused field of a report at once (the
    stipends service's own rules), and nothing is saved."""
    data = application(password=PASSWORD, country="DE", city="Berlin")
    ready_payee(system, stipends, data)
    programme = funded_programme(stipends, 100_000, 25_000)
    deadline = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-12", deadline)["id"]
    member = Client(system.url)
    assert member.sign_in(data["email"]).status_code == 200
    bad = member(
        "POST",
        f"/api/v1/cycles/{cycle}/reports",
        {
            "conversations": -3,
            "hours": 745,
            "audiences": [],
            "channels": ["pigeon"],
            "observed_change": "huge",
        },
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"
    assert set(bad.json()["errors"]) == {
        "conversations",
        "hours",
        "audiences",
        "channels",
        "observed_change",
    }
    assert stipends.sql("SELECT count(*) FROM activity_reports") == [(0,)]


def test_the_apis_reasons_are_in_the_readers_language(
    system: Registry, stipends: Stipends
) -> None:
    """Why a stipend is due, through the API: in the language the client asks
    for (Accept-Language), as the console words it, never the service's own
    English sentences."""
    cycle, (stipend,) = closed_cycle_with_stipends(system, stipends, 1)
    admin = staff(system, ["program_admin"])
    said = {}
    for language in ("en", "ru"):
        answer = admin.http.get(
            f"{system.url}/api/v1/stipends/{stipend}",
            headers={"Accept-Language": language},
            timeout=30,
        )
        assert answer.status_code == 200
        said[language] = answer.json()["reasons"]
    assert "the status is active" in said["en"]
    assert "статус: активен" in said["ru"]
    assert "status active" not in said["en"] + said["ru"]  # the service's words
    page = admin.http.get(
        f"{system.url}/api/v1/cycles/{cycle}/stipends",
        headers={"Accept-Language": "ru"},
        timeout=30,
    )
    assert "статус: активен" in page.json()["items"][0]["reasons"]
