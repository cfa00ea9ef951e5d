"""What `record` writes to the state-change log: one line when a delivery is sent or
parked, with its channel, event and recipient ids; nothing for a failure that will be
tried again."""

import logging
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from notifications.logic import deliveries
from notifications.logic.deliveries import Attempt, Job, RetryPolicy, record
from notifications.models import PARKED, PENDING, SENT, Delivery

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class OneRow:
    """A session holding one delivery: `record` only reads it, locked."""

    def __init__(self, delivery: Delivery) -> None:
        self.delivery = delivery

    def get(self, model: Any, key: Any, **_: Any) -> Delivery | None:
        assert model is Delivery
        return self.delivery if key == self.delivery.id else None


def pending(attempts: int) -> tuple[Delivery, Job]:
    delivery = Delivery(
        id=7,
        event_id=uuid.uuid4(),
        recipient_id=uuid.uuid4(),
        channel="email",
        template="report_accepted",
        status=PENDING,
        attempts=attempts,
    )
    job = Job(
        delivery_id=7,
        attempt=attempts,
        event_id=delivery.event_id,
        recipient_id=delivery.recipient_id,
        audience="communicator",
        channel="email",
        template="report_accepted",
        payload=None,
        discreet=True,
        language=None,
    )
    return delivery, job


def changes(caplog: pytest.LogCaptureFixture) -> list[dict[str, str]]:
    return [
        r.change
        for r in caplog.records
        if r.name == deliveries.__name__ and hasattr(r, "change")
    ]


@pytest.mark.parametrize(
    ("attempts", "tried", "status"),
    [
        (1, Attempt("sent"), SENT),
        (6, Attempt("failed", "smtp: 550"), PARKED),  # the last attempt
        (1, Attempt("failed", "smtp: 550", permanent=True), PARKED),
    ],
)
def test_a_sent_or_parked_delivery_is_logged_once(
    caplog: pytest.LogCaptureFixture, attempts: int, tried: Attempt, status: str
) -> None:
    delivery, job = pending(attempts)
    with caplog.at_level(logging.INFO, logger=deliveries.__name__):
        assert record(OneRow(delivery), job, tried, NOW, RetryPolicy()) == status  # type: ignore[arg-type]
    assert changes(caplog) == [
        {
            "entity": "delivery",
            "id": "7",
            "state": status,
            "channel": "email",
            "event_id": str(job.event_id),
            "recipient": str(job.recipient_id),
        }
    ]


def test_a_failure_tried_again_later_is_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    delivery, job = pending(1)
    with caplog.at_level(logging.INFO, logger=deliveries.__name__):
        tried = Attempt("failed", "smtp: 451")
        assert record(OneRow(delivery), job, tried, NOW, RetryPolicy()) == PENDING  # type: ignore[arg-type]
    assert delivery.due_at > NOW
    assert changes(caplog) == []
