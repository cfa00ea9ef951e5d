"""The stipends service: entrypoints only. Each loads its input with a schema, opens
one transaction, calls one logic function and dumps the result."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError

from stipends import logic
from stipends import metrics as stipends_metrics
from stipends.exceptions import InvalidRequest, StipendsError
from stipends.logic import (
    activity,
    approvals,
    entitlement,
    history,
    ledger,
    programmes,
    reports,
    strategies,
)
from stipends.logic import approvals as approvals_logic  # beside an argument's name
from stipends.logic.actors import COORDINATOR, Actor
from stipends.payouts import entrypoints as payout_entrypoints
from stipends.schemas import (
    AccountRequestSchema,
    ActivityRequestSchema,
    AmendSchema,
    ApprovalOutcomeOutSchema,
    ApprovalOutSchema,
    ApproveManySchema,
    ApproveSchema,
    ClosePreviewOutSchema,
    CommunicatorActivatedIn,
    CommunicatorAppliedIn,
    CommunicatorIdIn,
    CommunicatorPayoutReadyIn,
    CommunicatorSchema,
    CommunicatorTierChangedIn,
    CycleOutSchema,
    CycleProgressOutSchema,
    CycleSchema,
    EntitlementOutSchema,
    FundingSchema,
    MenteeOutSchema,
    MessageOutSchema,
    MessageRequestSchema,
    ProgrammeChangesSchema,
    ProgrammeOutSchema,
    ProgrammeSchema,
    RejectSchema,
    ReportContentSchema,
    ReportOutSchema,
    ReportThreadsOutSchema,
    ReverseFundingSchema,
    ReviewSchema,
    StipendOutSchema,
    StipendsPageOutSchema,
    StipendsPageSchema,
    StrategyContentSchema,
    StrategyVersionOutSchema,
    StrategyViewOutSchema,
)
from svyaz import arguments, inbox
from svyaz.commands import CommandUpkeep, command
from svyaz.dependencies import Database, OutboxRelay
from svyaz.envelope import ReceivedEvent
from svyaz.keys import FINANCE_CLI, GATEWAY, OPERATOR
from svyaz.messaging import BATCH, Unprocessable, event_handler, rpc
from svyaz.metrics import Observed
from svyaz.parking import ParkedMessagesEntrypoints

load = arguments.loader(InvalidRequest)
ident = arguments.id_loader(InvalidRequest)


def now() -> datetime:
    return datetime.now(UTC)


REPORT = ReportOutSchema()
STIPEND = StipendOutSchema()
CYCLE = CycleOutSchema()
REDACTION_NOTICE = (
    "Contacts and links were removed from your report before it was stored "
    "({kinds}). Describe outcomes, never who people are or how to reach them."
)


def saved(result: reports.Saved) -> dict[str, Any]:
    notice = (
        REDACTION_NOTICE.format(kinds=", ".join(result.redacted))
        if result.redacted
        else None
    )
    return {
        "report": REPORT.dump(result.report),
        "redacted": result.redacted,
        "notice": notice,
    }


def payload(schema: Schema, event: ReceivedEvent) -> dict[str, Any]:
    try:
        return schema.load(event.data)
    except ValidationError as exc:
        raise Unprocessable(f"bad payload: {exc.messages}") from None


# the mixin is reached through its module: `nameko run stipends.service` takes every
# class in this module with entrypoints for a service
class StipendsService(
    payout_entrypoints.PayoutEntrypoints, CommandUpkeep, ParkedMessagesEntrypoints
):
    name = "stipends"

    db = Database()
    outbox = OutboxRelay()
    observed = Observed(sample=stipends_metrics.sample)

    @event_handler("registry", "communicator.applied.v1", batch=BATCH)
    def on_communicator_applied(self, event: ReceivedEvent) -> None:
        data = payload(CommunicatorAppliedIn(), event)
        with self.db.transaction() as session:
            if inbox.claim(session, event):
                logic.record_applicant(
                    session, data["communicator_id"], data["pseudonym"]
                )

    def _fold(self, event: ReceivedEvent, schema: Schema) -> None:
        data = payload(schema, event)
        with self.db.transaction() as session:
            if inbox.claim(session, event):
                logic.registry_changed(session, event.event_type, data)

    @event_handler("registry", "communicator.activated.v1", batch=BATCH)
    def on_communicator_activated(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorActivatedIn())

    @event_handler("registry", "communicator.suspended.v1", batch=BATCH)
    def on_communicator_suspended(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.reinstated.v1", batch=BATCH)
    def on_communicator_reinstated(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.offboarded.v1", batch=BATCH)
    def on_communicator_offboarded(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.tier_changed.v1", batch=BATCH)
    def on_communicator_tier_changed(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorTierChangedIn())

    @event_handler("registry", "communicator.payout_ready.v1", batch=BATCH)
    def on_communicator_payout_ready(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorPayoutReadyIn())

    @event_handler("registry", "communicator.erased.v1", batch=BATCH)
    def on_communicator_erased(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def get_communicator(self, communicator_id: str) -> dict[str, Any]:
        try:
            ident = CommunicatorSchema().load({"id": communicator_id})["id"]
        except ValidationError as exc:
            raise InvalidRequest(
                "the request is invalid", "invalid_request", exc.messages_dict
            ) from None
        with self.db.transaction() as session:
            return CommunicatorSchema().dump(logic.get_communicator(session, ident))

    # -- programmes and cycles -----------------------------------------------------
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
    def reverse_funding(self, actor: Any, entry_id: int, reason: str) -> Any:
        who = Actor.load(actor)
        data = load(ReverseFundingSchema(), {"entry_id": entry_id, "reason": reason})
        with self.db.transaction() as session:
            programme = programmes.reverse_funding(
                session, who, data["entry_id"], data["reason"]
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
            return CYCLE.dump(programmes.list_cycles(session, who, wanted), many=True)

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
                programmes.open_cycle(
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
                programmes.cycle_progress(session, who, ident(cycle_id), now())
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
            return CYCLE.dump(programmes.lock_cycle(session, who, ident(cycle_id)))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def list_entitlements(self, actor: Any, cycle_id: str) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            found = entitlement.list_entitlements(session, who, ident(cycle_id))
            return EntitlementOutSchema().dump(found, many=True)

    # -- reports -------------------------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def save_report_draft(
        self, actor: Any, cycle_id: str, report: Any
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        cycle = ident(cycle_id, "cycle_id")
        content = load(ReportContentSchema(), report)
        with self.db.transaction() as session:
            return saved(reports.save_draft(session, who, cycle, content))

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def edit_report(self, actor: Any, report_id: str, report: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        target = ident(report_id, "report_id")
        content = load(ReportContentSchema(), report)
        with self.db.transaction() as session:
            return saved(reports.edit_report(session, who, target, content, now()))

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def submit_report(self, actor: Any, report_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        target = ident(report_id, "report_id")
        with self.db.transaction() as session:
            return REPORT.dump(reports.submit_report(session, who, target, now()))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    @command
    def review_report(
        self, actor: Any, report_id: str, decision: str, comment: str = ""
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(
            ReviewSchema(),
            {"report_id": report_id, "decision": decision, "comment": comment},
        )
        with self.db.transaction() as session:
            return REPORT.dump(
                reports.review_report(
                    session,
                    who,
                    data["report_id"],
                    data["decision"],
                    data["comment"],
                    now(),
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def list_reports(
        self, actor: Any, cycle_id: str, status: str | None = None
    ) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            found = reports.list_reports(session, who, ident(cycle_id), status)
            return REPORT.dump(found, many=True)

    # -- communication strategies and mentor feedback ------------------------------
    def _clubs(self, who: Actor) -> frozenset[uuid.UUID]:
        """The clubs a coordinator coordinates, as the registry (who owns clubs)
        says now; nobody else's matter (an admin mentors everyone)."""
        if not who.is_(COORDINATOR):
            return frozenset()
        return frozenset(
            uuid.UUID(club["id"])
            for club in self.registry.list_clubs()
            if club.get("coordinator_id") == str(who.id)
        )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def get_strategy(self, actor: Any, communicator_id: str) -> dict[str, Any]:
        """A communicator's strategy, its versions and discussion: for them or a
        mentor (their club's coordinator, an admin); a mentor sees shared versions
        only."""
        who = Actor.load(actor)
        target = ident(communicator_id, "communicator_id")
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            view = strategies.strategy_view(session, who, target, clubs)
            return StrategyViewOutSchema().dump(view)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def save_strategy(self, actor: Any, strategy: Any) -> dict[str, Any]:
        """Write one's strategy's draft (a revision after sharing is a new
        version); what was redacted comes back."""
        who = Actor.load(actor)
        content = load(StrategyContentSchema(), strategy)
        with self.db.transaction() as session:
            result = strategies.save_strategy(session, who, content)
            return {
                "version": StrategyVersionOutSchema().dump(result.version),
                "redacted": result.redacted,
            }

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def share_strategy(self, actor: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return StrategyVersionOutSchema().dump(
                strategies.share_strategy(session, who, now())
            )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def comment_on_strategy(
        self, actor: Any, communicator_id: str, body: Any
    ) -> dict[str, Any]:
        """A mentor's comment, or the communicator's answer, on the latest shared
        version."""
        who = Actor.load(actor)
        target = ident(communicator_id, "communicator_id")
        text = load(MessageRequestSchema(), {"body": body})["body"]
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            comment, removed = strategies.comment_on_strategy(
                session, who, target, text, clubs
            )
            return {"message": MessageOutSchema().dump(comment), "redacted": removed}

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def list_strategies_to_mentor(
        self, actor: Any, waiting_only: bool = False
    ) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            found = strategies.strategies_to_mentor(
                session, who, clubs, bool(waiting_only)
            )
            return MenteeOutSchema().dump(found, many=True)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def list_report_feedback(self, actor: Any, communicator_id: str) -> dict[str, Any]:
        """A communicator's reports with their feedback threads: for them and
        their mentors only."""
        who = Actor.load(actor)
        target = ident(communicator_id, "communicator_id")
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            return ReportThreadsOutSchema().dump(
                strategies.report_threads(session, who, target, clubs)
            )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def give_report_feedback(
        self, actor: Any, report_id: str, body: Any
    ) -> dict[str, Any]:
        """A mentor's feedback on a report, or its author's answer."""
        who = Actor.load(actor)
        target = ident(report_id, "report_id")
        text = load(MessageRequestSchema(), {"body": body})["body"]
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            message, removed = strategies.give_report_feedback(
                session, who, target, text, clubs
            )
            return {"message": MessageOutSchema().dump(message), "redacted": removed}

    # -- stipends ------------------------------------------------------------------
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

    # -- the ledger ----------------------------------------------------------------
    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=StipendsError)
    def get_trial_balance(self, actor: Any) -> dict[str, Any]:
        ledger.require_reader(Actor.load(actor))
        with self.db.transaction() as session:
            return ledger.trial_balance(session)

    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=StipendsError)
    def get_account_statement(
        self, actor: Any, account: str, offset: Any = 0, limit: Any = None
    ) -> dict[str, Any]:
        """An account's lines with the running balance; `limit` lines (1 to 1,000)
        from `offset`, or all of them without a limit."""
        ledger.require_reader(Actor.load(actor))
        data = load(
            AccountRequestSchema(),
            {"account": account, "offset": offset, "limit": limit},
        )
        with self.db.transaction() as session:
            found = ledger.statement(
                session, data["account"], data["offset"], data["limit"]
            )
        return {
            **found,
            "lines": [
                {
                    **line,
                    "posted_at": line["posted_at"].isoformat(),
                    "stipend_id": str(line["stipend_id"])
                    if line["stipend_id"]
                    else None,
                }
                for line in found["lines"]
            ],
        }
