"""Finance: runs waiting for release, reconciliation due after a release, and the
differences a reconciliation found. Every finance staff member hears, once per
(event, person, channel)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.logic.courier import Act, Courier
from notifications.logic.deliveries import notify
from notifications.logic.fact import Fact
from notifications.logic.recipients import StaffDirectory, staff
from notifications.models import FinanceRun
from svyaz import actors, inbox
from svyaz.envelope import ReceivedEvent

FINANCE_ROLE = actors.FINANCE


def run_released(session: Session, run_id: uuid.UUID, due_at: datetime) -> None:
    session.execute(
        insert(FinanceRun).values(run_id=run_id, due_at=due_at).on_conflict_do_nothing()
    )


def run_reconciled(session: Session, run_id: uuid.UUID, now: datetime) -> None:
    session.execute(
        insert(FinanceRun)
        .values(run_id=run_id, due_at=now, reconciled_at=now)
        .on_conflict_do_update(
            index_elements=[FinanceRun.run_id], set_={"reconciled_at": now}
        )
    )


def overdue_runs(session: Session, now: datetime) -> list[FinanceRun]:
    """Released runs past their reconciliation date, not reconciled, not yet
    announced; locked for this sender."""
    return list(
        session.scalars(
            select(FinanceRun)
            .where(
                FinanceRun.reconciled_at.is_(None),
                FinanceRun.alerted_at.is_(None),
                FinanceRun.due_at <= now,
            )
            .with_for_update(skip_locked=True)
        )
    )


def tell_finance(
    courier: Courier,
    directory: StaffDirectory,
    event: ReceivedEvent | None,
    event_id: uuid.UUID,
    template: str,
    params: Any,
) -> None:
    """A message to every finance staff member, once per (event, person,
    channel); the claim comes after the rows are written."""
    recipients = staff(directory.staff_ids(FINANCE_ROLE), FINANCE_ROLE)
    with courier.transaction() as session:
        due = notify(
            session,
            event_id,
            recipients,
            template,
            params,
            courier.channels,
            datetime.now(UTC),
        )
        if event is not None:
            inbox.claim(session, event)
    courier.deliver(due)


def run_built(
    courier: Courier,
    directory: StaffDirectory,
    event: ReceivedEvent,
    data: dict[str, Any],
) -> None:
    """A run waits for release: finance hears at once."""
    params = {"payouts": data["payouts"]}
    tell_finance(courier, directory, event, event.event_id, "run_waiting", params)


def reconciliation_completed(
    courier: Courier,
    directory: StaffDirectory,
    event: ReceivedEvent,
    data: dict[str, Any],
) -> None:
    """The run is reconciled; differences found go to finance at once, once a
    day for the same run and count: a period reconciled again (a statement
    corrected, a run after a fix) finds the same differences, which the console
    lists, and says nothing new."""
    now = datetime.now(UTC)
    with courier.transaction() as session:
        run_reconciled(session, data["run_id"], now)
    if data["discrepancies"]:
        tell_finance(
            courier,
            directory,
            event,
            differences_id(data["run_id"], data["discrepancies"], now),
            "reconciliation_discrepancies",
            {
                "count": data["discrepancies"],
                "provider": data.get("provider") or "",
                "provider_name": PROVIDER_NAMES.get(data.get("provider") or "", ""),
                "first_day": iso(data.get("first_day")),
                "last_day": iso(data.get("last_day")),
            },
        )
    else:
        with courier.transaction() as session:
            inbox.claim(session, event)


# the providers' own names (a bank's transfers are worded by the message itself)
PROVIDER_NAMES = {
    "stripe_connect": "Stripe Connect",
    "stripe_global": "Stripe Global Payouts",
}


def iso(day: Any) -> str:
    """A day as the message writes it (YYYY-MM-DD), or "" when not given."""
    return day.isoformat() if day is not None else ""


def differences_id(run_id: uuid.UUID, count: int, now: datetime) -> uuid.UUID:
    """One message a day per run and count of differences, however often its
    period is reconciled again."""
    day = now.date().isoformat()
    return uuid.uuid5(
        uuid.NAMESPACE_URL, f"svyaz:reconciliation-differences:{run_id}:{count}:{day}"
    )


def overdue_event_id(run_id: uuid.UUID) -> uuid.UUID:
    """One alert per run, whichever replica's timer gets there first."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"svyaz:reconcile-overdue:{run_id}")


def check_reconciliation(courier: Courier, directory: StaffDirectory) -> None:
    """Released runs not reconciled in time: finance hears once per run."""
    now = datetime.now(UTC)
    late = []
    with courier.transaction() as session:
        for run in overdue_runs(session, now):
            run.alerted_at = now  # once, even if the message below is retried
            late.append(run.run_id)
    for run_id in late:
        tell_finance(
            courier,
            directory,
            None,
            overdue_event_id(run_id),
            "reconciliation_overdue",
            {},
        )


def released(lead: timedelta) -> Act:
    """A run released: its reconciliation is due `lead` after the release."""

    def act(fact: Fact) -> None:
        data = fact.data
        run_released(fact.session, data["run_id"], data["released_at"] + lead)

    return act
