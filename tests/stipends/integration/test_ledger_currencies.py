"""A provider pays in many currencies and a communicator may be paid in several: their
ledger accounts are kept per currency (`provider_clearing:bank_file:JPY`), so a run in
yen and a run in euros go through one provider side by side; and migration 0013
moves the balance of each account of before (no currency in its code) with one
balanced entry, after which a reversal of an old entry lands on the new account."""

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import create_engine, text

from stipends.logic import ledger, ledger_reports
from stipends.payouts.providers import BankFile
from stipends.schemas import AccountRequestSchema
from tests.stipends.integration.conftest import Db
from tests.stipends.integration.test_money_exponents import world_in

ROOT = Path(__file__).resolve().parents[3]


def test_one_provider_pays_in_two_currencies(db: Db) -> None:
    euros = world_in(db, "EUR", 25_050)
    yen = world_in(db, "JPY", 25_000)
    for world in (euros, yen):
        world.released()
        assert world.worker({"bank_file": BankFile()}).drive() == {"sent": 1}
    assert euros.balance(ledger.clearing("bank_file", "EUR")) == 25_050
    assert euros.balance(ledger.clearing("bank_file", "JPY")) == 25_000
    assert euros.balanced()
    with db.session() as session:
        assert sorted(ledger.clearings(session, "bank_file")) == [
            "provider_clearing:bank_file:EUR",
            "provider_clearing:bank_file:JPY",
        ]
        totals = ledger_reports.trial_balance(session)["totals"]
        # an account's statement is asked for by its per-currency code
        asked = AccountRequestSchema().load(
            {"account": "provider_clearing:bank_file:JPY"}
        )
        lines = ledger_reports.statement(session, asked["account"])["lines"]
    assert [t["currency"] for t in totals] == ["EUR", "JPY"]
    assert [line["amount_minor"] for line in lines] == [25_000]


def test_migration_0013_moves_the_old_accounts_balances(database) -> None:  # noqa: ANN001
    url = database("stipends")
    alembic = AlembicConfig(str(ROOT / "services" / "stipends" / "alembic.ini"))
    alembic.set_main_option("sqlalchemy.url", url)
    command.downgrade(alembic, "0011")
    engine = create_engine(url)
    old_clearing, old_payable = "provider_clearing:bank_file", "stipends_payable:c1"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO ledger_accounts (code, kind, currency) VALUES "
                "(:c, 'provider_clearing', 'EUR'), (:p, 'stipends_payable', 'EUR'), "
                "('programme_funds:p1', 'programme_funds', 'EUR'), "
                "('reservations:p1', 'reservations', 'EUR')"
            ),
            {"c": old_clearing, "p": old_payable},
        )
        sent = (
            conn.execute(
                text(
                    "INSERT INTO journal_entries (kind, memo) VALUES "
                    "('commitment', 'old'), ('payout_sent', 'old') RETURNING id"
                )
            )
            .scalars()
            .all()
        )
        conn.execute(
            text(
                "INSERT INTO postings (entry_id, account, amount_minor, currency) "
                "VALUES (:a, 'reservations:p1', 700, 'EUR'), (:a, :p, -700, 'EUR'), "
                "(:b, :c, 700, 'EUR'), (:b, 'programme_funds:p1', -700, 'EUR')"
            ),
            {"a": sent[0], "b": sent[1], "c": old_clearing, "p": old_payable},
        )
    command.upgrade(alembic, "head")
    handle = Db(url)
    try:
        with handle.session() as session:
            assert ledger.balance(session, old_clearing) == 0
            assert ledger.balance(session, old_payable) == 0
            assert ledger.balance(session, f"{old_clearing}:EUR") == 700
            assert ledger.balance(session, f"{old_payable}:EUR") == -700
            assert ledger_reports.trial_balance(session)["balanced"]
        assert handle.sql(
            "SELECT count(*) FROM journal_entries WHERE kind = 'account_moved'"
        ) == [(2,)]
        # the old send fails now: its reversal credits the per-currency account
        with handle.session() as session, session.begin():
            ledger.reverse(session, sent[1], "payout failed")
        with handle.session() as session:
            assert ledger.balance(session, f"{old_clearing}:EUR") == 0
            assert ledger.balance(session, old_clearing) == 0
            assert ledger_reports.trial_balance(session)["balanced"]
    finally:
        handle.engine.dispose()
        engine.dispose()
