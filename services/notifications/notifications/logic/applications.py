"""Registry's facts about applications and vouching: the applicant hears how their
application stands, program admins' work waits or is done, the member an applicant
named is asked to answer.

Each function is an `Act` (courier.Act): it runs in the transaction that claims the
event and returns the deliveries due now."""

from __future__ import annotations

from notifications.logic.fact import Fact
from notifications.logic.reminders import set_active
from notifications.logic.work import APPLICATION, work_arrived, work_done


def applied(fact: Fact) -> list[int]:
    who = fact.communicator_id
    work_arrived(fact, APPLICATION, who)
    return fact.tell(who, "application_received")


def activated(fact: Fact) -> list[int]:
    who = fact.communicator_id
    work_done(fact, APPLICATION, who)
    set_active(fact.session, who, True)
    return fact.tell(who, "application_accepted")


def rejected(fact: Fact) -> list[int]:
    who = fact.communicator_id
    work_done(fact, APPLICATION, who)
    return fact.tell(who, "application_rejected")


def vouch_requested(fact: Fact) -> list[int]:
    """The member an applicant named is asked to answer in their console; the
    message names nobody (the console shows whom)."""
    return fact.tell(fact.data["voucher_id"], "vouch_requested")
