"""The stipends service's entrypoints: stipends (proposed from accepted reports),
their approvals, rejections and amendments, and a communicator's own."""

from __future__ import annotations

from typing import Any

from stipends.entrypoints.base import Entrypoints, ident, load
from stipends.exceptions import StipendsError
from stipends.logic import (
    activity,
    approvals,
    history,
    waiting,
)
from stipends.logic import approvals as approvals_logic  # beside an argument's name
from stipends.logic.actors import Actor
from stipends.schemas import (
    ActivityRequestSchema,
    AmendSchema,
    ApprovalOutcomeOutSchema,
    ApprovalOutSchema,
    ApproveManySchema,
    ApproveSchema,
    RejectSchema,
    StipendOutSchema,
    StipendsPageOutSchema,
    StipendsPageSchema,
)
from svyaz.commands import command
from svyaz.keys import GATEWAY, OPERATOR
from svyaz.rpc import rpc

STIPEND = StipendOutSchema()


class StipendsEntrypoints(Entrypoints):
    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def get_stipend(self, actor: Any, stipend_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            stipend, digest, given = approvals.stipend_view(
                session, who, ident(stipend_id)
            )
            view = {
                **STIPEND.dump(stipend),
                "digest": digest,
                "approvals": ApprovalOutSchema().dump(given, many=True),
                # in a payout run: no longer rejected, only its payout cancelled
                "committed": approvals.committed(session, stipend.id),
                "shared_destination_with": approvals.shared_with(session, who, stipend),
            }
        if not approvals.sees_staff(who):
            view.pop("proposed_by")
        return view

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def list_stipends(
        self, actor: Any, cycle_id: str, status: str | None = None
    ) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            found = approvals.list_stipends(session, who, ident(cycle_id), status)
            return STIPEND.dump(found, many=True)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def stipends_page(
        self,
        actor: Any,
        cycle_id: str,
        offset: int,
        limit: int,
        status: str | None = None,
    ) -> dict[str, Any]:
        """A console page of a cycle's stipends with pseudonyms, digests, approvals
        and the actor's own; `total` and `counts` over the whole cycle."""
        who = Actor.load(actor)
        data = load(
            StipendsPageSchema(),
            {"cycle_id": cycle_id, "offset": offset, "limit": limit, "status": status},
        )
        with self.db.transaction() as session:
            page = approvals.stipends_page(
                session,
                who,
                data["cycle_id"],
                data["offset"],
                data["limit"],
                data["status"],
            )
            return StipendsPageOutSchema().dump(page)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def approve_stipends(self, actor: Any, approvals: Any) -> list[dict[str, Any]]:
        """Approve 1 to 500 stipends ([{stipend_id, digest}]), each on its own: one
        outcome per item, a refused one with its code and message."""
        who = Actor.load(actor)
        data = load(ApproveManySchema(), {"approvals": approvals})
        wanted = [(a["stipend_id"], a["digest"]) for a in data["approvals"]]
        with self.db.transaction() as session:
            outcomes = approvals_logic.approve_stipends(session, who, wanted)
            return ApprovalOutcomeOutSchema().dump(outcomes, many=True)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def get_activity(
        self, actor: Any, kind: str, record_id: str
    ) -> list[dict[str, Any]]:
        """Who did what to a report, stipend or payout, and when, oldest first."""
        who = Actor.load(actor)
        data = load(ActivityRequestSchema(), {"kind": kind, "record_id": record_id})
        with self.db.transaction() as session:
            return activity.activity(session, who, data["kind"], data["record_id"])

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def approve_stipend(
        self, actor: Any, stipend_id: str, digest: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(ApproveSchema(), {"stipend_id": stipend_id, "digest": digest})
        with self.db.transaction() as session:
            result = approvals.approve_stipend(
                session, who, data["stipend_id"], data["digest"]
            )
            return {
                **STIPEND.dump(result.stipend),
                "slot": result.approval.slot,
                "remaining_budget_minor": result.remaining_budget_minor,
            }

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def reject_stipend(self, actor: Any, stipend_id: str, reason: str) -> Any:
        who = Actor.load(actor)
        data = load(RejectSchema(), {"stipend_id": stipend_id, "reason": reason})
        with self.db.transaction() as session:
            return STIPEND.dump(
                approvals.reject_stipend(
                    session, who, data["stipend_id"], data["reason"]
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def amend_stipend(
        self, actor: Any, stipend_id: str, amount_minor: int, reason: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(
            AmendSchema(),
            {"stipend_id": stipend_id, "amount_minor": amount_minor, "reason": reason},
        )
        with self.db.transaction() as session:
            return STIPEND.dump(
                approvals.amend_stipend(
                    session,
                    who,
                    data["stipend_id"],
                    data["amount_minor"],
                    data["reason"],
                )
            )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def own_stipends(self, actor: Any) -> list[dict[str, Any]]:
        """A communicator's stipends and their payments, newest cycle first."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return history.own_history(session, who)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def count_waiting_work(self, actor: Any) -> dict[str, int]:
        """The counts of the queues waiting for a program admin or finance (the
        first page after their sign-in)."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return waiting.waiting_work(session, who)
