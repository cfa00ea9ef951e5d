"""Registry's facts about applications and vouching: the applicant hears how their
application stands, program admins' work waits or is done, the member an applicant
named is asked to answer.

Each function is an `Act` (courier.Act): it runs in the transaction that claims the
event and returns the deliveries due now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.logic.deliveries import tell
from notifications.logic.reminders import set_active
from notifications.logic.work import APPLICATION, work_arrived, work_done
from svyaz.envelope import ReceivedEvent


def applied(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    who = data["communicator_id"]
    work_arrived(session, APPLICATION, who, who, event.occurred_at)
    return tell(session, event.event_id, who, "application_received", {}, channels, now)


def activated(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    who = data["communicator_id"]
    work_done(session, APPLICATION, who, who, event.occurred_at)
    set_active(session, who, True)
    return tell(session, event.event_id, who, "application_accepted", {}, channels, now)


def rejected(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    who = data["communicator_id"]
    work_done(session, APPLICATION, who, who, event.occurred_at)
    return tell(session, event.event_id, who, "application_rejected", {}, channels, now)


def vouch_requested(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    """The member an applicant named is asked to answer in their console; the
    message names nobody (the console shows whom)."""
    voucher = data["voucher_id"]
    return tell(session, event.event_id, voucher, "vouch_requested", {}, channels, now)
