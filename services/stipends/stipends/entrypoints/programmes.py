"""The stipends service's entrypoints: programmes (funding, budgets, bands) and
their cycles (open, close, lock, progress), with each cycle's entitlements."""

from __future__ import annotations

from typing import Any

from stipends.entrypoints.base import Entrypoints, ident, load, now
from stipends.exceptions import StipendsError
from stipends.logic import (
    cycles,
    entitlement,
    programmes,
)
from stipends.logic.actors import Actor
from stipends.schemas import (
    ClosePreviewOutSchema,
    CycleOutSchema,
    CycleProgressOutSchema,
    CycleSchema,
    EntitlementOutSchema,
    FundingSchema,
    ProgrammeChangesSchema,
    ProgrammeOutSchema,
    ProgrammeSchema,
    ReverseFundingSchema,
)
from svyaz.commands import command
from svyaz.keys import GATEWAY, OPERATOR
from svyaz.rpc import rpc

CYCLE = CycleOutSchema()


class ProgrammesEntrypoints(Entrypoints):
    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def create_programme(self, actor: Any, programme: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(ProgrammeSchema(), programme)
        with self.db.transaction() as session:
            created = programmes.create_programme(session, who, data)
            view = programmes.programme_view(session, who, created.id)
        return ProgrammeOutSchema().dump(view)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def fund_programme(
        self, actor: Any, programme_id: str, amount_minor: int, idempotency_key: str
    ) -> dict[str, Any]:
        """Add to the budget once per `idempotency_key` (a uuid the client chose for
        this funding): sent again, it funds nothing and answers the same."""
        who = Actor.load(actor)
        data = load(
            FundingSchema(),
            {
                "programme_id": programme_id,
                "amount_minor": amount_minor,
                "idempotency_key": idempotency_key,
            },
        )
        with self.db.transaction() as session:
            programmes.fund_programme(
                session,
                who,
                data["programme_id"],
                data["amount_minor"],
                data["idempotency_key"],
            )
            view = programmes.programme_view(session, who, data["programme_id"])
        return ProgrammeOutSchema().dump(view)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def update_programme(
        self, actor: Any, programme_id: str, changes: Any
    ) -> dict[str, Any]:
        """Change name, tier amounts, eligibility rules or approval bands, as of
        `changes["version"]` (the programme's version the admin saw)."""
        who = Actor.load(actor)
        target = ident(programme_id, "programme_id")
        data = load(ProgrammeChangesSchema(), changes)
        version = data.pop("version")
        with self.db.transaction() as session:
            programmes.update_programme(session, who, target, version, data)
            view = programmes.programme_view(session, who, target)
        return ProgrammeOutSchema().dump(view)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def reverse_funding(
        self,
        actor: Any,
        entry_id: int,
        reason: str,
        programme_id: str | None = None,
    ) -> dict[str, Any]:
        """Reverse a funding entry booked by mistake, saying why; with
        `programme_id`, only an entry of that programme."""
        who = Actor.load(actor)
        data = load(
            ReverseFundingSchema(),
            {"entry_id": entry_id, "reason": reason, "programme_id": programme_id},
        )
        with self.db.transaction() as session:
            programme = programmes.reverse_funding(
                session, who, data["entry_id"], data["reason"], data["programme_id"]
            )
            view = programmes.programme_view(session, who, programme.id)
        return ProgrammeOutSchema().dump(view)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def get_programme(self, actor: Any, programme_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            view = programmes.programme_view(session, who, ident(programme_id))
        return ProgrammeOutSchema().dump(view)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def list_programmes(self, actor: Any) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return [
                ProgrammeOutSchema().dump(programmes.programme_view(session, who, p.id))
                for p in programmes.list_programmes(session, who)
            ]

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def list_cycles(
        self, actor: Any, programme_id: str | None = None
    ) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        wanted = ident(programme_id, "programme_id") if programme_id else None
        with self.db.transaction() as session:
            found = cycles.list_cycles(session, who, wanted)
            counts = cycles.payable(session, who, found)
            listed = CYCLE.dump(found, many=True)
        if counts is not None:  # staff: what a payout run would take from each
            for cycle, view in zip(found, listed, strict=True):
                view.update(counts[cycle.id])
        return listed

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def open_cycle(
        self, actor: Any, programme_id: str, period: str, deadline: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(
            CycleSchema(),
            {"programme_id": programme_id, "period": period, "deadline": deadline},
        )
        with self.db.transaction() as session:
            return CYCLE.dump(
                cycles.open_cycle(
                    session, who, data["programme_id"], data["period"], data["deadline"]
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def close_cycle(self, actor: Any, cycle_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            closed = entitlement.close_cycle(session, who, ident(cycle_id), now())
            return {
                "cycle": CYCLE.dump(closed.cycle),
                "entitlements": EntitlementOutSchema().dump(
                    closed.entitlements, many=True
                ),
            }

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def get_cycle_progress(self, actor: Any, cycle_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return CycleProgressOutSchema().dump(
                cycles.cycle_progress(session, who, ident(cycle_id), now())
            )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def preview_close_cycle(self, actor: Any, cycle_id: str) -> dict[str, Any]:
        """What close_cycle would find now, and what stands in its way; writes
        nothing."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return ClosePreviewOutSchema().dump(
                entitlement.preview_close(session, who, ident(cycle_id), now())
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def lock_cycle(self, actor: Any, cycle_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return CYCLE.dump(cycles.lock_cycle(session, who, ident(cycle_id)))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def list_entitlements(self, actor: Any, cycle_id: str) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            found = entitlement.list_entitlements(session, who, ident(cycle_id))
            return EntitlementOutSchema().dump(found, many=True)
