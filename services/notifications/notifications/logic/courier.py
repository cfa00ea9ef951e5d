"""Sending deliveries whose rows have committed: each leased in a short transaction,
sent with none open, its outcome recorded in another (see the package's docstring).
`Courier` runs that loop for an event handler, a timer or an RPC."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import eventlet
from sqlalchemy.orm import Session

from notifications.channels import Channel
from notifications.exceptions import DeliveryFailed, RecipientGone
from notifications.logic.deliveries import (
    NOTICES,
    Attempt,
    Job,
    RetryPolicy,
    due,
    record_all,
    take_all,
    write,
)
from notifications.logic.fact import Fact
from notifications.logic.recipients import Contact, ContactBook, Recipient
from notifications.logic.work import WORK, write_work
from notifications.models import COMMUNICATOR
from notifications.templates import language_of, render, render_discreet
from svyaz import batch as batching
from svyaz import inbox
from svyaz.db import retrying
from svyaz.envelope import ReceivedEvent

log = logging.getLogger(__name__)

Transaction = Callable[[], AbstractContextManager[Session]]


# what an event changes here, in the transaction that claims it; the deliveries it
# wrote that are due now
Act = Callable[[Fact], list[int] | None]
DUE_BATCH = 100  # deliveries the scheduled sender takes at a time
SEND_CONCURRENCY = 10  # mails in flight at once from one batch (the SMTP pool's size)
DEFERRED = "notifications:send"  # a batched handler's sends, after its commit
DELIVER = "notifications:deliver"  # what a batch made due, leased after its commit
WRITE = "notifications:write"  # a batched handler's notices, at the batch's end


def message_id(event_id: uuid.UUID, recipient_id: uuid.UUID, channel: str) -> str:
    """Opaque and stable: a resend carries the same Message-ID."""
    return uuid.uuid5(event_id, f"{recipient_id}:{channel}").hex


def purpose_of(job: Job) -> str:
    """What the registry logs as the reason for reading the contact."""
    return f"notification:{job.template}"


def send(
    job: Job,
    contacts: ContactBook,
    channels: Mapping[str, Channel],
) -> Attempt:
    """One try on a remote channel, with no transaction open: ask the registry for
    the contact, render, send. The contact lives in this frame only."""
    recipient = Recipient(job.recipient_id, job.audience)
    try:
        contact = contacts.contact(recipient, purpose_of(job))
    except RecipientGone:
        return Attempt("gone")
    except DeliveryFailed as exc:
        return Attempt("failed", str(exc)[:500], exc.permanent)
    return send_to(job, contact, channels)


def send_all(
    jobs: Sequence[Job],
    contacts: ContactBook,
    channels: Mapping[str, Channel],
    concurrency: int = SEND_CONCURRENCY,
) -> list[tuple[Job, Attempt]]:
    """`send` for many jobs: their contacts asked in one `get_contacts` call per
    purpose (not one call per mail), then the mails sent `concurrency` at a time.
    The contacts live in this frame only."""
    by_purpose: dict[str, list[Job]] = {}
    for job in jobs:
        by_purpose.setdefault(purpose_of(job), []).append(job)
    book: dict[uuid.UUID, Contact] = {}
    refused: dict[str, Attempt] = {}
    for purpose, group in by_purpose.items():
        recipients = [Recipient(job.recipient_id, job.audience) for job in group]
        try:
            book.update(contacts.contacts(recipients, purpose))
        except DeliveryFailed as exc:
            refused[purpose] = Attempt("failed", str(exc)[:500], exc.permanent)

    def one(job: Job) -> Attempt:
        if purpose_of(job) in refused:
            return refused[purpose_of(job)]
        contact = book.get(job.recipient_id)
        if contact is None:
            return Attempt("gone")
        try:
            return send_to(job, contact, channels)
        except Exception as exc:  # noqa: BLE001 - one bad mail must not leave the
            # batch's sent ones unrecorded (to be sent again after the lease)
            log.exception("delivery %s could not be sent", job.delivery_id)
            return Attempt("failed", f"unexpected: {type(exc).__name__}")

    pool = eventlet.GreenPool(max(1, concurrency))
    return list(zip(jobs, pool.imap(one, jobs), strict=True))


def send_to(job: Job, contact: Contact, channels: Mapping[str, Channel]) -> Attempt:
    """Render and send one job to a contact already known."""
    try:
        language = language_of(
            contact.language or job.language or contact.default_language
        )
        if job.discreet:
            message = render_discreet(
                language,
                staff=job.audience != COMMUNICATOR,
                signs_in=contact.signs_in,
            )
        else:
            message = render(job.template, language, **(job.payload or {}))
        channels[job.channel].send(
            contact.address(job.channel),
            message,
            discreet=job.discreet,
            message_id=message_id(job.event_id, job.recipient_id, job.channel),
        )
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
        sleep: Callable[[float], Any] = eventlet.sleep,
    ) -> None:
        self.transaction = transaction
        self.contacts = contacts
        self.channels = channels
        self.policy = policy
        self.sleep = sleep

    def handle(self, event: ReceivedEvent, data: dict[str, Any], act: Act) -> None:
        """Claim the event, act and lease what is due in one transaction, then
        send (in a batch: once the whole batch has committed)."""
        batch = batching.current()
        with self.transaction() as session:
            if not inbox.claim(session, event):
                return  # handled already: a redelivery changes nothing
            if batch is not None and NOTICES not in session.info:
                # the batch's notices and work items are written together at its
                # end, what is due leased there too
                session.info[NOTICES], session.info[WORK] = [], []
                batch.before_commit(WRITE, lambda _: self._write_batch(session), [])
            now = datetime.now(UTC)
            due_now = act(Fact(session, event, data, now, self.channels)) or []
            # leased in the same transaction: committed before anything is sent,
            # so a connection lost before the commit sends nothing, and one lost
            # after it leaves the lease to expire (SEND_LEASE) for the timer
            jobs = take_all(session, due_now, now)
        self.send(jobs)

    def _write_batch(self, session: Session) -> None:
        """At the end of a batch's transaction: every work item its handlers
        gathered written in one statement, every notice in three; what is due now
        is delivered once the batch has committed (`deliver`: leased DUE_BATCH at a
        time just before it is sent, so a large batch's lease cannot run out while
        earlier mails go and let the timer send the same rows again)."""
        write_work(session, session.info.pop(WORK, []))
        due_now = write(session, session.info.pop(NOTICES, []))
        batch = batching.current()
        assert batch is not None  # a before-commit hook of a batch
        batch.defer(DELIVER, self.deliver, due_now)

    def deliver(self, delivery_ids: list[int]) -> None:
        """Send deliveries whose rows have committed: leased DUE_BATCH at a time in
        one short transaction, sent with none open, their outcomes recorded
        together in another."""
        for at in range(0, len(delivery_ids), DUE_BATCH):
            with self.transaction() as session:
                jobs = take_all(
                    session, delivery_ids[at : at + DUE_BATCH], datetime.now(UTC)
                )
            self.send(jobs)

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
        """Send deliveries already leased by a committed transaction, none open: the
        contacts asked together, the outcomes recorded together. Inside a batched
        handler the batch has not committed yet: the jobs wait for its commit
        (`Batch.defer`), and the whole batch's are sent together then."""
        if not jobs:
            return
        batch = batching.current()
        if batch is not None:
            # a mail sent before the batch commits, then rolled back with it,
            # would be sent again
            batch.defer(DEFERRED, self.send, jobs)
            return
        outcomes = send_all(jobs, self.contacts, self.channels)
        for delivery_id, outcome in self.record(outcomes).items():
            if outcome not in (None, "sent"):
                log.info("delivery %s: %s", delivery_id, outcome)

    def record(self, outcomes: list[tuple[Job, Attempt]]) -> dict[int, str | None]:
        """Record the sends' outcomes in one transaction. The mails have gone: when
        the database cannot be reached (a restart, a failover), the outcomes wait
        for it (`retrying`, up to a minute) rather than leaving the rows leased for
        SEND_LEASE, their failures unretried until it runs out. The statement is
        guarded by each row's attempt, so a second try after a commit whose answer
        was lost changes nothing."""

        def once() -> dict[int, str | None]:
            with self.transaction() as session:
                return record_all(session, outcomes, datetime.now(UTC), self.policy)

        return retrying(once, sleep=self.sleep)
