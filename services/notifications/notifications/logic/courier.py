"""Sending deliveries whose rows have committed: each leased in a short transaction,
sent with none open, its outcome recorded in another (see the package's docstring).
`Courier` runs that loop for an event handler, a timer or an RPC."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import eventlet
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.exceptions import DeliveryFailed, RecipientGone
from notifications.logic.deliveries import (
    Attempt,
    Job,
    RetryPolicy,
    due,
    record,
    take,
    tell,
)
from notifications.logic.recipients import ContactBook, Recipient
from notifications.templates import language_of, render, render_discreet
from svyaz import batch as batching
from svyaz import inbox
from svyaz.envelope import ReceivedEvent

log = logging.getLogger(__name__)

Transaction = Callable[[], AbstractContextManager[Session]]


@dataclass(frozen=True)
class Fact:
    """An event as an `Act` meets it: claimed in `session` at `now`, its payload
    loaded (`data`), and the channels its deliveries may go out on."""

    session: Session
    event: ReceivedEvent
    data: dict[str, Any]
    now: datetime
    channels: Mapping[str, Channel]

    @property
    def at(self) -> datetime:
        """When the event happened (its `occurred_at`)."""
        return self.event.occurred_at

    @property
    def communicator_id(self) -> uuid.UUID:
        """The communicator the event is about."""
        return self.data["communicator_id"]  # type: ignore[no-any-return]

    def tell(
        self,
        recipient_id: uuid.UUID,
        template: str,
        params: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """The event's deliveries to one communicator (`deliveries.tell`)."""
        return tell(
            self.session,
            self.event.event_id,
            recipient_id,
            template,
            params or {},
            self.channels,
            self.now,
        )


# what an event changes here, in the transaction that claims it; the deliveries it
# wrote that are due now
Act = Callable[[Fact], list[int] | None]
DUE_BATCH = 100  # deliveries the scheduled sender takes at a time


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


class Courier:
    """Sends what committed transactions left due; takes its transaction factory,
    contact book and channels as arguments, so it runs without nameko."""

    def __init__(
        self,
        transaction: Transaction,
        contacts: ContactBook,
        channels: Mapping[str, Channel],
        policy: RetryPolicy,
    ) -> None:
        self.transaction = transaction
        self.contacts = contacts
        self.channels = channels
        self.policy = policy

    def handle(self, event: ReceivedEvent, data: dict[str, Any], act: Act) -> None:
        """Claim the event, act and lease what is due in one transaction, then
        send."""
        with self.transaction() as session:
            if not inbox.claim(session, event):
                return  # handled already: a redelivery changes nothing
            now = datetime.now(UTC)
            due_now = act(Fact(session, event, data, now, self.channels)) or []
            # leased in the same transaction: committed before anything is sent,
            # so a connection lost before the commit sends nothing, and one lost
            # after it leaves the lease to expire (SEND_LEASE) for the timer
            jobs = [job for job in (take(session, d, now) for d in due_now) if job]
        self.send(jobs)

    def deliver(self, delivery_ids: list[int]) -> None:
        """Send deliveries whose rows have committed: each taken (leased) in a short
        transaction, sent with none open, its outcome recorded in another."""
        for delivery_id in delivery_ids:
            with self.transaction() as session:
                job = take(session, delivery_id, datetime.now(UTC))
            if job is not None:
                self.send([job])

    def send_due(self) -> None:
        """Send what fell due: after quiet hours, and retries after backoff."""
        while True:
            with self.transaction() as session:
                ids = due(session, datetime.now(UTC), limit=DUE_BATCH)
            if not ids:
                return
            self.deliver(ids)
            if len(ids) < DUE_BATCH:
                return

    def send(self, jobs: list[Job]) -> None:
        """Send deliveries already leased by a committed transaction, none open,
        each outcome recorded in a transaction of its own."""
        if jobs and batching.current() is not None:
            # a batch commits after its last handler: a mail sent before that, then
            # rolled back with the batch, would be sent again
            raise RuntimeError("a batched handler does not mail")
        for job in jobs:
            tried = send(job, self.contacts, self.channels)
            outcome = self.record(job, tried)
            if outcome not in (None, "sent"):
                log.info("delivery %s: %s", job.delivery_id, outcome)

    def record(self, job: Job, tried: Attempt) -> str | None:
        """Record a send's outcome; a connection lost on the way is retried on a new
        one (the mail has gone: recording it must not wait for the lease)."""
        for attempt in range(1, 4):
            try:
                with self.transaction() as session:
                    return record(session, job, tried, datetime.now(UTC), self.policy)
            except OperationalError:
                if attempt == 3:
                    raise
                eventlet.sleep(0.2 * attempt)
        return None
