"""A delivery row per (event, recipient, channel): written with the event's claim,
leased to one sender at a time, its outcome recorded. Sending itself, with no
transaction open, is `courier`'s."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.logic.preferences import (
    default_preferences,
    quiet_until,
    remember_language,
    remember_languages,
)
from notifications.logic.recipients import Recipient
from notifications.models import (
    PARKED,
    PENDING,
    SENT,
    Delivery,
    InboxMessage,
    Preference,
)
from svyaz.logging import state_change

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_seconds: float = 30.0
    max_seconds: float = 3600.0

    def delay(self, attempts: int) -> timedelta | None:
        """The wait before the next attempt after `attempts` failed; None: park."""
        if attempts >= self.max_attempts:
            return None
        return timedelta(
            seconds=min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds)
        )


@dataclass(frozen=True)
class Attempt:
    status: str  # sent | failed | gone
    error: str | None = None
    permanent: bool = False
    language: str | None = None  # the registry profile's, to remember


# -- turning an event into deliveries -----------------------------------------------

# built once on the tables (not the ORM entities): these run for every notification
_INSERT_INBOX = (
    insert(InboxMessage.__table__)
    .values(
        recipient_id=bindparam("recipient_id"),
        event_id=bindparam("event_id"),
        template=bindparam("template"),
        params=bindparam("params", type_=JSONB),
    )
    .on_conflict_do_nothing()
)
_DELIVERY = Delivery.__table__
_DELIVERY_COLUMNS = (
    "event_id", "recipient_id", "channel", "template", "audience", "status",
    "attempts", "discreet", "due_at", "updated_at", "sent_at", "last_error",
)  # fmt: skip


@dataclass(frozen=True)
class Notice:
    """One event's message to its recipients, as `notify` was asked for it."""

    event_id: uuid.UUID
    recipients: tuple[Recipient, ...]
    template: str
    params: Mapping[str, Any]
    channels: Mapping[str, Channel]
    now: datetime


# session.info key: while set (a batched handler's session, see courier), `notify`
# gathers its notices there and they are written together at the batch's end
NOTICES = "notifications.notices"

_INSERT_DELIVERIES = (
    insert(_DELIVERY)
    .values(
        {
            **{c: bindparam(c) for c in _DELIVERY_COLUMNS},
            "payload": bindparam("payload", type_=JSONB(none_as_null=True)),
        }
    )
    .on_conflict_do_nothing()
    .returning(
        _DELIVERY.c.id,
        _DELIVERY.c.event_id,
        _DELIVERY.c.recipient_id,
        _DELIVERY.c.channel,
    )
)


def notify(
    session: Session,
    event_id: uuid.UUID,
    recipients: Iterable[Recipient],
    template: str,
    params: Mapping[str, Any],
    channels: Mapping[str, Channel],
    now: datetime,
) -> list[int]:
    """Write the event's deliveries and inbox rows; return the ids due now, to be
    sent once this transaction has committed. In a session that gathers notices
    (`NOTICES`), the rows are written with the batch's others and nothing is
    returned: the batch's end leases them (see courier).

    Exactly one row per (event, recipient, channel): a redelivered event inserts
    nothing new and returns nothing to send."""
    notice = Notice(event_id, tuple(recipients), template, dict(params), channels, now)
    gathered = session.info.get(NOTICES)
    if gathered is not None:
        gathered.append(notice)
        return []
    return write(session, [notice])


def write(session: Session, notices: list[Notice]) -> list[int]:
    """The notices' deliveries and inbox rows in three statements whatever their
    number (the recipients' preferences, the inbox rows, the deliveries); the ids
    of the deliveries due now."""
    wanted_ids = {r.id for notice in notices for r in notice.recipients}
    if not wanted_ids:
        return []
    stored = {
        pref.recipient_id: pref
        for pref in session.scalars(
            select(Preference).where(Preference.recipient_id.in_(wanted_ids))
        )
    }
    inbox_rows: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    due_now: set[tuple[uuid.UUID, uuid.UUID, str]] = set()
    for notice in notices:
        channels, now = notice.channels, notice.now
        for recipient in notice.recipients:
            pref = stored.get(recipient.id) or default_preferences(recipient)
            discreet = pref.effective_discreet
            wanted = [c for c in pref.channels if c in channels and channels[c].enabled]
            for name in wanted:
                row: dict[str, Any] = {
                    "event_id": notice.event_id,
                    "recipient_id": recipient.id,
                    "channel": name,
                    "template": notice.template,
                    "audience": recipient.audience,
                    "status": PENDING,
                    "attempts": 0,
                    "discreet": discreet,
                    "due_at": now,
                    "updated_at": now,
                    "sent_at": None,
                    "last_error": None,
                    "payload": None if discreet else dict(notice.params),
                }
                rows.append(row)
                if channels[name].immediate:
                    inbox_rows.append(
                        {
                            "recipient_id": recipient.id,
                            "event_id": notice.event_id,
                            "template": notice.template,
                            "params": dict(notice.params),
                        }
                    )
                    row.update(status=SENT, attempts=1, sent_at=now, payload=None)
                    continue
                later = quiet_until(
                    now, pref.quiet_start, pref.quiet_end, pref.timezone
                )
                if later is not None:
                    row["due_at"] = later
                else:
                    due_now.add((notice.event_id, recipient.id, name))
    if inbox_rows:
        session.execute(_INSERT_INBOX, inbox_rows)
    if not rows:
        return []
    written = session.execute(_INSERT_DELIVERIES, rows).all()
    return sorted(
        row.id
        for row in written
        if (row.event_id, row.recipient_id, row.channel) in due_now
    )


def tell(
    session: Session,
    event_id: uuid.UUID,
    communicator_id: uuid.UUID,
    template: str,
    params: Mapping[str, Any],
    channels: Mapping[str, Channel],
    now: datetime,
) -> list[int]:
    """`notify` for the one communicator an event is about."""
    return notify(
        session, event_id, [Recipient(communicator_id)], template, params, channels, now
    )


def forget_event(
    session: Session, event_id: uuid.UUID, recipient_id: uuid.UUID
) -> None:
    for model in (InboxMessage, Delivery):
        session.execute(
            delete(model).where(
                model.event_id == event_id, model.recipient_id == recipient_id
            )
        )


# -- leasing a delivery to one sender, recording its outcome -----------------------


def due(session: Session, now: datetime, limit: int = 100) -> list[int]:
    """Pending deliveries whose time has come, oldest first (not locked)."""
    return list(
        session.scalars(
            select(Delivery.id)
            .where(Delivery.status == PENDING, Delivery.due_at <= now)
            .order_by(Delivery.due_at)
            .limit(limit)
        )
    )


def claim(session: Session, delivery_id: int, now: datetime) -> Delivery | None:
    """Lock one due delivery for sending; None when done, not due, or being sent."""
    return session.scalar(
        select(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.status == PENDING,
            Delivery.due_at <= now,
        )
        .with_for_update(skip_locked=True)
    )


SEND_LEASE = timedelta(seconds=60)  # a taken delivery is hidden from other senders


@dataclass(frozen=True)
class Job:
    """What sending one delivery needs, read when it is taken."""

    delivery_id: int
    attempt: int
    event_id: uuid.UUID
    recipient_id: uuid.UUID
    audience: str
    channel: str
    template: str
    payload: Mapping[str, Any] | None
    discreet: bool
    language: str | None  # remembered in the preferences, if any


def take(
    session: Session, delivery_id: int, now: datetime, lease: timedelta = SEND_LEASE
) -> Job | None:
    """Lease one due delivery to this sender (commit before sending); None when
    done, not due, or another sender has it."""
    delivery = claim(session, delivery_id, now)
    if delivery is None:
        return None
    delivery.attempts += 1
    delivery.due_at = now + lease
    pref = session.get(Preference, delivery.recipient_id)
    return Job(
        delivery_id=delivery.id,
        attempt=delivery.attempts,
        event_id=delivery.event_id,
        recipient_id=delivery.recipient_id,
        audience=delivery.audience,
        channel=delivery.channel,
        template=delivery.template,
        payload=delivery.payload,
        discreet=delivery.discreet,
        language=pref.language if pref else None,
    )


def record(
    session: Session, job: Job, tried: Attempt, now: datetime, policy: RetryPolicy
) -> str | None:
    """The outcome of `send`, if the row is still this sender's (pending, in this
    attempt); its new status, or None when another sender took it meanwhile."""
    delivery = session.get(Delivery, job.delivery_id, with_for_update=True)
    if (
        delivery is None
        or delivery.status != PENDING
        or delivery.attempts != job.attempt
    ):
        return None
    if tried.status == "gone":  # nothing is kept about a person who is gone
        forget_event(session, job.event_id, job.recipient_id)
        return "forgotten"
    if tried.language and tried.language != job.language:
        remember_language(session, job.recipient_id, job.audience, tried.language)
    if tried.status == "failed":
        retry_in = None if tried.permanent else policy.delay(delivery.attempts)
        delivery.mark_failed(tried.error or "failed", now, retry_in)
    else:
        delivery.mark_sent(now)
    if delivery.status in (PARKED, SENT):  # a failure to retry later is not logged
        state_change(
            log,
            "delivery",
            delivery.id,
            delivery.status,
            channel=delivery.channel,
            event_id=job.event_id,
            recipient=job.recipient_id,
        )
    return delivery.status


# -- the same for a batch of deliveries: one statement to lease, one to record ------

# lease every due one of `ids` not held by another sender; each row's job, with the
# language its recipient's preferences remember
_TAKE_ALL = text(
    """
    UPDATE deliveries AS d
       SET attempts = d.attempts + 1, due_at = :lease_until
      FROM (SELECT id FROM deliveries
             WHERE id = ANY(:ids) AND status = 'pending' AND due_at <= :now
             ORDER BY id
             FOR UPDATE SKIP LOCKED) AS free
     WHERE d.id = free.id
    RETURNING d.id, d.attempts, d.event_id, d.recipient_id, d.audience, d.channel,
              d.template, d.payload, d.discreet,
              (SELECT p.language FROM preferences AS p
                WHERE p.recipient_id = d.recipient_id) AS language
    """
)

# each outcome, where the row is still this sender's (pending, in this attempt)
_RECORD_ALL = text(
    """
    UPDATE deliveries AS d
       SET status = o.status,
           sent_at = CASE WHEN o.status = 'sent' THEN :now ELSE d.sent_at END,
           last_error = o.last_error,
           payload = CASE WHEN o.status = 'pending' THEN d.payload END,
           due_at = coalesce(o.due_at, d.due_at),
           updated_at = :now
      FROM unnest(CAST(:ids AS bigint[]), CAST(:attempts AS integer[]),
                  CAST(:statuses AS text[]), CAST(:dues AS timestamptz[]),
                  CAST(:errors AS text[]))
           AS o(id, attempts, status, due_at, last_error)
     WHERE d.id = o.id AND d.status = 'pending' AND d.attempts = o.attempts
    RETURNING d.id, d.status
    """
)


def take_all(
    session: Session, ids: list[int], now: datetime, lease: timedelta = SEND_LEASE
) -> list[Job]:
    """`take` for many deliveries in one statement: each due one not held by
    another sender is leased to this one (commit before sending)."""
    if not ids:
        return []
    rows = session.execute(
        _TAKE_ALL, {"ids": list(ids), "now": now, "lease_until": now + lease}
    )
    return sorted(
        (
            Job(
                delivery_id=row.id,
                attempt=row.attempts,
                event_id=row.event_id,
                recipient_id=row.recipient_id,
                audience=row.audience,
                channel=row.channel,
                template=row.template,
                payload=row.payload,
                discreet=row.discreet,
                language=row.language,
            )
            for row in rows
        ),
        key=lambda job: job.delivery_id,
    )


def record_all(
    session: Session,
    outcomes: list[tuple[Job, Attempt]],
    now: datetime,
    policy: RetryPolicy,
) -> dict[int, str | None]:
    """`record` for a batch of sends: every sent or failed outcome in one UPDATE
    (guarded as `record` is: a row another sender took meanwhile is left alone),
    the languages learnt in one more statement when any changed, and the rare
    `gone` one by one. Each delivery's new status, or None where the row was no
    longer this sender's."""
    done: dict[int, str | None] = {}
    settled = [(job, tried) for job, tried in outcomes if tried.status != "gone"]
    for job, tried in outcomes:
        if tried.status == "gone":
            done[job.delivery_id] = record(session, job, tried, now, policy)
    if settled:
        statuses: list[str] = []
        dues: list[datetime | None] = []
        errors: list[str | None] = []
        for job, tried in settled:
            if tried.status == "failed":
                retry_in = None if tried.permanent else policy.delay(job.attempt)
                statuses.append(PENDING if retry_in is not None else PARKED)
                dues.append(now + retry_in if retry_in is not None else None)
                errors.append((tried.error or "failed")[:500])
            else:
                statuses.append(SENT)
                dues.append(None)
                errors.append(None)
        changed: dict[int, str] = dict(
            session.execute(  # type: ignore[arg-type]
                _RECORD_ALL,
                {
                    "now": now,
                    "ids": [job.delivery_id for job, _ in settled],
                    "attempts": [job.attempt for job, _ in settled],
                    "statuses": statuses,
                    "dues": dues,
                    "errors": errors,
                },
            ).all()
        )
        learnt = [
            {
                "recipient_id": job.recipient_id,
                "audience": job.audience,
                "language": tried.language,
            }
            for job, tried in settled
            if job.delivery_id in changed
            and tried.language
            and tried.language != job.language
        ]
        remember_languages(session, learnt)  # written only when it changes
        for job, _ in settled:
            status = changed.get(job.delivery_id)
            done[job.delivery_id] = status
            if status in (SENT, PARKED):
                state_change(
                    log,
                    "delivery",
                    job.delivery_id,
                    status,
                    channel=job.channel,
                    event_id=job.event_id,
                    recipient=job.recipient_id,
                )
    return done
