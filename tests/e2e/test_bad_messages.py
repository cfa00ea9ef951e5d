"""Malformed messages on the real bus, to the real services' own queues: bytes that
are not JSON, a tampered signature, an event of a version no handler takes, an
envelope without its data. Each is parked on that queue's parking queue with the
reason in its headers, nothing is done with it, and the services keep serving: an
application made afterwards reaches stipends and notifications as usual."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import requests

from svyaz import signing
from svyaz.consuming import REASON_HEADER
from tests.helpers import publish_raw, queue_depth, take, wait_until
from tests.stack import System

# (exchange, routing key) -> the queues it reaches
ROUTES = {
    ("registry.events", "communicator.applied.v1"): (
        "stipends.on_communicator_applied",
        "notifications.on_communicator_applied",
    ),
    ("stipends.events", "payout.paid.v1"): ("notifications.on_payout_paid",),
}


def envelope(event_type: str, producer: str) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": datetime.now(UTC).isoformat(),
        "producer": producer,
        "correlation_id": "bad-messages-test",
        "data": {"communicator_id": str(uuid.uuid4())},
    }


def malformed(routing_key: str, producer: str) -> dict[str, tuple[bytes | str, str]]:
    """kind -> (body, the reason it must be parked with, as a prefix)."""
    tampered = json.loads(signing.encode(envelope(routing_key, producer)))
    tampered["body"] = tampered["body"][::-1]
    unknown = envelope(routing_key.replace(".v1", ".v9"), producer)
    no_data = envelope(routing_key, producer)
    del no_data["data"]
    return {
        "not json": (b"{this is not json", "refused: "),
        "bad signature": (json.dumps(tampered), "refused: InvalidSignature"),
        "unknown version": (
            signing.encode(unknown),
            f"malformed event: Unprocessable: event type {unknown['event_type']}",
        ),
        "missing fields": (signing.encode(no_data), "malformed event: ValidationError"),
    }


def drain(amqp_uri: str, queue: str) -> None:
    while queue_depth(amqp_uri, queue):
        take(amqp_uri, queue, timeout=2)


@pytest.mark.parametrize("route", list(ROUTES), ids=lambda r: r[1])
def test_malformed_messages_are_parked_with_their_reason(
    system: System, route: tuple[str, str]
) -> None:
    amqp_uri = system.settings.amqp_uri
    exchange, routing_key = route
    queues = ROUTES[route]
    for queue in queues:
        drain(amqp_uri, f"{queue}.dlq")
    sent = malformed(routing_key, exchange.split(".")[0])
    for body, _ in sent.values():
        publish_raw(amqp_uri, exchange, routing_key, body)
    for queue in queues:
        reasons = []
        for _ in sent:
            parked = take(amqp_uri, f"{queue}.dlq", timeout=30)
            headers = dict(parked.properties.get("application_headers") or {})
            reasons.append(str(headers[REASON_HEADER]))
        for kind, (_, reason) in sent.items():
            assert any(r.startswith(reason) for r in reasons), (kind, queue, reasons)
        assert queue_depth(amqp_uri, queue) == 0  # none left to retry

    # the services keep serving: an application reaches stipends and notifications
    pseudonym, email = f"gull_{uuid.uuid4().hex[:6]}", f"{uuid.uuid4().hex[:8]}@x.org"
    applied = requests.post(
        f"{system.url}/api/v1/applications",
        timeout=30,
        json={
            "pseudonym": pseudonym,
            "legal_name": "Nina P.",
            "email": email,
            "country": "GE",
            "city": "Batumi",
            "consent_version": "2026-11",
            "consent": True,
        },
    )
    assert applied.status_code == 202
    wait_until(
        lambda: system.sql(
            "stipends", "SELECT 1 FROM communicators WHERE pseudonym = :p", p=pseudonym
        ),
        "stipends to record the applicant after the malformed messages",
    )
    wait_until(
        lambda: [m for m in system.mails() if m["To"] == email],
        "notifications to mail the applicant after the malformed messages",
        timeout=30,
    )
