"""A payout's history, oldest first, from what is recorded: the run's build, release
and cancellation, finance's actions on the payout (with their reasons), the
provider's events, the communicator's answer about receipt, and the ledger's entries
for the payout's stipend while this payout was its payout (released for payment,
sent, paid, and their reversals, with the memo of each).

Not recorded, so not shown: each provider call and retry (only the current attempt,
retry count and last error are kept on the payout) and the moments the worker moved
the row between queued and calling."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from stipends.logic.payouts import receipts
from stipends.logic.payouts.runs import PayoutNotFound, payout_view
from stipends.models import JournalEntry
from stipends.payouts.models import Payout, PayoutAudit, PayoutReceipt, ProviderEvent

RUN_ACTIONS = ("build", "release", "cancel", "bank_file")
BANK_FILE = "bank_file"  # the provider whose payouts a downloaded bank file holds
LEDGER_STEPS = {
    "commitment": "released_for_payment",
    "commitment_reversal": "payment_release_undone",
    "payout_sent": "sent",
    "payout_sent_reversal": "send_reversed",
    "payout_settled": "paid",
    "payout_settled_reversal": "payment_returned",
}


def get_payout(session: Session, payout_id: uuid.UUID) -> Payout:
    found = session.get(Payout, payout_id)
    if found is None:
        raise PayoutNotFound(f"no payout {payout_id}", "payout_not_found")
    return found


def payout_detail(session: Session, payout_id: uuid.UUID) -> dict[str, Any]:
    """The payout with its trail (below) and the communicator's answer about
    receipt."""
    payout = get_payout(session, payout_id)
    found = session.scalar(
        select(PayoutReceipt).where(PayoutReceipt.payout_id == payout.id)
    )
    return {
        **payout_view(payout),
        "created_at": payout.created_at.isoformat(),
        "receipt": receipts.problem_view(found, payout, None) if found else None,
        "audit": trail(session, payout),
    }


def trail(session: Session, payout: Payout) -> list[dict[str, Any]]:
    """[{at, actor_id, action, reason}], oldest first; actor_id is None for what the
    system or the provider did. A run's bank-file download is a line only of the
    payouts that file holds (bank transfers)."""
    run_actions = [
        action
        for action in RUN_ACTIONS
        if action != "bank_file" or payout.provider == BANK_FILE
    ]
    lines: list[tuple[datetime, int, dict[str, Any]]] = []
    for row in session.scalars(
        select(PayoutAudit).where(
            or_(
                PayoutAudit.payout_id == payout.id,
                and_(
                    PayoutAudit.payout_id.is_(None),
                    PayoutAudit.run_id == payout.run_id,
                    PayoutAudit.action.in_(run_actions),
                ),
            )
        )
    ):
        action = row.action if row.payout_id else f"run_{row.action}"
        lines.append((row.at, 0, _line(row.at, row.actor_id, action, row.reason)))
    successor = session.scalar(
        select(Payout.created_at)
        .where(
            Payout.stipend_id == payout.stipend_id,
            Payout.created_at > payout.created_at,
        )
        .order_by(Payout.created_at)
        .limit(1)
    )
    entries = select(JournalEntry).where(
        JournalEntry.stipend_id == payout.stipend_id,
        JournalEntry.kind.in_(tuple(LEDGER_STEPS)),
        JournalEntry.posted_at >= payout.created_at,
    )
    if successor is not None:
        entries = entries.where(JournalEntry.posted_at < successor)
    for entry in session.scalars(entries):
        lines.append(
            (
                entry.posted_at,
                1,
                _line(
                    entry.posted_at,
                    entry.actor_id,
                    LEDGER_STEPS[entry.kind],
                    f"{entry.memo} (journal entry {entry.id})",
                ),
            )
        )
    for event in session.scalars(
        select(ProviderEvent).where(ProviderEvent.payout_id == payout.id)
    ):
        lines.append(
            (
                event.received_at,
                2,
                _line(
                    event.received_at,
                    None,
                    f"provider_event:{event.event_type}",
                    event.outcome,
                ),
            )
        )
    lines.sort(key=lambda line: (line[0], line[1]))
    return [line for _, _, line in lines]


def _line(
    at: datetime, actor_id: uuid.UUID | None, action: str, reason: str
) -> dict[str, Any]:
    return {
        "at": at.isoformat(),
        "actor_id": str(actor_id) if actor_id else None,
        "action": action,
        "reason": reason,
    }
