"""Reconciliation matching: one run's payouts against what the provider holds.

For Stripe Connect the provider side is the platform's transfers and their balance
transactions: a transfer `tr_` has a balance transaction of `type=transfer` with
`source == tr_` and `amount == -transfer.amount`; a reversal is `transfer_refund` with
`source == trr_`. The API speaks minor units. Each payout and each provider row ends
in exactly one class: matched, or one of the discrepancies below. (A period's
reconciliation classifies in SQL by the same classes: `reconciliation`.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stipends import events
from stipends.exceptions import InvalidRequest
from stipends.logic.actors import FINANCE, Actor
from stipends.logic.payouts.runs import get_run
from stipends.payouts.models import Payout
from stipends.payouts.providers import Provider, StripeConnect
from stipends.payouts.statements import ProviderTransfer, pull_stripe
from svyaz import outbox

DISCREPANCIES = (
    "missing_at_provider",  # we think it went out; the provider has nothing
    "unexpected_at_provider",  # the provider has a transfer we did not make
    "amount_mismatch",
    "currency_mismatch",
    "duplicate",  # more than one provider transfer for one payout
    "status_mismatch",  # e.g. failed here, standing at the provider
    "reversed",  # paid here, reversed at the provider
    "balance_mismatch",  # the transfer's balance transaction disagrees with it
    # a payment booked again for a payout a signed-off period accounted for (a
    # period's reconciliation only: `reconciliation`)
    "already_reconciled",
)


@dataclass
class Report:
    matched: list[str] = field(default_factory=list)  # payout ids
    discrepancies: list[dict[str, Any]] = field(default_factory=list)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.discrepancies:
            counts[d["kind"]] = counts.get(d["kind"], 0) + 1
        return counts


def match(payouts: Iterable[Payout], transfers: Iterable[ProviderTransfer]) -> Report:
    report = Report()
    by_reference: dict[str, list[ProviderTransfer]] = {}
    unreferenced = []
    for t in transfers:
        if t.reference:
            by_reference.setdefault(t.reference, []).append(t)
        else:
            unreferenced.append(t)
    seen: set[str] = set()

    def flag(kind: str, payout: Payout | None, t: ProviderTransfer | None) -> None:
        report.discrepancies.append(
            {
                "kind": kind,
                "payout_id": str(payout.id) if payout else None,
                "transfer_id": t.id if t else None,
                "ours_minor": payout.amount_minor if payout else None,
                "theirs_minor": t.amount_minor if t else None,
            }
        )

    for payout in payouts:
        found = by_reference.get(payout.reference, [])
        seen.add(payout.reference)
        out = payout.status in ("sent", "paid")
        if not found:
            if out:
                flag("missing_at_provider", payout, None)
            continue
        if len(found) > 1:
            for extra in found[1:]:
                flag("duplicate", payout, extra)
        t = next((x for x in found if x.id == payout.provider_ref), found[0])
        if t.currency != payout.currency.upper():
            flag("currency_mismatch", payout, t)
        elif t.amount_minor != payout.amount_minor:
            flag("amount_mismatch", payout, t)
        elif t.balance_minor is not None and t.balance_minor != -t.amount_minor:
            flag("balance_mismatch", payout, t)
        elif t.reversed_minor >= t.amount_minor and payout.status == "paid":
            flag("reversed", payout, t)
        elif (t.reversed_minor < t.amount_minor) != out:
            flag("status_mismatch", payout, t)
        elif len(found) == 1:
            report.matched.append(str(payout.id))
    for reference, ts in by_reference.items():
        if reference not in seen:
            for t in ts:
                flag("unexpected_at_provider", None, t)
    for t in unreferenced:
        flag("unexpected_at_provider", None, t)
    return report


def reconcile_run(session: Session, client: Any, run_id: uuid.UUID) -> Report:
    payouts = session.scalars(
        select(Payout).where(
            Payout.run_id == run_id, Payout.provider == "stripe_connect"
        )
    ).all()
    return match(payouts, pull_stripe(client, f"run:{run_id}"))


def check_run(
    session: Session,
    actor: Actor,
    run_id: uuid.UUID,
    providers: dict[str, Provider],
) -> Report:
    """The run's Stripe payouts matched against the provider's transfers and balance
    transactions, each difference classified (nothing is changed); finance hears of
    the differences (`reconciliation.completed.v1`)."""
    actor.require(FINANCE)
    provider = providers.get("stripe_connect")
    if not isinstance(provider, StripeConnect):
        raise InvalidRequest("no Stripe provider is configured", "no_provider")
    run = get_run(session, run_id)
    report = reconcile_run(session, provider.client, run.id)
    outbox.add(  # finance hears of discrepancies; the run is reconciled
        session,
        events.RECONCILIATION_COMPLETED.build(
            events.run_aggregate(run.id),
            run_id=run.id,
            matched=len(report.matched),
            discrepancies=len(report.discrepancies),
            by_kind=report.kinds(),
            provider="stripe_connect",
        ),
    )
    return report
