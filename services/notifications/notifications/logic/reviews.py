"""Stipends' facts about reports and stipends: work waits for program admins until
reviewed or decided, a communicator hears the outcome, and a report counts as
handed in for the cycle's reminder.

Each function is an `Act` (courier.Act): it runs in the transaction that claims the
event and returns the deliveries due now."""

from __future__ import annotations

from notifications.logic.courier import Fact
from notifications.logic.reminders import reported
from notifications.logic.work import APPROVAL, REPORT, work_arrived, work_done


def report_submitted(fact: Fact) -> None:
    who, data = fact.communicator_id, fact.data
    work_arrived(fact.session, REPORT, data["report_id"], who, fact.event.occurred_at)
    reported(fact.session, data["cycle_id"], who)


def report_reviewed(fact: Fact) -> list[int]:
    who, data = fact.communicator_id, fact.data
    work_done(fact.session, REPORT, data["report_id"], who, fact.event.occurred_at)
    return fact.tell(who, f"report_{data['decision']}")


def stipend_proposed(fact: Fact) -> None:
    who, data = fact.communicator_id, fact.data
    work_arrived(
        fact.session, APPROVAL, data["stipend_id"], who, fact.event.occurred_at
    )


def stipend_approved(fact: Fact) -> list[int]:
    who, data = fact.communicator_id, fact.data
    work_done(fact.session, APPROVAL, data["stipend_id"], who, fact.event.occurred_at)
    params = {"amount_minor": data["amount_minor"], "currency": data["currency"]}
    return fact.tell(who, "stipend_approved", params)


def stipend_rejected(fact: Fact) -> None:
    who, data = fact.communicator_id, fact.data
    work_done(fact.session, APPROVAL, data["stipend_id"], who, fact.event.occurred_at)


def report_feedback_given(fact: Fact) -> list[int]:
    """A mentor wrote on a report: its author is told to read it on their page
    (nothing of the text travels)."""
    return fact.tell(fact.communicator_id, "report_feedback")
