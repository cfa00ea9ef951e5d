"""Facts about a communicator's payouts: the payout setup they still need, a payout
paid, a payout failed (its svyaz.vocabulary code picks the template's advice on what
to fix).

Each function is an `Act` (courier.Act): it runs in the transaction that claims the
event and returns the deliveries due now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.logic.deliveries import tell
from svyaz.envelope import ReceivedEvent


def setup_needed(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    who, params = data["communicator_id"], {"provider": data["provider"]}
    return tell(
        session, event.event_id, who, "payout_setup_needed", params, channels, now
    )


def _told(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
    template: str,
) -> list[int]:
    params = {"amount_minor": data["amount_minor"], "currency": data["currency"]}
    if "reason" in data:  # a svyaz.vocabulary code: the template words it
        params["reason"] = data["reason"]
    who = data["communicator_id"]
    return tell(session, event.event_id, who, template, params, channels, now)


def paid(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    return _told(session, event, data, now, channels, "payout_paid")


def failed(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    """Tells the communicator what to fix (the failure code picks the advice)."""
    return _told(session, event, data, now, channels, "payout_failed")
