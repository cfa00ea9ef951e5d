"""A period's reconciliation: the provider's rows against our payouts and the ledger,
each difference a work-queue item, the whole signed off by a second finance person.

1. `start` stages the provider's rows (pulled from its API, or imported from Stripe's
   itemized report or the bank's statement) in bulk (`staging`), memory flat however
   long the period.
2. `classify` is one set-based statement: our side is every payout of the provider
   whose ledger send (`payout_sent`) falls in the period, plus every payout the
   provider's rows name; each is matched to its provider payment (by our reference,
   else by the provider's id on our payout) and classified. Provider rows nobody
   claims are `unexpected_at_provider`; a second payment for one payout is a
   `duplicate`; a payment of a payout whose send a signed-off period accounted
   for (a statement booking it again) is `already_reconciled`.
3. Finance resolves items one at a time or in bulk: `link` (this provider row is that
   payout's), `write_off` (accepted as it is, with a reason; its difference posted
   to a named account, `adjustments`), `repay` (the money did not arrive:
   the payout fails and goes out again with a new attempt, only after the provider,
   asked by our reference, has no such payment).
4. `sign_off`: every item resolved, the ledger's clearing figure equal to the
   provider's in every currency (`adjustments`), and the signer neither ran
   the reconciliation nor resolved any of its items.

Steps 1 and 2 are here (with the views of a reconciliation and its items); steps 3
and 4 are `resolutions`. Nothing here changes a payout.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import stripe
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from stipends import events
from stipends.exceptions import (
    InvalidRequest,
    InvalidTransition,
    ProviderUnavailable,
    ReconciliationNotFound,
)
from stipends.logic import ledger
from stipends.logic.actors import FINANCE, Actor
from stipends.logic.payouts import adjustments, periods, staging
from stipends.payouts.models import (
    PROVIDERS,
    Payout,
    PayoutAudit,
    Reconciliation,
    ReconciliationItem,
)
from stipends.payouts.providers import Provider
from stipends.payouts.statements import ProviderRow, statement_rows
from svyaz import outbox

MAX_PERIOD_DAYS = 92


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC, checked: a period is one day to a quarter long."""
    if end <= start:
        raise InvalidRequest(
            "a period must end after it starts: its end is on or before its start",
            "invalid_period",
            {"period_end": ["must be after period_start"]},
        )
    if (end - start).days > MAX_PERIOD_DAYS:
        raise InvalidRequest(
            f"a period is at most {MAX_PERIOD_DAYS} days",
            "invalid_period",
            {"period_end": [f"at most {MAX_PERIOD_DAYS} days after period_start"]},
        )
    return (
        datetime.combine(start, time(), UTC),
        datetime.combine(end, time(), UTC),
    )


# -- a period's rows, from each source ------------------------------------------------
MAX_IMPORT_CHARS = 64 * 1024 * 1024  # a report or statement, as one RPC argument


def _parsed(rows: Iterator[ProviderRow]) -> Iterator[ProviderRow]:
    """A file's rows; a bad line refuses the whole import with the line named."""
    try:
        yield from rows
    except ValueError as exc:
        raise InvalidRequest(
            str(exc), "invalid_file", {"content": [str(exc)]}
        ) from None


def _guarded(rows: Iterator[ProviderRow]) -> Iterator[ProviderRow]:
    """A provider's rows; if it stops answering, nothing is recorded."""
    try:
        yield from rows
    except stripe.StripeError as exc:
        raise ProviderUnavailable(
            f"the provider did not answer ({type(exc).__name__}); nothing was "
            "recorded: try again",
            "provider_unavailable",
        ) from None


def provider_rows(
    providers: dict[str, Provider],
    provider: str,
    source: str,
    content: Any,
    start: datetime,
    end: datetime,
) -> Iterator[ProviderRow] | staging.ItemizedReport:
    """The period's rows as `start` stages them: pulled from the provider's API, or
    read from the file finance gave (Stripe's itemized report, the bank's
    statement). Lazily: a bad line or a provider that stops answering refuses the
    import as it is staged, and nothing is recorded."""
    if source == "api":
        if content:  # a file given with the API's source would be dropped unread
            raise InvalidRequest(
                "a file is read only from a file source: choose itemized_csv or "
                "bank_statement, or send no content",
                "content_not_expected",
                {"content": ["only with source itemized_csv or bank_statement"]},
            )
        if provider == "bank_file":
            raise InvalidRequest(
                "a bank has no API here: import its statement",
                "invalid_source",
                {"source": ["bank_statement for bank_file"]},
            )
        engine = providers.get(provider)
        pull = getattr(engine, "pull", None)
        if pull is None:
            raise InvalidRequest(f"{provider} is not configured", "no_provider")
        return _guarded(pull(start, end))
    if not isinstance(content, str) or not content.strip():
        raise InvalidRequest(
            "give the file's content", "content_required", {"content": ["required"]}
        )
    if len(content) > MAX_IMPORT_CHARS:
        raise InvalidRequest(
            "the file is too large for one import; split the period",
            "content_too_large",
        )
    lines = io.StringIO(content)
    if source == "itemized_csv" and provider == "stripe_connect":
        return staging.ItemizedReport(lines)
    if source == "bank_statement" and provider == "bank_file":
        return _parsed(statement_rows(lines))
    raise InvalidRequest(
        f"{source} is not a source for {provider}",
        "invalid_source",
        {"source": ["api; itemized_csv (stripe_connect); bank_statement (bank_file)"]},
    )


# -- matching ------------------------------------------------------------------------
# our side against the staged rows (each with its payout, resolved as it was staged)
# in one full join: a payout with no payment is missing, a row with no payout is
# unexpected; a CASE per pair; the counts per run from what the insert returns
CLASSIFY = text(
    """
    WITH sent AS (  -- each stipend's standing ledger send in the period
        SELECT DISTINCT ON (e.stipend_id) e.stipend_id, po.amount_minor AS ledger_minor
        FROM journal_entries e
        JOIN postings po ON po.entry_id = e.id
         AND po.account = ANY(CAST(:clearing AS text[]))
        WHERE e.kind = 'payout_sent' AND e.posted_at >= :start AND e.posted_at < :end
        ORDER BY e.stipend_id, e.id DESC
    ), ours AS (  -- sent in the period, or named by the provider's rows
        SELECT p.id, p.run_id, p.amount_minor, p.currency, p.status, p.provider_ref,
               s.ledger_minor
        FROM payouts p
        LEFT JOIN sent s ON s.stipend_id = p.stipend_id AND p.status <> 'cancelled'
        WHERE p.provider = :provider
          AND (s.stipend_id IS NOT NULL OR p.id IN (
                SELECT payout_id FROM staged_rows WHERE payout_id IS NOT NULL))
    ), multi AS (  -- payouts with more than one payment (rare): only one a row
        -- names by our reference can have two (a transfer id is one row's, and
        -- finds one payout), so without such rows nothing is grouped
        SELECT payout_id FROM staged_rows
        WHERE kind = 'payment' AND payout_id IN (
            SELECT payout_id FROM staged_rows WHERE by_reference AND kind = 'payment')
        GROUP BY payout_id HAVING count(*) > 1
    ), chosen AS (  -- the one that counts: the transfer we hold, else the first
        SELECT DISTINCT ON (r.payout_id) r.payout_id, r.provider_ref
        FROM staged_rows r
        JOIN multi m ON m.payout_id = r.payout_id
        WHERE r.kind = 'payment'
        ORDER BY r.payout_id,
                 (r.provider_ref = (SELECT p.provider_ref FROM payouts p
                                    WHERE p.id = r.payout_id)) IS TRUE DESC,
                 r.created NULLS LAST, r.provider_ref
    ), rev AS (
        SELECT payout_id, sum(amount_minor) AS reversed
        FROM staged_rows WHERE kind = 'reversal' AND payout_id IS NOT NULL
        GROUP BY payout_id
    ), theirs AS (  -- `pays`: the payout a payment settles (not a second payment)
        SELECT r.provider_ref, r.kind, r.amount_minor, r.currency, r.status,
               r.balance_minor, r.payout_id, r.settled,
               CASE WHEN r.kind = 'payment' AND (c.provider_ref IS NULL
                                                 OR c.provider_ref = r.provider_ref)
                    THEN r.payout_id END AS pays
        FROM staged_rows r
        LEFT JOIN chosen c ON c.payout_id = r.payout_id
    ), pairs AS (
        SELECT o.id, o.run_id, o.amount_minor, o.currency, o.status, o.ledger_minor,
               t.provider_ref, t.kind, t.amount_minor AS t_amount,
               t.currency AS t_currency, t.status AS t_status, t.balance_minor,
               t.settled, rev.reversed,
               -- the payout of a row left over (rare): ours? Looked up by its key
               -- for those rows only, not joined for every pair
               CASE WHEN o.id IS NULL AND t.payout_id IS NOT NULL THEN (
                   SELECT p FROM payouts p
                   WHERE p.id = t.payout_id AND p.provider = :provider) END AS q
        FROM ours o
        FULL JOIN theirs t ON t.pays = o.id
        LEFT JOIN rev ON rev.payout_id = o.id
        OFFSET 0  -- each pair's look-up once
    ), judged AS (
        SELECT coalesce(id, (q).id) AS payout_id,
               coalesce(run_id, (q).run_id) AS run_id,
               provider_ref,
               coalesce(amount_minor, (q).amount_minor) AS ours_minor,
               t_amount AS theirs_minor,
               coalesce(currency, (q).currency) AS ours_currency,
               t_currency AS theirs_currency,
               CASE
                 WHEN id IS NULL THEN
                   CASE WHEN (q).id IS NULL THEN 'unexpected_at_provider'
                        WHEN kind = 'payment' THEN 'duplicate'
                   END  -- a reversal of ours: in `rev`
                 WHEN provider_ref IS NULL THEN
                   CASE WHEN status IN ('sent', 'paid') THEN 'missing_at_provider' END
                 -- booked again: a signed-off period accounted for it
                 WHEN settled THEN 'already_reconciled'
                 WHEN t_currency <> currency THEN 'currency_mismatch'
                 WHEN t_amount <> amount_minor
                   OR ledger_minor <> amount_minor
                   OR balance_minor <> -t_amount
                   THEN 'amount_mismatch'
                 WHEN coalesce(reversed, 0) > 0 OR t_status = 'returned' THEN
                   CASE WHEN status IN ('sent', 'paid')
                          OR coalesce(reversed, t_amount) < t_amount
                        THEN 'reversed' END
                 WHEN t_status IN ('failed', 'canceled')
                   AND status IN ('sent', 'paid') THEN 'status_mismatch'
                 WHEN t_status = 'posted'
                   AND status NOT IN ('sent', 'paid') THEN 'status_mismatch'
                 WHEN t_status = 'pending' AND status = 'paid'
                   THEN 'status_mismatch'
               END AS kind,
               -- matched, but paid twice: the second payment is the difference
               id IS NOT NULL AND id IN (SELECT payout_id FROM multi) AS twice,
               id IS NULL AND (q).id IS NOT NULL AND kind = 'reversal' AS counted
        FROM pairs
    ), stored AS (
        INSERT INTO reconciliation_items
            (reconciliation_id, kind, payout_id, run_id, provider_ref, ours_minor,
             theirs_minor, ours_currency, theirs_currency, state)
        SELECT :rid, kind, payout_id, run_id, provider_ref, ours_minor,
               theirs_minor, ours_currency, theirs_currency, 'open'
        FROM judged WHERE kind IS NOT NULL
        RETURNING run_id
    )
    SELECT run_id, sum(matched) AS matched, sum(discrepancies) AS discrepancies
    FROM (  -- one pass over the judged pairs, hashed by run
        SELECT run_id,
               count(*) FILTER (WHERE kind IS NULL AND NOT twice AND NOT counted)
                 AS matched,
               0 AS discrepancies
        FROM judged GROUP BY run_id
        UNION ALL
        SELECT run_id, 0, count(*) FROM stored GROUP BY run_id
    ) x
    GROUP BY run_id
    HAVING sum(matched) + sum(discrepancies) > 0
    """
)


def classify(session: Session, rec: Reconciliation) -> list[dict[str, Any]]:
    """Match the staged rows and store the differences; the counts per payout run
    (None: rows that belong to no run of ours)."""
    start, end = period_bounds(rec.period_start, rec.period_end)
    staging.quick_statistics(session, "staged_rows")
    per_run = [
        {
            "run_id": r.run_id,
            "matched": int(r.matched),
            "discrepancies": int(r.discrepancies),
        }
        for r in session.execute(
            CLASSIFY,
            {
                "rid": rec.id,
                "provider": rec.provider,
                "clearing": ledger.clearings(session, rec.provider),
                "start": start,
                "end": end,
            },
        )
    ]
    staging.keep_for_items(session, rec.id)
    periods.keep_late_bookings(session, rec.id, start, end)
    rec.matched = sum(r["matched"] for r in per_run)
    rec.discrepancies = sum(r["discrepancies"] for r in per_run)
    return per_run


def start(
    session: Session,
    actor: Actor,
    provider: str,
    period_start: date,
    period_end: date,
    source: str,
    rows: Iterable[ProviderRow] | staging.ItemizedReport,
    now: datetime,
) -> tuple[Reconciliation, list[dict[str, Any]]]:
    """Stage and classify a period, as of `now`. An open reconciliation of the same
    provider whose period overlaps it is superseded (its decisions with it); a
    signed-off one stands, and a period overlapping it is refused. Each run
    with payouts in it is told reconciled (`reconciliation.completed.v1`)."""
    actor.require(FINANCE)
    if provider not in PROVIDERS:
        raise InvalidRequest(
            f"no provider {provider}", "invalid_provider", {"provider": ["unknown"]}
        )
    period_bounds(period_start, period_end)
    if period_start > now.date():
        raise InvalidRequest(
            "this period has not begun; reconcile it once it has",
            "period_not_begun",
            {"period_start": ["today or earlier"]},
        )
    live = _overlapping(session, provider, period_start, period_end)
    replaced = None
    if live is not None:
        live.status = "superseded"
        replaced = live.id
        adjustments.withdraw(session, live, actor.id)  # its write-offs with it
        session.flush()
    rec = Reconciliation(
        id=uuid.uuid4(),
        provider=provider,
        period_start=period_start,
        period_end=period_end,
        source=source,
        status="open",
        provider_rows=0,
        matched=0,
        discrepancies=0,
        created_by=actor.id,
        created_at=now,
    )
    session.add(rec)
    session.flush()
    rec.provider_rows = staging.stage(session, rec.id, rows)
    start_at, end = period_bounds(period_start, period_end)
    periods.refuse_booked_before_made(session, end)  # of another period
    periods.refuse_misdated(session, start_at, end, source == "itemized_csv")
    periods.mark_settled(session, provider)  # booked again after a sign-off
    adjustments.record_figures(session, rec)
    per_run = classify(session, rec)
    session.add(
        PayoutAudit(
            actor_id=actor.id,
            action="reconcile",
            reason=f"{provider} {period_start}..{period_end} from {source}: "
            f"{rec.provider_rows} rows, {rec.matched} matched, "
            f"{rec.discrepancies} differences",
        )
    )
    for run in per_run:
        if run["run_id"] is None:
            continue
        outbox.add(  # finance hears of differences; each run is reconciled
            session,
            events.RECONCILIATION_COMPLETED.build(
                events.run_aggregate(run["run_id"]),
                run_id=run["run_id"],
                matched=run["matched"],
                discrepancies=run["discrepancies"],
                provider=provider,
                first_day=period_start.isoformat(),
                # stored [start, end): the last day is the one before the end
                last_day=(period_end - timedelta(days=1)).isoformat(),
            ),
        )
    session.flush()
    found: dict[str, int] = {}
    for kind, count in session.execute(
        select(ReconciliationItem.kind, func.count())
        .where(ReconciliationItem.reconciliation_id == rec.id)
        .group_by(ReconciliationItem.kind)
    ):
        found[str(kind)] = int(count)
    outbox.add(  # the insights read model counts differences and how long they stay
        session,
        events.RECONCILIATION_STARTED.build(
            f"reconciliation:{rec.id}",
            reconciliation_id=rec.id,
            provider=provider,
            by_kind=found,
            superseded_id=replaced,
        ),
    )
    return rec, per_run


def _overlapping(
    session: Session, provider: str, period_start: date, period_end: date
) -> Reconciliation | None:
    """The open reconciliation the period replaces, if one overlaps it. A period
    that overlaps a signed-off one is refused (a provider's row would be matched or
    written off twice); so is one overlapping two open ones (re-run one of them)."""
    found = session.scalars(
        select(Reconciliation)
        .where(
            Reconciliation.provider == provider,
            Reconciliation.period_start < period_end,
            Reconciliation.period_end > period_start,
            Reconciliation.status != "superseded",
        )
        .order_by(Reconciliation.period_start)
        .with_for_update()
    ).all()
    for rec in found:
        if rec.status != "signed_off":
            continue
        if (rec.period_start, rec.period_end) == (period_start, period_end):
            raise InvalidTransition(
                "this period is signed off; it stays as signed",
                "reconciliation_signed_off",
            )
        raise InvalidTransition(
            f"this period overlaps the signed-off reconciliation of "
            f"{rec.period_start} to {rec.period_end} (its last day excluded); choose "
            f"dates outside it",
            "reconciliation_overlaps",
        )
    if len(found) > 1:
        named = ", ".join(f"{r.period_start} to {r.period_end}" for r in found)
        raise InvalidTransition(
            f"this period overlaps the open reconciliations of {named}; re-run one "
            f"of those periods instead",
            "reconciliation_overlaps",
        )
    return found[0] if found else None


# -- reading -------------------------------------------------------------------------
def get(
    session: Session, reconciliation_id: uuid.UUID, lock: bool = False
) -> Reconciliation:
    rec = session.get(Reconciliation, reconciliation_id, with_for_update=lock)
    if rec is None:
        raise ReconciliationNotFound(
            f"no reconciliation {reconciliation_id}", "reconciliation_not_found"
        )
    return rec


def open_counts(
    session: Session, reconciliation_id: uuid.UUID
) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for kind, state, n in session.execute(
        select(ReconciliationItem.kind, ReconciliationItem.state, func.count())
        .where(ReconciliationItem.reconciliation_id == reconciliation_id)
        .group_by(ReconciliationItem.kind, ReconciliationItem.state)
    ):
        counts.setdefault(kind, {})[state] = n
    return counts


def whole_period(rec: Reconciliation) -> bool:
    """Whether `rec` was run once its period had ended (the period's end is the day
    after its last, UTC): before that, payments may still be booked in it."""
    return rec.created_at >= period_bounds(rec.period_start, rec.period_end)[1]


def replaced_by(session: Session, rec: Reconciliation) -> uuid.UUID | None:
    """For a superseded reconciliation, the newest run that overlaps its period
    (the one that stands, or replaced it in its turn)."""
    if rec.status != "superseded":
        return None
    return session.scalar(
        select(Reconciliation.id)
        .where(
            Reconciliation.provider == rec.provider,
            Reconciliation.period_start < rec.period_end,
            Reconciliation.period_end > rec.period_start,
            Reconciliation.status != "superseded",
            Reconciliation.created_at >= rec.created_at,
            Reconciliation.id != rec.id,
        )
        .order_by(Reconciliation.created_at.desc())
        .limit(1)
    )


def view(session: Session, rec: Reconciliation) -> dict[str, Any]:
    counts = open_counts(session, rec.id)
    return {
        "id": str(rec.id),
        "provider": rec.provider,
        "period_start": rec.period_start.isoformat(),
        "period_end": rec.period_end.isoformat(),
        "source": rec.source,
        "status": rec.status,
        "provider_rows": rec.provider_rows,
        "matched": rec.matched,
        "discrepancies": rec.discrepancies,
        "open_items": sum(c.get("open", 0) for c in counts.values()),
        "by_kind": counts,
        "created_by": str(rec.created_by),
        "created_at": rec.created_at.isoformat() if rec.created_at else None,
        # run once its period had ended: it holds every payment booked in it, and
        # only such a reconciliation is signed off
        "whole_period": whole_period(rec),
        "replaced_by": str(found) if (found := replaced_by(session, rec)) else None,
        "signed_off_by": str(rec.signed_off_by) if rec.signed_off_by else None,
        "signed_off_at": rec.signed_off_at.isoformat() if rec.signed_off_at else None,
        "sign_off_note": rec.sign_off_note,
        # per currency: the provider's figure and the ledger's clearing figure
        "figures": adjustments.figures(session, rec),
    }


def listing(session: Session, limit: int, offset: int) -> list[Reconciliation]:
    return list(
        session.scalars(
            select(Reconciliation)
            .where(Reconciliation.status != "superseded")
            .order_by(
                Reconciliation.period_start.desc(), Reconciliation.created_at.desc()
            )
            .limit(limit)
            .offset(offset)
        )
    )


def item_view(item: ReconciliationItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "kind": item.kind,
        "payout_id": str(item.payout_id) if item.payout_id else None,
        "run_id": str(item.run_id) if item.run_id else None,
        "provider_ref": item.provider_ref,
        "ours_minor": item.ours_minor,
        "theirs_minor": item.theirs_minor,
        "ours_currency": item.ours_currency,
        "theirs_currency": item.theirs_currency,
        "state": item.state,
        "resolution": item.resolution,
        "linked_payout_id": str(item.linked_payout_id)
        if item.linked_payout_id
        else None,
        "resolved_by": str(item.resolved_by) if item.resolved_by else None,
        "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
    }


def items(
    session: Session,
    reconciliation_id: uuid.UUID,
    state: str | None = None,
    kind: str | None = None,
    after: int = 0,
    limit: int = 100,
) -> list[ReconciliationItem]:
    """A page of the queue in id order (keyset: the items after id `after`)."""
    query = select(ReconciliationItem).where(
        ReconciliationItem.reconciliation_id == reconciliation_id,
        ReconciliationItem.id > after,
    )
    if state:
        query = query.where(ReconciliationItem.state == state)
    if kind:
        query = query.where(ReconciliationItem.kind == kind)
    return list(session.scalars(query.order_by(ReconciliationItem.id).limit(limit)))


LINK_WINDOW_DAYS = 31  # a payout may show at the provider up to a month after


def link_candidates(
    session: Session, rec: Reconciliation, limit: int = 500
) -> list[Payout]:
    """The payouts a difference of this reconciliation may be linked to, for a
    person to pick from: the provider's payouts created in the period or the month
    before it (a payment made late in one month is booked in the next), sent or
    settled or failed, the newest first."""
    start, end = period_bounds(rec.period_start, rec.period_end)
    return list(
        session.scalars(
            select(Payout)
            .where(
                Payout.provider == rec.provider,
                Payout.status.in_(("sent", "paid", "failed")),
                Payout.created_at >= start - timedelta(days=LINK_WINDOW_DAYS),
                Payout.created_at < end,
            )
            .order_by(Payout.created_at.desc(), Payout.id)
            .limit(limit)
        )
    )
