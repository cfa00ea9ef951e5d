"""Every stipends command (tests/contracts/test_commands.py), sent over the real bus
and sent again with the same idempotency key as if its answer had been lost: the
second answer is the first, and the database is as the first left it (the ledger
above all: a funding, an approval, a release is booked once). A key reused for
another request is refused and changes nothing."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stipends.payouts.providers import BankFile
from stipends.service import StipendsService
from svyaz import idempotency
from svyaz.context import CALLER
from svyaz.errors import Conflict
from svyaz.keys import FINANCE_CLI, GATEWAY, STIPENDS
from svyaz.rpc import rpc
from svyaz.rpc_proxy import ClusterRpcProxy
from tests.contracts.test_commands import commands_of
from tests.helpers import actor, run_entrypoint
from tests.stipends.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    FINANCE,
    Db,
    add_communicator,
    programme_data,
    report_content,
)
from tests.stipends.integration.payouts_world import PayWorld
from tests.stipends.integration.test_payouts_bank_file import bank_world
from tests.stipends.integration.test_payouts_reconcile import paid_run
from tests.stipends.integration.test_payouts_sandbox import (  # noqa: F401 (fixtures)
    receiver,
    sandbox,
)
from tests.stripe_harness import API_KEY, Sandbox

GOOD_CODE = "135790"
QUIET = {
    "OUTBOX_RELAY_ENABLED": "false",
    "PAYOUT_TICK_SECONDS": "3600",
    "COMMAND_PURGE_INTERVAL": "3600",
    "INBOX_PURGE_INTERVAL": "3600",
}
CHANGING = {"bus_nonces"}
STRATEGY = {
    "audiences": ["family"],
    "channels": ["phone"],
    "topics": ["prices"],
    "approaches": ["listening"],
    "expected_change": "Mother doubts the news by spring.",
    "horizon_months": 6,
}


class RegistryStandIn:
    name = "registry"

    @rpc(callers={STIPENDS})
    def verify_second_factor(self, actor: Any, code: str) -> dict[str, bool]:
        return {"verified": code == GOOD_CODE}

    @rpc(callers={STIPENDS})
    def list_corridors(self) -> list[dict[str, str]]:
        return [{"country": "GE", "provider": "bank_file"}]

    @rpc(callers={STIPENDS})
    def list_clubs(self) -> list[dict[str, Any]]:
        return []


class Stipends:
    def __init__(self, container: Any, db: Db, config: dict[str, Any]):
        self.container, self.db, self.config = container, db, config

    def call(self, method: str, *args: Any) -> Any:
        context = {CALLER: GATEWAY}
        return run_entrypoint(self.container, method, *args, context_data=context)

    def sql(self, query: str, **params: Any) -> list[Any]:
        return self.db.sql(query, **params)


@pytest.fixture
def stipends(db: Db, service_config: Any, container_factory: Any) -> Iterator[Stipends]:
    registry = container_factory(
        RegistryStandIn, service_config("stipends", DB_URI=db.url)
    )
    registry.start()
    config = service_config("stipends", DB_URI=db.url, **QUIET)
    container = container_factory(StipendsService, config)
    container.start()
    yield Stipends(container, db, config)


def snapshot(s: Stipends) -> dict[str, list[str]]:
    tables = [
        row[0]
        for row in s.sql(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        if row[0] not in CHANGING
    ]
    return {
        table: sorted(r[0] for r in s.sql(f'SELECT t::text FROM "{table}" t'))
        for table in tables
    }


def send(s: Stipends, caller: str, key: str, method: str, *args: Any) -> Any:
    config = dict(s.config, BUS_IDENTITY=caller)
    with idempotency.keyed(key), ClusterRpcProxy(config, timeout=30) as proxy:
        return getattr(proxy.stipends, method)(*args)


# -- what each command needs, made through the service's own RPCs and logic --------
def programme(s: Stipends) -> dict[str, Any]:
    return dict(s.call("create_programme", ADMIN_A, programme_data()))


def cycle(s: Stipends, past: bool = False) -> dict[str, Any]:
    made = programme(s)
    when = timedelta(minutes=-1 if past else 60)
    deadline = (datetime.now(UTC) + when).isoformat()
    return dict(s.call("open_cycle", ADMIN_A, made["id"], "2026-11", deadline))


def me(s: Stipends) -> dict[str, Any]:
    return actor(["communicator"], str(add_communicator(s.db)))


def draft(s: Stipends, past: bool = False) -> tuple[dict[str, Any], str, str]:
    """(the author, the draft's id, the cycle's id)."""
    who, open_cycle = me(s), cycle(s, past)
    saved = s.call("save_report_draft", who, open_cycle["id"], report_content())
    return who, saved["report"]["id"], open_cycle["id"]


def submitted(s: Stipends, past: bool = False) -> tuple[dict[str, Any], str, str]:
    who, report, cycle_id = draft(s, past)
    s.call("submit_report", who, report)
    return who, report, cycle_id


def accepted(s: Stipends) -> tuple[dict[str, Any], str, str]:
    who, report, cycle_id = submitted(s, past=True)
    s.call("review_report", ADMIN_B, report, "accepted", "")
    return who, report, cycle_id


def proposed(s: Stipends) -> dict[str, Any]:
    """A stipend proposed by ADMIN_A closing the cycle (ADMIN_B may decide)."""
    _, _, cycle_id = accepted(s)
    (found,) = s.call("close_cycle", ADMIN_A, cycle_id)["entitlements"]
    return dict(s.call("get_stipend", ADMIN_B, found["stipend_id"]))


def shared_strategy(s: Stipends) -> dict[str, Any]:
    who = me(s)
    s.call("save_strategy", who, STRATEGY)
    s.call("share_strategy", who)
    return who


def funding_entry(s: Stipends) -> int:
    made = programme(s)
    s.call("fund_programme", ADMIN_A, made["id"], 5_000, uuid.uuid4().hex)
    (row,) = s.sql(
        "SELECT max(id) FROM journal_entries WHERE kind = 'funding'",
    )
    return int(row[0])


def built_run(s: Stipends) -> dict[str, Any]:
    world = PayWorld(s.db, 2, provider="bank_file")
    return dict(s.call("build_payout_run", FINANCE, str(world.cycle_id)))


def released_run(s: Stipends) -> dict[str, Any]:
    run = built_run(s)
    s.call("release_payout_run", FINANCE, run["id"], run["totals_digest"], GOOD_CODE)
    return run


def queued_payout(s: Stipends) -> str:
    run = released_run(s)
    (payout, *_) = s.call("list_payouts", FINANCE, run["id"])
    return str(payout["id"])


def paid_payout(s: Stipends) -> tuple[dict[str, Any], str]:
    """(the payee, a payout paid offline)."""
    payout = queued_payout(s)
    s.call("payout_action", FINANCE, payout, "mark_paid_offline", "paid by hand")
    (row,) = s.sql("SELECT communicator_id FROM payouts WHERE id = :i", i=payout)
    return actor(["communicator"], str(row[0])), payout


def receipt_problem(s: Stipends) -> str:
    payee, payout = paid_payout(s)
    s.call("confirm_receipt", payee, payout, False, "nothing arrived")
    (problem,) = s.call("list_receipt_problems", FINANCE)
    return str(problem["id"])


def sent_bank_payouts(s: Stipends) -> str:
    """A bank statement that books a sent bank payout."""
    world = bank_world(s.db)
    built = world.released()
    world.worker({"bank_file": BankFile()}).drive()
    payout = built.payouts[0]
    return (
        "reference,amount,currency,status,fee\n"
        f"payout:{payout.id},300.00,EUR,booked,0.50\n"
    )


# a period over (only a reconciliation run after its period is signed off)
PAST_PERIOD = tuple(
    (datetime.now(UTC).date() - timedelta(days=days)).isoformat() for days in (30, 2)
)
FINANCE_B = actor(["finance"])
FINANCE_C = actor(["finance"])


def statement_period(s: Stipends) -> tuple[Any, ...]:
    """reconcile_period's arguments: a bank statement of a period that is over,
    booking a payout that is not ours (one difference to resolve)."""
    text = (
        "reference,amount,currency,status,fee\n"
        f"payout:{uuid.uuid4()},300.00,EUR,booked,0.50\n"
    )
    return (FINANCE, "bank_file", *PAST_PERIOD, "bank_statement", text)


def open_difference(s: Stipends) -> tuple[str, int]:
    """(a reconciliation run by FINANCE, one of its open differences)."""
    rec = s.call("reconcile_period", *statement_period(s))
    rows = s.sql(
        "SELECT id FROM reconciliation_items WHERE reconciliation_id = :r ORDER BY id",
        r=rec["id"],
    )
    return str(rec["id"]), int(rows[0][0])


def resolved(s: Stipends) -> str:
    """A reconciliation whose differences FINANCE_B wrote off (FINANCE_C signs)."""
    rec, _ = open_difference(s)
    items = [
        int(r[0])
        for r in s.sql(
            "SELECT id FROM reconciliation_items WHERE reconciliation_id = :r",
            r=rec,
        )
    ]
    s.call(
        "resolve_reconciliation_items", FINANCE_B, rec, items, "write_off", "bank fee"
    )
    return rec


Scenario = Callable[[Stipends], tuple[str, tuple[Any, ...]]]
SCENARIOS: dict[str, Scenario] = {
    "create_programme": lambda s: (GATEWAY, (ADMIN_A, programme_data())),
    "fund_programme": lambda s: (
        GATEWAY,
        (ADMIN_A, programme(s)["id"], 7_000, uuid.uuid4().hex),
    ),
    "update_programme": lambda s: (
        GATEWAY,
        (
            ADMIN_A,
            (p := programme(s))["id"],
            {"version": p["version"], "min_conversations": 9},
        ),
    ),
    "reverse_funding": lambda s: (
        GATEWAY,
        (ADMIN_A, funding_entry(s), "entered twice by mistake"),
    ),
    "open_cycle": lambda s: (
        GATEWAY,
        (
            ADMIN_A,
            programme(s)["id"],
            "2026-12",
            (datetime.now(UTC) + timedelta(days=20)).isoformat(),
        ),
    ),
    "close_cycle": lambda s: (GATEWAY, (ADMIN_A, accepted(s)[2])),
    "lock_cycle": lambda s: (GATEWAY, (ADMIN_A, _closed_empty_cycle(s))),
    "save_report_draft": lambda s: (
        GATEWAY,
        (me(s), cycle(s)["id"], report_content()),
    ),
    "edit_report": lambda s: (
        GATEWAY,
        ((d := draft(s))[0], d[1], report_content(hours=9)),
    ),
    "submit_report": lambda s: (GATEWAY, ((d := draft(s))[0], d[1])),
    "review_report": lambda s: (
        GATEWAY,
        (ADMIN_B, submitted(s)[1], "accepted", ""),
    ),
    "save_strategy": lambda s: (GATEWAY, (me(s), STRATEGY)),
    "share_strategy": lambda s: (GATEWAY, (_saved_strategy(s),)),
    "comment_on_strategy": lambda s: (
        GATEWAY,
        (ADMIN_A, shared_strategy(s)["id"], "Start with one person."),
    ),
    "give_report_feedback": lambda s: (
        GATEWAY,
        (ADMIN_A, submitted(s)[1], "Good detail, thank you."),
    ),
    "approve_stipends": lambda s: (
        GATEWAY,
        (ADMIN_B, [{"stipend_id": (p := proposed(s))["id"], "digest": p["digest"]}]),
    ),
    "approve_stipend": lambda s: (
        GATEWAY,
        (ADMIN_B, (p := proposed(s))["id"], p["digest"]),
    ),
    "reject_stipend": lambda s: (
        GATEWAY,
        (ADMIN_B, proposed(s)["id"], "the report was not theirs"),
    ),
    "amend_stipend": lambda s: (
        GATEWAY,
        (ADMIN_B, proposed(s)["id"], 20_000, "half a month of work"),
    ),
    "build_payout_run": lambda s: (
        FINANCE_CLI,
        (FINANCE, str(PayWorld(s.db, 2, provider="bank_file").cycle_id)),
    ),
    "release_payout_run": lambda s: (
        GATEWAY,
        (FINANCE, (r := built_run(s))["id"], r["totals_digest"], GOOD_CODE),
    ),
    "cancel_payout_run": lambda s: (
        FINANCE_CLI,
        (FINANCE, built_run(s)["id"], "the wrong cycle"),
    ),
    "payout_action": lambda s: (
        GATEWAY,
        (FINANCE, queued_payout(s), "cancel", "the payee asked to wait"),
    ),
    "confirm_receipt": lambda s: (
        GATEWAY,
        (*paid_payout(s), True, ""),
    ),
    "resolve_receipt_problem": lambda s: (
        GATEWAY,
        (FINANCE, receipt_problem(s), "received_after_all", "it arrived late"),
    ),
    "import_bank_statement": lambda s: (FINANCE_CLI, (FINANCE, sent_bank_payouts(s))),
    "reconcile_period": lambda s: (FINANCE_CLI, statement_period(s)),
    "resolve_reconciliation_items": lambda s: (
        GATEWAY,
        (
            FINANCE_B,
            (d := open_difference(s))[0],
            [d[1]],
            "write_off",
            "checked at the bank",
        ),
    ),
    "sign_off_reconciliation": lambda s: (
        FINANCE_CLI,
        (FINANCE_C, resolved(s), "checked against the statement"),
    ),
}
# driven by its own test below: it reads the run's transfers from the Stripe sandbox
IN_ITS_OWN_TEST = {"reconcile_payout_run"}


def _closed_empty_cycle(s: Stipends) -> str:
    made = cycle(s, past=True)
    s.call("close_cycle", ADMIN_A, made["id"])
    return str(made["id"])


def _saved_strategy(s: Stipends) -> dict[str, Any]:
    who = me(s)
    s.call("save_strategy", who, STRATEGY)
    return who


def test_every_stipends_command_has_a_scenario() -> None:
    assert set(SCENARIOS) | IN_ITS_OWN_TEST == commands_of("stipends")
    assert not set(SCENARIOS) & IN_ITS_OWN_TEST


@pytest.mark.parametrize("method", sorted(SCENARIOS))
def test_a_command_sent_again_after_its_answer_was_lost_takes_effect_once(
    stipends: Stipends, method: str
) -> None:
    caller, args = SCENARIOS[method](stipends)
    key = uuid.uuid4().hex
    before = snapshot(stipends)
    first = send(stipends, caller, key, method, *args)
    after_first = snapshot(stipends)
    assert after_first != before, "the command changed nothing: not a scenario"
    again = send(stipends, caller, key, method, *args)
    assert again == first
    assert snapshot(stipends) == after_first
    (row,) = stipends.sql(
        "SELECT signer, method FROM command_results WHERE key LIKE :k", k=f"{key}.%"
    )
    assert tuple(row) == (caller, method)


def test_a_funding_key_reused_for_another_amount_is_refused(stipends: Stipends) -> None:
    made = programme(stipends)
    key = uuid.uuid4().hex
    send(stipends, GATEWAY, key, "fund_programme", ADMIN_A, made["id"], 100, key)
    before = snapshot(stipends)
    with pytest.raises(Conflict) as refused:
        send(stipends, GATEWAY, key, "fund_programme", ADMIN_A, made["id"], 900, key)
    assert refused.value.code == "idempotency_key_reused"
    assert snapshot(stipends) == before


def test_a_run_reconciled_again_with_its_key_is_reconciled_once(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
    service_config: Any,
    container_factory: Any,
) -> None:
    """reconcile_payout_run, against the Stripe sandbox: one reconciliation event,
    the first answer again."""
    config = service_config(
        "stipends",
        DB_URI=db.url,
        STRIPE_API_BASE=sandbox.url,
        STRIPE_API_KEY=API_KEY,
        **QUIET,
    )
    container = container_factory(StipendsService, config)
    container.start()
    s = Stipends(container, db, config)
    _, run_id = paid_run(db, sandbox, 2)
    key = uuid.uuid4().hex
    before = snapshot(s)
    first = send(s, FINANCE_CLI, key, "reconcile_payout_run", FINANCE, str(run_id))
    after_first = snapshot(s)
    assert after_first != before and first["matched"] == 2
    again = send(s, FINANCE_CLI, key, "reconcile_payout_run", FINANCE, str(run_id))
    assert again == first
    assert snapshot(s) == after_first
