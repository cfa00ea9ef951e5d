"""What a provider reports, as rows to reconcile against our payouts: Stripe
Connect's transfers with their balance transactions (for one run, or a period with
its reversals) and the bank's statement. Reading only: nothing here touches our
database; matching and classifying are `stipends.logic.payouts`'s."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from stipends.payouts.bankfiles import parse_statement_lines
from svyaz.money import plain


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


PROVIDER_REF = 80  # characters of a provider's id we keep (reconciliation_items)


def line_ref(n: int, reference: str) -> str:
    """A statement line's id: `line:<n>`, and the bank's reference on it after a
    space (`line:7 RENT DEC`), cut to fit, so that finance can find in the bank's
    own statement a line that matches nothing of ours."""
    said = " ".join(reference.split())  # one line, whatever the bank wrote
    ref = f"line:{n} {said}" if said else f"line:{n}"
    return ref if len(ref) <= PROVIDER_REF else ref[: PROVIDER_REF - 1] + "…"


def said_of(provider_ref: str) -> str:
    """A provider's id as a sentence names it: a statement line by its number and
    the bank's reference (`statement line 7 (RENT DEC)`), any other id as it is."""
    if not provider_ref.startswith("line:"):
        return provider_ref
    n, _, said = provider_ref.removeprefix("line:").partition(" ")
    return f"statement line {n} ({said})" if said else f"statement line {n}"


def statement_rows(lines: Iterable[str]) -> Iterator[ProviderRow]:
    """The bank's statement (the CSV `import_bank_statement` reads) as rows: a booked
    line is a payment, a returned one a payment the bank returned."""
    for n, line in enumerate(parse_statement_lines(lines), 2):
        if line.amount_minor < 0:  # said as a file's fault, with its line
            raise ValueError(
                f"statement line {n}: amount {plain(line.amount_minor, line.currency)}"
                ": negative, not a payout's line: reconcile the payouts' lines "
                "(positive amounts) only"
            )
        yield ProviderRow(
            provider_ref=line_ref(n, line.reference),
            kind="payment",
            amount_minor=line.amount_minor,
            currency=line.currency,
            reference=line.reference,
            status="posted" if line.status == "booked" else "returned",
        )
