"""Stipends keeps what decides eligibility and payouts from the registry's events, in
any order and however often they are delivered, and forgets the pseudonym on erasure."""

import uuid
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from stipends.service import StipendsService
from tests.helpers import publish_event, wait_until

FINGERPRINT = "ab" * 32


def envelope(event_type: str, **data: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": "2026-11-22T10:00:00+00:00",
        "producer": "registry",
        "correlation_id": "c",
        "data": data,
    }


@pytest.fixture
def stipends(database: Any, service_config: Any, container_factory: Any) -> Any:
    url = database("stipends")
    container = container_factory(
        StipendsService, service_config("stipends", DB_URI=url)
    )
    container.start()
    engine = create_engine(url)
    yield engine
    engine.dispose()


def row(engine: Any, ident: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(
            text("SELECT * FROM communicators WHERE id = :i"), {"i": ident}
        ).one_or_none()


def test_the_lifecycle_folds_into_the_read_model(
    stipends: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp, ident, club = rabbit_config["AMQP_URI"], str(uuid.uuid4()), uuid.uuid4()
    steps = [
        ("communicator.applied.v1", {"pseudonym": "finch_1"}),
        ("communicator.activated.v1", {"pseudonym": "finch_1", "club_id": str(club)}),
        (
            "communicator.tier_changed.v1",
            {"tier": "professional", "training_completed": True},
        ),
        (
            "communicator.payout_ready.v1",
            {"provider": "bank_file", "destination_fingerprint": FINGERPRINT},
        ),
        ("communicator.suspended.v1", {}),
    ]
    for event_type, data in steps:
        publish_event(amqp, envelope(event_type, communicator_id=ident, **data))
        expected = event_type
        wait_until(lambda t=expected: _handled(stipends, t), f"{expected} handled")
    state = row(stipends, ident)
    assert (
        state.status,
        state.tier,
        state.training_completed,
        state.payout_ready,
        state.payout_provider,
        state.destination_fingerprint,
        state.club_id,
    ) == ("suspended", "professional", True, True, "bank_file", FINGERPRINT, club)

    reinstated = envelope("communicator.reinstated.v1", communicator_id=ident)
    publish_event(amqp, reinstated)
    publish_event(amqp, reinstated)  # redelivered: no second effect
    wait_until(lambda: row(stipends, ident).status == "active", "reinstatement")
    publish_event(amqp, envelope("communicator.erased.v1", communicator_id=ident))
    wait_until(lambda: row(stipends, ident).erased, "erasure")
    state = row(stipends, ident)
    assert state.pseudonym is None and str(state.id) == ident
    # the keyed hash of where they were paid goes too, and their club (a city)
    assert state.destination_fingerprint is None and state.payout_ready is False
    assert state.club_id is None


def test_an_event_before_the_application_still_lands(
    stipends: Any, rabbit_config: dict[str, Any]
) -> None:
    ident = str(uuid.uuid4())
    publish_event(
        rabbit_config["AMQP_URI"],
        envelope(
            "communicator.tier_changed.v1",
            communicator_id=ident,
            tier="professional",
            training_completed=True,
        ),
    )
    wait_until(lambda: row(stipends, ident) is not None, "the early event")
    assert row(stipends, ident).tier == "professional"


def _handled(engine: Any, event_type: str) -> bool:
    with engine.connect() as conn:
        return bool(
            conn.execute(
                text("SELECT 1 FROM processed_events WHERE event_type = :t"),
                {"t": event_type},
            ).first()
        )


def test_a_completed_training_counts_for_a_volunteer_and_stays(
    stipends: Any, rabbit_config: dict[str, Any]
) -> None:
    """A volunteer's completion reaches stipends by its own event (a programme that
    requires training pays volunteers too); a tier event sent before it and
    delivered after it does not take it back."""
    amqp, ident = rabbit_config["AMQP_URI"], str(uuid.uuid4())
    publish_event(
        amqp,
        envelope("communicator.applied.v1", communicator_id=ident, pseudonym="wren_1"),
    )
    wait_until(lambda: row(stipends, ident) is not None, "the application")
    assert not row(stipends, ident).training_completed
    publish_event(
        amqp,
        envelope(
            "training.completed.v1",
            communicator_id=ident,
            training_id=str(uuid.uuid4()),
        ),
    )
    wait_until(lambda: row(stipends, ident).training_completed, "the completion")
    assert row(stipends, ident).tier == "volunteer"
    publish_event(
        amqp,
        envelope(
            "communicator.tier_changed.v1",
            communicator_id=ident,
            tier="volunteer",
            training_completed=False,
        ),
    )
    wait_until(lambda: _handled(stipends, "communicator.tier_changed.v1"), "the tier")
    assert row(stipends, ident).training_completed


def test_a_club_change_folds_in_and_an_older_activation_does_not_undo_it(
    stipends: Any, rabbit_config: dict[str, Any]
) -> None:
    """An admin moved an active communicator to another club: the new club's
    coordinator mentors them. The activation (older, with the club of the
    application) may be delivered after the move; it does not take them back."""
    amqp, ident = rabbit_config["AMQP_URI"], str(uuid.uuid4())
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    activated = envelope(
        "communicator.activated.v1",
        communicator_id=ident,
        pseudonym="lark_1",
        club_id=first,
    )  # at 2026-11-22T10:00
    moved = envelope(
        "communicator.club_changed.v1", communicator_id=ident, club_id=second
    )
    moved["occurred_at"] = "2026-11-23T09:00:00+00:00"
    publish_event(amqp, moved)
    wait_until(lambda: row(stipends, ident) is not None, "the club change")
    assert str(row(stipends, ident).club_id) == second
    publish_event(amqp, activated)
    wait_until(lambda: row(stipends, ident).status == "active", "the activation")
    assert (row(stipends, ident).pseudonym, str(row(stipends, ident).club_id)) == (
        "lark_1",
        second,
    )

    out = envelope("communicator.club_changed.v1", communicator_id=ident, club_id=None)
    out["occurred_at"] = "2026-11-24T09:00:00+00:00"
    publish_event(amqp, out)
    wait_until(lambda: row(stipends, ident).club_id is None, "taken out of the club")
