"""The console RPCs through the running stipends service (a nameko container on
real RabbitMQ and PostgreSQL, the payout timer off): arguments loaded, refusals with
their platform kind and code, answers that survive JSON."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from stipends.logic.payouts import actions
from stipends.service import StipendsService
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.helpers import actor, run_entrypoint
from tests.stipends.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    FINANCE,
    Db,
    logic_actor,
)
from tests.stipends.integration.payouts_world import PayWorld
from tests.stipends.integration.test_approvals import CLOSER, DEADLINE, World
from tests.stipends.integration.test_consoles import proposed_cycle


@pytest.fixture
def service(db: Db, service_config: Any, container_factory: Any) -> Any:
    container = container_factory(
        StipendsService,
        service_config("stipends", DB_URI=db.url, PAYOUT_WORKER_ENABLED=False),
    )
    container.start()

    def call(method: str, *args: Any) -> Any:
        answer = run_entrypoint(container, method, *args)
        return json.loads(json.dumps(answer))  # what crosses the bus

    return call


def test_fund_and_update_programme(db: Db, service: Any) -> None:
    world = World(db, budget_minor=0)
    programme = str(world.programme_id)
    key = str(uuid.uuid4())
    first = service("fund_programme", FINANCE, programme, 70_000, key)
    again = service("fund_programme", FINANCE, programme, 70_000, key)
    assert first == again
    assert (again["budget_minor"], again["available_minor"]) == (70_000, 70_000)
    assert (again["reserved_minor"], again["spent_minor"]) == (0, 0)
    with pytest.raises(Conflict) as err:
        service("fund_programme", FINANCE, programme, 80_000, key)
    assert err.value.code == "idempotency_key_reused"
    # a key is its author's: an admin choosing the same key makes a new funding
    # (it used to be answered as finance's, booking nothing)
    theirs = service("fund_programme", ADMIN_A, programme, 70_000, key)
    assert theirs["budget_minor"] == 140_000
    assert service("fund_programme", ADMIN_A, programme, 70_000, key) == theirs
    assert db.sql("SELECT count(*) FROM programme_fundings")[0][0] == 2
    with pytest.raises(InvalidInput) as err:
        service("fund_programme", FINANCE, programme, 1_000, "x")
    assert "idempotency_key" in err.value.fields
    changed = service(
        "update_programme",
        ADMIN_A,
        programme,
        {"version": theirs["version"], "min_conversations": 9},
    )
    assert changed["min_conversations"] == 9
    assert changed["version"] == theirs["version"] + 1
    with pytest.raises(Conflict) as err:
        service(
            "update_programme",
            ADMIN_A,
            programme,
            {"version": again["version"], "min_conversations": 1},
        )
    assert err.value.code == "programme_changed"
    with pytest.raises(InvalidInput) as err:
        service(
            "update_programme",
            ADMIN_A,
            programme,
            {"version": changed["version"], "currency": "USD"},
        )
    assert err.value.code == "field_not_editable"
    with pytest.raises(InvalidInput) as err:
        service("update_programme", ADMIN_A, programme, {"min_conversations": 1})
    assert err.value.fields == {"version": ["Missing data for required field."]}
    with pytest.raises(Forbidden):
        service("update_programme", FINANCE, programme, {"version": changed["version"]})
    # the tiers named change; a tier left out keeps its amount
    tiers = service(
        "update_programme",
        ADMIN_A,
        programme,
        {"version": changed["version"], "tier_amounts": {"volunteer": 3_500}},
    )["tier_amounts"]
    assert tiers == {**changed["tier_amounts"], "volunteer": 3_500}
    assert len(tiers) == len(changed["tier_amounts"]) == 2


def test_a_programme_has_a_name_a_real_currency_and_a_tier(
    db: Db, service: Any
) -> None:
    """Every refused field at once; nothing is created."""
    with pytest.raises(InvalidInput) as err:
        service(
            "create_programme",
            ADMIN_A,
            {"name": "   ", "currency": "XYZ", "tier_amounts": {}},
        )
    assert set(err.value.fields) == {"name", "currency", "tier_amounts"}
    assert db.sql("SELECT count(*) FROM programmes WHERE currency = 'XYZ'") == [(0,)]


def test_progress_preview_page_and_batch(db: Db, service: Any) -> None:
    world = World(db)
    cycle = str(world.cycle_id)
    progress = service("get_cycle_progress", FINANCE, cycle)
    assert progress["cycle"]["id"] == cycle
    assert progress["reports_by_status"]["accepted"] == 0
    preview = service("preview_close_cycle", CLOSER, cycle)
    assert preview["can_close"] is (datetime.now(UTC) > DEADLINE)
    with pytest.raises(Forbidden):
        service("preview_close_cycle", FINANCE, cycle)
    filled = proposed_cycle(db, 3)
    page = service("stipends_page", ADMIN_A, str(filled.cycle_id), 0, 2)
    assert (page["total"], page["counts"]) == (3, {"proposed": 3})
    item = page["items"][0]
    assert set(item) >= {
        "id",
        "communicator_id",
        "amount_minor",
        "status",
        "version",
        "pseudonym",
        "digest",
        "approvals",
        "mine",
    }
    assert item["mine"] is True
    assert set(item["approvals"][0]) == {
        "approver_id",
        "slot",
        "approved_at",
        "voided_at",
    }
    with pytest.raises(InvalidInput):
        service("stipends_page", ADMIN_A, str(filled.cycle_id), 0, 500)
    outcomes = service(
        "approve_stipends",
        ADMIN_A,
        [{"stipend_id": i["id"], "digest": i["digest"]} for i in page["items"]],
    )
    assert [(o["outcome"], o["code"]) for o in outcomes] == [
        ("refused", "second_slot"),
        ("refused", "second_slot"),
    ]
    outcomes = service(
        "approve_stipends",
        actor(["program_admin"]),
        [{"stipend_id": i["id"], "digest": i["digest"]} for i in page["items"]],
    )
    assert [(o["outcome"], o["slot"]) for o in outcomes] == [
        ("approved", 2),
        ("approved", 2),
    ]
    with pytest.raises(InvalidInput):
        service("approve_stipends", ADMIN_B, [])
    trail = service("get_activity", FINANCE, "stipend", page["items"][0]["id"])
    assert [a["action"] for a in trail][-3:] == [
        "approved",
        "approved",
        "ledger:reservation",
    ]


def test_payout_and_receipt(db: Db, service: Any) -> None:
    pay = PayWorld(db, payees=1)
    payout = pay.released().payouts[0]
    with db.session() as session, session.begin():
        actions.operator_action(
            session,
            logic_actor(FINANCE),
            payout.id,
            "mark_paid_offline",
            "seen on the bank portal",
            datetime.now(UTC),
        )
    payee = actor(["communicator"], str(payout.communicator_id))
    (mine,) = service("own_stipends", payee)
    assert (mine["payout_id"], mine["payout_status"]) == (str(payout.id), "paid")
    assert mine["receipt"] is None and mine["can_confirm_receipt"] is True
    answered = service("confirm_receipt", payee, str(payout.id), False, "not yet")
    assert answered["problem_status"] == "open"
    with pytest.raises(NotFound):
        service("confirm_receipt", actor(["communicator"]), str(payout.id), True)
    (problem,) = service("list_receipt_problems", FINANCE)
    assert problem["payout_id"] == str(payout.id)
    with pytest.raises(Forbidden):
        service("list_receipt_problems", ADMIN_A)
    with pytest.raises(InvalidInput):
        service("resolve_receipt_problem", FINANCE, problem["id"], "shrug", "x")
    resolved = service(
        "resolve_receipt_problem",
        FINANCE,
        problem["id"],
        "received_after_all",
        "the payee wrote that it arrived",
    )
    assert resolved["status"] == "resolved"
    # the payee hears what was found: a code, never finance's note
    (told,) = db.events("payout.receipt_resolved.v1")
    assert told["data"] == {
        "payout_id": str(payout.id),
        "communicator_id": str(payout.communicator_id),
        "resolution": "received_after_all",
    }
    with pytest.raises(Conflict) as err:
        service("confirm_receipt", payee, str(payout.id), True)
    assert err.value.code == "receipt_resolved"
    shown = service("get_payout", ADMIN_A, str(payout.id))
    assert shown["status"] == "paid"
    assert shown["receipt"]["status"] == "resolved"
    assert [a["action"] for a in shown["audit"]][-2:] == [
        "receipt_not_received",
        "receipt_problem_resolved",
    ]
    with pytest.raises(Forbidden):
        service("get_payout", payee, str(payout.id))
    found = service("get_activity", ADMIN_A, "payout", str(payout.id))
    assert found[0]["action"] == "run_build"
