"""The read model from the facts: one applier per event type (`APPLY`, as each
event is recorded), and the same outcome set by set (`REBUILD`, for
insights.logic.facts.rebuild). "The last" word on anything is the last in
(occurred_at, event_id) order."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from insights.models import (
    UNKNOWN,
    Cycle,
    DifferenceResolved,
    Differences,
    Member,
    Programme,
    Reconciliation,
    Report,
    Stipend,
    TrainingCompletion,
)

# a report's figures, as report events carry them (insights.logic.facts.FIELDS)
REPORT_FIGURES = (
    "conversations",
    "hours",
    "audiences",
    "channels",
    "topics_count",
    "observed_change",
)

# Each statement rebuilds one table from the facts; "the last" is the last in
# (occurred_at, event_id) order, as the appliers below see them.
REBUILD = (
    # cycles and programmes: the last word on each
    """INSERT INTO cycles (cycle_id, programme_id, period)
    SELECT DISTINCT ON (data->>'cycle_id') (data->>'cycle_id')::uuid,
           (data->>'programme_id')::uuid, data->>'period'
      FROM facts WHERE event_type = 'cycle.opened.v1'
     ORDER BY data->>'cycle_id', occurred_at DESC, event_id DESC""",
    """INSERT INTO programmes (programme_id, currency, budget_minor, budget_at)
    SELECT DISTINCT ON (data->>'programme_id') (data->>'programme_id')::uuid,
           data->>'currency', (data->>'budget_minor')::bigint, occurred_at
      FROM facts WHERE event_type = 'programme.budget_changed.v1'
     ORDER BY data->>'programme_id', occurred_at DESC, event_id DESC""",
    # members: everyone any fact names; club and country from the last activation
    # or move, tier from the last change
    """INSERT INTO members (communicator_id, club_id, country, club_at, tier, tier_at)
    SELECT people.id,
           COALESCE(clubs.club_id, 'unknown'), COALESCE(clubs.country, 'unknown'),
           clubs.at, COALESCE(tiers.tier, 'volunteer'), tiers.at
      FROM (SELECT DISTINCT (data->>'communicator_id')::uuid AS id FROM facts
             WHERE event_type IN ('communicator.activated.v1',
                   'communicator.club_changed.v1',
                   'communicator.tier_changed.v1', 'training.completed.v1',
                   'report.submitted.v1', 'report.reviewed.v1')) people
      LEFT JOIN (SELECT DISTINCT ON (data->>'communicator_id')
                        (data->>'communicator_id')::uuid AS id,
                        data->>'club_id' AS club_id, data->>'club_country' AS country,
                        occurred_at AS at
                   FROM facts WHERE event_type IN ('communicator.activated.v1',
                                                   'communicator.club_changed.v1')
                  ORDER BY data->>'communicator_id', occurred_at DESC, event_id DESC
                ) clubs ON clubs.id = people.id
      LEFT JOIN (SELECT DISTINCT ON (data->>'communicator_id')
                        (data->>'communicator_id')::uuid AS id,
                        data->>'tier' AS tier, occurred_at AS at
                   FROM facts WHERE event_type = 'communicator.tier_changed.v1'
                  ORDER BY data->>'communicator_id', occurred_at DESC, event_id DESC
                ) tiers ON tiers.id = people.id""",
    """INSERT INTO training_completions (training_id, communicator_id, completed_at)
    SELECT DISTINCT ON (data->>'training_id', data->>'communicator_id')
           (data->>'training_id')::uuid, (data->>'communicator_id')::uuid,
           occurred_at
      FROM facts WHERE event_type = 'training.completed.v1'
     ORDER BY data->>'training_id', data->>'communicator_id', occurred_at, event_id""",
    # reports: the last submission or review says the state and the figures;
    # `late`, the last submission
    """INSERT INTO reports (report_id, cycle_id, communicator_id, status, late,
           conversations, hours, audiences, channels, topics_count, observed_change,
           changed_at)
    SELECT last.id, last.cycle_id, last.communicator_id, last.status,
           COALESCE(sub.late, false), last.conversations, last.hours,
           last.audiences, last.channels, last.topics_count, last.observed_change,
           last.occurred_at
      FROM (SELECT DISTINCT ON (data->>'report_id')
                   (data->>'report_id')::uuid AS id,
                   (data->>'cycle_id')::uuid AS cycle_id,
                   (data->>'communicator_id')::uuid AS communicator_id,
                   CASE event_type WHEN 'report.submitted.v1' THEN 'submitted'
                        ELSE data->>'decision' END AS status,
                   COALESCE((data->>'conversations')::int, 0) AS conversations,
                   COALESCE((data->>'hours')::int, 0) AS hours,
                   COALESCE(data->'audiences', '[]'::jsonb) AS audiences,
                   COALESCE(data->'channels', '[]'::jsonb) AS channels,
                   COALESCE((data->>'topics_count')::int, 0) AS topics_count,
                   data->>'observed_change' AS observed_change, occurred_at
              FROM facts
             WHERE event_type IN ('report.submitted.v1', 'report.reviewed.v1')
             ORDER BY data->>'report_id', occurred_at DESC, event_id DESC) last
      LEFT JOIN (SELECT DISTINCT ON (data->>'report_id')
                        (data->>'report_id')::uuid AS id,
                        (data->>'late')::boolean AS late
                   FROM facts WHERE event_type = 'report.submitted.v1'
                  ORDER BY data->>'report_id', occurred_at DESC, event_id DESC
                ) sub ON sub.id = last.id""",
    # stipends: approval from the last approval; paid at the last payment; a
    # failure's reason only while nothing was paid
    """INSERT INTO stipends (stipend_id, cycle_id, communicator_id, amount_minor,
           currency, approved_at, paid_at, failed_reason)
    SELECT ids.id, approved.cycle_id,
           COALESCE(approved.communicator_id, ids.communicator_id),
           COALESCE(approved.amount_minor, ids.amount_minor),
           COALESCE(approved.currency, ids.currency), approved.at, paid.at,
           CASE WHEN paid.at IS NULL THEN failed.reason END
      FROM (SELECT DISTINCT ON (data->>'stipend_id') (data->>'stipend_id')::uuid AS id,
                   (data->>'communicator_id')::uuid AS communicator_id,
                   (data->>'amount_minor')::bigint AS amount_minor,
                   data->>'currency' AS currency
              FROM facts WHERE event_type IN ('stipend.approved.v1',
                   'payout.paid.v1', 'payout.failed.v1')
             ORDER BY data->>'stipend_id', occurred_at, event_id) ids
      LEFT JOIN (SELECT DISTINCT ON (data->>'stipend_id')
                        (data->>'stipend_id')::uuid AS id,
                        (data->>'cycle_id')::uuid AS cycle_id,
                        (data->>'communicator_id')::uuid AS communicator_id,
                        (data->>'amount_minor')::bigint AS amount_minor,
                        data->>'currency' AS currency, occurred_at AS at
                   FROM facts WHERE event_type = 'stipend.approved.v1'
                  ORDER BY data->>'stipend_id', occurred_at DESC, event_id DESC
                ) approved ON approved.id = ids.id
      LEFT JOIN (SELECT DISTINCT ON (data->>'stipend_id')
                        (data->>'stipend_id')::uuid AS id, occurred_at AS at
                   FROM facts WHERE event_type = 'payout.paid.v1'
                  ORDER BY data->>'stipend_id', occurred_at DESC, event_id DESC
                ) paid ON paid.id = ids.id
      LEFT JOIN (SELECT DISTINCT ON (data->>'stipend_id')
                        (data->>'stipend_id')::uuid AS id, data->>'reason' AS reason
                   FROM facts WHERE event_type = 'payout.failed.v1'
                  ORDER BY data->>'stipend_id', occurred_at DESC, event_id DESC
                ) failed ON failed.id = ids.id""",
    """INSERT INTO reconciliations (run_id, matched, discrepancies, by_kind,
           completed_at)
    SELECT DISTINCT ON (data->>'run_id') (data->>'run_id')::uuid,
           (data->>'matched')::int, (data->>'discrepancies')::int,
           COALESCE(data->'by_kind', '{}'::jsonb), occurred_at
      FROM facts WHERE event_type = 'reconciliation.completed.v1'
     ORDER BY data->>'run_id', occurred_at DESC, event_id DESC""",
    # differences: each reconciliation's last count by kind; superseded when a
    # later one names it (a row made by that alone, as the applier makes it)
    """INSERT INTO differences (reconciliation_id, by_kind, opened_at, superseded)
    SELECT COALESCE(found.id, gone.id), COALESCE(found.by_kind, '{}'::jsonb),
           COALESCE(found.at, gone.at), gone.id IS NOT NULL
      FROM (SELECT DISTINCT ON (data->>'reconciliation_id')
                   (data->>'reconciliation_id')::uuid AS id,
                   COALESCE(data->'by_kind', '{}'::jsonb) AS by_kind,
                   occurred_at AS at
              FROM facts WHERE event_type = 'reconciliation.started.v1'
             ORDER BY data->>'reconciliation_id', occurred_at DESC, event_id DESC
           ) found
      FULL JOIN (SELECT DISTINCT ON (data->>'superseded_id')
                        (data->>'superseded_id')::uuid AS id, occurred_at AS at
                   FROM facts WHERE event_type = 'reconciliation.started.v1'
                    AND data->>'superseded_id' IS NOT NULL
                  ORDER BY data->>'superseded_id', occurred_at, event_id
                ) gone ON gone.id = found.id""",
    """INSERT INTO differences_resolved (reconciliation_id, item_id, kind,
           resolved_at)
    SELECT DISTINCT ON (data->>'reconciliation_id', data->>'item_id')
           (data->>'reconciliation_id')::uuid, (data->>'item_id')::bigint,
           data->>'kind', occurred_at
      FROM facts WHERE event_type = 'reconciliation.difference_resolved.v1'
     ORDER BY data->>'reconciliation_id', data->>'item_id', occurred_at, event_id""",
)


# -- appliers: one per event type --------------------------------------------------
def _row(session: Session, model: Any, key: Any, **values: Any) -> Any:
    """The row of `model` at `key`, made with `values` if there is none, locked for
    this transaction: handlers of different queues may meet the same row at once
    (a report's submission and its review), and only one of them inserts it."""
    found = session.get(model, key, with_for_update=True)
    if found is not None:
        return found
    primary = model.__mapper__.primary_key[0].name
    session.execute(
        insert(model).values({primary: key, **values}).on_conflict_do_nothing()
    )
    return session.get(model, key, with_for_update=True)


def member_row(session: Session, ident: str) -> Member:
    member: Member = _row(
        session,
        Member,
        uuid.UUID(ident),
        club_id=UNKNOWN,
        country=UNKNOWN,
        tier="volunteer",
    )
    return member


def _club(session: Session, data: dict[str, Any], at: datetime) -> None:
    """The club (and its country) from an activation or a later move, unless a later
    one of them came first."""
    member = member_row(session, data["communicator_id"])
    if member.club_at is None or member.club_at <= at:
        member.club_id = data.get("club_id") or UNKNOWN
        member.country = data.get("club_country") or UNKNOWN
        member.club_at = at


def _tier_changed(session: Session, data: dict[str, Any], at: datetime) -> None:
    member = member_row(session, data["communicator_id"])
    if member.tier_at is None or member.tier_at <= at:
        member.tier, member.tier_at = data["tier"], at


def _training(session: Session, data: dict[str, Any], at: datetime) -> None:
    session.execute(
        insert(TrainingCompletion)
        .values(
            training_id=uuid.UUID(data["training_id"]),
            communicator_id=uuid.UUID(data["communicator_id"]),
            completed_at=at,
        )
        .on_conflict_do_nothing()
    )
    member_row(session, data["communicator_id"])


def _cycle(session: Session, data: dict[str, Any], at: datetime) -> None:
    session.merge(
        Cycle(
            cycle_id=uuid.UUID(data["cycle_id"]),
            programme_id=uuid.UUID(data["programme_id"]),
            period=data["period"],
        )
    )


def _budget(session: Session, data: dict[str, Any], at: datetime) -> None:
    programme: Programme = _row(
        session,
        Programme,
        uuid.UUID(data["programme_id"]),
        currency=data["currency"],
        budget_minor=data["budget_minor"],
        budget_at=at,
    )
    if programme.budget_at <= at:  # the latest total wins, whatever the order
        programme.budget_minor, programme.budget_at = data["budget_minor"], at


def _report(status: Callable[[dict[str, Any]], str]) -> Callable[..., None]:
    def applier(session: Session, data: dict[str, Any], at: datetime) -> None:
        report: Report = _row(
            session,
            Report,
            uuid.UUID(data["report_id"]),
            cycle_id=uuid.UUID(data["cycle_id"]),
            communicator_id=uuid.UUID(data["communicator_id"]),
            status=status(data),
            late=False,
            conversations=0,
            hours=0,
            audiences=[],
            channels=[],
            topics_count=0,
            changed_at=at,
        )
        if report.changed_at > at:
            return  # an older event arriving late changes nothing
        report.status, report.changed_at = status(data), at
        if "late" in data:
            report.late = bool(data["late"])
        for name in REPORT_FIGURES:
            if name in data:
                setattr(report, name, data[name])
        member_row(session, data["communicator_id"])

    return applier


def _stipend(session: Session, ident: str, data: dict[str, Any]) -> Stipend:
    stipend: Stipend = _row(
        session,
        Stipend,
        uuid.UUID(ident),
        communicator_id=uuid.UUID(data["communicator_id"]),
        amount_minor=data["amount_minor"],
        currency=data["currency"],
    )
    return stipend


def _approved(session: Session, data: dict[str, Any], at: datetime) -> None:
    stipend = _stipend(session, data["stipend_id"], data)
    stipend.cycle_id = uuid.UUID(data["cycle_id"])
    stipend.amount_minor, stipend.approved_at = data["amount_minor"], at


def _paid(session: Session, data: dict[str, Any], at: datetime) -> None:
    stipend = _stipend(session, data["stipend_id"], data)
    stipend.paid_at, stipend.failed_reason = at, None


def _failed(session: Session, data: dict[str, Any], at: datetime) -> None:
    stipend = _stipend(session, data["stipend_id"], data)
    if stipend.paid_at is None:
        stipend.failed_reason = data["reason"]


def _reconciled(session: Session, data: dict[str, Any], at: datetime) -> None:
    session.merge(
        Reconciliation(
            run_id=uuid.UUID(data["run_id"]),
            matched=data["matched"],
            discrepancies=data["discrepancies"],
            by_kind=dict(data.get("by_kind") or {}),
            completed_at=at,
        )
    )


def _differences(
    session: Session, reconciliation_id: str, at: datetime, superseded: bool
) -> Differences:
    """A reconciliation's row, made (with no differences, opened `at`) if none."""
    found: Differences = _row(
        session,
        Differences,
        uuid.UUID(reconciliation_id),
        by_kind={},
        opened_at=at,
        superseded=superseded,
    )
    return found


def _differences_found(session: Session, data: dict[str, Any], at: datetime) -> None:
    found = _differences(session, data["reconciliation_id"], at, superseded=False)
    found.by_kind, found.opened_at = dict(data.get("by_kind") or {}), at
    if data.get("superseded_id"):
        replaced = _differences(session, data["superseded_id"], at, superseded=True)
        replaced.superseded = True


def _difference_resolved(session: Session, data: dict[str, Any], at: datetime) -> None:
    session.execute(
        insert(DifferenceResolved)
        .values(
            reconciliation_id=uuid.UUID(data["reconciliation_id"]),
            item_id=int(data["item_id"]),
            kind=data["kind"],
            resolved_at=at,
        )
        .on_conflict_do_nothing()
    )


APPLY: dict[str, Callable[[Session, dict[str, Any], datetime], None]] = {
    "communicator.activated.v1": _club,
    "communicator.club_changed.v1": _club,
    "communicator.tier_changed.v1": _tier_changed,
    "training.completed.v1": _training,
    "cycle.opened.v1": _cycle,
    "programme.budget_changed.v1": _budget,
    "report.submitted.v1": _report(lambda d: "submitted"),
    "report.reviewed.v1": _report(lambda d: str(d["decision"])),
    "stipend.approved.v1": _approved,
    "payout.paid.v1": _paid,
    "payout.failed.v1": _failed,
    "reconciliation.completed.v1": _reconciled,
    "reconciliation.started.v1": _differences_found,
    "reconciliation.difference_resolved.v1": _difference_resolved,
    # facts.erase did the work, on the ids
    "communicator.erased.v1": lambda session, data, at: None,
}
