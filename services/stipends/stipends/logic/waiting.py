"""What is waiting for a staff member: the counts their first page after sign-in
shows, each a queue of the consoles (counts only: no names, no amounts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from stipends.logic.actors import ADMIN, FINANCE, Actor
from stipends.models import ActivityReport, Approval, Stipend
from stipends.payouts.models import (
    PayoutReceipt,
    PayoutRun,
    Reconciliation,
    ReconciliationItem,
)


def _count(session: Session, query: Select[Any]) -> int:
    return int(session.execute(query).scalar_one())


def _rows(session: Session, model: Any, *where: Any) -> int:
    """How many rows of `model` meet `where`."""
    return _count(session, select(func.count()).select_from(model).where(*where))


def waiting_work(session: Session, actor: Actor) -> dict[str, int]:
    """An admin: reports submitted and not reviewed, stipends proposed that they
    may approve (not their own proposals, nor ones they approved already).
    Finance: payout runs built and not released, differences open in live
    reconciliations, payouts their payee says did not arrive. Someone with both
    roles sees both."""
    actor.require(ADMIN, FINANCE)
    found: dict[str, int] = {}
    if actor.is_(ADMIN):
        found["reports_to_review"] = _rows(
            session, ActivityReport, ActivityReport.status == "submitted"
        )
        # the ones this admin may approve: not their own proposal, not their own
        # stipend, not approved by them already
        mine = select(Approval.id).where(
            Approval.stipend_id == Stipend.id,
            Approval.approver_id == actor.id,
            Approval.voided_at.is_(None),
        )
        found["stipends_to_approve"] = _rows(
            session,
            Stipend,
            Stipend.status == "proposed",
            Stipend.proposed_by != actor.id,
            Stipend.communicator_id != actor.id,
            ~mine.exists(),
        )
    if actor.is_(FINANCE):
        found["runs_to_release"] = _rows(
            session, PayoutRun, PayoutRun.status == "draft"
        )
        found["differences_open"] = _count(
            session,
            select(func.count())
            .select_from(ReconciliationItem)
            .join(
                Reconciliation,
                Reconciliation.id == ReconciliationItem.reconciliation_id,
            )
            .where(ReconciliationItem.state == "open")
            .where(Reconciliation.status == "open"),
        )
        found["receipt_problems_open"] = _rows(
            session, PayoutReceipt, PayoutReceipt.problem_status == "open"
        )
    return found
