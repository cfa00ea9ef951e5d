"""Notification use cases: plain functions over a session and plain values.

The flow: an event names its recipients; `notify`, in the transaction that claims the
event, writes one delivery per (event, recipient, channel) (a unique constraint too)
and the inbox rows, and returns the deliveries due now. Nothing is sent before that
transaction commits. Then each delivery is sent in three steps: `take` (a short
transaction: the row, locked with SKIP LOCKED, is leased for `SEND_LEASE` so no other
sender takes it, and its attempt counted), `send` (no transaction open: the contact
from the registry, the message in the recipient's language, discreet unless staff
turned that off, over the channel) and `record` (sent, a retry time, or parked with
the reason; the caller retries it on a new connection if the database went away). A
crash between the send and the record leaves the row leased: the scheduled sender
sends it again once the lease runs out, with the same Message-ID (at least once, the
window a few milliseconds wide). A mail in the recipient's quiet hours is written
pending until their end.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.exceptions import (
    DeliveryFailed,
    DeliveryNotFound,
    InvalidPreferences,
    MessageNotFound,
    RecipientGone,
)
from notifications.models import (
    COMMUNICATOR,
    DISCARDED,
    PARKED,
    PENDING,
    SENT,
    ActiveCommunicator,
    CycleReport,
    Delivery,
    FinanceRun,
    InboxMessage,
    PendingItem,
    Preference,
    ReportingCycle,
    is_staff,
)
from notifications.templates import language_of, render, render_discreet
from svyaz import parking
from svyaz.actors import Actor
from svyaz.logging import state_change

DEFAULT_CHANNELS = ("email", "inbox")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recipient:
    id: uuid.UUID
    audience: str = COMMUNICATOR


@dataclass(frozen=True)
class Contact:
    """What the registry tells us at send time; held in memory only."""

    email: str | None = None
    telegram: str | None = None
    language: str | None = None

    def address(self, channel: str) -> str | None:
        return self.email if channel == "email" else self.telegram


class ContactBook(Protocol):
    def contact(self, recipient: Recipient, purpose: str) -> Contact:
        """The recipient's contact; RecipientGone or DeliveryFailed otherwise."""
        ...


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


# -- preferences -------------------------------------------------------------------


def preferences(session: Session, recipient: Recipient) -> Preference:
    """The recipient's stored preferences, created with the defaults on first use."""
    pref = session.get(Preference, recipient.id)
    if pref is None:
        session.execute(
            insert(Preference)
            .values(
                recipient_id=recipient.id,
                audience=recipient.audience,
                channels=list(DEFAULT_CHANNELS),
                discreet=True,
                version=1,
            )
            .on_conflict_do_nothing()
        )
        pref = session.get(Preference, recipient.id)
    assert pref is not None
    return pref


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidPreferences(
            f"unknown time zone {name!r}",
            "invalid_preferences",
            {"timezone": ["use an IANA time zone such as Asia/Tbilisi"]},
        ) from None


def quiet_until(
    now: datetime, start: time | None, end: time | None, tz_name: str | None
) -> datetime | None:
    """When the quiet period around `now` ends (UTC), or None outside quiet hours.

    Quiet hours are local times in the recipient's zone and may span midnight
    (22:00 to 07:00)."""
    if start is None or end is None or start == end:
        return None
    tz = zone(tz_name)
    local = now.astimezone(tz)
    clock = local.time().replace(tzinfo=None)
    today = local.date()
    if start < end:
        if not start <= clock < end:
            return None
        end_day = today
    elif clock >= start:
        end_day = today + timedelta(days=1)
    elif clock < end:
        end_day = today
    else:
        return None
    return datetime.combine(end_day, end, tzinfo=tz).astimezone(UTC)


def set_preferences(
    session: Session,
    recipient: Recipient,
    changes: Mapping[str, Any],
    available: Iterable[str],
) -> Preference:
    """Apply a person's own choices; a bad choice changes nothing."""
    pref = preferences(session, recipient)
    errors: dict[str, list[str]] = {}
    channels = changes.get("channels")
    if channels is not None:
        unknown = sorted(set(channels) - set(available))
        if unknown:
            errors["channels"] = [f"unavailable channel(s): {', '.join(unknown)}"]
        elif "inbox" not in channels:
            errors["channels"] = ["the in-app inbox cannot be turned off"]
    if changes.get("discreet") is False and not is_staff(pref.audience):
        errors["discreet"] = ["discreet mode stays on for communicators"]
    if "timezone" in changes and changes["timezone"] is not None:
        try:
            zone(changes["timezone"])
        except InvalidPreferences as exc:
            errors.update(exc.fields)
    start = changes.get("quiet_start", pref.quiet_start)
    end = changes.get("quiet_end", pref.quiet_end)
    if (start is None) != (end is None):
        errors["quiet_hours"] = ["give both the start and the end of quiet hours"]
    if errors:
        raise InvalidPreferences(
            "the preferences are invalid", "invalid_preferences", errors
        )
    for key in ("language", "timezone", "quiet_start", "quiet_end", "discreet"):
        if key in changes:
            setattr(pref, key, changes[key])
    if channels is not None:
        pref.channels = sorted(set(channels))
    pref.updated_at = datetime.now(UTC)
    session.flush()
    return pref


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
_INSERT_DELIVERY = (
    insert(_DELIVERY)
    .values(
        {
            **{c: bindparam(c) for c in _DELIVERY_COLUMNS},
            "payload": bindparam("payload", type_=JSONB(none_as_null=True)),
        }
    )
    .on_conflict_do_nothing()
    .returning(_DELIVERY.c.id)
)
_REMEMBER_LANGUAGE = (
    insert(Preference.__table__)
    .values(
        recipient_id=bindparam("recipient_id"),
        audience=bindparam("audience"),
        language=bindparam("language"),
        channels=list(DEFAULT_CHANNELS),
        discreet=True,
        version=1,
    )
    .on_conflict_do_update(
        index_elements=["recipient_id"],
        set_={"language": bindparam("language")},
    )
)


def default_preferences(recipient: Recipient) -> Preference:
    """What applies to someone who never chose anything (not stored)."""
    return Preference(
        recipient_id=recipient.id,
        audience=recipient.audience,
        language=None,
        channels=list(DEFAULT_CHANNELS),
        timezone=None,
        quiet_start=None,
        quiet_end=None,
        discreet=True,
    )


@dataclass(frozen=True)
class Attempt:
    status: str  # sent | failed | gone
    error: str | None = None
    permanent: bool = False
    language: str | None = None  # the registry profile's, to remember


def message_id(event_id: uuid.UUID, recipient_id: uuid.UUID, channel: str) -> str:
    """Opaque and stable: a resend carries the same Message-ID."""
    return uuid.uuid5(event_id, f"{recipient_id}:{channel}").hex


def send(
    job: Job,
    contacts: ContactBook,
    channels: Mapping[str, Channel],
) -> Attempt:
    """One try on a remote channel, with no transaction open: ask the registry for
    the contact, render, send. The contact lives in this frame only."""
    recipient = Recipient(job.recipient_id, job.audience)
    try:
        contact = contacts.contact(recipient, f"notification:{job.template}")
        language = language_of(contact.language or job.language)
        if job.discreet:
            message = render_discreet(language)
        else:
            message = render(job.template, language, **(job.payload or {}))
        channels[job.channel].send(
            contact.address(job.channel),
            message,
            discreet=job.discreet,
            message_id=message_id(job.event_id, job.recipient_id, job.channel),
        )
    except RecipientGone:
        return Attempt("gone")
    except DeliveryFailed as exc:
        return Attempt("failed", str(exc)[:500], exc.permanent)
    return Attempt("sent", language=language if contact.language else None)


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
    sent once this transaction has committed.

    Exactly one row per (event, recipient, channel): a redelivered event inserts
    nothing new and returns nothing to send."""
    due_now: list[int] = []
    for recipient in recipients:
        stored = session.get(Preference, recipient.id)
        pref = stored or default_preferences(recipient)
        discreet = pref.effective_discreet
        wanted = [c for c in pref.channels if c in channels and channels[c].enabled]
        for name in wanted:
            row: dict[str, Any] = {
                "event_id": event_id,
                "recipient_id": recipient.id,
                "channel": name,
                "template": template,
                "audience": recipient.audience,
                "status": PENDING,
                "attempts": 0,
                "discreet": discreet,
                "due_at": now,
                "updated_at": now,
                "sent_at": None,
                "last_error": None,
                "payload": None if discreet else dict(params),
            }
            if channels[name].immediate:
                session.execute(
                    _INSERT_INBOX,
                    {
                        "recipient_id": recipient.id,
                        "event_id": event_id,
                        "template": template,
                        "params": dict(params),
                    },
                )
                row.update(status=SENT, attempts=1, sent_at=now, payload=None)
                session.execute(_INSERT_DELIVERY, row)
                continue
            later = quiet_until(now, pref.quiet_start, pref.quiet_end, pref.timezone)
            if later is not None:
                row["due_at"] = later
            delivery_id = session.scalar(_INSERT_DELIVERY, row)
            if delivery_id is not None and later is None:
                due_now.append(delivery_id)
    return due_now


def forget_event(
    session: Session, event_id: uuid.UUID, recipient_id: uuid.UUID
) -> None:
    for model in (InboxMessage, Delivery):
        session.execute(
            delete(model).where(
                model.event_id == event_id, model.recipient_id == recipient_id
            )
        )


# -- sending -------------------------------------------------------------------------


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
        session.execute(
            _REMEMBER_LANGUAGE,
            {
                "recipient_id": job.recipient_id,
                "audience": job.audience,
                "language": tried.language,
            },
        )
    if tried.status == "failed":
        retry_in = None if tried.permanent else policy.delay(delivery.attempts)
        delivery.mark_failed(tried.error or "failed", now, retry_in)
        if delivery.status == PARKED:
            state_change(
                log,
                "delivery",
                delivery.id,
                PARKED,
                channel=delivery.channel,
                event_id=job.event_id,
                recipient=job.recipient_id,
            )
        return delivery.status
    delivery.mark_sent(now)
    state_change(
        log,
        "delivery",
        delivery.id,
        SENT,
        channel=delivery.channel,
        event_id=job.event_id,
        recipient=job.recipient_id,
    )
    return delivery.status


# -- the inbox, parked deliveries, erasure --------------------------------------------


def inbox(
    session: Session, recipient_id: uuid.UUID, unread_only: bool, limit: int
) -> list[InboxMessage]:
    query = select(InboxMessage).where(InboxMessage.recipient_id == recipient_id)
    if unread_only:
        query = query.where(InboxMessage.read_at.is_(None))
    return list(session.scalars(query.order_by(InboxMessage.id.desc()).limit(limit)))


def language_for(session: Session, recipient_id: uuid.UUID, asked: str | None) -> str:
    pref = session.get(Preference, recipient_id)
    return language_of(asked or (pref.language if pref else None))


def mark_read(
    session: Session, recipient_id: uuid.UUID, message_id: int, now: datetime
) -> InboxMessage:
    message = session.get(InboxMessage, message_id, with_for_update=True)
    if message is None or message.recipient_id != recipient_id:
        raise MessageNotFound("no such message", "message_not_found")
    if message.read_at is None:
        message.read_at = now
    return message


def parked(session: Session, limit: int) -> list[Delivery]:
    return list(
        session.scalars(
            select(Delivery)
            .where(Delivery.status == PARKED)
            .order_by(Delivery.updated_at.desc())
            .limit(limit)
        )
    )


def _parked_delivery(session: Session, delivery_id: int) -> Delivery:
    delivery = session.get(Delivery, delivery_id, with_for_update=True)
    if delivery is None or delivery.status != PARKED:
        raise DeliveryNotFound(
            f"no parked delivery {delivery_id} (it may have been retried or "
            "discarded already)",
            "delivery_not_found",
        )
    return delivery


def retry_parked(
    session: Session, who: Actor, delivery_id: int, reason: str, now: datetime
) -> Delivery:
    """Send a parked delivery again (from a fresh count of attempts), audited."""
    delivery = _parked_delivery(session, delivery_id)
    delivery.status, delivery.attempts, delivery.due_at = PENDING, 0, now
    delivery.updated_at = now
    _audit(session, who, delivery, parking.RETRY, reason, parking.RETRIED, now)
    return delivery


def discard_parked(
    session: Session, who: Actor, delivery_id: int, reason: str, now: datetime
) -> Delivery:
    """Give a parked delivery up for good, audited; it leaves the parked list."""
    delivery = _parked_delivery(session, delivery_id)
    delivery.status, delivery.updated_at, delivery.payload = DISCARDED, now, None
    _audit(session, who, delivery, parking.DISCARD, reason, parking.DISCARDED, now)
    return delivery


def _audit(
    session: Session,
    who: Actor,
    delivery: Delivery,
    action: str,
    reason: str,
    outcome: str,
    now: datetime,
) -> None:
    row = parking.start_action(
        session, who, parking.DELIVERY, str(delivery.id), action, reason
    )
    parking.finish_action(
        row,
        outcome,
        now,
        delivery.error_kind,
        delivery.channel,
        delivery.template,
    )


def erase(session: Session, recipient_id: uuid.UUID) -> dict[str, int]:
    """Forget a person: inbox, preferences, delivery log, pending work items."""
    counts = {}
    for model, column in (
        (InboxMessage, InboxMessage.recipient_id),
        (Delivery, Delivery.recipient_id),
        (Preference, Preference.recipient_id),
        (PendingItem, PendingItem.communicator_id),
        (ActiveCommunicator, ActiveCommunicator.communicator_id),
        (CycleReport, CycleReport.communicator_id),
    ):
        result = session.execute(delete(model).where(column == recipient_id))
        counts[model.__tablename__] = int(result.rowcount)  # type: ignore[attr-defined]
    return counts


# -- work waiting for staff ------------------------------------------------------------


def _work(
    session: Session,
    kind: str,
    item_id: uuid.UUID,
    communicator_id: uuid.UUID,
    state: str,
    as_of: datetime,
) -> None:
    """Set an item's state as of its event's time, unless a later event already
    did: arrival and completion come on different queues, in any order."""
    table = PendingItem.__table__
    statement = insert(table).values(
        kind=kind,
        item_id=item_id,
        communicator_id=communicator_id,
        state=state,
        as_of=as_of,
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.kind, table.c.item_id],
            set_={"state": statement.excluded.state, "as_of": statement.excluded.as_of},
            where=table.c.as_of <= statement.excluded.as_of,  # a tie: the later one
        )
    )


def work_arrived(
    session: Session,
    kind: str,
    item_id: uuid.UUID,
    communicator_id: uuid.UUID,
    as_of: datetime,
) -> None:
    _work(session, kind, item_id, communicator_id, "waiting", as_of)


def work_done(
    session: Session,
    kind: str,
    item_id: uuid.UUID,
    communicator_id: uuid.UUID,
    as_of: datetime,
) -> None:
    _work(session, kind, item_id, communicator_id, "done", as_of)


def purge_finished_work(session: Session, now: datetime, keep: timedelta) -> int:
    """Forget items done longer ago than `keep`; how many. A done item stays a while
    as a tombstone, so that its late "arrived" event (on another queue) cannot make it
    wait again; `keep` must exceed how late an event can come (a parked one replayed
    by an admin included), hence weeks, not minutes."""
    result = session.execute(
        delete(PendingItem).where(
            PendingItem.state == "done", PendingItem.as_of < now - keep
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def waiting(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(PendingItem.kind, func.count())
        .where(PendingItem.state == "waiting")
        .group_by(PendingItem.kind)
    ).all()
    return {kind: int(count) for kind, count in rows}


def digest_event_id(role: str, period: int) -> uuid.UUID:
    """One digest per role and period, whichever replica's timer gets there first."""
    return uuid.uuid5(uuid.NAMESPACE_URL, f"svyaz:notifications:digest:{role}:{period}")


# -- report reminders --------------------------------------------------------------
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


# -- finance: reconciliation due --------------------------------------------------
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
