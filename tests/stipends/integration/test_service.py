"""The stipends service as it runs: a nameko container on real RabbitMQ and
PostgreSQL. The registry's events build the read model; staff and a communicator
drive the RPCs as the gateway would; the events leave through the outbox onto the
bus, with ids and amounts only."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import kombu
import pytest

from stipends.service import StipendsService
from svyaz import signing
from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.helpers import actor, publish_event, run_entrypoint, take, wait_until
from tests.stipends.integration.conftest import ADMIN_A, ADMIN_B, FINANCE, Db

FINGERPRINT = "9a" * 32
PSEUDONYM = "heron_42"


def envelope(event_type: str, **data: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": "registry",
        "correlation_id": str(uuid.uuid4()),
        "data": data,
    }


class Stipends:
    def __init__(self, container: Any, db: Db, amqp_uri: str):
        self.container = container
        self.db = db
        self.amqp_uri = amqp_uri

    def call(self, method: str, *args: Any) -> Any:
        return run_entrypoint(self.container, method, *args)


@pytest.fixture
def witness(rabbit_config: dict[str, Any]) -> str:
    """A queue bound to every event the stipends service publishes."""
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        kombu.Queue(
            "stipends-witness",
            kombu.Exchange("stipends.events", type="topic", durable=True),
            routing_key="#",
        )(conn.channel()).declare()
    return "stipends-witness"


@pytest.fixture
def stipends(
    db: Db, service_config: Any, container_factory: Any, rabbit_config: Any
) -> Stipends:
    container = container_factory(
        StipendsService, service_config("stipends", DB_URI=db.url)
    )
    container.start()
    return Stipends(container, db, rabbit_config["AMQP_URI"])


def registered(stipends: Stipends) -> str:
    """A professional, trained, payout-ready communicator, as the registry says."""
    ident = str(uuid.uuid4())
    steps = [
        ("communicator.applied.v1", {"pseudonym": PSEUDONYM}),
        ("communicator.activated.v1", {"pseudonym": PSEUDONYM, "club_id": None}),
        (
            "communicator.tier_changed.v1",
            {"tier": "professional", "training_completed": True},
        ),
        (
            "communicator.payout_ready.v1",
            {"provider": "stripe_connect", "destination_fingerprint": FINGERPRINT},
        ),
    ]
    for event_type, data in steps:
        publish_event(
            stipends.amqp_uri, envelope(event_type, communicator_id=ident, **data)
        )
    wait_until(
        lambda: stipends.db.sql(
            "SELECT 1 FROM communicators WHERE id = :i AND payout_ready "
            "AND tier = 'professional' AND status = 'active'",
            i=ident,
        ),
        "the read model to fill",
    )
    return ident


def received(amqp_uri: str, queue: str, count: int) -> list[dict[str, Any]]:
    events = [signing.decode(take(amqp_uri, queue).body) for _ in range(count)]
    for event in events:
        # the decoded envelope, not the signed body, and nothing as short as "916":
        # hex signatures and uuids hold any three digits by chance
        text = json.dumps(event, ensure_ascii=False)
        for secret in (PSEUDONYM, "Samara", "123-45-67", "задумалась"):
            assert secret not in text
    return events


def test_a_cycle_from_report_to_approved_stipend_over_the_bus(
    stipends: Stipends, witness: str
) -> None:
    who = registered(stipends)
    me = actor(["communicator"], who)
    programme = stipends.call(
        "create_programme",
        ADMIN_A,
        {
            "name": f"Communicators {uuid.uuid4().hex[:6]}",
            "currency": "EUR",
            "budget_minor": 50_000,
            "tier_amounts": {"professional": 30_000, "volunteer": 0},
            "min_accepted_reports": 1,
            "min_conversations": 3,
        },
    )
    assert programme["available_minor"] == 50_000
    assert programme["approval_bands"] == [
        {"up_to_minor": 30_000, "approvers": 1},
        {"up_to_minor": None, "approvers": 2},
    ]
    deadline = datetime.now(UTC) + timedelta(seconds=3)
    cycle = stipends.call(
        "open_cycle", ADMIN_A, programme["id"], "2026-11", deadline.isoformat()
    )
    assert cycle["status"] == "open"

    draft = stipends.call(
        "save_report_draft",
        me,
        cycle["id"],
        {
            "conversations": 5,
            "audiences": ["family"],
            "channels": ["phone"],
            "topics": ["prices"],
            "hours": 4,
            "observed_change": "some",
            "narrative": "Мама в Samara, её телефон +7 916 123-45-67, задумалась.",
        },
    )
    assert draft["redacted"] == ["phone"] and "phone" in draft["notice"]
    assert "916" not in draft["report"]["narrative"]
    report_id = draft["report"]["id"]
    assert stipends.call("submit_report", me, report_id)["late"] is False
    with pytest.raises(Forbidden) as err:  # a communicator does not review
        stipends.call("review_report", me, report_id, "accepted", "")
    assert err.value.code == "role_required"
    reviewed = stipends.call("review_report", ADMIN_B, report_id, "accepted", "")
    assert reviewed["status"] == "accepted"

    wait_until(lambda: datetime.now(UTC) > deadline, "the deadline to pass")
    closed = stipends.call("close_cycle", ADMIN_A, cycle["id"])
    assert closed["cycle"]["status"] == "closed"
    (found,) = closed["entitlements"]
    assert found["eligible"] and found["amount_minor"] == 30_000
    with pytest.raises(Conflict) as err:  # no report into a closed cycle
        stipends.call("submit_report", me, report_id)
    assert err.value.code == "cycle_closed"

    stipend = stipends.call("get_stipend", ADMIN_B, found["stipend_id"])
    assert stipend["status"] == "proposed" and len(stipend["digest"]) == 64
    with pytest.raises(Forbidden) as err:  # ADMIN_A closed the cycle: the proposer
        stipends.call("approve_stipend", ADMIN_A, stipend["id"], stipend["digest"])
    assert err.value.code == "own_proposal"
    with pytest.raises(InvalidInput) as err:
        stipends.call("approve_stipend", ADMIN_B, stipend["id"], "short")
    assert "digest" in err.value.fields
    approved = stipends.call(
        "approve_stipend", ADMIN_B, stipend["id"], stipend["digest"]
    )
    assert approved["status"] == "approved"
    assert approved["remaining_budget_minor"] == 20_000

    balance = stipends.call("get_trial_balance", FINANCE)
    assert balance["balanced"]
    assert balance["totals"] == [
        {"currency": "EUR", "debit_minor": 80_000, "credit_minor": 80_000}
    ]
    statement = stipends.call(
        "get_account_statement", FINANCE, f"reservations:{programme['id']}"
    )
    assert [(line["kind"], line["amount_minor"]) for line in statement["lines"]] == [
        ("reservation", -30_000)
    ]
    with pytest.raises(Forbidden):
        stipends.call("get_trial_balance", me)

    events = received(stipends.amqp_uri, witness, 7)
    by_type = {e["event_type"]: e for e in events}
    assert sorted(by_type) == [
        "cycle.closed.v1",
        "cycle.opened.v1",
        "programme.budget_changed.v1",  # the funding: for the insights read model
        "report.reviewed.v1",
        "report.submitted.v1",
        "stipend.approved.v1",
        "stipend.proposed.v1",
    ]
    assert by_type["stipend.approved.v1"]["data"] == {
        "stipend_id": stipend["id"],
        "communicator_id": who,
        "cycle_id": cycle["id"],
        "amount_minor": 30_000,
        "currency": "EUR",
    }
    assert by_type["report.reviewed.v1"]["data"]["decision"] == "accepted"
    assert all(e["producer"] == "stipends" for e in events)
    wait_until(
        lambda: (
            stipends.db.sql("SELECT count(*) FROM outbox WHERE sent_at IS NULL")[0][0]
            == 0
        ),
        "every outbox row to be marked sent",
    )


def test_bad_input_is_refused_clearly_and_changes_nothing(stipends: Stipends) -> None:
    with pytest.raises(InvalidInput) as err:
        stipends.call(
            "create_programme",
            ADMIN_A,
            {"name": "x", "currency": "euro", "tier_amounts": {"gold": 1}},
        )
    assert set(err.value.fields) >= {"name", "currency", "tier_amounts"}
    with pytest.raises(InvalidInput) as err:
        stipends.call("create_programme", {"id": "nobody", "roles": []}, {})
    assert err.value.code == "invalid_actor"
    with pytest.raises(InvalidInput) as err:
        stipends.call("get_stipend", ADMIN_A, "not-a-uuid")
    assert err.value.code == "invalid_id"
    assert stipends.db.sql("SELECT count(*) FROM programmes")[0][0] == 0
    assert stipends.db.sql("SELECT count(*) FROM outbox")[0][0] == 0
    made = stipends.call(
        "create_programme",
        ADMIN_A,
        {"name": "Deadlines", "currency": "EUR", "tier_amounts": {"volunteer": 0}},
    )
    with pytest.raises(InvalidInput) as err:  # a typo of a year: before the month
        stipends.call(
            "open_cycle", ADMIN_A, made["id"], "2026-12", "1999-01-01T00:00:00+00:00"
        )
    assert (err.value.code, err.value.fields) == (
        "deadline_before_period",
        {"deadline": ["on or after 2026-12-01"]},
    )
    with pytest.raises(InvalidInput) as err:  # years away: it could never close
        stipends.call(
            "open_cycle", ADMIN_A, made["id"], "2026-10", "9999-12-31T23:59:00+00:00"
        )
    assert err.value.code == "deadline_too_late"
    (said,) = err.value.fields["deadline"]  # a year from today, a month long past
    assert said.startswith(f"on or before {datetime.now(UTC).year + 1}-")
    assert stipends.db.sql("SELECT count(*) FROM cycles")[0][0] == 0
    opened = "SELECT count(*) FROM outbox WHERE event_type = 'cycle.opened.v1'"
    assert stipends.db.sql(opened)[0][0] == 0


def approved_stipend(stipends: Stipends, who: str) -> tuple[dict, dict, str]:
    """A programme, a cycle past its deadline, an accepted (late) report, a closed
    cycle and an approved stipend, all through the RPCs."""
    me = actor(["communicator"], who)
    programme = stipends.call(
        "create_programme",
        ADMIN_A,
        {
            "name": f"Communicators {uuid.uuid4().hex[:6]}",
            "currency": "EUR",
            "budget_minor": 100_000,
            "tier_amounts": {"professional": 25_000},
        },
    )
    deadline = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    cycle = stipends.call("open_cycle", ADMIN_A, programme["id"], "2026-10", deadline)
    (listed,) = stipends.call("list_cycles", me)
    assert listed["id"] == cycle["id"] and "left_to_pay" not in listed
    report = stipends.call(
        "save_report_draft",
        me,
        cycle["id"],
        {
            "conversations": 2,
            "audiences": ["colleagues"],
            "channels": ["video"],
            "topics": ["sanctions"],
            "hours": 3,
            "observed_change": "clear",
            "narrative": "Бывший коллега впервые сказал, что устал от войны.",
        },
    )["report"]
    assert report["redactions"] == []
    assert stipends.call("submit_report", me, report["id"])["late"] is True
    stipends.call("review_report", ADMIN_B, report["id"], "accepted", "")
    (found,) = stipends.call("close_cycle", ADMIN_A, cycle["id"])["entitlements"]
    stipend = stipends.call("get_stipend", ADMIN_B, found["stipend_id"])
    (staff_view,) = stipends.call("list_cycles", FINANCE, programme["id"])
    assert (staff_view["left_to_pay"], staff_view["awaiting_approval"]) == (0, 1)
    stipends.call("approve_stipend", ADMIN_B, stipend["id"], stipend["digest"])
    (staff_view,) = stipends.call("list_cycles", FINANCE, programme["id"])
    # what a payout run would take
    assert (staff_view["left_to_pay"], staff_view["awaiting_approval"]) == (1, 0)
    return programme, stipend, report["id"]


def test_a_new_destination_from_the_registry_voids_the_approval(
    stipends: Stipends,
) -> None:
    who = registered(stipends)
    programme, stipend, _ = approved_stipend(stipends, who)
    assert stipends.call("get_programme", FINANCE, programme["id"])[
        "available_minor"
    ] == (75_000)
    publish_event(
        stipends.amqp_uri,
        envelope(
            "communicator.payout_ready.v1",
            communicator_id=who,
            provider="bank_file",
            destination_fingerprint="7c" * 32,
        ),
    )
    wait_until(
        lambda: (
            stipends.call("get_stipend", ADMIN_B, stipend["id"])["status"] == "proposed"
        ),
        "the approval to be voided",
    )
    again = stipends.call("get_stipend", ADMIN_B, stipend["id"])
    assert again["digest"] != stipend["digest"]
    assert [a["void_reason"] for a in again["approvals"]] == [
        "payout destination changed"
    ]
    assert stipends.call("get_programme", FINANCE, programme["id"])[
        "available_minor"
    ] == (100_000)
    with pytest.raises(Conflict) as err:  # approving what was seen before
        stipends.call("approve_stipend", ADMIN_B, stipend["id"], stipend["digest"])
    assert err.value.code == "payee_changed"
    assert stipends.call("get_trial_balance", FINANCE)["balanced"]


def test_erasure_removes_the_words_and_keeps_the_financial_record(
    stipends: Stipends,
) -> None:
    who = registered(stipends)
    _, stipend, report_id = approved_stipend(stipends, who)
    publish_event(
        stipends.amqp_uri, envelope("communicator.erased.v1", communicator_id=who)
    )
    wait_until(
        lambda: stipends.db.sql(
            "SELECT 1 FROM activity_reports WHERE id = :i AND narrative = ''",
            i=report_id,
        ),
        "the narrative to go",
    )
    (row,) = stipends.db.sql(
        "SELECT topics, conversations FROM activity_reports WHERE id = :i", i=report_id
    )
    assert (row.topics, row.conversations) == ([], 2)
    own = stipends.call("get_stipend", actor(["communicator"], who), stipend["id"])
    assert own["digest"] is None and own["approvals"] == []
    assert "proposed_by" not in own
    with pytest.raises(NotFound):  # nobody else's
        stipends.call(
            "get_stipend",
            actor(["communicator"]),
            stipend["id"],
        )
    kept = stipends.call("get_stipend", FINANCE, stipend["id"])
    assert (kept["status"], kept["amount_minor"]) == ("approved", 25_000)
    assert stipends.db.sql(
        "SELECT pseudonym FROM communicators WHERE id = :i", i=who
    ) == [(None,)]
