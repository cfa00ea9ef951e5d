"""Payout runs: built by finance from a cycle's approved stipends, shown with their
control totals, released by a finance person who confirms those totals, has just
passed a second factor, and approved none of the run's stipends."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stipends import events as payout_events
from stipends.exceptions import (
    CycleNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
    StipendsError,
)
from stipends.logic import payments
from stipends.logic.actors import FINANCE, Actor
from stipends.models import Approval, Communicator, Cycle, Stipend
from stipends.payouts.models import PROVIDERS, Payout, PayoutAudit, PayoutRun
from svyaz import outbox
from svyaz.errors import NotFound


class RunNotFound(StipendsError, NotFound):
    pass


class PayoutNotFound(StipendsError, NotFound):
    pass


@dataclass(frozen=True)
class Built:
    run: PayoutRun
    payouts: list[Payout]
    excluded: list[dict[str, str]]  # {"stipend_id", "reason"}


def control_totals(payouts: list[Payout]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for p in payouts:
        group = groups.setdefault(
            (p.currency, p.provider),
            {
                "currency": p.currency,
                "provider": p.provider,
                "count": 0,
                "sum_minor": 0,
            },
        )
        group["count"] += 1
        group["sum_minor"] += p.amount_minor
    return [groups[k] for k in sorted(groups)]


def digest(totals: list[dict[str, Any]], payout_ids: list[uuid.UUID]) -> str:
    body = json.dumps(
        {"totals": totals, "payouts": sorted(str(i) for i in payout_ids)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def build_run(
    session: Session,
    actor: Actor,
    cycle_id: uuid.UUID,
    corridor_providers: set[str],
) -> Built:
    """A draft run of every approved stipend of the cycle not yet in a payout.
    A stipend whose payee has no ready destination, or whose provider no corridor
    uses any more, is left out and listed with the reason."""
    actor.require(FINANCE)
    # the cycle's row serialises builds: two at once would take the same stipends
    cycle = session.get(Cycle, cycle_id, with_for_update=True)
    if cycle is None:
        raise CycleNotFound(f"no cycle {cycle_id}", "cycle_not_found")
    if cycle.status == "open":
        raise InvalidTransition("close the cycle before paying it", "cycle_open")
    taken = select(Payout.stipend_id).where(Payout.status != "cancelled")
    stipends = list(
        session.scalars(
            select(Stipend)
            .where(
                Stipend.cycle_id == cycle_id,
                Stipend.status == "approved",
                Stipend.id.not_in(taken),
            )
            .order_by(Stipend.id)
            .with_for_update()
        )
    )
    run = PayoutRun(
        id=uuid.uuid4(),
        cycle_id=cycle.id,
        programme_id=cycle.programme_id,
        status="draft",
        created_by=actor.id,
        totals=[],
        totals_digest="",
    )
    session.add(run)
    session.flush()
    payouts: list[Payout] = []
    excluded: list[dict[str, str]] = []
    for stipend in stipends:
        payee = session.get(Communicator, stipend.communicator_id)
        provider = payee.payout_provider if payee else None
        reason = None
        if payee is None or not payee.payout_ready or payee.erased:
            reason = "destination_not_ready"
        elif provider not in PROVIDERS or provider not in corridor_providers:
            reason = "no_corridor"
        if reason:
            excluded.append({"stipend_id": str(stipend.id), "reason": reason})
            continue
        assert payee is not None and provider is not None
        payouts.append(
            Payout(
                id=uuid.uuid4(),
                run_id=run.id,
                stipend_id=stipend.id,
                communicator_id=stipend.communicator_id,
                amount_minor=stipend.amount_minor,
                currency=stipend.currency,
                provider=provider,
                destination_fingerprint=payee.destination_fingerprint,
                status="planned",
                attempt=0,
                fee_minor=0,
                retries=0,
            )
        )
    if not payouts:
        raise InvalidTransition("no approved stipend is ready to be paid", "empty_run")
    session.add_all(payouts)
    run.totals = control_totals(payouts)
    run.totals_digest = digest(run.totals, [p.id for p in payouts])
    session.add(
        PayoutAudit(run_id=run.id, actor_id=actor.id, action="build", reason="built")
    )
    outbox.add(  # finance hears a run waits for release
        session,
        payout_events.RUN_BUILT.build(
            payout_events.run_aggregate(run.id),
            run_id=run.id,
            cycle_id=run.cycle_id,
            payouts=len(payouts),
        ),
    )
    session.flush()
    return Built(run, payouts, excluded)


def get_run(session: Session, run_id: uuid.UUID, lock: bool = False) -> PayoutRun:
    run = session.get(PayoutRun, run_id, with_for_update=lock)
    if run is None:
        raise RunNotFound(f"no payout run {run_id}", "run_not_found")
    return run


def run_payouts(session: Session, run_id: uuid.UUID) -> list[Payout]:
    return list(
        session.scalars(
            select(Payout).where(Payout.run_id == run_id).order_by(Payout.id)
        )
    )


def release_run(
    session: Session,
    actor: Actor,
    run_id: uuid.UUID,
    confirmed_digest: str,
    fresh_second_factor: bool,
    now: datetime,
) -> PayoutRun:
    """Commit every stipend of the run for payment and queue its payouts."""
    actor.require(FINANCE)
    if fresh_second_factor is not True:
        raise NotAllowed(
            "releasing a run needs a fresh second factor", "second_factor_required"
        )
    run = get_run(session, run_id, lock=True)
    payouts = check_release(session, actor, run, confirmed_digest)
    payments.commit_all_for_payment(session, [p.stipend_id for p in payouts])
    for payout in payouts:
        payout.move_to("queued")
        payout.next_attempt_at = now
    run.status = "released"
    run.released_by = actor.id
    run.released_at = now
    session.add(
        PayoutAudit(
            run_id=run.id, actor_id=actor.id, action="release", reason="released"
        )
    )
    outbox.add(  # its reconciliation falls due from now
        session,
        payout_events.RUN_RELEASED.build(
            payout_events.run_aggregate(run.id),
            run_id=run.id,
            released_at=now.isoformat(),
        ),
    )
    session.flush()
    return run


def check_release(
    session: Session, actor: Actor, run: PayoutRun, confirmed_digest: str
) -> list[Payout]:
    """Every rule of a release but the second factor: asked before the code is spent
    (a code is good once), and again under the run's lock."""
    actor.require(FINANCE)
    if run.status != "draft":
        raise InvalidTransition(
            f"the run is {run.status}, so it cannot be released again: read it to "
            "follow its payouts",
            f"run_{run.status}",
        )
    if confirmed_digest != run.totals_digest:
        raise InvalidTransition(
            "the control totals confirmed are not the run's: read the run again "
            "and confirm the totals it shows now",
            "totals_mismatch",
        )
    payouts = run_payouts(session, run.id)
    stipend_ids = [p.stipend_id for p in payouts]
    approvers = set(
        session.scalars(
            select(Approval.approver_id).where(Approval.stipend_id.in_(stipend_ids))
        )
    )
    if actor.id in approvers:
        raise NotAllowed(
            "you approved a stipend in this run: another finance person releases it",
            "releaser_approved",
        )
    stipends = {  # one statement for the run, not one a payout
        stipend.id: stipend
        for stipend in session.scalars(
            select(Stipend).where(Stipend.id.in_([p.stipend_id for p in payouts]))
        )
    }
    for payout in payouts:
        stipend = stipends.get(payout.stipend_id)
        if stipend is None or stipend.status != "approved":
            raise InvalidTransition(
                "a stipend of the run is no longer approved: build the run again",
                "stipend_changed",
            )
        if stipend.amount_minor != payout.amount_minor:
            raise InvalidTransition(
                "a stipend's amount changed: build the run again", "stipend_changed"
            )
    return payouts


def cancel_run(
    session: Session, actor: Actor, run_id: uuid.UUID, reason: str
) -> PayoutRun:
    """A draft run is dropped; its stipends can go into another run."""
    actor.require(FINANCE)
    if not reason.strip():
        raise InvalidRequest("give a reason", "reason_required")
    run = get_run(session, run_id, lock=True)
    if run.status != "draft":
        raise InvalidTransition(
            "only a draft run is cancelled; cancel its payouts one by one",
            f"run_{run.status}",
        )
    for payout in run_payouts(session, run.id):
        payout.move_to("cancelled")
    run.status = "cancelled"
    session.add(
        PayoutAudit(run_id=run.id, actor_id=actor.id, action="cancel", reason=reason)
    )
    session.flush()
    return run


MAX_LISTED_RUNS = 200


def list_runs(
    session: Session, cycle_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """The runs of a cycle (or of every cycle, the newest MAX_LISTED_RUNS), newest
    first, each as `run_view` shows it: two statements however many runs."""
    query = select(PayoutRun).order_by(PayoutRun.created_at.desc(), PayoutRun.id)
    if cycle_id is not None:
        if session.get(Cycle, cycle_id) is None:
            raise CycleNotFound(f"no cycle {cycle_id}", "cycle_not_found")
        query = query.where(PayoutRun.cycle_id == cycle_id)
    found = list(session.scalars(query.limit(MAX_LISTED_RUNS)))
    counts: dict[uuid.UUID, dict[str, int]] = {run.id: {} for run in found}
    if found:
        for run_id, status, count in session.execute(
            select(Payout.run_id, Payout.status, func.count())
            .where(Payout.run_id.in_(list(counts)))
            .group_by(Payout.run_id, Payout.status)
        ):
            counts[run_id][status] = count
    return [_view(run, counts[run.id]) for run in found]


def run_view(session: Session, run: PayoutRun) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for status, count in session.execute(
        select(Payout.status, func.count())
        .where(Payout.run_id == run.id)
        .group_by(Payout.status)
    ):
        counts[status] = count
    return _view(run, counts)


def _view(run: PayoutRun, counts: dict[str, int]) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "cycle_id": str(run.cycle_id),
        "programme_id": str(run.programme_id),
        "status": run.status,
        "totals": run.totals,
        "totals_digest": run.totals_digest,
        "created_by": str(run.created_by),
        "released_by": str(run.released_by) if run.released_by else None,
        "released_at": run.released_at.isoformat() if run.released_at else None,
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "payouts_by_status": counts,
    }


def payout_view(payout: Payout) -> dict[str, Any]:
    return {
        "id": str(payout.id),
        "run_id": str(payout.run_id),
        "stipend_id": str(payout.stipend_id),
        "communicator_id": str(payout.communicator_id),
        "amount_minor": payout.amount_minor,
        "currency": payout.currency,
        "provider": payout.provider,
        "status": payout.status,
        "attempt": payout.attempt,
        "idempotency_key": payout.idempotency_key,
        "provider_ref": payout.provider_ref,
        "fee_minor": payout.fee_minor,
        "failure_code": payout.failure_code,
        "retries": payout.retries,
        "deadline_at": payout.deadline_at.isoformat() if payout.deadline_at else None,
    }
