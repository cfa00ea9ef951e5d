"""What each event contributes, and the read model built from it.

`record` keeps the event's whitelisted fields in `facts` and applies them to the state
tables (insights.logic.read_model) in the same transaction (the caller claims the
event in the inbox first, so a redelivery does nothing). `rebuild` empties the state
tables and applies every fact again in the order the events happened: the read model
is a function of `facts`.

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
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from insights.logic import read_model
from insights.logic.read_model import REPORT_FIGURES
from insights.models import (
    STATE_TABLES,
    UNKNOWN,
    Erasure,
    Fact,
    Member,
    Report,
    Stipend,
    TrainingCompletion,
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
        moved = read_model.member_row(session, str(alias))
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
    read_model.APPLY[fact.event_type](session, fact.data, fact.occurred_at)


def rebuild(session: Session) -> int:
    """Empty the read model and make it again from `facts` alone, set by set (the
    same outcome as applying every fact in (occurred_at, event_id) order, which
    tests/insights checks). Returns how many facts there are."""
    for table in STATE_TABLES:
        session.execute(delete(table))
    for statement in read_model.REBUILD:
        session.execute(text(statement))
    return int(session.scalar(select(func.count()).select_from(Fact)) or 0)


assert set(read_model.APPLY) == set(FIELDS)
