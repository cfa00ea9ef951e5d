"""Erasure on request: crypto-shredding. The data key is destroyed with every
ciphertext and blind index; the row keeps only the pseudonymous id and the dates the
law requires, so financial records that name the id still resolve. Every vouch
naming the person (who they asked, or who asked them) goes too.

In the same transaction: the person's free text (vetting reasons, activation
approvals' reasons, dedup review items' notes and what they matched on) becomes a
neutral marker, their sign-in account goes, the id joins the list of erasures (and,
once committed, the journal outside the database: registry.journal), and a Stripe
account or recipient is sealed for closing. `communicator.erased.v1` then drives the
closing at Stripe (`close_at_stripe`, the registry's own handler, retried and parked
for staff when Stripe keeps failing) and the other services' own erasure.

After a restore from a backup, `replay` shreds again every listed id that holds data
again."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from registry import events
from registry.exceptions import NotAllowed
from registry.logic import accounts, vouches
from registry.logic.actors import Actor
from registry.logic.payouts import STRIPE_PROVIDERS, destination_of
from registry.logic.vetting import ADMIN, get
from registry.models import (
    ERASED_MARKER,
    ActivationApproval,
    Communicator,
    Erasure,
    PayoutAccount,
    ReviewItem,
    StripeClosure,
    VettingDecision,
    erased_reason,
)
from svyaz import outbox
from svyaz.crypto import KeyRing, decrypt_field, encrypt_field

ACCOUNT_FIELD = "stripe_account"


class StripeCloser(Protocol):
    """What closing needs of Stripe (registry.dependencies.StripeConnect). Each
    answers once Stripe no longer holds the account open (already gone counts) and
    raises StripeClosureFailed otherwise."""

    def delete_account(self, account_id: str) -> None: ...

    def close_recipient(self, account_id: str) -> None: ...


def erase(
    session: Session,
    keys: KeyRing,
    actor: Actor,
    communicator_id: uuid.UUID,
    reason: str,
) -> None:
    """The person themself or an admin. `reason` is checked but not kept: it is
    free text about the person, and the record says who asked (self or admin)."""
    if not (
        actor.is_(ADMIN) or (actor.is_("communicator") and actor.id == communicator_id)
    ):
        raise NotAllowed(
            "only the person themself or an admin can ask for erasure", "not_allowed"
        )
    communicator = get(session, communicator_id, lock=True)
    session.add(VettingDecision.noted(communicator, actor.id, ERASED_MARKER))
    _shred(session, keys, communicator, datetime.now(UTC))


def _shred(
    session: Session, keys: KeyRing, communicator: Communicator, at: datetime
) -> None:
    account = session.get(PayoutAccount, communicator.id, with_for_update=True)
    if account is not None:
        _seal_for_closing(session, keys, communicator, account, at)
        session.delete(account)
    communicator.shred(at)
    vouches.forget(session, communicator.id)
    session.flush()  # erased_at first: the database allows the reasons' change then
    _forget_free_text(session, communicator.id, at)
    accounts.delete_account(session, communicator.id)
    _list(session, communicator.id, at)
    outbox.add(
        session,
        events.COMMUNICATOR_ERASED.build(
            events.aggregate(communicator.id), communicator_id=communicator.id
        ),
    )


def _list(
    session: Session,
    ident: uuid.UUID,
    at: datetime,
    journaled_at: datetime | None = None,
) -> None:
    """On the list of erasures (once: a listed id keeps its first entry)."""
    session.execute(
        insert(Erasure)
        .values(communicator_id=ident, erased_at=at, journaled_at=journaled_at)
        .on_conflict_do_nothing(index_elements=["communicator_id"])
    )


def _seal_for_closing(
    session: Session,
    keys: KeyRing,
    communicator: Communicator,
    account: PayoutAccount,
    at: datetime,
) -> None:
    """A Stripe account's id, opened while the person's key still exists and sealed
    under a key of its own until Stripe has closed it."""
    if account.provider not in STRIPE_PROVIDERS or account.destination_ct is None:
        return
    found = destination_of(
        session, keys, communicator, account, "registry", "erasure: close at Stripe"
    )
    account_id = found.get("account") or found.get("recipient")
    if not account_id:
        return
    closure = session.get(StripeClosure, communicator.id, with_for_update=True)
    if closure is None:
        closure = StripeClosure(communicator_id=communicator.id)
        session.add(closure)
    data_key = keys.new_data_key()
    closure.provider, closure.requested_at, closure.closed_at = (
        account.provider,
        at,
        None,
    )
    closure.wrapped_key = keys.wrap(data_key, closure.record_id())
    closure.account_ct = encrypt_field(
        data_key, str(account_id), closure.record_id(), ACCOUNT_FIELD
    )


def _forget_free_text(
    session: Session, communicator_id: uuid.UUID, at: datetime
) -> None:
    for decision in session.scalars(
        select(VettingDecision).where(
            VettingDecision.communicator_id == communicator_id
        )
    ):
        marked = erased_reason(decision.reason)
        if decision.reason != marked:
            decision.reason = marked
    session.execute(
        update(ActivationApproval)
        .where(
            ActivationApproval.communicator_id == communicator_id,
            ActivationApproval.reason != ERASED_MARKER,
        )
        .values(reason=ERASED_MARKER)
    )
    for item in session.scalars(
        select(ReviewItem)
        .where(
            or_(
                ReviewItem.communicator_id == communicator_id,
                ReviewItem.other_id == communicator_id,
            ),
            ReviewItem.kind != "erased",
        )
        .with_for_update()
    ):
        item.forget(at)


# -- closing at Stripe (the registry's handler of communicator.erased.v1) -------------
def close_at_stripe(
    session: Session,
    keys: KeyRing,
    stripe: StripeCloser,
    communicator_id: uuid.UUID,
    now: datetime,
) -> bool:
    """Delete the Connect account or close the Global Payouts recipient; the sealed
    id goes once Stripe confirmed. True when something was closed now; False when
    there was nothing to close or it was closed already. Raises (and changes
    nothing) when Stripe did not confirm: the event is retried, then parked."""
    closure = session.get(StripeClosure, communicator_id, with_for_update=True)
    if closure is None or closure.closed_at is not None:
        return False
    assert closure.wrapped_key is not None and closure.account_ct is not None
    data_key = keys.unwrap(closure.wrapped_key, closure.record_id())
    account_id = decrypt_field(
        data_key, closure.account_ct, closure.record_id(), ACCOUNT_FIELD
    )
    if closure.provider == "stripe_connect":
        stripe.delete_account(account_id)
    else:
        stripe.close_recipient(account_id)
    closure.closed(now)
    return True


def pending_closures(session: Session) -> int:
    return len(
        session.scalars(
            select(StripeClosure.communicator_id).where(
                StripeClosure.closed_at.is_(None)
            )
        ).all()
    )


# -- the journal and the replay after a restore ----------------------------------------
def unjournaled(session: Session, limit: int = 500) -> list[Erasure]:
    """Erasures the journal has not got yet, locked for the one writing them."""
    return list(
        session.scalars(
            select(Erasure)
            .where(Erasure.journaled_at.is_(None))
            .order_by(Erasure.erased_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def mark_journaled(rows: Iterable[Erasure], at: datetime) -> None:
    for row in rows:
        row.journaled_at = at


@dataclass
class Replay:
    listed: int = 0  # ids on the list (journal and table)
    shredded: list[uuid.UUID] = field(default_factory=list)  # had data again
    absent: int = 0  # not in this database at all (a backup older than them)
    closing: list[uuid.UUID] = field(default_factory=list)  # Stripe asked again


def replay(
    session: Session,
    keys: KeyRing,
    actor: Actor,
    journal: dict[uuid.UUID, datetime],
    now: datetime,
) -> Replay:
    """After a restore: every id the journal or the table lists is erased again if
    the database holds data of theirs (the erasure is repeated as it was done, with
    its event, so a Stripe account and the other services' copies go again too), and
    put back on the list. Running it again finds nothing to do."""
    actor.require(ADMIN)
    table: dict[uuid.UUID, datetime] = dict(
        session.execute(select(Erasure.communicator_id, Erasure.erased_at))
        .tuples()
        .all()
    )
    report = Replay()
    for ident in sorted(set(journal) | set(table)):
        report.listed += 1
        if ident not in table:  # it came from the journal
            _list(session, ident, journal[ident], journaled_at=now)
        communicator = session.get(Communicator, ident, with_for_update=True)
        if communicator is None:
            report.absent += 1
            continue
        if communicator.erased:
            _forget_free_text(session, ident, now)  # a backup of an older erasure
            pending = session.get(StripeClosure, ident)
            if pending is not None and pending.closed_at is None:
                # a backup taken after the event went out but before Stripe answered:
                # nothing else would drive the closing again
                outbox.add(
                    session,
                    events.COMMUNICATOR_ERASED.build(
                        events.aggregate(ident), communicator_id=ident
                    ),
                )
                report.closing.append(ident)
            continue
        session.add(VettingDecision.noted(communicator, actor.id, ERASED_MARKER))
        _shred(session, keys, communicator, journal.get(ident) or table[ident])
        report.shredded.append(ident)
    return report
