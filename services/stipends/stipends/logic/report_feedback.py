"""Feedback on activity reports: a report's thread between its author and the
author's mentors (who they are, and the rules of their words, are
stipends.logic.strategies'). A mentor writes first; the author can answer.
Notifications tells the author of a mentor's word, and of an answer the author's
club coordinator and the programme admins who wrote on the thread (ids only: the
text stays here, redacted before it is stored)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stipends import events
from stipends.exceptions import CommunicatorNotFound, InvalidTransition, ReportNotFound
from stipends.logic.actors import Actor
from stipends.logic.strategies import (
    admins_to_tell,
    cleaned_text,
    message_view,
    seen_by,
)
from stipends.models import ActivityReport, Cycle, ReportFeedback, StrategyVersion
from svyaz import outbox


def report_threads(
    session: Session,
    actor: Actor,
    communicator_id: uuid.UUID,
    clubs: Collection[uuid.UUID] = (),
) -> dict[str, Any]:
    """A communicator's reports (not drafts), newest cycle first, each with the
    strategy version it refers to and its feedback thread: for the author and the
    author's mentors only."""
    communicator, role = seen_by(session, actor, communicator_id, clubs)
    rows = session.execute(
        select(ActivityReport, Cycle.period)
        .join(Cycle, Cycle.id == ActivityReport.cycle_id)
        .where(
            ActivityReport.communicator_id == communicator.id,
            ActivityReport.status != "draft",
        )
        .order_by(Cycle.period.desc(), ActivityReport.created_at.desc())
    ).all()
    numbers: dict[uuid.UUID, int] = dict(
        session.execute(
            select(StrategyVersion.id, StrategyVersion.number).where(
                StrategyVersion.id.in_(
                    [r.strategy_version_id for r, _ in rows if r.strategy_version_id]
                )
            )
        ).all()
    )
    messages: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for message in session.scalars(
        select(ReportFeedback)
        .where(ReportFeedback.report_id.in_([r.id for r, _ in rows]))
        .order_by(ReportFeedback.created_at, ReportFeedback.id)
    ):
        messages.setdefault(message.report_id, []).append(message_view(message))
    return {
        "communicator_id": communicator.id,
        "pseudonym": communicator.pseudonym,
        "mentor": role is not None,
        "reports": [
            {
                "report": report,
                "period": period,
                "strategy_version": numbers.get(report.strategy_version_id),
                "feedback": messages.get(report.id, []),
            }
            for report, period in rows
        ],
    }


def give_report_feedback(
    session: Session,
    actor: Actor,
    report_id: uuid.UUID,
    body: str,
    clubs: Collection[uuid.UUID] = (),
) -> tuple[ReportFeedback, list[str]]:
    """A mentor's feedback on a report, or its author's answer (once a mentor has
    written). Notifications tells the author of the one; of the other, the
    author's club coordinator and the admins who wrote on the thread (an event
    with ids only)."""
    report = session.get(ActivityReport, report_id)
    if report is None or report.status == "draft":
        raise ReportNotFound("no such report")
    try:
        author, role = seen_by(session, actor, report.communicator_id, clubs)
    except CommunicatorNotFound:
        raise ReportNotFound("no such report") from None
    as_mentor = role is not None
    if not as_mentor:
        opened = session.scalar(
            select(func.count())
            .select_from(ReportFeedback)
            .where(ReportFeedback.report_id == report.id, ReportFeedback.by_mentor)
        )
        if not opened:
            raise InvalidTransition(
                "you can answer once your mentor has left feedback on this report",
                "feedback_not_opened",
            )
    text, kinds = cleaned_text(body, "body")
    message = ReportFeedback(
        id=uuid.uuid4(),
        report_id=report.id,
        author_id=actor.id,
        by_mentor=as_mentor,
        mentor_role=role,
        body=text,
    )
    session.add(message)
    session.flush()
    # the author is told of a mentor's word; of an answer, the club's coordinator
    # and the admins who wrote on the thread
    outbox.add(
        session,
        events.REPORT_FEEDBACK_GIVEN.build(
            events.report_aggregate(report.id),
            report_id=report.id,
            communicator_id=report.communicator_id,
            feedback_id=message.id,
            by_mentor=as_mentor,
            admin_mentors=admins_to_tell(
                session, ReportFeedback, ReportFeedback.report_id, report.id, as_mentor
            ),
        ),
    )
    return message, kinds
