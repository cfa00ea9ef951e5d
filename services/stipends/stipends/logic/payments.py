"""The ledger side of paying an approved stipend, one balanced entry per step, each
step allowed only after the one before it (the ledger itself is the state):

1. committed for payment: the reservation becomes a debt to the communicator;
2. sent: the money leaves the programme's funds for the provider's clearing account;
3. settled: the provider confirms; the debt is paid (a fee is booked beside it);
   or failed: the send is reversed, and the stipend can be sent again.

Payout runs and providers call these; a stipend committed for payment can no longer
be rejected, and a change of destination no longer voids its approvals: the payout
itself is then checked against the destination.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidTransition
from stipends.logic import ledger
from stipends.logic.approvals import get_stipend
from stipends.logic.programmes import get_programme
from stipends.models import Communicator, JournalEntry, Stipend


def committed(session: Session, stipend_id: uuid.UUID) -> bool:
    return ledger.open_entry(session, stipend_id, "commitment") is not None


def _sent(session: Session, stipend_id: uuid.UUID) -> bool:
    return ledger.open_entry(session, stipend_id, "payout_sent") is not None


def _settled(session: Session, stipend_id: uuid.UUID) -> bool:
    return ledger.open_entry(session, stipend_id, "payout_settled") is not None


def _locked(session: Session, stipend_id: uuid.UUID) -> Stipend:
    stipend = get_stipend(session, stipend_id)
    get_programme(session, stipend.programme_id, lock=True)  # one step at a time
    return stipend


def commit_for_payment(session: Session, stipend_id: uuid.UUID) -> JournalEntry:
    stipend = _locked(session, stipend_id)
    if stipend.status != "approved":
        raise InvalidTransition(
            f"only an approved stipend is paid (this one is {stipend.status})",
            f"stipend_{stipend.status}",
        )
    if committed(session, stipend.id):
        raise InvalidTransition("the stipend is committed already", "committed")
    return ledger.commit_for_payment(
        session,
        stipend.programme_id,
        stipend.id,
        stipend.communicator_id,
        stipend.currency,
        stipend.amount_minor,
    )


def record_sent(session: Session, stipend_id: uuid.UUID) -> JournalEntry:
    stipend = _locked(session, stipend_id)
    if not committed(session, stipend.id):
        raise InvalidTransition("commit the stipend for payment first", "uncommitted")
    if _sent(session, stipend.id):
        raise InvalidTransition("the stipend is sent already", "sent")
    payee = session.get(Communicator, stipend.communicator_id)
    provider = (payee.payout_provider if payee else None) or "unknown"
    return ledger.send(
        session,
        stipend.programme_id,
        stipend.id,
        provider,
        stipend.currency,
        stipend.amount_minor,
    )


# each stipend of a batch with what `record_sent` checks: committed, and not sent
SENDABLE = text(
    """
    SELECT s.id, s.programme_id, s.currency, s.amount_minor,
           coalesce(nullif(c.payout_provider, ''), 'unknown') AS provider,
           EXISTS (SELECT 1 FROM journal_entries e
                   WHERE e.stipend_id = s.id AND e.kind = 'commitment'
                     AND NOT EXISTS (SELECT 1 FROM journal_entries r
                                     WHERE r.reverses = e.id)) AS committed,
           EXISTS (SELECT 1 FROM journal_entries e
                   WHERE e.stipend_id = s.id AND e.kind = 'payout_sent'
                     AND NOT EXISTS (SELECT 1 FROM journal_entries r
                                     WHERE r.reverses = e.id)) AS sent
    FROM stipends s
    LEFT JOIN communicators c ON c.id = s.communicator_id
    WHERE s.id = ANY(CAST(:ids AS uuid[]))
    """
)
LOCK_PROGRAMMES = text(
    "SELECT id FROM programmes WHERE id IN (SELECT programme_id FROM stipends "
    "WHERE id = ANY(CAST(:ids AS uuid[]))) ORDER BY id FOR UPDATE"
)


def record_sent_all(
    session: Session, stipend_ids: Sequence[uuid.UUID]
) -> set[uuid.UUID]:
    """`record_sent` for a batch in a few statements whatever its size: the
    programmes locked (in id order), the stipends checked, the sends posted
    together. Returns the stipends recorded; any other (unknown, not committed,
    sent already) is left to `record_sent`, which refuses it with its reason."""
    ids = [str(i) for i in stipend_ids]
    session.execute(LOCK_PROGRAMMES, {"ids": ids}).all()
    sends = [
        ledger.Send(
            row.programme_id, row.id, row.provider, row.currency, row.amount_minor
        )
        for row in session.execute(SENDABLE, {"ids": ids})
        if row.committed and not row.sent
    ]
    ledger.send_all(session, sends)
    return {one.stipend_id for one in sends}


# each stipend of a release with what `commit_for_payment` checks: approved, and
# not committed already
COMMITTABLE = text(
    """
    SELECT s.id, s.programme_id, s.communicator_id, s.currency, s.amount_minor,
           s.status,
           EXISTS (SELECT 1 FROM journal_entries e
                   WHERE e.stipend_id = s.id AND e.kind = 'commitment'
                     AND NOT EXISTS (SELECT 1 FROM journal_entries r
                                     WHERE r.reverses = e.id)) AS committed
    FROM stipends s
    WHERE s.id = ANY(CAST(:ids AS uuid[]))
    """
)


def commit_all_for_payment(
    session: Session, stipend_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    """`commit_for_payment` for every stipend of a release, all or none, in a few
    statements whatever its size: the programmes locked (in id order), the stipends
    checked, the commitments posted together. The first stipend that cannot be
    committed refuses the whole batch with `commit_for_payment`'s reason."""
    ids = [str(i) for i in stipend_ids]
    session.execute(LOCK_PROGRAMMES, {"ids": ids}).all()
    rows = {row.id: row for row in session.execute(COMMITTABLE, {"ids": ids})}
    commits = []
    for stipend_id in stipend_ids:
        row = rows.get(stipend_id)
        if row is None or row.status != "approved" or row.committed:
            commit_for_payment(session, stipend_id)  # raises with the reason
            continue
        commits.append(
            ledger.Commit(
                row.programme_id,
                row.id,
                row.communicator_id,
                row.currency,
                row.amount_minor,
            )
        )
    return ledger.commit_all(session, commits)


def _sent_through(session: Session, stipend_id: uuid.UUID) -> str:
    entry_id = ledger.open_entry(session, stipend_id, "payout_sent")
    assert entry_id is not None
    legs = ledger.legs_of(session, entry_id)
    # provider_clearing:<provider>:<currency> (or, before 0013, without a currency)
    return next(p.account for p in legs if p.amount_minor > 0).split(":")[1]


def record_settled(
    session: Session, stipend_id: uuid.UUID, fee_minor: int = 0, fx_minor: int = 0
) -> JournalEntry:
    stipend = _locked(session, stipend_id)
    if not _sent(session, stipend.id):
        raise InvalidTransition("the stipend has not been sent", "not_sent")
    if _settled(session, stipend.id):
        raise InvalidTransition("the stipend is settled already", "settled")
    if fee_minor < 0:
        raise InvalidTransition("a fee cannot be negative", "invalid_fee")
    return ledger.settle(
        session,
        stipend.programme_id,
        stipend.id,
        stipend.communicator_id,
        _sent_through(session, stipend.id),
        stipend.currency,
        stipend.amount_minor,
        fee_minor,
        fx_minor,
    )


def record_fee(session: Session, stipend_id: uuid.UUID, fee_minor: int) -> JournalEntry:
    """A provider's fee for the stipend's payment, learned after its settlement."""
    stipend = _locked(session, stipend_id)
    if not _settled(session, stipend.id):
        raise InvalidTransition("the stipend is not settled", "not_settled")
    return ledger.provider_fee(
        session, stipend.programme_id, stipend.id, stipend.currency, fee_minor
    )


def record_failed(session: Session, stipend_id: uuid.UUID) -> JournalEntry:
    stipend = _locked(session, stipend_id)
    if not _sent(session, stipend.id) or _settled(session, stipend.id):
        raise InvalidTransition(
            "only a payout sent and not yet settled can fail", "not_in_flight"
        )
    entry = ledger.send_failed(session, stipend.id)
    assert entry is not None
    return entry
