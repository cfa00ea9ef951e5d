"""How a period's staged rows stand to other periods' reconciliations.

A row belongs to one period's reconciliation only: the same booking matched in two
periods would be counted, and signed off, twice.

- `refuse_booked_before_made`: a bank statement's line (no time of its own) that
  books a payout made after the period refuses the import: the statement is a
  later period's.
- `refuse_misdated`: a row with a date of its own dated before the payout it books
  was made (`dated_before_made`), or, in a report given for the period, outside
  the period (`row_outside_period`), refuses it.
- `mark_settled`: a payment of a payout a signed-off reconciliation accounted for is
  marked `settled`; classification makes it an `already_reconciled` difference,
  and the figures leave its send to the period that counted it.
- `keep_late_bookings`: what this reconciliation accounts for beyond its own
  period's sends (payments booking earlier periods' payouts) is kept, so that
  `mark_settled` finds it once this one is signed off.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest
from stipends.payouts.statements import said_of

# a bank statement's line (no time of its own) naming a payout made after the period:
# its booking cannot be this period's (a payout is made, then sent, then booked)
MADE_AFTER = text(
    """
    SELECT r.provider_ref, p.id, p.created_at FROM staged_rows r
    JOIN payouts p ON p.id = r.payout_id
    WHERE r.created IS NULL AND p.created_at >= :end
    ORDER BY r.provider_ref LIMIT 1
    """
)


def refuse_booked_before_made(session: Session, end: datetime) -> None:
    """Refuse staged rows that book, in a period ending at `end`, a payout made
    after it (the same statement given for another period would match it there
    too)."""
    found = session.execute(MADE_AFTER, {"end": end}).first()
    if found is None:
        return
    ref = str(found.provider_ref)
    # the line by its number: the payout it books is named next
    line = said_of(ref.partition(" ")[0]) if ref.startswith("line:") else f"row {ref}"
    said = (
        f"{line} books payout {found.id}, made on {found.created_at.date()}, after "
        f"this period's last day ({(end - timedelta(days=1)).date()}): a payment "
        "is booked after it is made; reconcile the statement of the period it was "
        "booked in"
    )
    raise InvalidRequest(said, "booked_before_made", {"content": [said]})


# a row with a date of its own (Stripe's report, the provider's API) dated before
# the payout it books was made (a few minutes of clocks apart allowed): a transfer
# follows its payout, so the row is another payout's or the report is wrong
DATED_BEFORE_MADE = text(
    """
    SELECT r.provider_ref, r.line, r.created, p.id, p.created_at FROM staged_rows r
    JOIN payouts p ON p.id = r.payout_id
    WHERE r.created IS NOT NULL
      AND r.created < p.created_at - make_interval(mins => :skew)
    ORDER BY r.line NULLS LAST, r.provider_ref LIMIT 1
    """
)
CLOCK_SKEW_MINUTES = 10
# a report's row dated outside the period: the report is another period's
DATED_OUTSIDE = text(
    """
    SELECT provider_ref, line, created FROM staged_rows
    WHERE created IS NOT NULL AND (created < :start OR created >= :end)
    ORDER BY line NULLS LAST, provider_ref LIMIT 1
    """
)


def _row_named(ref: str, line: int | None) -> str:
    """A report's row by its line in the file (the header is line 1), else by
    the provider's id."""
    return f"report line {line + 1} ({ref})" if line else f"row {ref}"


def refuse_misdated(
    session: Session, start: datetime, end: datetime, whole_report: bool
) -> None:
    """Refuse staged rows dated before the payout they book was made and, for a
    report given for the period (`whole_report`), rows dated outside the period:
    either would be matched in a period it does not belong to, and could be
    counted again in its own."""
    last = (end - timedelta(days=1)).date()
    if whole_report:
        found = session.execute(DATED_OUTSIDE, {"start": start, "end": end}).first()
        if found is not None:
            said = (
                f"{_row_named(str(found.provider_ref), found.line)} is dated "
                f"{found.created:%Y-%m-%d %H:%M}, outside this period ({start.date()} "
                f"to {last}): export the report for this period"
            )
            raise InvalidRequest(said, "row_outside_period", {"content": [said]})
    found = session.execute(DATED_BEFORE_MADE, {"skew": CLOCK_SKEW_MINUTES}).first()
    if found is not None:
        said = (
            f"{_row_named(str(found.provider_ref), found.line)} books payout "
            f"{found.id} on {found.created:%Y-%m-%d %H:%M}, before it was made "
            f"({found.created_at:%Y-%m-%d %H:%M}): a transfer follows its payout; "
            "check the report"
        )
        raise InvalidRequest(said, "dated_before_made", {"content": [said]})


# a payment for a payout a signed-off reconciliation accounted for (matched, or a
# difference resolved), as its standing ledger send stood then: a second booking
# of it is a difference of its own, not a match. Accounted for means: the send
# lies in the signed-off period (every payout sent in a period is on its side), or
# that reconciliation kept a payment row booking it (a late booking of an earlier
# period's payout, `keep_late_bookings`, or a difference's row), the send being
# older than that run (a payout re-paid since is sent again: a new send). Only
# payouts made before the newest signed-off period's end can be such (a payout is
# made, then sent), so a period's own payouts are not looked up
SETTLE = text(
    """
    UPDATE staged_rows r SET settled = true
    FROM payouts p
    CROSS JOIN LATERAL (  -- the stipend's standing send
        SELECT e.posted_at FROM journal_entries e
        WHERE e.stipend_id = p.stipend_id AND e.kind = 'payout_sent'
        ORDER BY e.id DESC LIMIT 1) s
    WHERE r.kind = 'payment' AND p.id = r.payout_id AND p.provider = :provider
      AND p.created_at < :until
      AND (EXISTS (
        SELECT 1 FROM reconciliations c
        WHERE c.provider = :provider AND c.status = 'signed_off'
          AND s.posted_at >= (c.period_start::timestamp AT TIME ZONE 'UTC')
          AND s.posted_at < (c.period_end::timestamp AT TIME ZONE 'UTC'))
      OR EXISTS (
        SELECT 1 FROM reconciliation_rows k
        JOIN reconciliations c ON c.id = k.reconciliation_id
        WHERE k.payout_id = p.id AND k.kind = 'payment'
          AND k.status IN ('posted', 'pending')
          AND c.provider = :provider AND c.status = 'signed_off'
          AND s.posted_at < c.created_at))
    """
)


def mark_settled(session: Session, provider: str) -> None:
    """Mark the staged payments of payouts a signed-off reconciliation of this
    provider accounted for (`settled`): classification makes each an
    `already_reconciled` difference, and the figures leave their sends to the
    period that counted them."""
    until = session.scalar(
        text(
            "SELECT max(period_end) FROM reconciliations"
            " WHERE provider = :provider AND status = 'signed_off'"
        ),
        {"provider": provider},
    )
    if until is None:
        return
    session.execute(
        SETTLE,
        {"provider": provider, "until": datetime.combine(until, time(), UTC)},
    )


# a payment booking, in this period, a payout made before it whose standing send
# is not in it (a bank books a file's payments days later): kept, so that a
# later statement booking it again is told apart once this one is signed off
# (`SETTLE`); a difference's rows are kept by `keep_for_items` already
KEEP_LATE = text(
    """
    INSERT INTO reconciliation_rows (reconciliation_id, provider_ref, kind,
        amount_minor, currency, payout_id, parent_ref, balance_minor, status,
        created)
    SELECT :rid, s.provider_ref, s.kind, s.amount_minor, s.currency, s.payout_id,
           s.parent_ref, s.balance_minor, s.status, s.created
    FROM staged_rows s
    JOIN payouts p ON p.id = s.payout_id AND p.created_at < :start
    WHERE s.kind = 'payment' AND s.settled IS NOT TRUE
      AND NOT EXISTS (
        SELECT 1 FROM journal_entries e
        WHERE e.stipend_id = p.stipend_id AND e.kind = 'payout_sent'
          AND e.posted_at >= :start AND e.posted_at < :end)
      AND NOT EXISTS (
        SELECT 1 FROM reconciliation_items i
        WHERE i.reconciliation_id = :rid AND i.provider_ref = s.provider_ref)
    """
)


def keep_late_bookings(
    session: Session, reconciliation_id: uuid.UUID, start: datetime, end: datetime
) -> None:
    """Keep the payment rows that book payouts sent outside the period
    (`KEEP_LATE`)."""
    session.execute(KEEP_LATE, {"rid": reconciliation_id, "start": start, "end": end})
