"""Activity reports: a communicator drafts, submits and edits until the deadline (a
report submitted after it is marked late); an admin accepts, rejects or asks for
changes with a comment. The narrative and topics are redacted before they are stored,
and the author is told what was removed."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import literal, select
from sqlalchemy.orm import Session

from stipends import events
from stipends.exceptions import (
    CommunicatorNotFound,
    CycleNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
    ReportNotFound,
)
from stipends.logic.actors import ADMIN, COMMUNICATOR, Actor
from stipends.logic.programmes import by_id, get_cycle
from stipends.logic.redaction import MARKERS, redact
from stipends.logic.strategies import current_shared, current_shared_id
from stipends.models import ActivityReport, Communicator, Cycle
from svyaz import outbox

CONTENT = (
    "conversations",
    "audiences",
    "channels",
    "topics",
    "hours",
    "observed_change",
    "narrative",
)
DECISIONS = ("accepted", "rejected", "changes_requested")


@dataclass(frozen=True)
class Saved:
    report: ActivityReport
    redacted: list[str]  # what this save removed from the text, for the author


def get_report(
    session: Session, report_id: uuid.UUID, lock: bool = False
) -> ActivityReport:
    return by_id(session, ActivityReport, report_id, lock, ReportNotFound, "report")


def _own(session: Session, actor: Actor, report_id: uuid.UUID) -> ActivityReport:
    actor.require(COMMUNICATOR)
    report = get_report(session, report_id, lock=True)
    if report.communicator_id != actor.id:
        raise ReportNotFound("no such report")  # someone else's: do not confirm it
    return report


def _reporter(session: Session, actor: Actor) -> Communicator:
    actor.require(COMMUNICATOR)
    return _active(session.get(Communicator, actor.id))


def _active(communicator: Communicator | None) -> Communicator:
    if communicator is None or communicator.erased:
        raise CommunicatorNotFound("no such communicator")
    if communicator.status != "active":
        raise NotAllowed(
            f"only an active communicator reports (yours is {communicator.status})",
            "not_active",
        )
    return communicator


def _reporting(
    session: Session, actor: Actor, cycle_id: uuid.UUID
) -> tuple[Communicator, Cycle, uuid.UUID | None]:
    """What a new report needs, read in one query: its author (an active
    communicator), the cycle, and the id of the author's latest shared strategy
    version (None: none). Refused as `_reporter` then `get_cycle` refuse."""
    actor.require(COMMUNICATOR)
    anchor = select(literal(1).label("one")).subquery()  # one row, whatever is found
    communicator, cycle, version_id = session.execute(
        select(Communicator, Cycle, current_shared_id(actor.id))
        .select_from(anchor)
        .outerjoin(Communicator, Communicator.id == actor.id)
        .outerjoin(Cycle, Cycle.id == cycle_id)
    ).one()
    _active(communicator)
    if cycle is None:
        raise CycleNotFound("no such cycle")
    return communicator, cycle, version_id


def _shared_id(session: Session, communicator_id: uuid.UUID) -> uuid.UUID | None:
    version = current_shared(session, communicator_id)
    return version.id if version is not None else None


def _refer_to_strategy(
    report: ActivityReport, content: dict[str, Any], shared: uuid.UUID | None
) -> list[str]:
    """A report written while its author has a shared strategy (`shared`: the id
    of the latest version shared, None: none) refers to that version and says how
    the cycle went against it; without one, neither."""
    if shared is None:
        said = [k for k in ("strategy_progress", "strategy_note") if content.get(k)]
        if said:  # nothing to say it against: refused, not dropped unread
            raise InvalidRequest(
                "you have no shared strategy, so a report does not say how the cycle "
                "went against one: leave out strategy_progress and strategy_note (a "
                "professional communicator shares a strategy first)",
                "no_shared_strategy",
                {k: ["you have no shared strategy"] for k in said},
            )
        report.strategy_version_id = None
        report.strategy_progress = None
        report.strategy_note = None
        return []
    note = redact(content.get("strategy_note") or "")
    report.strategy_version_id = shared
    report.strategy_progress = content.get("strategy_progress") or None
    report.strategy_note = note.text or None
    return note.kinds


def _fill(report: ActivityReport, content: dict[str, Any]) -> list[str]:
    narrative = redact(content["narrative"])
    topics = [redact(t) for t in content["topics"]]
    report.conversations = content["conversations"]
    report.audiences = sorted(set(content["audiences"]))
    report.channels = sorted(set(content["channels"]))
    report.topics = [t.text for t in topics]
    report.hours = content["hours"]
    report.observed_change = content["observed_change"]
    report.narrative = narrative.text
    kinds = set(narrative.kinds).union(*(t.kinds for t in topics))
    # what this version lost: removed now, or removed before and its mark kept
    kept = " ".join([report.narrative, *report.topics])
    report.redactions = sorted(kinds | {k for k, m in MARKERS.items() if m in kept})
    return sorted(kinds)


def _check_cycle_takes_reports(cycle: Cycle) -> None:
    cycle.require_open()


def save_draft(
    session: Session,
    actor: Actor,
    cycle_id: uuid.UUID,
    content: dict[str, Any],
) -> Saved:
    """A new report, in draft."""
    communicator, cycle, shared = _reporting(session, actor, cycle_id)
    _check_cycle_takes_reports(cycle)
    report = ActivityReport(
        id=uuid.uuid4(),
        cycle_id=cycle.id,
        communicator_id=communicator.id,
        status="draft",
        late=False,
        redactions=[],
    )
    removed = _fill(report, content)
    referred = _refer_to_strategy(report, content, shared)
    removed = sorted(set(removed) | set(referred))
    session.add(report)
    session.flush()
    return Saved(report, removed)


def edit_report(
    session: Session,
    actor: Actor,
    report_id: uuid.UUID,
    content: dict[str, Any],
    now: datetime,
) -> Saved:
    """Change a draft, a report sent back for changes, or a submitted report before
    the deadline (it stays submitted and is announced again)."""
    report = _own(session, actor, report_id)
    _reporter(session, actor)
    cycle = get_cycle(session, report.cycle_id)
    _check_cycle_takes_reports(cycle)
    if not report.editable:
        raise InvalidTransition(
            f"a report that is {report.status} cannot be edited", "report_reviewed"
        )
    if report.status == "submitted" and now > cycle.deadline:
        raise InvalidTransition(
            "the deadline has passed: a submitted report can no longer be edited",
            "deadline_passed",
        )
    removed = _fill(report, content)
    shared = _shared_id(session, report.communicator_id)
    removed = sorted(set(removed) | set(_refer_to_strategy(report, content, shared)))
    if report.status == "submitted":
        _require_progress(report)
        report.changed_after_submission_at = now
        _announce_submission(session, report)
    return Saved(report, removed)


def _require_progress(report: ActivityReport) -> None:
    if report.strategy_version_id is not None and not report.strategy_progress:
        raise InvalidRequest(
            "say how the cycle went against your strategy, then submit",
            "strategy_progress_required",
            {"strategy_progress": ["required"]},
        )


def _announce_submission(session: Session, report: ActivityReport) -> None:
    outbox.add(
        session,
        events.REPORT_SUBMITTED.build(
            events.report_aggregate(report.id),
            report_id=report.id,
            communicator_id=report.communicator_id,
            cycle_id=report.cycle_id,
            late=report.late,
            **events.report_facts(report),
        ),
    )


def submit_report(
    session: Session, actor: Actor, report_id: uuid.UUID, now: datetime
) -> ActivityReport:
    report = _own(session, actor, report_id)
    _reporter(session, actor)
    cycle = get_cycle(session, report.cycle_id)
    _check_cycle_takes_reports(cycle)
    if report.status not in ("draft", "changes_requested"):
        raise InvalidTransition(
            f"a report that is {report.status} cannot be submitted",
            f"report_{report.status}",
        )
    _require_progress(report)
    report.move_to("submitted")
    report.submitted_at = now
    report.late = report.late or now > cycle.deadline
    _announce_submission(session, report)
    return report


def review_report(
    session: Session,
    actor: Actor,
    report_id: uuid.UUID,
    decision: str,
    comment: str,
    now: datetime,
) -> ActivityReport:
    actor.require(ADMIN)
    if decision not in DECISIONS:
        raise InvalidRequest(
            f"the decision must be one of {', '.join(DECISIONS)}",
            "invalid_decision",
            {"decision": ["unknown"]},
        )
    if decision != "accepted" and not comment.strip():
        raise InvalidRequest(
            "say why: a rejection or a request for changes needs a comment",
            "comment_required",
            {"comment": ["required"]},
        )
    report = get_report(session, report_id, lock=True)
    if report.communicator_id == actor.id:
        raise NotAllowed("nobody reviews their own report", "own_report")
    cycle = get_cycle(session, report.cycle_id)
    cycle.require_open()
    if report.status != "submitted":
        raise InvalidTransition(
            f"only a submitted report can be reviewed (this one is {report.status})",
            f"report_{report.status}",
        )
    report.move_to(decision)
    report.reviewed_by = actor.id
    report.reviewed_at = now
    report.review_comment = comment.strip() or None
    outbox.add(
        session,
        events.REPORT_REVIEWED.build(
            events.report_aggregate(report.id),
            report_id=report.id,
            communicator_id=report.communicator_id,
            cycle_id=report.cycle_id,
            decision=decision,
            **events.report_facts(report),
        ),
    )
    return report


def list_reports(
    session: Session, actor: Actor, cycle_id: uuid.UUID, status: str | None = None
) -> list[ActivityReport]:
    """An admin sees a cycle's reports; a communicator sees their own."""
    query = select(ActivityReport).where(ActivityReport.cycle_id == cycle_id)
    if actor.is_(ADMIN):
        query = query.where(ActivityReport.status != "draft")
    else:
        actor.require(COMMUNICATOR)
        query = query.where(ActivityReport.communicator_id == actor.id)
    if status:
        query = query.where(ActivityReport.status == status)
    return list(session.scalars(query.order_by(ActivityReport.created_at)))


def authors(
    session: Session, actor: Actor, found: list[ActivityReport]
) -> dict[uuid.UUID, str | None]:
    """The pseudonyms of these reports' authors, for an admin reviewing them (a
    communicator knows their own); None for a person erased."""
    if not actor.is_(ADMIN) or not found:
        return {}
    ids = {report.communicator_id for report in found}
    return dict(
        session.execute(
            select(Communicator.id, Communicator.pseudonym).where(
                Communicator.id.in_(ids)
            )
        ).all()
    )
