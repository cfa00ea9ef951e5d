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
from notifications.logic.work import (
    APPLICATION,
    APPROVAL,
    REPORT,
    STRATEGY,
    approvals_open_to,
    waiting,
)
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
    proposer: uuid.UUID | None = None,
) -> None:
    """What waits, counted, to every program admin; nothing to an admin for whom
    nothing waits. Approvals are counted for each admin: the ones they may give
    (not their own proposals, nor of their own stipend). `at_least`: work known to
    wait though its own events may not have been heard yet (a closed cycle's
    proposals, made by `proposer`), counted as at least that much."""
    known = at_least or {}
    with courier.transaction() as session:
        counts = waiting(session)
    if not any(counts.values()) and not any(known.values()):
        return
    ids = directory.staff_ids(STAFF_DIGEST_ROLE)  # ids, no emails
    with courier.transaction() as session:
        approvals = approvals_open_to(session, ids)
    shared = {
        "applications": max(counts.get(APPLICATION, 0), known.get(APPLICATION, 0)),
        "reports": max(counts.get(REPORT, 0), known.get(REPORT, 0)),
        "strategies": max(counts.get(STRATEGY, 0), known.get(STRATEGY, 0)),
    }
    # admins told the same counts are told in one notice
    groups: dict[int, list[uuid.UUID]] = {}
    for ident in ids:
        mine = approvals[ident]
        if ident != proposer:  # a closed cycle's proposals: not the closer's
            mine = max(mine, known.get(APPROVAL, 0))
        if mine or any(shared.values()):
            groups.setdefault(mine, []).append(ident)
    now = datetime.now(UTC)
    with courier.transaction() as session:
        due = [
            delivery
            for mine, group in sorted(groups.items())
            for delivery in notify(
                session,
                event_id,
                staff(group, STAFF_DIGEST_ROLE),
                "staff_digest",
                {**shared, "approvals": mine, "approvals_yours": True},
                courier.channels,
                now,
            )
        ]
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
        proposer=data.get("closed_by"),
    )
    with courier.transaction() as session:
        cycle_ended(session, data["cycle_id"])
        inbox.claim(session, event)
