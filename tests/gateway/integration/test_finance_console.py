"""Finance's console and API beyond the run: the bank file of a run of bank
transfers (pain.001 and CSV), the bank statement's import, the ledger (trial
balance, account statements a page at a time), a payout's page with its trail and
actions, the queue of payouts reported as not received, and a reconciliation's
link picking the payout from a list. Real registry, stipends and gateway, in this
process; the payout worker sends the bank transfers."""

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pyotp
import pytest
import requests

from stipends.service import StipendsService
from tests.gateway.conftest import Stipends, funded_programme
from tests.gateway.integration.test_api import Client
from tests.gateway.integration.test_api import staff as api_staff
from tests.gateway.integration.test_console import csrf, signed_in_staff
from tests.helpers import next_code, wait_until, written_day
from tests.iso20022 import assert_valid_pain001
from tests.registry.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    Registry,
    actor_for,
    application,
)

IBAN = "GE29NB0000000101904917"
REPORT = {
    "conversations": 3,
    "audiences": ["family"],
    "channels": ["phone"],
    "hours": 2,
    "observed_change": "some",
}


@dataclass
class BankRun:
    finance: requests.Session
    totp: pyotp.TOTP
    payee: str
    pseudonym: str
    programme: str
    run: str
    payout: str


def bank_payee(system: Registry, stipends: Stipends) -> tuple[str, str]:
    """A trained professional in Georgia (bank transfers) with bank details."""
    data = application(country="GE", city="Tbilisi")
    ident = system.active(**data)
    training = system.call(
        "create_training", ADMIN_A, {"title": "Listening", "held_on": "2026-10-01"}
    )["id"]
    system.call("record_training_completion", ADMIN_A, training, ident)
    system.call("set_tier", ADMIN_A, ident, "professional", "trained and active")
    me = actor_for(ident)
    assert system.call("start_payout_setup", me)["provider"] == "bank_file"
    system.call(
        "set_bank_details", me, {"holder": "Irina P.", "iban": IBAN, "bic": "BAGAGE22"}
    )
    wait_until(
        lambda: stipends.sql(
            "SELECT 1 FROM communicators WHERE id = :i AND payout_ready "
            "AND tier = 'professional'",
            i=ident,
        ),
        "stipends to know the bank payee",
    )
    return ident, data["pseudonym"]


def cycle_row(page: str, cycle: str) -> str:
    """The finance home's row of one cycle."""
    row = re.search(rf'<tr data-cycle="{cycle}">.*?</tr>', page, re.S)
    assert row, f"cycle {cycle} is not on the finance home"
    return row.group(0)


def released_bank_run(system: Registry, stipends: Stipends) -> BankRun:
    """A run of one bank transfer of €250, released by finance in the console and
    sent by the payout worker (the file is what sends it)."""
    payee, pseudonym = bank_payee(system, stipends)
    programme = funded_programme(stipends, 50_000, 25_000, f"P {uuid.uuid4().hex}")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme, "2026-10", past)["id"]
    me = actor_for(payee)
    draft = stipends.call("save_report_draft", me, cycle, REPORT)
    stipends.call("submit_report", me, draft["report"]["id"])
    stipends.call("review_report", ADMIN_A, draft["report"]["id"], "accepted", "")
    stipends.call("close_cycle", ADMIN_A, cycle)
    (stipend,) = stipends.call("list_stipends", ADMIN_B, cycle, "proposed")
    email = f"finance.{uuid.uuid4().hex[:6]}@example.org"
    finance, home, totp = signed_in_staff(system, email, ["finance"])
    # proposed, not approved: nothing to pay yet, and why (no build offered)
    waiting = cycle_row(home, cycle)
    assert "1 стипендия ещё ждёт одобрения администраторов" in waiting
    # named with its programme (an outside reading: cycles of no programme)
    programme_name = stipends.sql(
        "SELECT name FROM programmes WHERE id = :i", i=programme
    )
    assert f'class="programme-name">{programme_name[0][0]}</td>' in waiting
    assert '/runs"' not in waiting
    shown = stipends.call("get_stipend", ADMIN_B, stipend["id"])
    stipends.call("approve_stipend", ADMIN_B, stipend["id"], shown["digest"])
    # the finance home says what a run would take from the cycle
    home = finance.get(f"{system.url}/finance", timeout=30).text
    assert "1 одобренная стипендия ещё не в пакете" in cycle_row(home, cycle)
    built = finance.post(
        f"{system.url}/finance/cycles/{cycle}/runs",
        timeout=30,
        data={"csrf": csrf(home)},
    )
    run = built.url.rsplit("/", 1)[1]
    # and, once it is in a run, offers no second one that would be refused
    again = cycle_row(finance.get(f"{system.url}/finance", timeout=30).text, cycle)
    assert '/runs"' not in again and "nothing-to-pay" in again
    assert "Платить больше нечего" in again
    # a draft's bank transfers are not sent yet: no file to download, and why
    assert 'id="pain001"' not in built.text and 'id="bank-file-later"' in built.text
    draft_file = finance.get(f"{system.url}/finance/runs/{run}/bank-file.xml")
    assert draft_file.status_code == 409 and "Сначала выпустите" in draft_file.text
    digest = re.search(r'name="totals_digest" value="([0-9a-f]+)"', built.text)
    assert digest
    # releasing asks first, saying what will be sent; nothing leaves until confirmed
    asked = finance.post(
        f"{system.url}/finance/runs/{run}/release",
        timeout=30,
        data={"csrf": csrf(built.text), "totals_digest": digest.group(1), "code": ""},
    )
    assert asked.status_code == 200 and 'data-page="confirm"' in asked.text
    # the code is asked there, just before the payments go, not on the run's page
    assert 'name="code"' not in built.text and 'id="release-code"' in asked.text
    assert '<button type="submit" class="danger" id="confirm-button">' in asked.text
    assert f'href="/finance/runs/{run}" id="go-back"' in asked.text
    assert "250,00" in asked.text  # the run's total, as it will be sent
    assert stipends.sql("SELECT status FROM payout_runs WHERE id = :i", i=run) == [
        ("draft",)
    ]
    released = finance.post(
        f"{system.url}/finance/runs/{run}/release",
        timeout=30,
        data={
            "csrf": csrf(built.text),
            "totals_digest": digest.group(1),
            "code": next_code(totp),
            "confirmed": "yes",
        },
    )
    assert 'data-code="released"' in released.text
    (payout,) = wait_until(
        lambda: stipends.sql("SELECT id::text FROM payouts WHERE status = 'sent'"),
        "the worker to send the bank transfer",
        timeout=30,
    )
    return BankRun(finance, totp, payee, pseudonym, programme, run, payout[0])


@pytest.fixture
def bank_run(system: Registry, stipends: Stipends) -> BankRun:
    return released_bank_run(system, stipends)


def statement(*lines: str) -> bytes:
    return ("reference,amount,currency,status\n" + "".join(lines)).encode()


def test_finance_downloads_the_bank_file_imports_the_statement_and_reads_the_trail(
    system: Registry, stipends: Stipends, bank_run: BankRun
) -> None:
    finance, url = bank_run.finance, system.url
    # the home page leads to the run, however it was built (here: by RPC)
    home = finance.get(f"{url}/finance?lang=en", timeout=30)
    link = re.search(
        rf'<a href="/finance/runs/{bank_run.run}" class="run-link"[^>]*>(.*?)</a>',
        home.text,
    )
    assert link and "0 of 1 paid" in link.group(1), home.text
    run_page = finance.get(f"{url}/finance/runs/{bank_run.run}?lang=en", timeout=30)
    assert 'id="pain001"' in run_page.text
    assert f'href="/finance/payouts/{bank_run.payout}"' in run_page.text

    xml = finance.get(f"{url}/finance/runs/{bank_run.run}/bank-file.xml", timeout=30)
    assert xml.status_code == 200 and xml.headers["Content-Type"].startswith(
        "application/xml"
    )
    assert "attachment" in xml.headers["Content-Disposition"]
    assert "pain001.xml" in xml.headers["Content-Disposition"]
    assert "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09" in xml.text
    end_to_end = uuid.UUID(bank_run.payout).hex  # ISO 20022 allows 35 characters
    assert f"<EndToEndId>{end_to_end}</EndToEndId>" in xml.text
    assert f"<Ustrd>payout:{bank_run.payout}</Ustrd>" in xml.text
    assert IBAN in xml.text and "<CtrlSum>250.00</CtrlSum>" in xml.text
    assert_valid_pain001(xml.text)
    table = finance.get(f"{url}/finance/runs/{bank_run.run}/bank-file.csv", timeout=30)
    assert table.headers["Content-Type"].startswith("text/csv")
    assert f"payout:{bank_run.payout},250.00,EUR" in table.text
    nothing = finance.get(f"{url}/finance/runs/{bank_run.run}/bank-file.pdf")
    assert nothing.status_code == 404
    downloads = stipends.sql(
        "SELECT count(*) FROM payout_audit WHERE action = 'bank_file'"
    )
    assert downloads[0][0] == 2  # each download is audited

    # the statement: refused empty or malformed, then one booked line and one stray
    form = finance.get(f"{url}/finance/bank-statements?lang=en", timeout=30)
    empty = finance.post(
        f"{url}/finance/bank-statements", data={"csrf": csrf(form.text)}, timeout=30
    )
    assert empty.status_code == 400 and "Choose a file or paste" in empty.text
    bad = finance.post(
        f"{url}/finance/bank-statements",
        data={"csrf": csrf(form.text), "content": "what,is,this\n1,2,3\n"},
        timeout=30,
    )
    assert (
        bad.status_code == 400
        and "The statement could not be read, and nothing was changed" in bad.text
    )
    assert stipends.sql("SELECT status FROM payouts")[0][0] == "sent"
    stray = f"payout:{uuid.uuid4()}"
    done = finance.post(
        f"{url}/finance/bank-statements",
        data={"csrf": csrf(form.text)},
        files={
            "file": (
                "statement.csv",
                statement(
                    f"payout:{bank_run.payout},250.00,EUR,booked\n",
                    f"{stray},10.00,EUR,booked\n",
                ),
                "text/csv",
            )
        },
        timeout=30,
    )
    assert done.status_code == 200 and 'id="import-result"' in done.text
    assert re.search(r'id="paid-count">[^<]*<strong>1<', done.text)
    assert re.search(r'id="problem-count">[^<]*<strong>1<', done.text)
    assert stray in done.text
    assert 'data-code="unknown_reference">No bank transfer of ours' in done.text
    assert stipends.sql("SELECT status FROM payouts")[0][0] == "paid"
    # the run's page no longer says its transfers are on their way (an outside
    # reading: "reload this page in a moment" under a fully paid run)
    run_page = finance.get(f"{url}/finance/runs/{bank_run.run}?lang=en", timeout=30)
    assert 'id="bank-file-done"' in run_page.text
    assert 'id="bank-file-later"' not in run_page.text

    # the payout's page: state, references, and its trail as people read it
    page = finance.get(f"{url}/finance/payouts/{bank_run.payout}?lang=en", timeout=30)
    assert 'id="payout-status" data-code="paid">Paid<' in page.text
    assert f"payout:{bank_run.payout}" in page.text and "€250.00" in page.text
    trail = re.findall(r'class="audit-line" data-code="([a-z_]+)"', page.text)
    for step in ("run_build", "run_release", "sent", "run_bank_file", "paid"):
        assert step in trail, step
    assert trail.index("run_build") < trail.index("sent") < trail.index("paid")
    assert "Payout run released" in page.text and "Bank file downloaded" in page.text
    assert 'id="no-actions"' in page.text  # a paid payout: nothing to pick
    refused = finance.post(
        f"{url}/finance/payouts/{bank_run.payout}",
        data={
            "csrf": csrf(page.text),
            "back": "payout",
            "action": "retry",
            "reason": "try again",
        },
        timeout=30,
    )
    assert refused.status_code == 409 and 'id="payout-status"' in refused.text
    assert 'id="error"' in refused.text and "Reload the page" in refused.text
    unknown = finance.post(
        f"{url}/finance/payouts/{bank_run.payout}",
        data={"csrf": csrf(page.text), "back": "payout", "action": "explode"},
        timeout=30,
    )
    assert unknown.status_code == 400 and "Choose an action" in unknown.text


def test_finance_resolves_a_payout_reported_as_not_received(
    system: Registry, stipends: Stipends, bank_run: BankRun
) -> None:
    finance, url = bank_run.finance, system.url
    home = finance.get(f"{url}/finance?lang=en", timeout=30)
    assert 'id="open-problems">0<' in home.text
    finance.post(
        f"{url}/finance/bank-statements",
        data={
            "csrf": csrf(home.text),
            "content": statement(
                f"payout:{bank_run.payout},250.00,EUR,booked\n"
            ).decode(),
        },
        timeout=30,
    )
    problem = stipends.call(
        "confirm_receipt",
        actor_for(bank_run.payee),
        bank_run.payout,
        False,
        "nothing on my card",
    )
    assert problem["problem_status"] == "open"
    home = finance.get(f"{url}/finance?lang=en", timeout=30)
    assert 'id="open-problems">1<' in home.text
    queue = finance.get(f"{url}/finance/receipts?lang=en", timeout=30)
    (problem_id,) = re.findall(r'id="problem-([0-9a-f-]+)"', queue.text)
    assert bank_run.pseudonym in queue.text and "nothing on my card" in queue.text
    assert "Bank transfer file" in queue.text and "€250.00" in queue.text

    unchosen = finance.post(
        f"{url}/finance/receipts/{problem_id}",
        data={"csrf": csrf(queue.text), "resolution": "", "note": "checked"},
        timeout=30,
    )
    assert unchosen.status_code == 400 and "Choose what you found" in unchosen.text
    no_note = finance.post(
        f"{url}/finance/receipts/{problem_id}",
        data={"csrf": csrf(queue.text), "resolution": "other", "note": ""},
        timeout=30,
    )
    assert no_note.status_code == 400 and "Say in the note" in no_note.text
    resolved = finance.post(
        f"{url}/finance/receipts/{problem_id}",
        data={
            "csrf": csrf(queue.text),
            "resolution": "paid_confirmed_by_provider",
            "note": "the bank shows it booked on the 3rd",
        },
        timeout=30,
    )
    assert resolved.status_code == 200 and 'id="no-open"' in resolved.text
    assert f'id="resolved-{problem_id}"' in resolved.text
    assert "The provider confirms it was paid" in resolved.text
    again = finance.post(
        f"{url}/finance/receipts/{problem_id}",
        data={"csrf": csrf(queue.text), "resolution": "other", "note": "again"},
        timeout=30,
    )
    assert again.status_code == 409 and "already resolved" in again.text
    (row,) = stipends.sql("SELECT problem_status, resolution FROM payout_receipts")
    assert row == ("resolved", "paid_confirmed_by_provider")
    page = finance.get(f"{url}/finance/payouts/{bank_run.payout}?lang=en", timeout=30)
    assert 'data-code="receipt_not_received"' in page.text
    assert "the bank shows it booked on the 3rd" in page.text
    assert "Finance resolved the payee" in page.text


def test_the_ledger_balances_and_an_account_is_read_a_page_at_a_time(
    system: Registry, stipends: Stipends
) -> None:
    programme = funded_programme(stipends, 1_000, 1_000, "Ledger pages")
    for _ in range(55):  # 57 funding lines (two with the programme): 50 + 7
        stipends.call("fund_programme", ADMIN_A, programme, 100, str(uuid.uuid4()))
    finance, _, _ = signed_in_staff(system, "ledger.one@example.org", ["finance"])
    balance = finance.get(f"{system.url}/finance/ledger?lang=en", timeout=30)
    assert 'id="balanced" data-code="balanced"' in balance.text
    assert "Programme&#39;s money held" in balance.text
    assert "Ledger pages" in balance.text  # the account names its programme
    assert "programme_funds" not in re.sub(
        r'(href|data-code)="[^"]*"', "", balance.text
    )
    account = f"programme_funds:{programme}"
    assert f'href="/finance/ledger/{account}"' in balance.text
    first = finance.get(f"{system.url}/finance/ledger/{account}?lang=en", timeout=30)
    assert first.status_code == 200 and 'id="account-lines">57<' in first.text
    assert first.text.count('class="line"') == 50
    assert 'id="account-balance">€75.00<' in first.text
    assert 'data-code="funding">Programme funded<' in first.text
    assert f"/finance/ledger/{account}?page=2" in first.text
    second = finance.get(f"{system.url}/finance/ledger/{account}?page=2", timeout=30)
    assert second.text.count('class="line"') == 7
    last_balance = re.findall(r"<td[^>]*>([^<]*)</td>\s*</tr>", second.text)[-1]
    assert last_balance == "€75.00"  # the running balance carries over pages
    missing = finance.get(
        f"{system.url}/finance/ledger/fees:{uuid.uuid4()}?lang=en", timeout=30
    )
    assert missing.status_code == 404
    assert "does not exist. Open it from the trial balance" in missing.text


def test_a_reconciliation_links_a_difference_to_a_payout_picked_from_a_list(
    system: Registry, stipends: Stipends, bank_run: BankRun
) -> None:
    finance, url = bank_run.finance, system.url
    home = finance.get(f"{url}/finance", timeout=30)
    finance.post(
        f"{url}/finance/bank-statements",
        data={
            "csrf": csrf(home.text),
            "content": statement(
                f"payout:{bank_run.payout},250.00,EUR,booked\n"
            ).decode(),
        },
        timeout=30,
    )
    today = datetime.now(UTC).date()
    made = finance.post(
        f"{url}/finance/reconciliations?lang=en",
        data={
            "csrf": csrf(home.text),
            "provider": "bank_file",
            "period_start": str(today - timedelta(days=1)),
            "period_end": str(today + timedelta(days=1)),
            "source": "bank_statement",
            # the bank booked our payment under its own reference
            "content": statement("BANK-REF-7781,250.00,EUR,booked\n").decode(),
        },
        timeout=30,
    )
    assert made.status_code == 200
    options = re.findall(r'<option value="([0-9a-f-]{36})">', made.text)
    assert options == [bank_run.payout]  # picked from a list, never typed
    rec = made.url.rsplit("/", 1)[1].split("?")[0]
    kinds = dict(
        re.findall(
            r'<tr id="item-(\d+)">\s*<td[^>]*>.*?</td>\s*'
            r'<td[^>]* class="item-kind" data-code="([a-z_]+)"',
            made.text,
            re.S,
        )
    )
    stray = [i for i, kind in kinds.items() if kind == "unexpected_at_provider"]
    assert len(stray) == 1
    # the period ends tomorrow: the page offers no sign-off, and says when to run it
    # again (a payment booked later in it could never be reconciled once signed)
    assert 'id="not-signable" data-code="period_not_over"' in made.text
    assert f"последний день — {written_day(today, 'ru')}," in made.text
    assert 'id="sign-off"' not in made.text
    linked = finance.post(
        f"{url}/finance/reconciliations/{rec}/resolve",
        data={
            "csrf": csrf(made.text),
            "item": stray[:1],
            "action": "link",
            "payout_id": options[0],
            "reason": "the bank's own reference for our payment",
        },
        timeout=30,
    )
    assert linked.status_code == 200, linked.text[:300]
    states = stipends.sql(
        "SELECT kind, state, linked_payout_id::text FROM reconciliation_items "
        "ORDER BY id"
    )
    assert ("unexpected_at_provider", "linked", bank_run.payout) in states
    # nothing open, but the API refuses a second finance member too, in words
    refused = api_staff(system, ["finance"])(
        "POST", f"/api/v1/reconciliations/{rec}/sign-off", {"note": "all checked"}
    )
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "period_not_over"
    assert "run its reconciliation again" in refused.json()["detail"]
    assert stipends.sql("SELECT status FROM reconciliations WHERE id = :r", r=rec) == [
        ("open",)
    ]


def test_the_api_serves_the_same_finance_tasks(
    system: Registry, stipends: Stipends, bank_run: BankRun
) -> None:
    api: Client = api_staff(system, ["finance"])
    file = api("GET", f"/api/v1/payout-runs/{bank_run.run}/bank-file")
    assert file.status_code == 200
    assert file.json()["format"] == "pain.001"
    assert file.json()["media_type"] == "application/xml"
    assert f"payout:{bank_run.payout}" in file.json()["content"]
    as_csv = api("GET", f"/api/v1/payout-runs/{bank_run.run}/bank-file?format=csv")
    assert as_csv.json()["content"].startswith("reference,amount,currency")
    wrong = api("GET", f"/api/v1/payout-runs/{bank_run.run}/bank-file?format=pdf")
    assert wrong.status_code == 400
    empty = api("POST", "/api/v1/bank-statements", {"content": ""})
    assert empty.status_code == 400
    imported = api(
        "POST",
        "/api/v1/bank-statements",
        {
            "content": statement(
                f"payout:{bank_run.payout},250.00,EUR,booked\n"
            ).decode()
        },
    )
    assert imported.status_code == 200
    assert imported.json() == {"paid": 1, "returned": 0, "unchanged": 0, "problems": []}

    payout = api("GET", f"/api/v1/payouts/{bank_run.payout}")
    assert payout.status_code == 200 and payout.json()["status"] == "paid"
    cycle = api("GET", f"/api/v1/payout-runs/{bank_run.run}").json()["cycle_id"]
    (listed,) = api("GET", f"/api/v1/cycles/{cycle}/payout-runs").json()
    assert listed["id"] == bank_run.run and listed["payouts_by_status"] == {"paid": 1}
    assert listed["created_at"]
    unknown = api("GET", f"/api/v1/cycles/{uuid.uuid4()}/payout-runs")
    assert unknown.status_code == 404
    assert "run_release" in [line["action"] for line in payout.json()["audit"]]
    assert api("GET", f"/api/v1/payouts/{uuid.uuid4()}").status_code == 404

    balance = api("GET", "/api/v1/ledger/trial-balance").json()
    assert balance["balanced"]
    funds = next(a for a in balance["accounts"] if a["kind"] == "programme_funds")
    page = api("GET", f"/api/v1/ledger/accounts/{funds['account']}?limit=1&offset=1")
    assert page.status_code == 200
    assert page.json()["offset"] == 1 and len(page.json()["lines"]) == 1
    too_many = api("GET", f"/api/v1/ledger/accounts/{funds['account']}?limit=5000")
    assert too_many.status_code == 400

    stipends.call(
        "confirm_receipt", actor_for(bank_run.payee), bank_run.payout, False, ""
    )
    (problem,) = api("GET", "/api/v1/receipt-problems").json()
    assert problem["pseudonym"] == bank_run.pseudonym
    bad = api(
        "POST",
        f"/api/v1/receipt-problems/{problem['id']}/resolution",
        {"resolution": "shrug", "note": "x"},
    )
    assert bad.status_code == 400
    done = api(
        "POST",
        f"/api/v1/receipt-problems/{problem['id']}/resolution",
        {"resolution": "received_after_all", "note": "the payee wrote again"},
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    assert api("GET", "/api/v1/receipt-problems").json() == []
    resolved = api("GET", "/api/v1/receipt-problems?status=resolved").json()
    assert [p["id"] for p in resolved] == [problem["id"]]


def test_the_openapi_document_states_the_finance_enums_and_limits(
    gateway_url: str,
) -> None:
    doc = requests.get(f"{gateway_url}/api/v1/openapi.json", timeout=30).json()
    schemas = doc["components"]["schemas"]

    def query(path: str, name: str) -> dict[str, Any]:
        parameters = doc["paths"][path]["get"]["parameters"]
        return next(p for p in parameters if p.get("name") == name)["schema"]

    fmt = query("/api/v1/payout-runs/{run_id}/bank-file", "format")
    assert fmt["enum"] == ["pain.001", "csv"]
    assert query("/api/v1/ledger/accounts/{account}", "limit")["maximum"] == 1000
    status = query("/api/v1/receipt-problems", "status")
    assert status["enum"] == ["open", "resolved", "withdrawn"]
    assert (
        "received_after_all"
        in (schemas["ResolveReceiptRequest"]["properties"]["resolution"]["enum"])
    )
    assert schemas["ResolveReceiptRequest"]["properties"]["note"]["maxLength"] == 500
    assert (
        "payout_settled_reversal"
        in (schemas["StatementLine"]["properties"]["kind"]["enum"])
    )
    path = doc["paths"]["/api/v1/payouts/{payout_id}"]["get"]
    assert path["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PayoutDetail"
    }


@pytest.fixture
def stipends_without_own_account(
    system: Registry, database: Any, service_config: Any, container_factory: Any
) -> Iterator[Stipends]:
    """stipends with no programme IBAN (one that is set but invalid stops its
    start-up: test_payout_settings.py)."""
    url = database("stipends")
    container = container_factory(
        StipendsService,
        service_config("stipends", DB_URI=url, BANK_DEBTOR_IBAN=""),
    )
    container.start()
    handle = Stipends(url, container)
    yield handle
    handle.engine.dispose()


def test_no_pain001_file_while_the_programmes_own_account_is_invalid(
    system: Registry, stipends_without_own_account: Stipends
) -> None:
    finance, _, _ = signed_in_staff(
        system, f"debtor.{uuid.uuid4().hex[:8]}@example.org", ["finance"]
    )
    run = uuid.uuid4()
    for lang, said in [
        ("ru", "Собственный банковский счёт программы не настроен для файлов pain.001"),
        ("en", "Download the CSV file instead, and ask an operator to set the"),
    ]:
        page = finance.get(
            f"{system.url}/finance/runs/{run}/bank-file.xml?lang={lang}", timeout=30
        )
        assert page.status_code == 400 and said in page.text
        assert "bank_debtor_invalid" not in page.text
    audit = stipends_without_own_account.sql("SELECT count(*) FROM payout_audit")
    assert audit == [(0,)]
