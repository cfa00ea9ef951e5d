"""Driving payout rows from the database, each phase its own transaction:

1. `claim`: lock due rows (`FOR UPDATE SKIP LOCKED`); a queued row gets its next
   attempt and the key `payout:<id>:<attempt>` and becomes `calling`; every claimed
   row gets a lease (`next_attempt_at = now + lease`) so no one else calls meanwhile.
   Committed before any call.
2. `call`: the destination from the registry (at call time, never stored), the token
   bucket, the provider. No database.
3. `record`: the outcome, if the row is still `calling` in this attempt: sent (ledger:
   sent), paid (`payout.paid.v1`), failed (`payout.failed.v1`), or retry later with the
   same key (backoff; a 429 also holds the token bucket).

A crash anywhere leaves a `calling` row whose lease runs out; the next `drive` (the
recovery path is the same path) calls again with the same key and the provider answers
with what it did the first time. After the provider's key lifetime a retry first looks
the transfer up by our reference. `poll` asks the provider about `sent` rows past
their deadline. The outcomes themselves are recorded by `outcomes`; webhooks
(`webhooks.apply_stripe_event`) move the same rows forward from the provider's side.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from stipends import metrics
from stipends.logic import payments
from stipends.logic.payouts.outcomes import (
    book_fee,
    mark_failed,
    mark_paid,
    mark_sent,
)
from stipends.payouts.models import Payout
from stipends.payouts.providers import (
    Order,
    Outcome,
    Provider,
    TokenBucket,
    backoff,
)
from stipends.payouts.ratelimit import SharedTokenBucket
from svyaz.logging import state_change

log = logging.getLogger(__name__)

Transaction = Callable[[], AbstractContextManager[Session]]


class DestinationUnavailable(Exception):
    def __init__(self, reason: str = "destination_not_ready") -> None:
        super().__init__(reason)
        self.reason = reason


class RegistryUnavailable(Exception):
    """The registry did not answer; the payout waits."""


# communicator id -> destination; raises DestinationUnavailable or RegistryUnavailable
Destinations = Callable[[uuid.UUID], dict[str, Any]]


@dataclass
class Settings:
    lease: float = 60.0  # seconds a claimed row is left to the worker calling
    poll_interval: float = 30.0
    sent_deadline: dict[str, float] = field(
        default_factory=lambda: {
            "stripe_connect": 60.0,
            "stripe_global": 600.0,
            "bank_file": 3 * 86400.0,
        }
    )
    key_lifetime: float = 23 * 3600.0  # Stripe keeps keys ~24 h
    max_backoff: float = 300.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def order_of(payout: Payout, fingerprint: str | None = None) -> Order:
    assert payout.idempotency_key is not None
    return Order(
        payout_id=payout.id,
        run_id=payout.run_id,
        stipend_id=payout.stipend_id,
        communicator_id=payout.communicator_id,
        amount_minor=payout.amount_minor,
        currency=payout.currency,
        provider=payout.provider,
        attempt=payout.attempt,
        idempotency_key=payout.idempotency_key,
        provider_ref=payout.provider_ref,
        calling_since=payout.calling_since,
        fingerprint=fingerprint,
    )


# `mark_sent` for a batch whose ledger sends are recorded
MARK_SENT = text(
    "UPDATE payouts p SET status = 'sent', provider_ref = v.ref, "
    "deadline_at = v.deadline, next_attempt_at = NULL, last_error = NULL, "
    "updated_at = now() "
    "FROM unnest(CAST(:ids AS uuid[]), CAST(:refs AS text[]), "
    "CAST(:deadlines AS timestamptz[])) AS v (id, ref, deadline) WHERE p.id = v.id"
)


class Worker:
    def __init__(
        self,
        transaction: Transaction,
        providers: dict[str, Provider],
        destinations: Destinations,
        bucket: TokenBucket | SharedTokenBucket | None = None,
        settings: Settings | None = None,
        clock: Callable[[], datetime] = utcnow,
        on_phase: Callable[[str], None] | None = None,
    ) -> None:
        self.transaction = transaction
        self.providers = providers
        self.destinations = destinations
        self.bucket = bucket or TokenBucket(20.0)
        self.settings = settings or Settings()
        self.clock = clock
        # told "claimed", "called" and "recorded" as each phase ends (the chaos run
        # kills the process there)
        self.on_phase = on_phase or (lambda phase: None)

    def _deadline(self, provider: str) -> datetime:
        seconds = self.settings.sent_deadline.get(provider, self.settings.poll_interval)
        return self.clock() + timedelta(seconds=seconds)

    # -- phase 1 ----------------------------------------------------------------------
    def claim(self, limit: int = 50) -> list[Order]:
        now = self.clock()
        lease = now + timedelta(seconds=self.settings.lease)
        orders = []
        with self.transaction() as session:
            due = session.scalars(
                select(Payout)
                .where(
                    Payout.status.in_(("queued", "calling")),
                    Payout.next_attempt_at <= now,
                )
                .order_by(Payout.next_attempt_at, Payout.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for payout in due:
                if payout.status == "queued":
                    payout.attempt += 1
                    payout.idempotency_key = payout.key_for(payout.attempt)
                    payout.move_to("calling")
                    payout.calling_since = now
                payout.next_attempt_at = lease
                # the destination fixed at build (the approved one), never the read
                # model, which follows the registry's later changes
                orders.append(order_of(payout, payout.destination_fingerprint))
        return orders

    # -- phase 2 ----------------------------------------------------------------------
    def call(self, order: Order) -> Outcome:
        provider = self.providers.get(order.provider)
        if provider is None:
            return Outcome("retry", detail=f"no provider {order.provider} configured")
        try:
            destination = self.destinations(order.communicator_id)
        except DestinationUnavailable as exc:
            return Outcome(
                "failed", reason=exc.reason, detail="registry: no destination"
            )
        except RegistryUnavailable as exc:  # nothing happened: try later
            return Outcome("retry", detail=f"registry: {exc}")
        if (
            destination.get("provider") != order.provider
            or not order.fingerprint
            or destination.get("fingerprint") != order.fingerprint
        ):  # fail closed: pay only where the approvals pointed
            return Outcome("failed", reason="destination_changed", detail="changed")
        if order.calling_since is not None and (
            self.clock() - order.calling_since
        ) > timedelta(seconds=self.settings.key_lifetime):
            self.bucket.take()
            found = provider.find(order, destination)
            if found is not None:
                return found
        self.bucket.take()
        outcome = provider.send(order, destination)
        metrics.provider_outcome(order.provider, outcome)
        if outcome.rate_limited:
            self.bucket.hold(outcome.retry_after or 1.0)
        return outcome

    # -- phase 3 ----------------------------------------------------------------------
    def record(self, order: Order, outcome: Outcome) -> str:
        return self.record_all([(order, outcome)])[0]

    def record_all(self, results: list[tuple[Order, Outcome]]) -> list[str]:
        """The outcomes of a batch of calls, in one transaction (a crash before its
        commit leaves the rows calling: they are called again with the same keys).
        The batch's rows are locked together (in id order); the common outcome,
        sent, is recorded for all of them at once (`_send_all`); any other goes
        row by row."""
        with self.transaction() as session:
            ids = [order.payout_id for order, _ in results]
            if len(set(ids)) != len(ids):  # one row twice: each sees the one before
                return [self._record(session, o, outcome) for o, outcome in results]
            current = {
                row.id: row
                for row in session.execute(
                    select(
                        Payout.id,
                        Payout.status,
                        Payout.attempt,
                        Payout.stipend_id,
                        Payout.provider,
                    )
                    .where(Payout.id.in_(ids))
                    .order_by(Payout.id)
                    .with_for_update()
                )
            }
            out: list[str] = []
            sent: list[tuple[int, Any, Order, Outcome]] = []
            for i, (order, outcome) in enumerate(results):
                row = current.get(order.payout_id)
                if (
                    row is None
                    or row.status != "calling"
                    or row.attempt != order.attempt
                ):
                    out.append("stale")  # a webhook, an operator or another worker
                elif outcome.status == "sent":
                    out.append("sent")
                    sent.append((i, row, order, outcome))
                else:
                    out.append(self._record(session, order, outcome))
            self._send_all(session, sent, out)
            return out

    def _send_all(
        self,
        session: Session,
        sent: list[tuple[int, Any, Order, Outcome]],
        out: list[str],
    ) -> None:
        """`mark_sent` for many rows (locked, calling, this attempt) in a few
        statements: the ledger's sends together, one UPDATE of the rows."""
        if not sent:
            return
        recorded = payments.record_sent_all(
            session, [row.stipend_id for _, row, _, _ in sent]
        )
        done = []
        for i, row, order, outcome in sent:
            if row.stipend_id in recorded:
                done.append((row, outcome))
            else:  # refused by the ledger: `record_sent` says why, as it always did
                out[i] = self._record(session, order, outcome)
        if not done:
            return
        session.execute(
            MARK_SENT,
            {
                "ids": [str(row.id) for row, _ in done],
                "refs": [outcome.ref for _, outcome in done],
                "deadlines": [self._deadline(row.provider) for row, _ in done],
            },
        )
        for row, _ in done:
            log.info("payout %s attempt %s: sent", row.id, row.attempt)

    def _record(self, session: Session, order: Order, outcome: Outcome) -> str:
        payout = session.get(Payout, order.payout_id, with_for_update=True)
        if (
            payout is None
            or payout.status != "calling"
            or payout.attempt != order.attempt
        ):
            return "stale"  # a webhook, an operator or another worker was first
        if outcome.status in ("sent", "paid"):
            mark_sent(session, payout, outcome.ref, self._deadline(payout.provider))
            if outcome.status == "paid":
                mark_paid(session, payout, outcome.fee_minor, outcome.conversion)
        elif outcome.status == "failed":
            mark_failed(
                session, payout, outcome.reason or "provider_refused", outcome.detail
            )
        else:
            payout.retries += 1
            wait = outcome.retry_after or backoff(
                payout.retries, cap=self.settings.max_backoff
            )
            payout.next_attempt_at = self.clock() + timedelta(seconds=wait)
            payout.last_error = outcome.detail[:500] or None
        state_change(
            log,
            "payout",
            payout.id,
            payout.status,
            attempt=payout.attempt,
            outcome=outcome.status,
            provider=payout.provider,
        )
        return outcome.status

    def drive(self, limit: int = 50) -> dict[str, int]:
        """One pass: claim due rows, call each, record the batch. A count per
        outcome."""
        orders = self.claim(limit)
        if not orders:
            return {}
        self.on_phase("claimed")
        results = [(order, self._call_safely(order)) for order in orders]
        self.on_phase("called")
        counts: dict[str, int] = {}
        for result in self.record_all(results):
            counts[result] = counts.get(result, 0) + 1
        self.on_phase("recorded")
        return counts

    def _call_safely(self, order: Order) -> Outcome:
        """One order's surprise must not lose the batch's other outcomes: it becomes
        a retry with the same key (the row stays calling, its lease runs out)."""
        try:
            return self.call(order)
        except Exception as exc:  # noqa: BLE001 - recorded, retried, logged by type
            metrics.provider_exception(order.provider)
            log.warning(
                "payout %s: call failed: %s", order.payout_id, type(exc).__name__
            )
            return Outcome("retry", detail=f"unexpected {type(exc).__name__}")

    # -- the poller -------------------------------------------------------------------
    def poll(self, limit: int = 50) -> dict[str, int]:
        now = self.clock()
        again = now + timedelta(seconds=self.settings.poll_interval)
        with self.transaction() as session:
            due = session.scalars(
                select(Payout)
                .where(Payout.status == "sent", Payout.deadline_at <= now)
                .order_by(Payout.deadline_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            orders = []
            for payout in due:
                payout.deadline_at = again
                orders.append(order_of(payout))
        counts: dict[str, int] = {}
        for order in orders:
            provider = self.providers.get(order.provider)
            if provider is None:
                continue
            self.bucket.take()
            outcome = provider.status(order)
            if outcome.rate_limited:
                self.bucket.hold(outcome.retry_after or 1.0)
            result = self.confirm(order, outcome)
            counts[result] = counts.get(result, 0) + 1
        return counts

    def collect_fees(self, limit: int = 50) -> dict[str, int]:
        """Payouts confirmed paid without their fee (a webhook's transfer carries
        none): ask the provider for it (Stripe: the transfer's balance transaction)
        and book it (`book_fee`). A provider that cannot say leaves it pending, to
        be asked again on the next tick."""
        with self.transaction() as session:
            due = session.scalars(
                select(Payout)
                .where(Payout.fee_pending, Payout.status == "paid")
                .order_by(Payout.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            orders = [order_of(payout) for payout in due]
        counts: dict[str, int] = {}
        for order in orders:
            provider = self.providers.get(order.provider)
            ask = getattr(provider, "fee", None)
            if ask is None:
                continue
            self.bucket.take()
            outcome = ask(order)
            if outcome.rate_limited:
                self.bucket.hold(outcome.retry_after or 1.0)
            if outcome.status != "paid":
                counts["fee_unknown"] = counts.get("fee_unknown", 0) + 1
                continue
            with self.transaction() as session:
                payout = session.get(Payout, order.payout_id, with_for_update=True)
                if payout is not None:
                    book_fee(session, payout, outcome.fee_minor)
            counts["fee_booked"] = counts.get("fee_booked", 0) + 1
        return counts

    def confirm(self, order: Order, outcome: Outcome) -> str:
        with self.transaction() as session:
            payout = session.get(Payout, order.payout_id, with_for_update=True)
            if payout is None or payout.status != "sent":
                return "stale"
            if outcome.status == "paid":
                mark_paid(session, payout, outcome.fee_minor, outcome.conversion)
            elif outcome.status == "failed":
                mark_failed(
                    session, payout, outcome.reason or "returned", outcome.detail
                )
            else:
                return "pending"
            return outcome.status
