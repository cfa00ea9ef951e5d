"""The payout entrypoints: finance's RPCs, the webhook relay RPC the gateway calls
with verified Stripe events, and the timer that drives payout rows (the only place a
provider is called: no message handler ever is). They only translate: arguments
checked by `stipends.payouts.schemas`, one use case of `stipends.logic.payouts`
called in a transaction, its result dumped."""

from __future__ import annotations

import uuid
from typing import Any

from stipends.entrypoints.base import Entrypoints, load, now
from stipends.exceptions import NotAllowed, StipendsError
from stipends.logic.actors import ADMIN, FINANCE, Actor
from stipends.logic.payouts import (
    actions,
    bank,
    matching,
    phases,
    receipts,
    reconciliation,
    resolutions,
    runs,
    trail,
    webhooks,
)
from stipends.payouts import schemas
from stipends.payouts.schemas import (
    ReceiptProblemsSchema,
    ReceiptSchema,
    ResolveReceiptSchema,
)
from svyaz.commands import command
from svyaz.errors import NotFound
from svyaz.keys import FINANCE_CLI, GATEWAY
from svyaz.rpc import rpc
from svyaz.timers import timer

TICK_SECONDS = 0.5


class PayoutsEntrypoints(Entrypoints):
    def _destination(self, communicator_id: uuid.UUID) -> dict[str, Any]:
        try:
            found = self.registry.get_payout_destination(str(communicator_id), "payout")
        except NotFound:
            raise phases.DestinationUnavailable() from None
        except Exception as exc:  # noqa: BLE001  (any failure of the call: try later)
            raise phases.RegistryUnavailable(type(exc).__name__) from None
        if not isinstance(found, dict):
            raise phases.RegistryUnavailable("malformed answer")
        return found

    def _worker(self) -> phases.Worker:
        engine = self.payout_engine
        return phases.Worker(
            self.db.transaction,
            engine.providers,
            self._destination,
            engine.shared_bucket(self.db.transaction),
            engine.settings,
            on_phase=engine.on_phase,
        )

    @timer("PAYOUT_TICK_SECONDS", TICK_SECONDS)
    def drive_payouts(self) -> None:
        if not self.payout_engine.enabled:
            return
        payouts = self._worker()
        while sum(payouts.drive(limit=50).values()) >= 50:
            pass
        payouts.poll(limit=50)
        payouts.collect_fees(limit=50)

    # -- finance -------------------------------------------------------------------
    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def build_payout_run(self, actor: Any, cycle_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        who.require(FINANCE)
        cycle = schemas.checked_id(cycle_id, "cycle_id")
        corridors = {str(c["provider"]) for c in self.registry.list_corridors()}
        with self.db.transaction() as session:
            built = runs.build_run(session, who, cycle, corridors)
            return {**runs.run_view(session, built.run), "excluded": built.excluded}

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def list_payout_runs(
        self, actor: Any, cycle_id: str | None = None
    ) -> list[dict[str, Any]]:
        """A cycle's runs (or every cycle's, the newest 200), newest first."""
        Actor.load(actor).require(FINANCE, ADMIN)
        cycle = schemas.checked_id(cycle_id, "cycle_id") if cycle_id else None
        with self.db.transaction() as session:
            return runs.list_runs(session, cycle)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def get_payout_run(self, actor: Any, run_id: str) -> dict[str, Any]:
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            run = runs.get_run(session, schemas.checked_id(run_id, "run_id"))
            return runs.run_view(session, run)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def release_payout_run(
        self, actor: Any, run_id: str, totals_digest: str, code: str
    ) -> dict[str, Any]:
        """Release with a current code of the releaser's authenticator, checked here
        with the registry: no caller can vouch for a second factor it did not see."""
        who = Actor.load(actor)
        who.require(FINANCE)
        code = schemas.second_factor_code(code)
        with self.db.transaction() as session:  # the rules first: a code is good once
            run = runs.get_run(session, schemas.checked_id(run_id, "run_id"))
            runs.check_release(session, who, run, str(totals_digest))
        verified = self.registry.verify_second_factor(actor, code)
        if not verified.get("verified"):
            raise NotAllowed(
                "the code is not right; nothing was released", "second_factor_failed"
            )
        with self.db.transaction() as session:
            run = runs.release_run(
                session,
                who,
                schemas.checked_id(run_id, "run_id"),
                str(totals_digest),
                True,
                now(),
            )
            return runs.run_view(session, run)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def cancel_payout_run(self, actor: Any, run_id: str, reason: str) -> Any:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            run = runs.cancel_run(
                session,
                who,
                schemas.checked_id(run_id, "run_id"),
                schemas.reason(reason),
            )
            return runs.run_view(session, run)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def list_payouts(self, actor: Any, run_id: str) -> list[dict[str, Any]]:
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            return [
                runs.payout_view(p)
                for p in runs.run_payouts(session, schemas.checked_id(run_id, "run_id"))
            ]

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def get_payout(self, actor: Any, payout_id: str) -> dict[str, Any]:
        """The payout with its audit trail ([{at, actor_id, action, reason}], oldest
        first) and the communicator's answer about receipt."""
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            return trail.payout_detail(
                session, schemas.checked_id(payout_id, "payout_id")
            )

    # -- receipt of a paid payout ---------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def confirm_receipt(
        self, actor: Any, payout_id: str, received: bool, note: str = ""
    ) -> dict[str, Any]:
        """The communicator says whether a paid payout of theirs arrived; "not
        received" goes to finance's queue. Answered again, the answer is replaced
        until finance resolves it."""
        who = Actor.load(actor)
        data = load(
            ReceiptSchema(),
            {"payout_id": payout_id, "received": received, "note": note},
        )
        with self.db.transaction() as session:
            found = receipts.confirm_receipt(
                session, who, data["payout_id"], data["received"], data["note"], now()
            )
            return {"payout_id": str(found.payout_id), **receipts.receipt_view(found)}

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def list_receipt_problems(
        self, actor: Any, status: str = "open"
    ) -> list[dict[str, Any]]:
        """Finance's queue of payouts their payee says did not arrive, oldest
        first (at most 500)."""
        who = Actor.load(actor)
        data = load(ReceiptProblemsSchema(), {"status": status})
        with self.db.transaction() as session:
            return [
                receipts.problem_view(*row)
                for row in receipts.list_problems(session, who, data["status"])
            ]

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def resolve_receipt_problem(
        self, actor: Any, problem_id: str, resolution: str, note: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(
            ResolveReceiptSchema(),
            {"problem_id": problem_id, "resolution": resolution, "note": note},
        )
        with self.db.transaction() as session:
            return receipts.problem_view(
                *receipts.resolve_problem(
                    session,
                    who,
                    data["problem_id"],
                    data["resolution"],
                    data["note"],
                    now(),
                )
            )

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def payout_action(
        self, actor: Any, payout_id: str, action: str, reason: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            payout = actions.operator_action(
                session,
                who,
                schemas.checked_id(payout_id, "payout_id"),
                str(action),
                schemas.reason(reason),
                now(),
            )
            return runs.payout_view(payout)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def payout_bank_file(self, actor: Any, run_id: str, fmt: str = "csv") -> str:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return bank.bank_file(
                session,
                who,
                schemas.checked_id(run_id, "run_id"),
                self._destination,
                str(fmt),
                self.payout_engine.debtor,
                now(),
            )

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def import_bank_statement(self, actor: Any, statement: str) -> dict[str, Any]:
        who = Actor.load(actor)
        text = schemas.statement_text(statement)
        with self.db.transaction() as session:
            return bank.import_statement(session, who, text)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def reconcile_payout_run(self, actor: Any, run_id: str) -> dict[str, Any]:
        """The run's Stripe payouts matched against the provider's transfers and
        balance transactions; each difference classified (nothing is changed)."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            report = matching.check_run(
                session,
                who,
                schemas.checked_id(run_id, "run_id"),
                self.payout_engine.providers,
            )
        return {
            "matched": len(report.matched),
            "discrepancies": report.discrepancies,
            "by_kind": report.kinds(),
        }

    # -- reconciliation by period ---------------------------------------------------
    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def reconcile_period(
        self,
        actor: Any,
        provider: str,
        period_start: str,
        period_end: str,
        source: str = "api",
        content: Any = None,
    ) -> dict[str, Any]:
        """Stage the provider's rows for [period_start, period_end) and classify every
        difference; an open reconciliation of the same period is superseded."""
        who = Actor.load(actor)
        who.require(FINANCE)
        first, last = (
            schemas.checked_date(period_start, "period_start"),
            schemas.checked_date(period_end, "period_end"),
        )
        start, end = reconciliation.period_bounds(first, last)
        source = schemas.reconciliation_source(source)
        rows = reconciliation.provider_rows(
            self.payout_engine.providers, str(provider), source, content, start, end
        )
        with self.db.transaction() as session:
            rec, _ = reconciliation.start(
                session, who, str(provider), first, last, source, rows, now()
            )
            return reconciliation.view(session, rec)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def list_reconciliations(
        self, actor: Any, limit: Any = 50, offset: Any = 0
    ) -> list[dict[str, Any]]:
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            return [
                reconciliation.view(session, rec)
                for rec in reconciliation.listing(
                    session,
                    schemas.bounded(limit, "limit", 1, 200),
                    schemas.bounded(offset, "offset"),
                )
            ]

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def get_reconciliation(self, actor: Any, reconciliation_id: str) -> dict[str, Any]:
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            rec = reconciliation.get(
                session, schemas.checked_id(reconciliation_id, "reconciliation_id")
            )
            return reconciliation.view(session, rec)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def list_reconciliation_items(
        self,
        actor: Any,
        reconciliation_id: str,
        state: Any = None,
        kind: Any = None,
        after: Any = 0,
        limit: Any = 100,
    ) -> list[dict[str, Any]]:
        """A page of the work queue, in id order after item `after`."""
        Actor.load(actor).require(FINANCE, ADMIN)
        state, kind = schemas.item_filters(state, kind)
        with self.db.transaction() as session:
            rec = reconciliation.get(
                session, schemas.checked_id(reconciliation_id, "reconciliation_id")
            )
            return [
                reconciliation.item_view(item)
                for item in reconciliation.items(
                    session,
                    rec.id,
                    state,
                    kind,
                    schemas.bounded(after, "after"),
                    schemas.bounded(limit, "limit", 1, 1000),
                )
            ]

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def list_link_candidates(
        self, actor: Any, reconciliation_id: str
    ) -> list[dict[str, Any]]:
        """The payouts a difference of this reconciliation may be linked to (the
        provider's, sent, paid or failed, created in the period or the month
        before), the newest first, at most 500: for finance to pick one."""
        Actor.load(actor).require(FINANCE)
        with self.db.transaction() as session:
            rec = reconciliation.get(
                session, schemas.checked_id(reconciliation_id, "reconciliation_id")
            )
            return [
                {**runs.payout_view(p), "created_at": p.created_at.isoformat()}
                for p in reconciliation.link_candidates(session, rec)
            ]

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def resolve_reconciliation_items(
        self,
        actor: Any,
        reconciliation_id: str,
        item_ids: Any,
        action: str,
        reason: str,
        payout_id: Any = None,
        write_off_to: Any = None,
    ) -> list[dict[str, Any]]:
        """Link, write off or re-pay open differences, one or many, all or none; a
        write-off posts each difference to `write_off_to` (bank_fees, fx_differences
        or unexplained_differences, the default)."""
        who = Actor.load(actor)
        items = schemas.item_ids(item_ids)
        with self.db.transaction() as session:
            found = resolutions.resolve(
                session,
                who,
                schemas.checked_id(reconciliation_id, "reconciliation_id"),
                items,
                str(action),
                schemas.reason(reason),
                now(),
                schemas.optional_id(payout_id, "payout_id"),
                resolutions.asking(self.payout_engine.providers),
                str(write_off_to or "unexplained_differences"),
            )
            return [reconciliation.item_view(item) for item in found]

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    @command
    def sign_off_reconciliation(
        self, actor: Any, reconciliation_id: str, note: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            rec = resolutions.sign_off(
                session,
                who,
                schemas.checked_id(reconciliation_id, "reconciliation_id"),
                schemas.reason(note, "note"),
                now(),
            )
            return reconciliation.view(session, rec)

    # -- the gateway's webhook relay ------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def stripe_event(self, event: Any) -> dict[str, str]:
        outcome = webhooks.apply_stripe_event(
            self.db.transaction, schemas.stripe_event(event)
        )
        return {"outcome": outcome}
