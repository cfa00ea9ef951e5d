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
    work_arrived(fact, REPORT, fact.data["report_id"])
    reported(fact.session, fact.data["cycle_id"], fact.communicator_id)


def report_reviewed(fact: Fact) -> list[int]:
    work_done(fact, REPORT, fact.data["report_id"])
    return fact.tell(fact.communicator_id, f"report_{fact.data['decision']}")


def stipend_proposed(fact: Fact) -> None:
    work_arrived(fact, APPROVAL, fact.data["stipend_id"])


def stipend_approved(fact: Fact) -> list[int]:
    data = fact.data
    work_done(fact, APPROVAL, data["stipend_id"])
    params = {"amount_minor": data["amount_minor"], "currency": data["currency"]}
    return fact.tell(fact.communicator_id, "stipend_approved", params)


def stipend_rejected(fact: Fact) -> None:
    work_done(fact, APPROVAL, fact.data["stipend_id"])


def report_feedback_given(fact: Fact) -> list[int]:
    """A mentor wrote on a report: its author is told to read it on their page
    (nothing of the text travels)."""
    return fact.tell(fact.communicator_id, "report_feedback")
