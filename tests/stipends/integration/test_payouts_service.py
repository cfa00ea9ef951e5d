"""Payouts through the running stipends service: a nameko container on real RabbitMQ
and PostgreSQL, a registry on the bus answering `list_corridors` and
`get_payout_destination` (a stand-in service: the real registry needs its onboarding
flow), and the Stripe sandbox subprocess. Finance builds and releases a run by RPC;
the timer entrypoint pays it; only the gateway may relay Stripe events."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from stipends.service import StipendsService
from svyaz.context import CALLER
from svyaz.errors import Forbidden, NotFound
from svyaz.keys import STIPENDS
from svyaz.rpc import rpc
from tests.helpers import run_entrypoint, wait_until
from tests.stipends.integration.conftest import FINANCE, Db
from tests.stipends.integration.payouts_world import PayWorld
from tests.stipends.integration.test_payouts_sandbox import (  # noqa: F401 (fixtures)
    assert_paid_exactly_once,
    onboard,
    receiver,
    sandbox,
)
from tests.stipends.integration.test_service import witness  # noqa: F401 (fixture)
from tests.stripe_harness import API_KEY, Sandbox

DESTINATIONS: dict[str, dict[str, Any]] = {}
GOOD_CODE = "246810"  # what the stand-in's authenticator shows
CALLS: list[str] = []


class RegistryStandIn:
    name = "registry"

    @rpc(callers={STIPENDS})
    def verify_second_factor(self, actor: Any, code: str) -> dict[str, bool]:
        return {"verified": code == GOOD_CODE}

    @rpc(callers={STIPENDS})
    def list_corridors(self) -> list[dict[str, str]]:
        return [{"country": "DE", "provider": "stripe_connect"}]

    @rpc(callers={STIPENDS})
    def get_payout_destination(
        self, communicator_id: str, purpose: str
    ) -> dict[str, Any]:
        CALLS.append(purpose)
        if communicator_id not in DESTINATIONS:
            raise NotFound("no payout destination is ready", "not_found")
        return DESTINATIONS[communicator_id]


def call(
    container: Any, method: str, *args: Any, caller: str | None = None, **kwargs: Any
) -> Any:
    context = {CALLER: caller} if caller else {}
    return run_entrypoint(container, method, *args, context_data=context, **kwargs)


@pytest.fixture
def running(
    db: Db,
    sandbox: Sandbox,  # noqa: F811  (the fixture imported above)
    service_config: Any,
    container_factory: Any,
    witness: str,  # noqa: F811
) -> Any:
    DESTINATIONS.clear()
    CALLS.clear()
    # the stand-in keeps its RPC nonces in the stipends test database
    registry = container_factory(
        RegistryStandIn, service_config("stipends", DB_URI=db.url)
    )
    registry.start()
    stipends = container_factory(
        StipendsService,
        service_config(
            "stipends",
            DB_URI=db.url,
            STRIPE_API_BASE=sandbox.url,
            STRIPE_API_KEY=API_KEY,
            PAYOUT_STRIPE_CONFIRM_SECONDS=0.2,
            PAYOUT_RATE_LIMIT=50,
        ),
    )
    stipends.start()
    return stipends


def test_finance_builds_and_releases_and_the_timer_pays(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
    running: Any,
) -> None:
    world = PayWorld(db, 3)
    onboard(world, sandbox)
    missing = world.payees[2]
    for who, destination in world.destinations.items():
        if who != missing:
            DESTINATIONS[str(who)] = destination

    built = call(running, "build_payout_run", FINANCE, str(world.cycle_id))
    assert built["totals"] == [
        {
            "currency": "EUR",
            "provider": "stripe_connect",
            "count": 3,
            "sum_minor": 90000,
        }
    ]
    with pytest.raises(Forbidden):  # a wrong code (who may call: the bus's rule)
        call(
            running,
            "release_payout_run",
            FINANCE,
            built["id"],
            built["totals_digest"],
            "000000",
            caller="gateway",
        )
    assert set(world.statuses().values()) == {"planned"}
    released = call(
        running,
        "release_payout_run",
        FINANCE,
        built["id"],
        built["totals_digest"],
        GOOD_CODE,
        caller="gateway",
    )
    assert released["status"] == "released"

    def settled() -> bool:
        return set(world.statuses().values()) <= {"paid", "failed"}

    wait_until(settled, "payouts settled", timeout=30)
    statuses = world.statuses()
    assert statuses.pop(str(world.world.stipend_of(missing).id)) == "failed"
    assert set(statuses.values()) == {"paid"}
    assert set(CALLS) == {"payout"}
    failed = db.events("payout.failed.v1")
    assert [e["data"]["reason"] for e in failed] == ["destination_not_ready"]

    # finance fixes it: the destination is there now, a retry pays it
    DESTINATIONS[str(missing)] = world.destinations[missing]
    payouts = call(running, "list_payouts", FINANCE, built["id"])
    (failed_payout,) = [p for p in payouts if p["status"] == "failed"]
    with pytest.raises(Exception, match="reason"):
        call(running, "payout_action", FINANCE, failed_payout["id"], "retry", " ")
    call(running, "payout_action", FINANCE, failed_payout["id"], "retry", "set up now")
    wait_until(
        lambda: set(world.statuses().values()) == {"paid"}, "all paid", timeout=30
    )
    run = call(running, "get_payout_run", FINANCE, built["id"])
    assert run["payouts_by_status"] == {"paid": 3}
    reconciled = call(running, "reconcile_payout_run", FINANCE, built["id"])
    assert reconciled == {"matched": 3, "discrepancies": [], "by_kind": {}}
    assert_paid_exactly_once(world, sandbox, db)

    # the period holding today, from the Stripe API: all three match, and the run is
    # told reconciled (finance's overdue alert listens for it)
    today = datetime.now(UTC).date()
    period = (str(today - timedelta(days=1)), str(today + timedelta(days=1)))
    before = len(db.events("reconciliation.completed.v1"))
    rec = call(running, "reconcile_period", FINANCE, "stripe_connect", *period)
    assert (rec["provider_rows"], rec["matched"], rec["open_items"]) == (3, 3, 0)
    events = db.events("reconciliation.completed.v1")[before:]
    assert [(e["data"]["run_id"], e["data"]["matched"]) for e in events] == [
        (built["id"], 3)
    ]
    listed = call(running, "list_reconciliations", FINANCE)
    assert [r["id"] for r in listed] == [rec["id"]]
    assert call(running, "list_reconciliation_items", FINANCE, rec["id"]) == []


def test_a_bad_request_gets_a_clear_error(running: Any) -> None:
    from svyaz.errors import InvalidInput

    with pytest.raises(InvalidInput):
        call(running, "build_payout_run", FINANCE, "not-an-id")
    with pytest.raises(NotFound):
        call(running, "get_payout_run", FINANCE, str(uuid.uuid4()))


@pytest.mark.parametrize(
    "args,message",
    [
        (("stripe_connect", "2026-11-01", "2026-10-01"), "must end after it starts"),
        (("stripe_connect", "1 Nov", "2026-12-01"), "not a date"),
        (("stripe_connect", "2026-10-01", "2026-11-01", "ledger"), "no source"),
        (("bank_file", "2026-10-01", "2026-11-01"), "import its statement"),
        (("bank_file", "2026-10-01", "2026-11-01", "itemized_csv", "a,b\n"), "not a"),
        (("stripe_connect", "2026-10-01", "2026-11-01", "itemized_csv"), "content"),
        (
            (
                "stripe_connect",
                "2026-10-01",
                "2026-11-01",
                "itemized_csv",
                "x,y\n1,2\n",
            ),
            "lacks the columns",
        ),
    ],
)
def test_a_bad_reconciliation_request_changes_nothing(
    db: Db, running: Any, args: tuple, message: str
) -> None:
    from svyaz.errors import InvalidInput

    with pytest.raises(InvalidInput, match=message):
        call(running, "reconcile_period", FINANCE, *args)
    assert db.sql("SELECT count(*) FROM reconciliations")[0][0] == 0


def test_a_provider_that_stops_answering_records_nothing(
    db: Db,
    sandbox: Sandbox,  # noqa: F811
    running: Any,
) -> None:
    from svyaz.errors import Conflict

    sandbox.control("POST", "/_sandbox/faults", {"fail_nth": 1, "status": 500})
    with pytest.raises(Conflict, match="did not answer"):
        call(
            running,
            "reconcile_period",
            FINANCE,
            "stripe_connect",
            "2026-10-01",
            "2026-11-01",
        )
    assert db.sql("SELECT count(*) FROM reconciliations")[0][0] == 0
    assert db.sql("SELECT count(*) FROM reconciliation_rows")[0][0] == 0
    for bad in ("1", [True], ["1"]):
        with pytest.raises(Exception, match="item"):
            call(
                running,
                "resolve_reconciliation_items",
                FINANCE,
                str(uuid.uuid4()),
                bad,
                "write_off",
                "r",
            )
