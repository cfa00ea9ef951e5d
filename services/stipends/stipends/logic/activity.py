"""Who did what to a report, a stipend or a payout, and when, built only from what is
already recorded (nothing is written here). Each line: {at, actor_id, action,
detail}; `at` or `actor_id` is None where the record does not keep it.

What the records do not keep, so the trails cannot show:
- report: only the latest submission, the latest change after it was sent, and the
  latest review are kept (a report sent back and reviewed again shows its last
  review); a draft's edits are not kept;
- stipend: who voided an approval (the time and reason are kept); who amended it
  and when before stipends migration 0018 (the words are in its reasons);
- payout: see stipends.logic.payouts.trail.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest, ReportNotFound
from stipends.logic.actors import ADMIN, FINANCE, Actor
from stipends.logic.approvals import AMENDED, get_stipend
from stipends.logic.payouts import trail
from stipends.logic.programmes import get_cycle
from stipends.logic.reports import get_report
from stipends.models import Approval, JournalEntry, StipendAmendment

KINDS = ("report", "stipend", "payout")


def _line(
    at: datetime | None, actor_id: uuid.UUID | None, action: str, detail: str
) -> dict[str, Any]:
    return {
        "at": at.isoformat() if at else None,
        "actor_id": str(actor_id) if actor_id else None,
        "action": action,
        "detail": detail,
    }


def report_activity(session: Session, report_id: uuid.UUID) -> list[dict[str, Any]]:
    report = get_report(session, report_id)
    if report.status == "draft":  # staff never see drafts (as in list_reports)
        raise ReportNotFound("no such report")
    lines = [_line(report.created_at, report.communicator_id, "drafted", "")]
    if report.submitted_at:
        late = " (after the deadline)" if report.late else ""
        lines.append(
            _line(
                report.submitted_at,
                report.communicator_id,
                "submitted",
                f"latest submission{late}",
            )
        )
    if report.changed_after_submission_at:
        lines.append(
            _line(
                report.changed_after_submission_at,
                report.communicator_id,
                "changed",
                "changed after it was sent",
            )
        )
    if report.reviewed_at:
        # a submitted report that was reviewed was sent back for changes: no other
        # decision lets it be submitted again (models.REPORT_STEPS)
        decision = (
            report.status
            if report.status in ("accepted", "rejected", "changes_requested")
            else "changes_requested"
        )
        lines.append(
            _line(report.reviewed_at, report.reviewed_by, decision, "latest review")
        )
    return sorted(lines, key=lambda line: line["at"])


def stipend_activity(session: Session, stipend_id: uuid.UUID) -> list[dict[str, Any]]:
    stipend = get_stipend(session, stipend_id)
    cycle = get_cycle(session, stipend.cycle_id)
    amendments = [r for r in stipend.reasons if r.startswith(AMENDED)]
    lines = [
        _line(
            stipend.created_at,
            cycle.closed_by,
            "proposed",
            "proposed when the cycle was closed",
        )
    ]
    # who and when, kept since migration 0018 (earlier ones: the words alone)
    kept = list(
        session.scalars(
            select(StipendAmendment)
            .where(StipendAmendment.stipend_id == stipend.id)
            .order_by(StipendAmendment.id)
        )
    )
    unkept: list[StipendAmendment | None] = [None] * (len(amendments) - len(kept))
    for text, row in zip(amendments, unkept + kept, strict=False):
        lines.append(
            _line(
                row.amended_at if row else None,
                row.amended_by if row else None,
                "amended",
                text,
            )
        )
    for approval in session.scalars(
        select(Approval).where(Approval.stipend_id == stipend.id)
    ):
        lines.append(
            _line(
                approval.approved_at,
                approval.approver_id,
                "approved",
                f"slot {approval.slot}",
            )
        )
        if approval.voided_at:
            lines.append(
                _line(
                    approval.voided_at,
                    None,
                    "approval_voided",
                    f"slot {approval.slot}: {approval.void_reason or ''}".strip(),
                )
            )
    for entry in session.scalars(
        select(JournalEntry).where(JournalEntry.stipend_id == stipend.id)
    ):
        lines.append(
            _line(
                entry.posted_at,
                entry.actor_id,
                f"ledger:{entry.kind}",
                f"{entry.memo} (journal entry {entry.id})",
            )
        )
    if stipend.status == "rejected":
        lines.append(
            _line(
                stipend.decided_at,
                stipend.rejected_by,
                "rejected",
                stipend.rejection_reason or "",
            )
        )
    timed = sorted((line for line in lines if line["at"]), key=lambda line: line["at"])
    untimed = [line for line in lines if not line["at"]]
    # amendments made before their time was kept: right after the proposal
    return timed[:1] + untimed + timed[1:]


def payout_activity(session: Session, payout_id: uuid.UUID) -> list[dict[str, Any]]:
    payout = trail.get_payout(session, payout_id)
    return [
        {
            "at": line["at"],
            "actor_id": line["actor_id"],
            "action": line["action"],
            "detail": line["reason"],
        }
        for line in trail.trail(session, payout)
    ]


def activity(
    session: Session, actor: Actor, kind: str, record_id: uuid.UUID
) -> list[dict[str, Any]]:
    actor.require(ADMIN, FINANCE)
    if kind == "report":
        return report_activity(session, record_id)
    if kind == "stipend":
        return stipend_activity(session, record_id)
    if kind == "payout":
        return payout_activity(session, record_id)
    raise InvalidRequest(
        f"kind is one of {', '.join(KINDS)}", "invalid_kind", {"kind": list(KINDS)}
    )
