"""Stipends' facts about reports and stipends: work waits for program admins until
reviewed or decided, a communicator hears the outcome, and a report counts as
handed in for the cycle's reminder.

Money is told as final or corrected (issue 23). An approved stipend can still be
undone before it enters a payout run: rejected after approval, or sent back to
awaiting approval when the payee's payout details change (stipends'
`approvals.payee_changed`). `StipendNotice` keeps, per stipend, its last state (as
of the event that set it) and whether "approved" was announced: an approval undone
after it was announced is followed by a correction (`stipend_withdrawn`,
`stipend_on_hold`); an approval whose event arrives after the one that undid it is
not announced at all. Once in a run, the stipend cannot be rejected or re-opened
(its commitment is posted), and the payout's own mail (paid, failed) follows.

Each function is an `Act` (courier.Act): it runs in the transaction that claims the
event and returns the deliveries due now."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.logic.deliveries import tell
from notifications.logic.reminders import reported
from notifications.logic.work import APPROVAL, REPORT, work_arrived, work_done
from notifications.models import StipendNotice
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


def stipend_now(
    session: Session,
    data: dict[str, Any],
    state: str,
    at: datetime,
) -> StipendNotice | None:
    """Record that the stipend is `state` as of `at`: its notice, locked, when this
    event is the latest word about it; None when a later one was handled already
    (the late event then tells nobody anything)."""
    amount = {key: data[key] for key in ("amount_minor", "currency") if key in data}
    created = session.execute(
        insert(StipendNotice)
        .values(
            stipend_id=data["stipend_id"],
            communicator_id=data["communicator_id"],
            state=state,
            as_of=at,
            announced=False,
            **amount,
        )
        .on_conflict_do_nothing()
        .returning(StipendNotice.stipend_id)
    ).first()
    notice = session.scalars(
        select(StipendNotice)
        .where(StipendNotice.stipend_id == data["stipend_id"])
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if created is not None:
        return notice
    if notice.as_of > at:  # a tie: the later one, as for work items
        return None
    notice.state, notice.as_of = state, at
    for key, value in amount.items():
        setattr(notice, key, value)
    return notice


def _correct(
    session: Session,
    event: ReceivedEvent,
    notice: StipendNotice | None,
    template: str,
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    """The correction of an approval announced before, if one was."""
    if notice is None or not notice.announced:
        return []
    notice.announced = False
    params = {"amount_minor": notice.amount_minor, "currency": notice.currency}
    who = notice.communicator_id
    return tell(session, event.event_id, who, template, params, channels, now)


def stipend_proposed(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    """Awaiting approval: new, amended, or an approval voided because the payout
    details changed (then, if that approval was announced, `stipend_on_hold`)."""
    who = data["communicator_id"]
    work_arrived(session, APPROVAL, data["stipend_id"], who, event.occurred_at)
    notice = stipend_now(session, data, "proposed", event.occurred_at)
    return _correct(session, event, notice, "stipend_on_hold", now, channels)


def stipend_approved(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    """Announced unless a later event (rejected, back to awaiting approval) was
    handled already."""
    who = data["communicator_id"]
    work_done(session, APPROVAL, data["stipend_id"], who, event.occurred_at)
    notice = stipend_now(session, data, "approved", event.occurred_at)
    if notice is None or notice.announced:
        return []
    notice.announced = True
    params = {"amount_minor": data["amount_minor"], "currency": data["currency"]}
    return tell(session, event.event_id, who, "stipend_approved", params, channels, now)


def stipend_rejected(
    session: Session,
    event: ReceivedEvent,
    data: dict[str, Any],
    now: datetime,
    channels: Mapping[str, Channel],
) -> list[int]:
    """Turned down; an approval announced before is corrected
    (`stipend_withdrawn`)."""
    who = data["communicator_id"]
    work_done(session, APPROVAL, data["stipend_id"], who, event.occurred_at)
    notice = stipend_now(session, data, "rejected", event.occurred_at)
    return _correct(session, event, notice, "stipend_withdrawn", now, channels)


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
