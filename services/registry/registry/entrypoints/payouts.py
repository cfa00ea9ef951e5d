"""The registry's entrypoints: payout corridors and each communicator's payout setup
(Stripe, or bank details)."""

from __future__ import annotations

from typing import Any

from registry.entrypoints.base import Entrypoints, ident, load
from registry.exceptions import RegistryError
from registry.logic import (
    payouts,
)
from registry.logic.actors import Actor
from registry.schemas import (
    AccountUpdatedSchema,
    BankDetailsSchema,
    CorridorSchema,
)
from svyaz.commands import command
from svyaz.keys import GATEWAY, OPERATOR, STIPENDS
from svyaz.rpc import rpc
from svyaz.timers import timer


class PayoutsEntrypoints(Entrypoints):
    # -- payouts -------------------------------------------------------------------
    @rpc(callers={GATEWAY, STIPENDS, OPERATOR}, expected_exceptions=RegistryError)
    def list_corridors(self) -> list[dict[str, str]]:
        with self.db.transaction() as session:
            return [
                {"country": c.country, "provider": c.provider}
                for c in payouts.corridors(session)
            ]

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def set_corridor(self, actor: Any, country: str, provider: str) -> dict[str, str]:
        who = Actor.load(actor)
        data = load(CorridorSchema(), {"country": country, "provider": provider})
        with self.db.transaction() as session:
            row = payouts.set_corridor(session, who, data["country"], data["provider"])
            return {"country": row.country, "provider": row.provider}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def start_payout_setup(self, actor: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return payouts.start_payout_setup(session, self.keys, self.stripe, who)

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def refresh_payout_setup(self, actor: Any) -> dict[str, str]:
        """Back from a hosted onboarding: a Global Payouts recipient is checked with
        Stripe at once (Connect accounts are told by webhook)."""
        who = Actor.load(actor)
        who.require("communicator")
        with self.db.transaction() as session:
            return {
                "status": payouts.refresh_payout_setup(
                    session, self.keys, self.stripe, who
                )
            }

    @timer("RECIPIENT_CHECK_SECONDS", 300.0, eager=True)
    def check_recipients(self) -> None:
        """Global Payouts recipients still pending, asked every
        RECIPIENT_CHECK_SECONDS: ready once Stripe holds their payout method."""
        with self.db.transaction() as session:
            pending = payouts.pending_recipients(session)
        for communicator_id in pending:
            with self.db.transaction() as session:
                payouts.check_recipient(
                    session, self.keys, self.stripe, communicator_id
                )

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def set_bank_details(self, actor: Any, details: Any) -> dict[str, str]:
        who = Actor.load(actor)
        data = load(BankDetailsSchema(), details)
        with self.db.transaction() as session:
            payouts.set_bank_details(session, self.keys, who, data)
        return {"status": "ready"}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def stripe_account_updated(
        self, account_id: str, transfers_active: bool
    ) -> dict[str, bool]:
        data = load(
            AccountUpdatedSchema(),
            {"account_id": account_id, "transfers_active": transfers_active},
        )
        with self.db.transaction() as session:
            changed = payouts.stripe_account_updated(
                session, self.keys, data["account_id"], data["transfers_active"]
            )
        return {"changed": changed}

    @rpc(callers={STIPENDS}, expected_exceptions=RegistryError)
    def get_payout_destination(
        self, communicator_id: str, purpose: str
    ) -> dict[str, Any]:
        with self.db.transaction() as session:
            return payouts.payout_destination(
                session, self.keys, self.caller, ident(communicator_id), str(purpose)
            )
