"""Reconciliation matching: our payouts against what the provider holds.

For Stripe Connect the provider side is the platform's transfers and their balance
transactions: a transfer `tr_` has a balance transaction of `type=transfer` with
`source == tr_` and `amount == -transfer.amount`; a reversal is `transfer_refund` with
`source == trr_`. The API speaks minor units. Each payout and each provider row ends
in exactly one class: matched, or one of the discrepancies below.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stipends.payouts.bankfiles import parse_statement_lines
from stipends.payouts.models import Payout

DISCREPANCIES = (
    "missing_at_provider",  # we think it went out; the provider has nothing
    "unexpected_at_provider",  # the provider has a transfer we did not make
    "amount_mismatch",
    "currency_mismatch",
    "duplicate",  # more than one provider transfer for one payout
    "status_mismatch",  # e.g. failed here, standing at the provider
    "reversed",  # paid here, reversed at the provider
    "balance_mismatch",  # the transfer's balance transaction disagrees with it
)


@dataclass(frozen=True)
class ProviderRow:
    """One money movement as a provider reports it, for a period's reconciliation.

    `kind` is `payment` (a transfer, an outbound payment, a booked bank line) or
    `reversal` (a transfer reversal, a returned payment); amounts are positive minor
    units. `reference` is our `payout:<id>` when the provider carries it (metadata, the
    bank line's remittance text); `parent_ref` names the payment a reversal undoes.
    `status` is the provider's word mapped to: posted, pending, failed, returned,
    canceled."""

    provider_ref: str
    kind: str
    amount_minor: int
    currency: str
    reference: str | None = None
    parent_ref: str | None = None
    balance_minor: int | None = None
    status: str = "posted"
    created: datetime | None = None


@dataclass(frozen=True)
class ProviderTransfer:
    id: str
    reference: str | None
    amount_minor: int
    currency: str
    reversed_minor: int = 0
    balance_minor: int | None = None  # the balance transaction's amount (negative)


@dataclass
class Report:
    matched: list[str] = field(default_factory=list)  # payout ids
    discrepancies: list[dict[str, Any]] = field(default_factory=list)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for d in self.discrepancies:
            counts[d["kind"]] = counts.get(d["kind"], 0) + 1
        return counts


def pull_stripe(client: Any, group: str | None = None) -> list[ProviderTransfer]:
    """Transfers (of one transfer group, or all) with their balance transactions."""
    params: Any = {"limit": 100}
    if group:
        params["transfer_group"] = group
    balances: dict[str, int] = {}
    for bt in client.v1.balance_transactions.list(
        {"type": "transfer", "limit": 100}
    ).auto_paging_iter():
        source = bt.source if isinstance(bt.source, str) else None
        if source:
            balances[source] = balances.get(source, 0) + int(bt.amount)
    found = []
    for transfer in client.v1.transfers.list(params).auto_paging_iter():
        metadata = transfer.metadata.to_dict() if transfer.metadata else {}
        found.append(
            ProviderTransfer(
                id=transfer.id,
                reference=metadata.get("payout_reference"),
                amount_minor=int(transfer.amount),
                currency=str(transfer.currency).upper(),
                reversed_minor=int(transfer.amount_reversed or 0),
                balance_minor=balances.get(transfer.id),
            )
        )
    return found


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


# -- a period's rows, from each source -----------------------------------------------
def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _when(epoch: Any) -> datetime | None:
    return datetime.fromtimestamp(int(epoch), UTC) if epoch else None


def pull_connect_period(
    client: Any, start: datetime, end: datetime
) -> Iterator[ProviderRow]:
    """The platform's transfers created in [start, end) with their balance
    transactions, and the reversals (`transfer_refund`) booked in it. A reversal of a
    transfer outside the period names its transfer when Stripe says which one."""
    created = {"gte": _epoch(start), "lt": _epoch(end)}
    balances: dict[str, int] = {}
    refunds: list[Any] = []
    for bt in client.v1.balance_transactions.list(
        {"created": created, "limit": 100}
    ).auto_paging_iter():
        source = bt.source if isinstance(bt.source, str) else None
        if not source:
            continue
        if bt.type == "transfer":
            balances[source] = balances.get(source, 0) + int(bt.amount)
        elif bt.type == "transfer_refund":
            refunds.append(bt)
    parents: dict[str, str] = {}
    for transfer in client.v1.transfers.list(
        {"created": created, "limit": 100}
    ).auto_paging_iter():
        metadata = transfer.metadata.to_dict() if transfer.metadata else {}
        yield ProviderRow(
            provider_ref=transfer.id,
            kind="payment",
            amount_minor=int(transfer.amount),
            currency=str(transfer.currency).upper(),
            reference=metadata.get("payout_reference"),
            balance_minor=balances.get(transfer.id),
            status="posted",
            created=_when(transfer.created),
        )
        if int(transfer.amount_reversed or 0):
            for reversal in client.v1.transfers.reversals.list(
                transfer.id, {"limit": 100}
            ).auto_paging_iter():
                parents[reversal.id] = transfer.id
    for bt in refunds:
        yield ProviderRow(
            provider_ref=str(bt.source),
            kind="reversal",
            amount_minor=abs(int(bt.amount)),
            currency=str(bt.currency).upper(),
            parent_ref=parents.get(str(bt.source)),
            balance_minor=int(bt.amount),
            status="posted",
            created=_when(bt.created),
        )


def statement_rows(lines: Iterable[str]) -> Iterator[ProviderRow]:
    """The bank's statement (the CSV `import_bank_statement` reads) as rows: a booked
    line is a payment, a returned one a payment the bank returned."""
    for n, line in enumerate(parse_statement_lines(lines), 2):
        yield ProviderRow(
            provider_ref=f"line:{n}",
            kind="payment",
            amount_minor=line.amount_minor,
            currency=line.currency,
            reference=line.reference,
            status="posted" if line.status == "booked" else "returned",
        )
