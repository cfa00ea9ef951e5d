"""What a parked bus message is, as an operator sees it: where it came from, why
it was parked, when, how often, and whether it can be retried. Plain functions, no
I/O.

What the listing says of a message comes from its headers (`svyaz.consuming`'s
parking headers, or the broker's own `x-death`) and its signed stamp
(`svyaz.signing.read_stamp`), never from its body: the body is sealed and stays so.
An RPC request is never retryable: its caller gave up long ago (after
`RPC_TIMEOUT`), the consumer refuses a request older than `BUS_RPC_MAX_AGE` anyway,
and a replayed copy is one whose first copy was carried out and answered.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from svyaz import signing, topology
from svyaz.consuming import (
    ATTEMPTS_HEADER,
    PARKED_AT_HEADER,
    QUEUE_HEADER,
    REASON_HEADER,
    TIMES_PARKED_HEADER,
)
from svyaz.rpc import REPLAYED_COPY

# what the broker adds on its own; a retried message goes back without them, or
# its consumer would count the dead-letter queue's deliveries as its own attempts
BROKER_HEADERS = frozenset(
    {
        "x-delivery-count",
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
    }
)

_OLD_REPLAYED = "refused: replayed: its nonce was already used"  # before REPLAYED_COPY

WHY_NOT_REPLAYED = (
    "a replayed copy: its first copy was carried out and answered, so there is "
    "nothing to do again; discard it"
)
WHY_NOT_RPC = (
    "an RPC request: its caller gave up waiting long ago, and the service refuses a "
    f"request signed more than BUS_RPC_MAX_AGE ({45} s by default) before; the "
    "person should do it again"
)
WHY_NOT_UNSIGNED = "not a signed svyaz message: it would be refused again; discard it"
WHY_NOT_UNKNOWN_QUEUE = "the queue it came from is not one of this service's"

# the broker's own reasons for dead-lettering (x-death), in words
BROKER_REASONS = {
    "expired": "expired: nobody took it within the queue's time limit",
    "delivery_limit": "delivery limit: its consumer failed on it too many times",
    "rejected": "rejected by its consumer",
    "maxlen": "the queue was full",
}


@dataclass(frozen=True)
class ParkedMessage:
    """A parked message as an operator sees it: where it came from, why it was
    parked, when, how often, whether it can be retried. Nothing of its body."""

    id: str
    queue: str
    dead_letter_queue: str
    kind: str  # event | rpc_request | unknown
    route: str  # the event type, or the RPC method `service.method`
    event_id: str | None
    signer: str | None
    signed_at: datetime | None
    reason: str
    parked_at: datetime | None
    attempts: int
    times_parked: int
    retryable: bool
    why_not: str | None


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        found = datetime.fromisoformat(_text(value))
    except ValueError:
        return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


def _first_death(headers: dict[str, Any]) -> dict[str, Any]:
    deaths = headers.get("x-death") or []
    return dict(deaths[0]) if deaths and isinstance(deaths[0], dict) else {}


def message_id(body: bytes | str, properties: dict[str, Any]) -> str:
    """A stable id: the signed stamp's nonce, else the AMQP message_id, else a hash
    of the bytes (a message that is not a signed svyaz message)."""
    try:
        return signing.read_stamp(body)[0].nonce
    except signing.InvalidSignature:
        pass
    if properties.get("message_id"):
        return _text(properties["message_id"])
    raw = body if isinstance(body, bytes) else body.encode()
    return "sha256:" + hashlib.sha256(raw).hexdigest()[:32]


def describe(
    body: bytes | str,
    properties: dict[str, Any],
    headers: dict[str, Any],
    dead_letter_queue: str,
) -> ParkedMessage:
    """What the listing says of one parked message (headers and stamp only)."""
    death = _first_death(headers)
    origin = _text(headers.get(QUEUE_HEADER)) or _text(death.get("queue"))
    origin = origin or dead_letter_queue.removesuffix(".dlq")
    try:
        stamp: signing.Stamp | None = signing.read_stamp(body)[0]
    except signing.InvalidSignature:
        stamp = None
    reason = _text(headers.get(REASON_HEADER))
    if not reason and death:
        broker = _text(death.get("reason"))
        reason = BROKER_REASONS.get(broker, f"dead-lettered by the broker: {broker}")
    if reason == _OLD_REPLAYED:
        reason = REPLAYED_COPY
    rpc = origin.startswith(f"{topology.rpc_queue_name('')}")
    if rpc:
        kind = "rpc_request"
    elif stamp is not None and stamp.ident:
        kind = "event"
    else:
        kind = "unknown"
    if reason == REPLAYED_COPY:
        why_not: str | None = WHY_NOT_REPLAYED
    elif rpc:
        why_not = WHY_NOT_RPC
    elif stamp is None or kind != "event":
        why_not = WHY_NOT_UNSIGNED
    else:
        why_not = None
    return ParkedMessage(
        id=message_id(body, properties),
        queue=origin,
        dead_letter_queue=dead_letter_queue,
        kind=kind,
        route=stamp.route if stamp else "",
        event_id=stamp.ident or None if stamp else None,
        signer=stamp.signer if stamp else None,
        signed_at=datetime.fromtimestamp(stamp.ts, UTC) if stamp else None,
        reason=reason or "no reason recorded",
        parked_at=_when(headers.get(PARKED_AT_HEADER)) or _when(death.get("time")),
        attempts=_int(headers.get(ATTEMPTS_HEADER), _int(death.get("count"), 1)),
        times_parked=_int(headers.get(TIMES_PARKED_HEADER), 1),
        retryable=why_not is None,
        why_not=why_not,
    )


def retry_headers(headers: dict[str, Any]) -> dict[str, Any]:
    """The publisher's headers (the parking reason kept, for the record), without
    the broker's own delivery annotations."""
    return {k: v for k, v in headers.items() if k not in BROKER_HEADERS}
