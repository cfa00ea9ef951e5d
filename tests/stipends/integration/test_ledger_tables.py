"""The ledger's tables refuse what the code must never do: change or delete an entry,
or commit an entry whose legs do not balance."""

import uuid

import pytest
import sqlalchemy.exc

from stipends.logic import ledger, ledger_reports
from tests.stipends.integration.conftest import Db


def funded(db: Db) -> tuple[uuid.UUID, int]:
    programme = uuid.uuid4()
    with db.session() as session, session.begin():
        entry = ledger.fund(session, programme, "EUR", 100_000, None)
    return programme, entry.id


def test_entries_and_postings_are_insert_only(db: Db) -> None:
    programme, entry_id = funded(db)
    for statement in (
        "UPDATE journal_entries SET memo = 'edited' WHERE id = :i",
        "DELETE FROM postings WHERE entry_id = :i",
        "UPDATE postings SET amount_minor = 1 WHERE entry_id = :i",
        "DELETE FROM journal_entries WHERE id = :i",
    ):
        with pytest.raises(sqlalchemy.exc.InternalError, match="insert-only"):
            db.sql(statement, i=entry_id)
    assert db.sql(
        "SELECT account, amount_minor FROM postings WHERE entry_id = :i ORDER BY id",
        i=entry_id,
    ) == [
        (f"programme_funds:{programme}", 100_000),
        (f"programme_budget:{programme}", -100_000),
    ]


def test_an_unbalanced_entry_cannot_commit(db: Db) -> None:
    programme, entry_id = funded(db)
    with pytest.raises(sqlalchemy.exc.InternalError, match="does not balance"):
        db.sql(
            "INSERT INTO postings (entry_id, account, amount_minor, currency) "
            "VALUES (:i, :a, 5, 'EUR')",
            i=entry_id,
            a=f"programme_funds:{programme}",
        )
    assert db.sql("SELECT count(*) FROM postings")[0][0] == 2


def test_a_correction_is_a_reversal_and_only_one(db: Db) -> None:
    programme, entry_id = funded(db)
    with db.session() as session, session.begin():
        reversal = ledger.reverse(session, entry_id, "funded twice by mistake")
        assert ledger.available(session, programme) == 0
    assert reversal.reverses == entry_id and reversal.kind == "funding_reversal"
    with db.session() as session, session.begin():
        with pytest.raises(Exception, match="reversed already"):
            ledger.reverse(session, entry_id, "again")
    with db.session() as session:
        report = ledger_reports.trial_balance(session)
    assert report["balanced"]
    assert report["totals"] == [
        {"currency": "EUR", "debit_minor": 200_000, "credit_minor": 200_000}
    ]


def test_the_code_refuses_an_unbalanced_entry_before_the_database(db: Db) -> None:
    with db.session() as session, session.begin():
        with pytest.raises(Exception, match="does not balance"):
            ledger.post(
                session,
                "funding",
                "bad",
                "EUR",
                [ledger.Leg("fees:x", 10), ledger.Leg("programme_funds:x", -9)],
            )
