"""What each event contributes, and the read model built from it.

`record` keeps the event's whitelisted fields in `facts` and applies them to the state
tables in the same transaction (the caller claims the event in the inbox first, so a
redelivery does nothing). `rebuild` empties the state tables and applies every fact
again in the order the events happened: the read model is a function of `facts`.

Only the fields listed in FIELDS are ever stored: ids (opaque), codes from fixed lists,
numbers and times. A pseudonym or any other field an event carries is dropped here.

`erase` (communicator.erased.v1) detaches a person: their id is replaced, in `facts`
and in every state table, by a random alias that nothing outside insights knows, so
every count stays as it was published and no row here names the person's id. The
ids of their reports, stipends and trainings stay (opaque, but stipends keeps them
beside the person's id for the financial record), so a join with stipends' database
could still lead back: aliasing those too is not done yet.
An event about them still in flight when the erasure arrives is detached as it comes
in (`erasures` holds the id's digest and the alias for the inbox's window only).
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from insights.models import (
    STATE_TABLES,
    UNKNOWN,
    Cycle,
    DifferenceResolved,
    Differences,
    Erasure,
    Fact,
    Member,
    Programme,
    Reconciliation,
    Report,
    Stipend,
    TrainingCompletion,
)

REPORT_FIGURES = (
    "conversations",
    "hours",
    "audiences",
    "channels",
    "topics_count",
    "observed_change",
)
FIELDS: dict[str, tuple[str, ...]] = {
    "communicator.activated.v1": ("communicator_id", "club_id", "club_country"),
    "communicator.club_changed.v1": ("communicator_id", "club_id", "club_country"),
    "communicator.tier_changed.v1": ("communicator_id", "tier"),
    "training.completed.v1": ("training_id", "communicator_id"),
    "cycle.opened.v1": ("cycle_id", "programme_id", "period"),
    "programme.budget_changed.v1": ("programme_id", "currency", "budget_minor"),
    "report.submitted.v1": ("report_id", "communicator_id", "cycle_id", "late")
    + REPORT_FIGURES,
    "report.reviewed.v1": ("report_id", "communicator_id", "cycle_id", "decision")
    + REPORT_FIGURES,
    "stipend.approved.v1": (
        "stipend_id",
        "communicator_id",
        "cycle_id",
        "amount_minor",
        "currency",
    ),
    "payout.paid.v1": ("stipend_id", "communicator_id", "amount_minor", "currency"),
    "payout.failed.v1": (
        "stipend_id",
        "communicator_id",
        "amount_minor",
        "currency",
        "reason",
    ),
    "reconciliation.completed.v1": ("run_id", "matched", "discrepancies", "by_kind"),
    "reconciliation.started.v1": ("reconciliation_id", "by_kind", "superseded_id"),
    "reconciliation.difference_resolved.v1": ("reconciliation_id", "item_id", "kind"),
    # kept with no field at all: the person's id is what the erasure removes
    "communicator.erased.v1": (),
}
CONSUMED = tuple(FIELDS)
ERASED = "communicator.erased.v1"
# the rows that name a communicator: every one of them is detached on erasure
NAMING = (Report, Stipend, TrainingCompletion)


def plain(value: Any) -> Any:
    """A JSON-ready value (UUIDs as text)."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def keep(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """The fields of an event's payload the figures need, nothing else."""
    return {
        name: plain(data[name])
        for name in FIELDS[event_type]
        if data.get(name) is not None
    }


def record(
    session: Session,
    event_id: uuid.UUID,
    event_type: str,
    occurred_at: datetime,
    data: dict[str, Any],
    erasure_key: bytes,
) -> Fact | None:
    """Keep an event's contribution and apply it; an event kept before: nothing.
    An event about a person erased meanwhile is kept under their alias (their
    erasure's digest under `erasure_key`: `ErasureKey`)."""
    if data.get("communicator_id") is not None:
        ident = str(data["communicator_id"])
        _lock(session, ident)
        tomb = _tomb(session, ident, erasure_key)
        if tomb is not None:
            data = {**data, "communicator_id": tomb.alias}
    kept = keep(event_type, data)
    added = session.execute(
        insert(Fact)
        .values(
            event_id=event_id,
            event_type=event_type,
            occurred_at=occurred_at,
            data=kept,
        )
        .on_conflict_do_nothing()
        .returning(Fact.event_id)
    ).first()
    if added is None:
        return None
    fact = Fact(
        event_id=event_id, event_type=event_type, occurred_at=occurred_at, data=kept
    )
    apply(session, fact)
    return fact


def _digest(ident: str, key: bytes) -> str:
    """What stands for an erased person's id in `erasures`: keyed
    (`ERASURE_DIGEST_KEY`, which the database does not hold), so that whoever
    holds a copy of the database and the ids other services keep cannot tell
    whose row it is."""
    return hmac.new(
        key, b"insights-erasure:" + uuid.UUID(ident).bytes, hashlib.sha256
    ).hexdigest()


def _unkeyed(ident: str) -> str:
    """The digest rows erased before 2026-12-06 were kept under (a plain SHA-256):
    still looked up until they leave with the inbox's window."""
    return hashlib.sha256(b"insights-erasure:" + uuid.UUID(ident).bytes).hexdigest()


def _tomb(session: Session, ident: str, key: bytes) -> Erasure | None:
    """The person's erasure row, if they were erased within the inbox's window."""
    return session.scalars(
        select(Erasure).where(
            Erasure.digest.in_([_digest(ident, key), _unkeyed(ident)])
        )
    ).first()


def _lock(session: Session, ident: str) -> None:
    """Serialise the events about one person with their erasure: an event taken
    while the erasure commits would otherwise bring the id back."""
    key = int.from_bytes(hashlib.sha256(uuid.UUID(ident).bytes).digest()[:8], "big")
    session.execute(
        text("SELECT pg_advisory_xact_lock(:key)"), {"key": key - (1 << 63)}
    )


def erase(
    session: Session,
    event_id: uuid.UUID,
    occurred_at: datetime,
    ident: str,
    erasure_key: bytes,
) -> uuid.UUID:
    """Detach an erased communicator: a random alias replaces their id in `facts`
    and in every state table, the member row (club, country, tier: what the figures
    group by) moves to the alias, so every published count stays as it was. Returns
    the alias (for tests; it is never logged or sent anywhere)."""
    _lock(session, ident)
    tomb = _tomb(session, ident, erasure_key)
    if tomb is None:  # (erased again: the same alias)
        tomb = Erasure(
            digest=_digest(ident, erasure_key),
            alias=uuid.uuid4(),
            erased_at=occurred_at,
        )
        session.add(tomb)
        session.flush()
    alias: uuid.UUID = tomb.alias
    person = uuid.UUID(ident)
    session.execute(
        text(
            "UPDATE facts SET data = jsonb_set(data, '{communicator_id}', "
            "to_jsonb(CAST(:alias AS text))) WHERE data->>'communicator_id' = :ident"
        ),
        {"alias": str(alias), "ident": str(person)},
    )
    for model in NAMING:
        session.execute(
            update(model)
            .where(model.communicator_id == person)
            .values(communicator_id=alias)
        )
    member = session.get(Member, person, with_for_update=True)
    if member is not None:
        moved = _member(session, str(alias))
        if member.club_id != UNKNOWN or moved.club_id == UNKNOWN:
            moved.club_id, moved.country = member.club_id, member.country
            moved.club_at = member.club_at
        if member.tier_at is not None and (
            moved.tier_at is None or moved.tier_at <= member.tier_at
        ):
            moved.tier, moved.tier_at = member.tier, member.tier_at
        elif moved.tier_at is None:
            moved.tier = member.tier
        session.delete(member)
    record(session, event_id, ERASED, occurred_at, {}, erasure_key)
    return alias


def forget_erasures(session: Session, window: timedelta, now: datetime) -> int:
    """Drop the erasure digests older than the inbox's window (and a day): no event
    about those people can be taken any more. The number dropped."""
    result = session.execute(
        delete(Erasure).where(Erasure.erased_at < now - window - timedelta(days=1))
    )
    return int(getattr(result, "rowcount", 0) or 0)


def apply(session: Session, fact: Fact) -> None:
    APPLY[fact.event_type](session, fact.data, fact.occurred_at)


def rebuild(session: Session) -> int:
    """Empty the read model and make it again from `facts` alone, set by set (the
    same outcome as applying every fact in (occurred_at, event_id) order, which
    tests/insights checks). Returns how many facts there are."""
    for table in STATE_TABLES:
        session.execute(delete(table))
    for statement in REBUILD:
        session.execute(text(statement))
    return int(session.scalar(select(func.count()).select_from(Fact)) or 0)


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


def _member(session: Session, ident: str) -> Member:
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
    member = _member(session, data["communicator_id"])
    if member.club_at is None or member.club_at <= at:
        member.club_id = data.get("club_id") or UNKNOWN
        member.country = data.get("club_country") or UNKNOWN
        member.club_at = at


def _tier_changed(session: Session, data: dict[str, Any], at: datetime) -> None:
    member = _member(session, data["communicator_id"])
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
    _member(session, data["communicator_id"])


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
        _member(session, data["communicator_id"])

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
    ERASED: lambda session, data, at: None,  # `erase` did the work, on the ids
}
assert set(APPLY) == set(FIELDS)


def events_of(session: Session) -> Iterable[Fact]:
    return session.scalars(select(Fact).order_by(Fact.occurred_at, Fact.event_id))
