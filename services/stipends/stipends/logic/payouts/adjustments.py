"""What a reconciliation decides, in the ledger.

The provider's figure for a period (`record_figures`, when the rows are staged) is,
per currency, what its rows say left for our transfers: payments posted or pending,
less reversals posted. The ledger's clearing figure for the same period, provider
and currency (`figures`) is the sends posted to the provider's clearing account in
the period, net of their reversals (a payout that failed, was linked to a provider
reversal or re-paid), and those of the payouts the rows name that were posted
outside it (a bank books a file's payments days later; counted when the rows are
staged; not those of payouts a signed-off period counted, `periods.mark_settled`),
plus the differences finance wrote off in this reconciliation.
Sign-off refuses while the two differ anywhere (`check_figures`), and says by how
much.

A write-off posts one balanced entry per currency (`write_off`), kind
`write_off`, memo naming the reconciliation, the item and the reason,
recorded in `reconciliation_entries`. Its amount is the item's difference: what the
provider moved less what our books sent (`difference`). It is charged to the named
account of the provider and currency (`fx_differences`, `unexplained_differences`:
debit when the provider moved more than we sent, credit when less) against the
programme's funds (the money held at the provider is that much less or more), or,
for a provider row no payout of ours explains, against the provider's clearing
account. `bank_fees` are an expense, only ever debited: a shortfall there is what
the bank kept of what we sent, out of the provider's clearing (`write_off_legs`).
A reconciliation superseded by a re-run has its write-offs reversed (`withdraw`).
Links and re-payments post through the payout's own steps (`outcomes`: settled,
failed, sent again).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest, InvalidTransition
from stipends.logic import ledger
from stipends.models import Stipend
from stipends.payouts.models import (
    Payout,
    Reconciliation,
    ReconciliationEntry,
    ReconciliationFigure,
    ReconciliationItem,
    ReconciliationRow,
)
from svyaz import money

WRITE_OFF_ACCOUNTS = ledger.DIFFERENCE_KINDS
OUT = ("posted", "pending")  # a payment row that took money out

PROVIDER_FIGURES = text(
    """
    INSERT INTO reconciliation_figures (reconciliation_id, currency, provider_minor)
    SELECT :rid, currency, sum(CASE
             WHEN kind = 'payment' AND status IN ('posted', 'pending')
               THEN amount_minor
             WHEN kind = 'reversal' AND status = 'posted' THEN -amount_minor
             ELSE 0 END)
    FROM staged_rows GROUP BY currency
    """
)


def _dated_sends(inside: bool) -> str:
    """The provider clearing's postings of payout sends and their reversals, each
    dated by its send: a send in the period it was posted in, a reversal in its
    send's period; those `inside` [:start, :end), or those outside it. Two plain
    ranges (one `coalesce(o.posted_at, e.posted_at)` range left the planner guessing
    7% of the rows, so it looked each posting up by index, a third slower than these
    hash joins, which may also run in parallel)."""
    dated = "" if inside else "NOT "
    return f"""
        SELECT po.currency, po.amount_minor, e.stipend_id
        FROM journal_entries e
        JOIN postings po ON po.entry_id = e.id
        WHERE po.account = ANY(CAST(:clearings AS text[]))
          AND e.kind IN ('payout_sent', 'payout_sent_reversal')
          AND e.reverses IS NULL
          AND {dated}(e.posted_at >= :start AND e.posted_at < :end)
        UNION ALL
        SELECT po.currency, po.amount_minor, e.stipend_id
        FROM journal_entries e
        JOIN journal_entries o ON o.id = e.reverses
        JOIN postings po ON po.entry_id = e.id
        WHERE po.account = ANY(CAST(:clearings AS text[]))
          AND e.kind IN ('payout_sent', 'payout_sent_reversal')
          AND e.reverses IS NOT NULL  -- implied by the join, but said: the few
          -- reversals are found by their index, not by hashing every entry
          AND {dated}(o.posted_at >= :start AND o.posted_at < :end)
    """


# the sends (net) of payouts the rows name, dated outside the period
OUTSIDE_SENDS = text(
    f"""
    INSERT INTO reconciliation_figures
        (reconciliation_id, currency, provider_minor, outside_minor)
    SELECT :rid, currency, 0, sum(amount_minor)
    FROM ({_dated_sends(inside=False)}) sends
    WHERE stipend_id IN (  -- not those a signed-off period counted
        SELECT p.stipend_id FROM payouts p
        JOIN staged_rows r ON r.payout_id = p.id AND r.settled IS NOT TRUE)
    GROUP BY currency
    HAVING sum(amount_minor) <> 0
    ON CONFLICT (reconciliation_id, currency)
    DO UPDATE SET outside_minor = EXCLUDED.outside_minor
    """  # noqa: S608 - no input in the text
)

# the sends (net) dated in the period
LEDGER_SENDS = text(
    f"""
    SELECT currency, sum(amount_minor)
    FROM ({_dated_sends(inside=True)}) sends
    GROUP BY currency
    """  # noqa: S608 - no input in the text
)


def record_figures(session: Session, rec: Reconciliation) -> None:
    """The provider's figure per currency, from the rows staged for `rec`, and the
    ledger's sends of the payouts they name that were posted outside the period."""
    session.execute(PROVIDER_FIGURES, {"rid": rec.id})
    start, end = _bounds(rec.period_start, rec.period_end)
    session.execute(
        OUTSIDE_SENDS,
        {
            "rid": rec.id,
            "clearings": ledger.clearings(session, rec.provider),
            "start": start,
            "end": end,
        },
    )


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min, UTC), datetime.combine(end, time.min, UTC)


def figures(session: Session, rec: Reconciliation) -> list[dict[str, int | str]]:
    """Per currency: the provider's figure, the ledger's clearing figure (sends in
    the period net of their reversals, plus this reconciliation's write-offs) and
    their difference (provider - ledger)."""
    start, end = _bounds(rec.period_start, rec.period_end)
    sends = {
        currency: int(total)
        for currency, total in session.execute(
            LEDGER_SENDS,
            {
                "clearings": ledger.clearings(session, rec.provider),
                "start": start,
                "end": end,
            },
        )
    }
    written: dict[str, int] = {}
    for entry in session.scalars(
        select(ReconciliationEntry).where(
            ReconciliationEntry.reconciliation_id == rec.id
        )
    ):
        written[entry.currency] = (
            written.get(entry.currency, 0) + entry.difference_minor
        )
    stored = list(
        session.scalars(
            select(ReconciliationFigure).where(
                ReconciliationFigure.reconciliation_id == rec.id
            )
        )
    )
    theirs = {f.currency: f.provider_minor for f in stored}
    for f in stored:  # sends of named payouts posted outside the period
        sends[f.currency] = sends.get(f.currency, 0) + f.outside_minor
    found = []
    for currency in sorted(set(sends) | set(written) | set(theirs)):
        ours = sends.get(currency, 0) + written.get(currency, 0)
        provider = theirs.get(currency, 0)
        found.append(
            {
                "currency": currency,
                "provider_minor": provider,
                "clearing_minor": ours,
                "difference_minor": provider - ours,
            }
        )
    return found


def check_figures(session: Session, rec: Reconciliation) -> None:
    """Refuse (`clearing_differs`) while the ledger's clearing figure differs from
    the provider's in any currency, naming each difference."""
    off = [f for f in figures(session, rec) if f["difference_minor"]]
    if not off:
        return
    said = "; ".join(
        f"{f['currency']}: the provider {_plain(f['provider_minor'], f['currency'])}, "
        f"the ledger {_plain(f['clearing_minor'], f['currency'])}, difference "
        f"{_plain(f['difference_minor'], f['currency'])}"
        for f in off
    )
    raise InvalidTransition(
        f"the ledger's clearing figure differs from the provider's ({said}): resolve "
        "the differences that explain it, or run the reconciliation again",
        "clearing_differs",
    )


def _plain(minor: int | str, currency: int | str) -> str:
    return money.plain(int(minor), str(currency))


def _row(
    session: Session, rec: Reconciliation, item: ReconciliationItem
) -> ReconciliationRow | None:
    if item.provider_ref is None:
        return None
    return session.scalars(
        select(ReconciliationRow).where(
            ReconciliationRow.reconciliation_id == rec.id,
            ReconciliationRow.provider_ref == item.provider_ref,
        )
    ).first()


def difference(
    session: Session, rec: Reconciliation, item: ReconciliationItem
) -> list[tuple[str, int]]:
    """What the provider moved for this item less what our books sent, per currency
    (only the non-zero ones)."""
    row = _row(session, rec, item)
    payout = session.get(Payout, item.payout_id) if item.payout_id else None
    standing = payout is not None and payout.status in ("sent", "paid")
    ours = item.ours_minor or 0
    theirs = item.theirs_minor or 0
    if row is None:
        theirs_out = 0
    elif row.kind == "reversal":
        theirs_out = -theirs if row.status == "posted" else 0
    else:
        theirs_out = theirs if row.status in OUT else 0
    found: list[tuple[str, int]]
    if item.kind == "currency_mismatch":
        found = [
            (item.ours_currency or "", -ours if standing else 0),
            (item.theirs_currency or "", theirs_out),
        ]
    elif item.kind == "amount_mismatch":
        found = [(item.ours_currency or "", theirs_out - ours)]
    elif item.kind == "missing_at_provider":
        found = [(item.ours_currency or "", -ours if standing else 0)]
    elif item.kind in ("unexpected_at_provider", "duplicate", "already_reconciled"):
        found = [(item.theirs_currency or "", theirs_out)]
    elif item.kind == "reversed":
        found = [(item.ours_currency or "", -ours if standing else 0)]
    elif item.kind == "status_mismatch":
        if row is not None and row.status in ("failed", "canceled", "returned"):
            found = [(item.ours_currency or "", -ours if standing else 0)]
        elif not standing:
            found = [(item.theirs_currency or "", theirs_out)]
        else:
            found = []
    else:  # balance_mismatch: the transfer's amount agrees; no money moved
        found = []
    return [(currency, amount) for currency, amount in found if amount]


def write_off_legs(
    account: str, provider: str, currency: str, amount: int, against: str
) -> list[ledger.Leg]:
    """The legs of a write-off of `amount` (what the provider moved less what our
    books sent) to `account`. Bank fees are an expense, always debited: a fee the
    provider charged on top (it moved more) comes out of the programme's funds
    (`against`); a shortfall (it moved less: the bank kept part of what we sent)
    comes out of the provider's clearing account, which then holds what the
    provider passed on. FX and unexplained differences take either side: debited
    against `against` when the provider moved more, credited when less (the money
    is the programme's again)."""
    account_code = ledger.difference(account, provider, currency)
    if account == "bank_fees" and amount < 0:
        return [
            ledger.Leg(account_code, -amount),
            ledger.Leg(ledger.clearing(provider, currency), amount),
        ]
    return [ledger.Leg(account_code, amount), ledger.Leg(against, -amount)]


def write_off(
    session: Session,
    rec: Reconciliation,
    item: ReconciliationItem,
    reason: str,
    account: str,
    actor_id: uuid.UUID,
) -> list[int]:
    """Post the item's difference to the named account (one entry per currency);
    the entries' ids."""
    if account not in WRITE_OFF_ACCOUNTS:
        raise InvalidRequest(
            f"write off to one of {WRITE_OFF_ACCOUNTS}",
            "invalid_write_off_account",
            {"account": [f"one of {WRITE_OFF_ACCOUNTS}"]},
        )
    payout = session.get(Payout, item.payout_id) if item.payout_id else None
    stipend = session.get(Stipend, payout.stipend_id) if payout else None
    posted = []
    for currency, amount in difference(session, rec, item):
        against = (
            ledger.funds(stipend.programme_id)
            if stipend is not None and stipend.currency == currency
            else ledger.clearing(rec.provider, currency)
        )
        entry = ledger.post(
            session,
            "write_off",
            f"reconciliation {rec.id} item {item.id} ({item.kind}): {reason}"[:2000],
            currency,
            write_off_legs(account, rec.provider, currency, amount, against),
            programme_id=stipend.programme_id if stipend is not None else None,
            stipend_id=stipend.id if stipend is not None else None,
            actor_id=actor_id,
        )
        session.add(
            ReconciliationEntry(
                entry_id=entry.id,
                reconciliation_id=rec.id,
                item_id=item.id,
                currency=currency,
                difference_minor=amount,
            )
        )
        posted.append(entry.id)
    session.flush()
    return posted


def withdraw(session: Session, rec: Reconciliation, actor_id: uuid.UUID) -> int:
    """Reverse the write-offs of a reconciliation a re-run supersedes; how many."""
    entries = list(
        session.scalars(
            select(ReconciliationEntry.entry_id).where(
                ReconciliationEntry.reconciliation_id == rec.id
            )
        )
    )
    for entry_id in entries:
        ledger.reverse(
            session, entry_id, f"reconciliation {rec.id} run again", actor_id
        )
    return len(entries)


__all__ = [
    "WRITE_OFF_ACCOUNTS",
    "check_figures",
    "difference",
    "figures",
    "record_figures",
    "withdraw",
    "write_off",
]
