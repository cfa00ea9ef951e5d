"""What the finance console reads of the ledger: an account's statement a page at a
time with the running balance carried across pages, and whom each account is
about (a programme's name, a communicator's pseudonym, a provider)."""

import uuid

from stipends.logic import ledger, ledger_reports
from stipends.models import Programme
from tests.stipends.integration.conftest import Db, add_communicator


def test_a_statement_is_paged_with_the_running_balance_of_the_whole(db: Db) -> None:
    programme = uuid.uuid4()
    with db.session() as session, session.begin():
        for amount in (100, 200, 300, 400, 500):
            ledger.fund(session, programme, "EUR", amount, None)
    code = f"programme_funds:{programme}"
    with db.session() as session:
        whole = ledger_reports.statement(session, code)
        page = ledger_reports.statement(session, code, offset=2, limit=2)
        last = ledger_reports.statement(session, code, offset=4, limit=2)
    assert [line["balance_minor"] for line in whole["lines"]] == [
        100,
        300,
        600,
        1000,
        1500,
    ]
    assert [(x["amount_minor"], x["balance_minor"]) for x in page["lines"]] == [
        (300, 600),
        (400, 1000),
    ]
    assert page["total_lines"] == 5 and page["offset"] == 2
    assert page["balance_minor"] == 1500  # the account's, not the page's
    assert [x["balance_minor"] for x in last["lines"]] == [1500]


def test_accounts_name_their_programme_payee_and_provider(db: Db) -> None:
    payee = add_communicator(db)
    with db.session() as session, session.begin():
        programme = Programme(
            id=uuid.uuid4(),
            name="Evening talks",
            currency="EUR",
            budget_minor=0,
            tier_amounts={"professional": 1, "volunteer": 0},
            approval_bands=[],
            created_by=uuid.uuid4(),
        )
        session.add(programme)
        session.flush()
        ledger.fund(session, programme.id, "EUR", 1_000, None)
        ledger.post(
            session,
            "commitment",
            "test",
            "EUR",
            [
                ledger.Leg(ledger.reservations(programme.id), 10),
                ledger.Leg(ledger.payable(payee, "EUR"), -10),
            ],
        )
        ledger.post(
            session,
            "payout_sent",
            "test",
            "EUR",
            [
                ledger.Leg(ledger.clearing("bank_file", "EUR"), 10),
                ledger.Leg(ledger.funds(programme.id), -10),
            ],
        )
    with db.session() as session:
        report = ledger_reports.trial_balance(session)
        statement = ledger_reports.statement(session, ledger.payable(payee, "EUR"))
    owners = {row["account"]: row["owner"] for row in report["accounts"]}
    assert owners[ledger.funds(programme.id)] == "Evening talks"
    assert owners[ledger.payable(payee, "EUR")] == f"finch_{payee.hex[:6]}"
    assert owners[ledger.clearing("bank_file", "EUR")] == "bank_file"
    assert statement["owner"] == f"finch_{payee.hex[:6]}"
    assert report["balanced"]
