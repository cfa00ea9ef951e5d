"""Recording a batch of payout outcomes on PostgreSQL: the sent ones cost the same
few statements whatever the batch's size (the rows locked together, the ledger's
sends posted together, one UPDATE), and the ledger ends as row-by-row recording
left it: one standing send per stipend, balanced."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from stipends.exceptions import InvalidTransition
from stipends.payouts.providers import BankFile, Outcome
from tests.stipends.integration.conftest import Db
from tests.stipends.integration.payouts_world import FINGERPRINT, PayWorld

IBAN = "DE89370400440532013000"


def bank_world(db: Db, payees: int) -> PayWorld:
    world = PayWorld(db, payees, provider="bank_file")
    for n, who in enumerate(world.payees):
        world.destinations[who] = {
            "provider": "bank_file",
            "fingerprint": FINGERPRINT,
            "holder": f"Holder {n}",
            "iban": IBAN,
            "bic": "COBADEFFXXX",
            "bank_name": None,
        }
    return world


@contextmanager
def counting(db: Db) -> Iterator[list[str]]:
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)


def test_a_batch_of_sent_payouts_costs_the_same_few_statements_at_any_size(
    db: Db,
) -> None:
    world = bank_world(db, 12)
    world.released()
    payouts = world.worker({"bank_file": BankFile()})
    counts = []
    for size in (2, 10):
        orders = payouts.claim(limit=size)
        results = [(order, payouts.call(order)) for order in orders]
        with counting(db) as statements:
            assert payouts.record_all(results) == ["sent"] * size
        counts.append(len(statements))
    # the first batch opens the ledger accounts too; row by row: ~10 a payout
    assert counts[1] <= counts[0] <= 8, counts
    assert set(world.statuses().values()) == {"sent"}
    sends = db.sql(
        "SELECT stipend_id, count(*) FROM journal_entries "
        "WHERE kind = 'payout_sent' GROUP BY stipend_id"
    )
    assert sorted(n for _, n in sends) == [1] * 12  # each stipend sent once
    assert world.balance("provider_clearing:bank_file:EUR") == sum(
        r[0] for r in db.sql("SELECT amount_minor FROM payouts")
    )
    assert world.balanced()


def test_a_batch_with_one_row_the_ledger_refuses_records_nothing(db: Db) -> None:
    """As row by row: the ledger's refusal (sent already) rolls the batch back, so
    the rows stay calling and are called again with the same keys."""
    world = bank_world(db, 3)
    world.released()
    payouts = world.worker({"bank_file": BankFile()})
    orders = payouts.claim(limit=3)
    results = [(order, payouts.call(order)) for order in orders]
    db.sql(  # the first stipend's send is in the ledger already (a bug elsewhere)
        "INSERT INTO journal_entries (kind, memo, stipend_id) "
        "SELECT 'payout_sent', 'sent by hand', stipend_id FROM payouts WHERE id = :id",
        id=orders[0].payout_id,
    )
    with pytest.raises(InvalidTransition, match="sent already"):
        payouts.record_all(results)
    assert set(world.statuses().values()) == {"calling"}
    assert payouts.record_all(
        [(order, Outcome("retry", detail="later")) for order in orders[1:]]
    ) == ["retry", "retry"]
