"""Stipends' facts about reports and stipends: work waits for program admins until
reviewed or decided, a communicator hears the outcome, and a report counts as
handed in for the cycle's reminder.

Money is told as final or corrected (issue 23). An approved stipend can still be
undone before it enters a payout run: rejected after approval, or sent back to
awaiting approval when the payee's payout details change (stipends'
`approvals.payee_changed`). `StipendNotice` keeps, per stipend, its last state (as
of the event that set it) and whether "approved" was announced: an approval undone
after it was announced is followed by a correction (`stipend_withdrawn`,
`stipend_on_hold`); an approval whose event arrives after the one that undid it is
not announced at all. Once in a run, the stipend cannot be rejected or re-opened
(its commitment is posted), and the payout's own mail (paid, failed) follows.

Each function is an `Act` (courier.Act): it runs in the transaction that claims the
event and returns the deliveries due now."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from notifications.logic.courier import Act
from notifications.logic.deliveries import notify
from notifications.logic.fact import Fact
from notifications.logic.recipients import Recipient
from notifications.logic.reminders import reported
from notifications.logic.work import (
    APPROVAL,
    REPORT,
    STRATEGY,
    work_arrived,
    work_done,
)
from notifications.models import ReportingCycle, StipendNotice


def report_submitted(fact: Fact) -> None:
    work_arrived(fact, REPORT, fact.data["report_id"])
    reported(fact.session, fact.data["cycle_id"], fact.communicator_id)


def report_reviewed(fact: Fact) -> list[int]:
    """The author hears the decision, naming the cycle's month when the cycle's
    opening was heard (`ReportingCycle`); without it, the message names none."""
    work_done(fact, REPORT, fact.data["report_id"])
    cycle = (
        fact.session.get(ReportingCycle, fact.data["cycle_id"])
        if fact.data.get("cycle_id")
        else None
    )
    params = {"period": cycle.period} if cycle is not None else {}
    return fact.tell(fact.communicator_id, f"report_{fact.data['decision']}", params)


def stipend_now(
    session: Session,
    data: dict[str, Any],
    state: str,
    at: datetime,
) -> StipendNotice | None:
    """Record that the stipend is `state` as of `at`: its notice, locked, when this
    event is the latest word about it; None when a later one was handled already
    (the late event then tells nobody anything)."""
    amount = {key: data[key] for key in ("amount_minor", "currency") if key in data}
    created = session.execute(
        insert(StipendNotice)
        .values(
            stipend_id=data["stipend_id"],
            communicator_id=data["communicator_id"],
            state=state,
            as_of=at,
            announced=False,
            **amount,
        )
        .on_conflict_do_nothing()
        .returning(StipendNotice.stipend_id)
    ).first()
    notice = session.scalars(
        select(StipendNotice)
        .where(StipendNotice.stipend_id == data["stipend_id"])
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if created is not None:
        return notice
    if notice.as_of > at:  # a tie: the later one, as for work items
        return None
    notice.state, notice.as_of = state, at
    for key, value in amount.items():
        setattr(notice, key, value)
    return notice


def _correct(fact: Fact, notice: StipendNotice | None, template: str) -> list[int]:
    """The correction of an approval announced before, if one was."""
    if notice is None or not notice.announced:
        return []
    notice.announced = False
    params = {"amount_minor": notice.amount_minor, "currency": notice.currency}
    return fact.tell(notice.communicator_id, template, params)


def stipend_proposed(fact: Fact) -> list[int]:
    """Awaiting approval: new, amended, or an approval voided because the payout
    details changed (then, if that approval was announced, `stipend_on_hold`)."""
    work_arrived(fact, APPROVAL, fact.data["stipend_id"], fact.data.get("proposed_by"))
    notice = stipend_now(fact.session, fact.data, "proposed", fact.at)
    return _correct(fact, notice, "stipend_on_hold")


def stipend_approved(fact: Fact) -> list[int]:
    """Announced unless a later event (rejected, back to awaiting approval) was
    handled already."""
    data = fact.data
    work_done(fact, APPROVAL, data["stipend_id"])
    notice = stipend_now(fact.session, data, "approved", fact.at)
    if notice is None or notice.announced:
        return []
    notice.announced = True
    params = {"amount_minor": data["amount_minor"], "currency": data["currency"]}
    return fact.tell(fact.communicator_id, "stipend_approved", params)


def stipend_rejected(fact: Fact) -> list[int]:
    """Turned down; an approval announced before is corrected
    (`stipend_withdrawn`)."""
    work_done(fact, APPROVAL, fact.data["stipend_id"])
    notice = stipend_now(fact.session, fact.data, "rejected", fact.at)
    return _correct(fact, notice, "stipend_withdrawn")


def strategy_shared(fact: Fact) -> None:
    """A shared strategy waits for a mentor's comment (the staff digest counts
    it), as the mentors' console says it waits."""
    work_arrived(fact, STRATEGY, fact.data["strategy_id"])


def strategy_shared_to(mentors: Sequence[Recipient]) -> Act:
    """`strategy_shared`, and the member's club coordinator (`mentors`, asked of
    the registry before the event is claimed) is told that a strategy waits in
    the mentors' console; nothing of it travels, not even whose it is."""

    def act(fact: Fact) -> list[int]:
        strategy_shared(fact)
        return _tell_mentors(fact, mentors, "strategy_shared")

    return act


def strategy_commented_to(mentors: Sequence[Recipient]) -> Act:
    """A mentor's comment: the strategy waits no longer, and its author is told to
    read it on their page. The author's answer: the club's coordinator
    (`mentors`, asked of the registry before the event is claimed, for an answer
    only) is told to read it in the mentors' console. Nothing of the text
    travels, nor whose it is."""

    def act(fact: Fact) -> list[int]:
        if not fact.data["by_mentor"]:
            return _tell_mentors(fact, mentors, "strategy_answer")
        work_done(fact, STRATEGY, fact.data["strategy_id"])
        return fact.tell(fact.communicator_id, "strategy_comment")

    return act


def report_feedback_given_to(mentors: Sequence[Recipient]) -> Act:
    """A mentor wrote on a report: its author is told to read it on their page. The
    author answered: the club's coordinator (`mentors`) is told to read it in the
    mentors' console. Nothing of the text travels."""

    def act(fact: Fact) -> list[int]:
        if not fact.data["by_mentor"]:
            return _tell_mentors(fact, mentors, "report_answer")
        return fact.tell(fact.communicator_id, "report_feedback")

    return act


def _tell_mentors(fact: Fact, mentors: Sequence[Recipient], template: str) -> list[int]:
    return notify(
        fact.session,
        fact.event.event_id,
        mentors,
        template,
        {},
        fact.channels,
        fact.now,
    )
