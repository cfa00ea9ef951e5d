"""Facts about a communicator's payouts: the payout setup they still need, a payout
paid, a payout failed (its svyaz.vocabulary code picks the template's advice on what
to fix), and finance's answer to a payment they said did not arrive.

Each function is an `Act` (courier.Act): it runs in the transaction that claims the
event and returns the deliveries due now."""

from __future__ import annotations

from notifications.logic.fact import Fact


def setup_needed(fact: Fact) -> list[int]:
    params = {"provider": fact.data["provider"]}
    return fact.tell(fact.communicator_id, "payout_setup_needed", params)


def _told(fact: Fact, template: str) -> list[int]:
    data = fact.data
    params = {"amount_minor": data["amount_minor"], "currency": data["currency"]}
    if "reason" in data:  # a svyaz.vocabulary code: the template words it
        params["reason"] = data["reason"]
    return fact.tell(fact.communicator_id, template, params)


def paid(fact: Fact) -> list[int]:
    return _told(fact, "payout_paid")


def failed(fact: Fact) -> list[int]:
    """Tells the communicator what to fix (the failure code picks the advice)."""
    return _told(fact, "payout_failed")


def receipt_resolved(fact: Fact) -> list[int]:
    """Finance looked into a payment the communicator said did not arrive: they
    are told what was found (the resolution code picks the words)."""
    params = {"resolution": fact.data["resolution"]}
    return fact.tell(fact.communicator_id, "receipt_resolved", params)
