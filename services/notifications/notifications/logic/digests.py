"""Program admins' digest of work waiting for them: once per period, and at once
when a cycle closes (it leaves proposals to approve)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from notifications.logic.courier import Courier
from notifications.logic.deliveries import notify
from notifications.logic.recipients import StaffDirectory, staff
from notifications.logic.reminders import cycle_ended
from notifications.logic.work import APPLICATION, APPROVAL, REPORT, STRATEGY, waiting
from svyaz import actors, inbox
from svyaz.envelope import ReceivedEvent

STAFF_DIGEST_ROLE = actors.ADMIN


def digest_event_id(role: str, period: int) -> uuid.UUID:
    """One digest per role and period, whichever replica's timer gets there first."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"svyaz:notifications:digest:{role}:{period}")


def send_digest(
    courier: Courier,
    directory: StaffDirectory,
    event_id: uuid.UUID,
    at_least: dict[str, int] | None = None,
) -> None:
    """What waits, counted, to every program admin; nothing when nothing waits.
    `at_least`: work known to wait though its own events may not have been heard
    yet (a closed cycle's proposals), counted as at least that much."""
    with courier.transaction() as session:
        counts = waiting(session)
    for kind, known in (at_least or {}).items():
        counts[kind] = max(counts.get(kind, 0), known)
    if not any(counts.values()):
        return
    ids = directory.staff_ids(STAFF_DIGEST_ROLE)  # ids, no emails
    recipients = staff(ids, STAFF_DIGEST_ROLE)
    params = {
        "applications": counts.get(APPLICATION, 0),
        "reports": counts.get(REPORT, 0),
        "approvals": counts.get(APPROVAL, 0),
        "strategies": counts.get(STRATEGY, 0),
    }
    with courier.transaction() as session:
        due = notify(
            session,
            event_id,
            recipients,
            "staff_digest",
            params,
            courier.channels,
            datetime.now(UTC),
        )
    courier.deliver(due)


def send_periodic_digest(
    courier: Courier,
    directory: StaffDirectory,
    interval: float,
    clock: Callable[[], float] = time.time,
) -> None:
    """The digest of the period of `interval` seconds we are in, once."""
    period = int(clock() // interval)
    send_digest(courier, directory, digest_event_id(STAFF_DIGEST_ROLE, period))


def cycle_closed(
    courier: Courier,
    directory: StaffDirectory,
    event: ReceivedEvent,
    data: dict[str, Any],
) -> None:
    """A closed cycle leaves proposals to approve: the digest goes out now, not
    at the end of the period, once per cycle however often the event comes."""
    # the digest's own id makes it once per cycle; the claim comes after it, so
    # a crash in between sends it on the redelivery rather than never
    # its proposals' own events come on another queue and may not be heard yet:
    # the digest counts at least as many waiting for approval as the cycle proposed
    # (else, heard first, the digest of a cycle with proposals said nothing at all)
    send_digest(
        courier,
        directory,
        digest_event_id("cycle-closed", data["cycle_id"].int),
        at_least={APPROVAL: data.get("proposed", 0)},
    )
    with courier.transaction() as session:
        cycle_ended(session, data["cycle_id"])
        inbox.claim(session, event)
