"""Stipends' facts about reports and stipends: work waits for program admins until
reviewed or decided, a communicator hears the outcome, and a report counts as
handed in for the cycle's reminder.

Each function is an `Act` (courier.Act): it runs in the transaction that claims the
event and returns the deliveries due now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.logic.deliveries import tell
from notifications.logic.reminders import reported
from notifications.logic.work import APPROVAL, REPORT, work_arrived, work_done
from svyaz.envelope import ReceivedEvent


def report_submitted(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> None:
    who = data["communicator_id"]
    work_arrived(session, REPORT, data["report_id"], who, event.occurred_at)
    reported(session, data["cycle_id"], who)


def report_reviewed(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    who = data["communicator_id"]
    work_done(session, REPORT, data["report_id"], who, event.occurred_at)
    template = f"report_{data['decision']}"
    return tell(session, event.event_id, who, template, {}, channels, now)


def stipend_proposed(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> None:
    who = data["communicator_id"]
    work_arrived(session, APPROVAL, data["stipend_id"], who, event.occurred_at)


def stipend_approved(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    who = data["communicator_id"]
    work_done(session, APPROVAL, data["stipend_id"], who, event.occurred_at)
    params = {"amount_minor": data["amount_minor"], "currency": data["currency"]}
    return tell(session, event.event_id, who, "stipend_approved", params, channels, now)


def stipend_rejected(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> None:
    who = data["communicator_id"]
    work_done(session, APPROVAL, data["stipend_id"], who, event.occurred_at)


def report_feedback_given(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    """A mentor wrote on a report: its author is told to read it on their page
    (nothing of the text travels)."""
    who = data["communicator_id"]
    return tell(session, event.event_id, who, "report_feedback", {}, channels, now)
