"""Finance's work on a period's reconciliation (see `reconciliation`): resolving
its differences one at a time or in bulk, and the sign-off.

- `link`: this provider row is that payout's; the payout follows the provider.
- `write_off`: accepted as it is, with a reason; its difference posted to a named
  account of the provider and currency (`adjustments`).
- `repay`: the money did not arrive: the payout fails and goes out again with a new
  attempt, only after the provider, asked by our reference, has no such payment.
- `sign_off`: the period over, every item resolved, the ledger's clearing figure
  equal to the provider's in every currency (`adjustments`), and the signer neither
  ran the reconciliation nor resolved any of its items. A reconciliation run before
  its period ended is refused (`require_whole_period`): a payment booked in the
  period after that run could never be reconciled once signed off (a period
  overlapping a signed-off one is refused).

Nothing here changes a payout except `link` and `repay`, which go through the
payouts' own outcomes (ledger reversal, `payout.failed.v1`, a new attempt).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stipends import events
from stipends.exceptions import InvalidRequest, InvalidTransition, NotAllowed
from stipends.logic.actors import FINANCE, Actor
from stipends.logic.payouts import adjustments
from stipends.logic.payouts.matching import DISCREPANCIES
from stipends.logic.payouts.outcomes import mark_failed, mark_paid
from stipends.logic.payouts.phases import order_of
from stipends.logic.payouts.reconciliation import (
    get,
    period_bounds,
    replaced_by,
    whole_period,
)
from stipends.payouts.models import (
    Payout,
    PayoutAudit,
    Reconciliation,
    ReconciliationItem,
    ReconciliationRow,
)
from stipends.payouts.providers import Provider
from svyaz import outbox

ACTIONS = ("link", "write_off", "repay")
# which differences each action can resolve
RESOLVES = {
    "link": (
        "unexpected_at_provider",
        "duplicate",
        "missing_at_provider",
        "status_mismatch",
    ),
    "write_off": DISCREPANCIES,
    "repay": ("missing_at_provider", "reversed", "status_mismatch"),
}
MAX_BULK = 1000


Lookup = Callable[[Payout], bool | None]  # does the provider hold a payment for it?


def asking(providers: dict[str, Provider]) -> Lookup:
    """Does the provider hold a payment for this payout (asked by our reference)?
    None when it cannot be asked or did not answer."""

    def provider_has(payout: Payout) -> bool | None:
        provider = providers.get(payout.provider)
        if provider is None:
            return None
        try:
            found = provider.find(order_of(payout), {})
        except Exception:  # noqa: BLE001  (not knowing is not "no")
            return None
        if found is None:
            return False
        return True if found.status in ("sent", "paid", "pending") else None

    return provider_has


def resolve(
    session: Session,
    actor: Actor,
    reconciliation_id: uuid.UUID,
    item_ids: list[int],
    action: str,
    reason: str,
    now: datetime,
    payout_id: uuid.UUID | None = None,
    provider_has: Lookup | None = None,
    write_off_to: str = "unexplained_differences",
) -> list[ReconciliationItem]:
    """Resolve open items with one action and one reason, all or none: an item that
    the action cannot resolve refuses the whole request."""
    actor.require(FINANCE)
    if action not in ACTIONS:
        raise InvalidRequest(
            f"no action {action}", "invalid_action", {"action": [f"one of {ACTIONS}"]}
        )
    if not item_ids or len(item_ids) > MAX_BULK or len(set(item_ids)) != len(item_ids):
        raise InvalidRequest(
            f"give 1 to {MAX_BULK} different items",
            "invalid_items",
            {"item_ids": [f"1 to {MAX_BULK} different ids"]},
        )
    rec = get(session, reconciliation_id, lock=True)
    if rec.status != "open":
        raise InvalidTransition(
            f"this reconciliation is {rec.status}", f"reconciliation_{rec.status}"
        )
    found = list(
        session.scalars(
            select(ReconciliationItem)
            .where(
                ReconciliationItem.reconciliation_id == rec.id,
                ReconciliationItem.id.in_(item_ids),
            )
            .order_by(ReconciliationItem.id)
            .with_for_update()
        )
    )
    if len(found) != len(item_ids):
        missing = sorted(set(item_ids) - {i.id for i in found})
        raise InvalidRequest(
            f"items {missing} are not in this reconciliation",
            "invalid_items",
            {"item_ids": [f"unknown: {missing}"]},
        )
    for item in found:
        if item.state != "open":
            raise InvalidTransition(
                f"item {item.id} is already {item.state}", "item_resolved"
            )
        if item.kind not in RESOLVES[action]:
            raise InvalidTransition(
                f"item {item.id} ({item.kind}) cannot be resolved by {action}",
                "action_not_for_kind",
            )
    if action == "link":
        _link(session, rec, found, payout_id)
    elif action == "repay":
        for item in found:
            _repay(session, rec, item, reason, provider_has)
    elif action == "write_off":  # each difference posted to the named account
        for item in found:
            adjustments.write_off(session, rec, item, reason, write_off_to, actor.id)
    for item in found:
        item.state = {"link": "linked", "write_off": "written_off", "repay": "repaid"}[
            action
        ]
        item.resolution = reason
        item.resolved_by = actor.id
        item.resolved_at = now
        session.add(
            PayoutAudit(
                run_id=item.run_id,
                payout_id=item.payout_id or item.linked_payout_id,
                actor_id=actor.id,
                action=f"reconciliation_{action}",
                reason=f"item {item.id} ({item.kind}): {reason}",
            )
        )
    session.flush()
    for item in found:  # after the flush: the outbox's insert would flush a half
        outbox.add(
            session,
            events.DIFFERENCE_RESOLVED.build(
                f"reconciliation:{rec.id}",
                reconciliation_id=rec.id,
                item_id=item.id,
                kind=item.kind,
                action=action,
            ),
        )
    return found


def _link(
    session: Session,
    rec: Reconciliation,
    found: list[ReconciliationItem],
    payout_id: uuid.UUID | None,
) -> None:
    """The provider rows of these items belong to this payout (same provider, amount
    and currency), and the payout follows the provider: a payment makes a payout
    that failed or is sent paid, a reversal makes a paid one failed. A payout being
    paid again (queued, calling) or already paid refuses a payment row: that would
    be a second payment, to write off or recover, not to link. The payout's own
    `missing_at_provider` item is resolved with it."""
    if payout_id is None:
        raise InvalidRequest(
            "name the payout to link to", "payout_required", {"payout_id": ["required"]}
        )
    payout = session.get(Payout, payout_id, with_for_update=True)
    if payout is None or payout.provider != rec.provider:
        raise InvalidRequest(
            f"no {rec.provider} payout {payout_id}",
            "invalid_payout",
            {"payout_id": ["not a payout of this provider"]},
        )
    missing_here = session.scalar(
        select(func.count()).where(
            ReconciliationItem.reconciliation_id == rec.id,
            ReconciliationItem.payout_id == payout_id,
            ReconciliationItem.kind == "missing_at_provider",
            ReconciliationItem.state == "open",
        )
    )
    for item in list(found):
        if item.kind == "missing_at_provider":
            if item.payout_id != payout_id:
                raise InvalidTransition(
                    f"item {item.id} is another payout's", "link_mismatch"
                )
            continue
        if (
            item.theirs_currency != payout.currency
            or item.theirs_minor != payout.amount_minor
        ):
            raise InvalidTransition(
                f"item {item.id} is {item.theirs_minor} {item.theirs_currency}; the "
                f"payout is {payout.amount_minor} {payout.currency}",
                "link_mismatch",
            )
        row = session.execute(
            select(ReconciliationRow.kind, ReconciliationRow.status).where(
                ReconciliationRow.reconciliation_id == rec.id,
                ReconciliationRow.provider_ref == item.provider_ref,
            )
        ).one()
        if row.kind == "reversal" or row.status in ("failed", "canceled", "returned"):
            if payout.status in ("sent", "paid"):
                mark_failed(session, payout, "returned", "linked by finance")
        elif payout.status in ("failed", "sent") or (
            payout.status == "paid" and missing_here
        ):
            if payout.status != "paid" and row.status == "posted":
                mark_paid(session, payout)
            payout.provider_ref = payout.provider_ref or item.provider_ref
        else:
            raise InvalidTransition(
                f"payout {payout.id} is {payout.status}: a payment linked to it would "
                "be a second one",
                f"payout_{payout.status}",
            )
        item.linked_payout_id = payout_id
    known = {i.id for i in found}
    for item in session.scalars(
        select(ReconciliationItem).where(
            ReconciliationItem.reconciliation_id == rec.id,
            ReconciliationItem.payout_id == payout_id,
            ReconciliationItem.kind == "missing_at_provider",
            ReconciliationItem.state == "open",
        )
    ):
        if item.id not in known:
            item.linked_payout_id = payout_id
            found.append(item)  # resolved below with the same reason and person


def _repay(
    session: Session,
    rec: Reconciliation,
    item: ReconciliationItem,
    reason: str,
    provider_has: Lookup | None,
) -> None:
    """The money did not arrive: fail the payout (ledger reversed, communicator told)
    and queue a new attempt. Refused while the provider holds a live payment for it,
    since a second one would pay twice."""
    if item.payout_id is None:
        raise InvalidTransition(f"item {item.id} names no payout", "no_payout")
    payout = session.get(Payout, item.payout_id, with_for_update=True)
    if payout is None:
        raise InvalidTransition(f"item {item.id} names no payout", "no_payout")
    if payout.status in ("queued", "calling", "planned", "cancelled"):
        raise InvalidTransition(
            f"payout {payout.id} is {payout.status}; nothing to re-pay",
            f"payout_{payout.status}",
        )
    if item.kind == "status_mismatch":
        theirs = session.scalar(
            select(ReconciliationRow.status).where(
                ReconciliationRow.reconciliation_id == rec.id,
                ReconciliationRow.provider_ref == item.provider_ref,
            )
        )
        if theirs not in ("failed", "canceled", "returned"):
            raise InvalidTransition(
                f"the provider shows payout {payout.id} as {theirs}: link it instead "
                "of paying again",
                "provider_has_payment",
            )
    if item.kind == "missing_at_provider" and payout.provider != "bank_file":
        held = provider_has(payout) if provider_has else None
        if held is None:
            raise NotAllowed(
                "the provider could not be asked whether it holds this payment; "
                "nothing was re-paid",
                "provider_unknown",
            )
        if held:
            raise InvalidTransition(
                f"the provider holds a payment for payout {payout.id}: link it "
                "instead of paying again",
                "provider_has_payment",
            )
    if payout.status in ("sent", "paid"):
        mark_failed(session, payout, "returned", f"reconciliation: {reason}"[:500])
    payout.move_to("queued")  # a new attempt, a new key
    payout.failure_code = None
    payout.next_attempt_at = datetime.now(UTC)


def require_whole_period(rec: Reconciliation, now: datetime) -> None:
    """Refuse (InvalidTransition) unless `rec` was run once its period had ended
    (its end is the day after its last, UTC): a reconciliation is signed off only
    then. Until then payments may be booked in it, and after a sign-off none of
    them could be reconciled (a period that overlaps a signed-off one is
    refused)."""
    if whole_period(rec):
        return
    last = (rec.period_end - timedelta(days=1)).isoformat()
    if now < period_bounds(rec.period_start, rec.period_end)[1]:
        raise InvalidTransition(
            f"this period is not over: its last day is {last}, and payments may "
            "still be booked in it; run its reconciliation again after that day and "
            "sign that off",
            "period_not_over",
        )
    raise InvalidTransition(
        f"this reconciliation was run before its period ended (its last day is "
        f"{last}): payments booked after it are not in it; run the period again and "
        "sign that off",
        "run_before_period_end",
    )


def sign_off(
    session: Session,
    actor: Actor,
    reconciliation_id: uuid.UUID,
    note: str,
    now: datetime,
) -> Reconciliation:
    actor.require(FINANCE)
    rec = get(session, reconciliation_id, lock=True)
    if rec.status == "superseded":
        newer = replaced_by(session, rec)
        raise InvalidTransition(
            "this reconciliation was replaced by a newer run of its period"
            + (f" (reconciliation {newer}): sign that one off" if newer else ""),
            "reconciliation_superseded",
        )
    if rec.status != "open":
        when = (
            f", on {rec.signed_off_at:%Y-%m-%d %H:%M} UTC" if rec.signed_off_at else ""
        )
        raise InvalidTransition(
            f"this reconciliation is signed off already{when}; it stays as signed",
            "reconciliation_signed_off",
        )
    require_whole_period(rec, now)
    open_items = session.scalar(
        select(func.count()).where(
            ReconciliationItem.reconciliation_id == rec.id,
            ReconciliationItem.state == "open",
        )
    )
    if open_items:
        raise InvalidTransition(
            f"{open_items} differences are still open", "items_open"
        )
    adjustments.check_figures(session, rec)  # the clearing figure is the provider's
    resolvers = set(
        session.scalars(
            select(ReconciliationItem.resolved_by)
            .where(
                ReconciliationItem.reconciliation_id == rec.id,
                ReconciliationItem.resolved_by.is_not(None),
            )
            .distinct()
        )
    )
    if actor.id == rec.created_by or actor.id in resolvers:
        raise NotAllowed(
            "a second finance person signs off: not the one who ran the "
            "reconciliation or resolved its differences",
            "segregation",
        )
    rec.status = "signed_off"
    rec.signed_off_by = actor.id
    rec.signed_off_at = now
    rec.sign_off_note = note
    session.add(
        PayoutAudit(
            actor_id=actor.id,
            action="reconciliation_sign_off",
            reason=f"{rec.provider} {rec.period_start}..{rec.period_end}: {note}",
        )
    )
    session.flush()
    return rec
