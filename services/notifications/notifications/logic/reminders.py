"""Reports due: which communicators are active, which cycles are open and who has
reported in them; "a report is due soon", once per cycle, to those who have not."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.logic.courier import Act, Courier
from notifications.logic.deliveries import notify
from notifications.logic.fact import Fact
from notifications.logic.recipients import Recipient
from notifications.models import ActiveCommunicator, CycleReport, ReportingCycle


def set_active(session: Session, communicator_id: uuid.UUID, active: bool) -> None:
    if active:
        session.execute(
            insert(ActiveCommunicator)
            .values(communicator_id=communicator_id)
            .on_conflict_do_nothing()
        )
    else:
        session.execute(
            delete(ActiveCommunicator).where(
                ActiveCommunicator.communicator_id == communicator_id
            )
        )


def cycle_opened(
    session: Session,
    cycle_id: uuid.UUID,
    period: str,
    deadline: datetime,
    lead: timedelta,
) -> None:
    session.execute(
        insert(ReportingCycle)
        .values(
            cycle_id=cycle_id,
            period=period,
            deadline=deadline,
            remind_at=deadline - lead,
        )
        .on_conflict_do_nothing()
    )


def cycle_ended(session: Session, cycle_id: uuid.UUID) -> None:
    session.execute(delete(ReportingCycle).where(ReportingCycle.cycle_id == cycle_id))
    session.execute(delete(CycleReport).where(CycleReport.cycle_id == cycle_id))


def reported(session: Session, cycle_id: uuid.UUID, communicator_id: uuid.UUID) -> None:
    session.execute(
        insert(CycleReport)
        .values(cycle_id=cycle_id, communicator_id=communicator_id)
        .on_conflict_do_nothing()
    )


@dataclass(frozen=True)
class Reminder:
    cycle: ReportingCycle
    recipients: list[uuid.UUID]

    @property
    def event_id(self) -> uuid.UUID:
        """One reminder per cycle, whichever replica's timer gets there first."""
        return uuid.uuid5(
            uuid.NAMESPACE_URL, f"svyaz:notifications:report-due:{self.cycle.cycle_id}"
        )


def due_reminders(session: Session, now: datetime) -> list[Reminder]:
    """Cycles whose reminder fell due (before their deadline), locked for this
    sender, each with the active communicators who have not reported in it."""
    cycles = session.scalars(
        select(ReportingCycle)
        .where(
            ReportingCycle.reminded_at.is_(None),
            ReportingCycle.remind_at <= now,
            ReportingCycle.deadline > now,
        )
        .with_for_update(skip_locked=True)
    ).all()
    found = []
    for cycle in cycles:
        reported_ids = select(CycleReport.communicator_id).where(
            CycleReport.cycle_id == cycle.cycle_id
        )
        recipients = list(
            session.scalars(
                select(ActiveCommunicator.communicator_id)
                .where(ActiveCommunicator.communicator_id.not_in(reported_ids))
                .order_by(ActiveCommunicator.communicator_id)
            )
        )
        found.append(Reminder(cycle, recipients))
    return found


def send_reminders(courier: Courier) -> None:
    """'A report is due soon' to each active communicator who has not reported in a
    cycle whose deadline is near: once per cycle."""
    now = datetime.now(UTC)
    due: list[int] = []
    with courier.transaction() as session:
        for reminder in due_reminders(session, now):
            due += notify(
                session,
                reminder.event_id,
                [Recipient(ident) for ident in reminder.recipients],
                "report_due",
                {
                    "period": reminder.cycle.period,
                    # the moment (the hour matters); the message writes it
                    "deadline": reminder.cycle.deadline.isoformat(),
                },
                courier.channels,
                now,
            )
            reminder.cycle.reminded_at = now
    courier.deliver(due)


def opened(lead: timedelta) -> Act:
    """A cycle opened: its reminder falls due `lead` before its deadline."""

    def act(fact: Fact) -> None:
        data = fact.data
        cycle_opened(
            fact.session, data["cycle_id"], data["period"], data["deadline"], lead
        )

    return act


def set_active_from(active: bool) -> Act:
    """A communicator suspended or offboarded (False), or reinstated (True): only
    active communicators are reminded."""

    def act(fact: Fact) -> None:
        set_active(fact.session, fact.communicator_id, active)

    return act
