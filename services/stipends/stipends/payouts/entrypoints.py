"""The payout entrypoints, mixed into StipendsService: finance's RPCs, the webhook
relay RPC the gateway calls with verified Stripe events, and the timer that drives
payout rows (the only place a provider is called: no message handler ever is)."""

from __future__ import annotations

import io
import logging
import os
import random
import signal
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import stripe
from nameko.extensions import DependencyProvider
from sqlalchemy import select

from stipends import events as payout_events
from stipends.exceptions import (
    InvalidRequest,
    NotAllowed,
    ProviderUnavailable,
    StipendsError,
)
from stipends.logic.actors import ADMIN, FINANCE, Actor
from stipends.payouts import (
    receipts,
    reconcile,
    reconciliation,
    runs,
    staging,
    trail,
    worker,
)
from stipends.payouts.models import ITEM_STATES, RECONCILIATION_SOURCES, PayoutReceipt
from stipends.payouts.providers import (
    BankFile,
    Provider,
    StripeConnect,
    StripeGlobal,
)
from stipends.payouts.ratelimit import SharedTokenBucket
from stipends.payouts.reconcile import ProviderRow
from stipends.schemas import (
    ReceiptProblemsSchema,
    ReceiptSchema,
    ResolveReceiptSchema,
)
from svyaz import arguments, banking, outbox
from svyaz import config as settings
from svyaz.errors import NotFound
from svyaz.keys import FINANCE_CLI, GATEWAY
from svyaz.messaging import RpcProxy, rpc
from svyaz.timers import timer

log = logging.getLogger(__name__)
load = arguments.loader(InvalidRequest)

TICK_SECONDS = 0.5
MAX_IMPORT_CHARS = 64 * 1024 * 1024  # a report or statement, as one RPC argument


def _flag(value: Any) -> bool:
    return str(value).lower() not in ("false", "0", "no", "off")


def _id(value: Any, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidRequest(
            f"{name} is not a valid id", "invalid_id", {name: ["not a valid id"]}
        ) from None


def _date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest(
            f"{name} is not a date (YYYY-MM-DD)", "invalid_date", {name: ["not a date"]}
        ) from None


def _bounded(value: Any, name: str, least: int = 0, most: int = 10**9) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not least <= value <= most
    ):
        raise InvalidRequest(
            f"{name} is a whole number from {least} to {most}",
            f"invalid_{name}",
            {name: [f"{least} to {most}"]},
        )
    return value


def _parsed(rows: Iterator[ProviderRow]) -> Iterator[ProviderRow]:
    """A file's rows; a bad line refuses the whole import with the line named."""
    try:
        yield from rows
    except ValueError as exc:
        raise InvalidRequest(
            str(exc), "invalid_file", {"content": [str(exc)]}
        ) from None


def _guarded(rows: Iterator[ProviderRow]) -> Iterator[ProviderRow]:
    """A provider's rows; if it stops answering, nothing is recorded."""
    try:
        yield from rows
    except stripe.StripeError as exc:
        raise ProviderUnavailable(
            f"the provider did not answer ({type(exc).__name__}); nothing was "
            "recorded: try again",
            "provider_unavailable",
        ) from None


def _reason(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise InvalidRequest(
            "give a reason (1 to 500 characters)",
            "reason_required",
            {"reason": ["required, at most 500 characters"]},
        )
    return value.strip()


class PayoutEngine(DependencyProvider):
    """Providers, the rate limit and the worker's settings, shared by workers."""

    def setup(self) -> None:
        config = self.container.config
        self.enabled = _flag(config.get("PAYOUT_WORKER_ENABLED", True))
        self.rate = settings.positive(config, "PAYOUT_RATE_LIMIT", 20)
        self.bucket: SharedTokenBucket | None = None
        self.settings = worker.Settings(
            lease=settings.positive(config, "PAYOUT_LEASE_SECONDS", 60),
            poll_interval=settings.positive(config, "PAYOUT_POLL_SECONDS", 30),
            max_backoff=settings.positive(config, "PAYOUT_MAX_BACKOFF_SECONDS", 300),
        )
        self.settings.sent_deadline["stripe_connect"] = settings.positive(
            config, "PAYOUT_STRIPE_CONFIRM_SECONDS", 60
        )
        self.settings.sent_deadline["stripe_global"] = settings.positive(
            config, "PAYOUT_GLOBAL_CONFIRM_SECONDS", 60
        )
        self.providers: dict[str, Provider] = {"bank_file": BankFile()}
        if config.get("STRIPE_API_BASE"):
            key, base = (
                settings.secret(config, "STRIPE_API_KEY"),
                str(config["STRIPE_API_BASE"]),
            )
            self.providers["stripe_connect"] = StripeConnect.from_config(key, base)
            if config.get("STRIPE_FINANCIAL_ACCOUNT"):  # Global Payouts' source
                self.providers["stripe_global"] = StripeGlobal.from_config(
                    key, base, str(config["STRIPE_FINANCIAL_ACCOUNT"])
                )
        # test-only: the chaos run has a worker SIGKILL itself as a phase ends
        self.kill_at_phase = float(
            settings.unsafe(config, "UNSAFE_PAYOUT_KILL_AT_PHASE", 0)
        )
        self.debtor = {
            "name": str(config.get("BANK_DEBTOR_NAME", "")),
            "iban": str(config.get("BANK_DEBTOR_IBAN", "")),
            "bic": str(config.get("BANK_DEBTOR_BIC", "")),
        }
        # a typo in the programme's own account stops start-up, not a payday; left
        # empty, only the pain.001 file is refused (worker.checked_debtor)
        for key, check in (
            ("BANK_DEBTOR_IBAN", banking.iban),
            ("BANK_DEBTOR_BIC", banking.bic),
        ):
            value = self.debtor[key.rsplit("_", 1)[1].lower()]
            try:
                if value:
                    check(value)
            except banking.AccountRefused as refused:
                raise settings.ConfigurationError(f"{key}: {refused.message}") from None

    def shared_bucket(self, transaction: Any) -> SharedTokenBucket:
        """One rate limit for every replica of the service (a PostgreSQL row)."""
        if self.bucket is None:
            self.bucket = SharedTokenBucket(transaction, "payouts", self.rate)
        return self.bucket

    def get_dependency(self, worker_ctx: Any) -> PayoutEngine:
        return self

    def on_phase(self, phase: str) -> None:
        """With `UNSAFE_PAYOUT_KILL_AT_PHASE: p`, die by SIGKILL with probability p
        as a payout phase ends: the crash the worker's recovery must survive."""
        if self.kill_at_phase and random.random() < self.kill_at_phase:
            log.warning("fault injection: SIGKILL at the end of phase %s", phase)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)


def _now() -> datetime:
    return datetime.now(UTC)


class PayoutEntrypoints:
    """Needs `db` (svyaz Database) from the service class it is mixed into."""

    db: Any
    registry = RpcProxy("registry")
    payout_engine = PayoutEngine()

    def _destination(self, communicator_id: uuid.UUID) -> dict[str, Any]:
        try:
            found = self.registry.get_payout_destination(str(communicator_id), "payout")
        except NotFound:
            raise worker.DestinationUnavailable() from None
        except Exception as exc:  # noqa: BLE001  (any failure of the call: try later)
            raise worker.RegistryUnavailable(type(exc).__name__) from None
        if not isinstance(found, dict):
            raise worker.RegistryUnavailable("malformed answer")
        return found

    def _worker(self) -> worker.Worker:
        engine = self.payout_engine
        return worker.Worker(
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

    # -- finance -------------------------------------------------------------------
    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def build_payout_run(self, actor: Any, cycle_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        who.require(FINANCE)
        cycle = _id(cycle_id, "cycle_id")
        corridors = {str(c["provider"]) for c in self.registry.list_corridors()}
        with self.db.transaction() as session:
            built = runs.build_run(session, who, cycle, corridors)
            return {**runs.run_view(session, built.run), "excluded": built.excluded}

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def get_payout_run(self, actor: Any, run_id: str) -> dict[str, Any]:
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            run = runs.get_run(session, _id(run_id, "run_id"))
            return runs.run_view(session, run)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def release_payout_run(
        self, actor: Any, run_id: str, totals_digest: str, code: str
    ) -> dict[str, Any]:
        """Release with a current code of the releaser's authenticator, checked here
        with the registry: no caller can vouch for a second factor it did not see."""
        who = Actor.load(actor)
        who.require(FINANCE)
        if not isinstance(code, str) or not code.strip():
            raise InvalidRequest(
                "a code from your authenticator is needed",
                "code_required",
                {"code": ["required"]},
            )
        with self.db.transaction() as session:  # the rules first: a code is good once
            run = runs.get_run(session, _id(run_id, "run_id"))
            runs.check_release(session, who, run, str(totals_digest))
        verified = self.registry.verify_second_factor(actor, code.strip())
        if not verified.get("verified"):
            raise NotAllowed(
                "the code is not right; nothing was released", "second_factor_failed"
            )
        with self.db.transaction() as session:
            run = runs.release_run(
                session,
                who,
                _id(run_id, "run_id"),
                str(totals_digest),
                True,
                _now(),
            )
            return runs.run_view(session, run)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def cancel_payout_run(self, actor: Any, run_id: str, reason: str) -> Any:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            run = runs.cancel_run(session, who, _id(run_id, "run_id"), _reason(reason))
            return runs.run_view(session, run)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def list_payouts(self, actor: Any, run_id: str) -> list[dict[str, Any]]:
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            return [
                worker.payout_view(p)
                for p in runs.run_payouts(session, _id(run_id, "run_id"))
            ]

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def get_payout(self, actor: Any, payout_id: str) -> dict[str, Any]:
        """The payout with its audit trail ([{at, actor_id, action, reason}], oldest
        first) and the communicator's answer about receipt."""
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            payout = trail.get_payout(session, _id(payout_id, "payout_id"))
            found = session.scalar(
                select(PayoutReceipt).where(PayoutReceipt.payout_id == payout.id)
            )
            return {
                **worker.payout_view(payout),
                "created_at": payout.created_at.isoformat(),
                "receipt": receipts.problem_view(found, payout, None)
                if found
                else None,
                "audit": trail.trail(session, payout),
            }

    # -- receipt of a paid payout ---------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
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
                session, who, data["payout_id"], data["received"], data["note"], _now()
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
                    _now(),
                )
            )

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def payout_action(
        self, actor: Any, payout_id: str, action: str, reason: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            payout = worker.operator_action(
                session,
                who,
                _id(payout_id, "payout_id"),
                str(action),
                _reason(reason),
                _now(),
            )
            return worker.payout_view(payout)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def payout_bank_file(self, actor: Any, run_id: str, fmt: str = "csv") -> str:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return worker.bank_file(
                session,
                who,
                _id(run_id, "run_id"),
                self._destination,
                str(fmt),
                self.payout_engine.debtor,
                _now(),
            )

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def import_bank_statement(self, actor: Any, statement: str) -> dict[str, Any]:
        who = Actor.load(actor)
        if not isinstance(statement, str):
            raise InvalidRequest("the statement is CSV text", "invalid_statement")
        with self.db.transaction() as session:
            return worker.import_statement(session, who, statement)

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def reconcile_payout_run(self, actor: Any, run_id: str) -> dict[str, Any]:
        """The run's Stripe payouts matched against the provider's transfers and
        balance transactions; each difference classified (nothing is changed)."""
        Actor.load(actor).require(FINANCE)
        provider = self.payout_engine.providers.get("stripe_connect")
        if not isinstance(provider, StripeConnect):
            raise InvalidRequest("no Stripe provider is configured", "no_provider")
        with self.db.transaction() as session:
            run = runs.get_run(session, _id(run_id, "run_id"))
            report = reconcile.reconcile_run(session, provider.client, run.id)
            outbox.add(  # finance hears of discrepancies; the run is reconciled
                session,
                payout_events.RECONCILIATION_COMPLETED.build(
                    payout_events.run_aggregate(run.id),
                    run_id=run.id,
                    matched=len(report.matched),
                    discrepancies=len(report.discrepancies),
                ),
            )
        return {
            "matched": len(report.matched),
            "discrepancies": report.discrepancies,
            "by_kind": report.kinds(),
        }

    # -- reconciliation by period ---------------------------------------------------
    def _provider_rows(
        self, provider: str, source: str, content: Any, start: datetime, end: datetime
    ) -> Iterator[ProviderRow] | staging.ItemizedReport:
        if source == "api":
            if provider == "bank_file":
                raise InvalidRequest(
                    "a bank has no API here: import its statement",
                    "invalid_source",
                    {"source": ["bank_statement for bank_file"]},
                )
            engine = self.payout_engine.providers.get(provider)
            pull = getattr(engine, "pull", None)
            if pull is None:
                raise InvalidRequest(f"{provider} is not configured", "no_provider")
            return _guarded(pull(start, end))
        if not isinstance(content, str) or not content.strip():
            raise InvalidRequest(
                "give the file's content", "content_required", {"content": ["required"]}
            )
        if len(content) > MAX_IMPORT_CHARS:
            raise InvalidRequest(
                "the file is too large for one import; split the period",
                "content_too_large",
            )
        lines = io.StringIO(content)
        if source == "itemized_csv" and provider == "stripe_connect":
            return staging.ItemizedReport(lines)
        if source == "bank_statement" and provider == "bank_file":
            return _parsed(reconcile.statement_rows(lines))
        raise InvalidRequest(
            f"{source} is not a source for {provider}",
            "invalid_source",
            {"source": ["api; itemized_csv (Stripe); bank_statement (bank_file)"]},
        )

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
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
            _date(period_start, "period_start"),
            _date(period_end, "period_end"),
        )
        start, end = reconciliation.period_bounds(first, last)
        if source not in RECONCILIATION_SOURCES:
            raise InvalidRequest(
                f"no source {source}",
                "invalid_source",
                {"source": [f"one of {RECONCILIATION_SOURCES}"]},
            )
        rows = self._provider_rows(str(provider), source, content, start, end)
        with self.db.transaction() as session:
            rec, per_run = reconciliation.start(
                session, who, str(provider), first, last, source, rows
            )
            for run in per_run:
                if run["run_id"] is None:
                    continue
                outbox.add(  # finance hears of differences; each run is reconciled
                    session,
                    payout_events.RECONCILIATION_COMPLETED.build(
                        payout_events.run_aggregate(run["run_id"]),
                        run_id=run["run_id"],
                        matched=run["matched"],
                        discrepancies=run["discrepancies"],
                    ),
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
                    _bounded(limit, "limit", 1, 200),
                    _bounded(offset, "offset"),
                )
            ]

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def get_reconciliation(self, actor: Any, reconciliation_id: str) -> dict[str, Any]:
        Actor.load(actor).require(FINANCE, ADMIN)
        with self.db.transaction() as session:
            rec = reconciliation.get(
                session, _id(reconciliation_id, "reconciliation_id")
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
        if state is not None and state not in ITEM_STATES:
            raise InvalidRequest(
                f"no state {state}",
                "invalid_state",
                {"state": [f"one of {ITEM_STATES}"]},
            )
        if kind is not None and kind not in reconcile.DISCREPANCIES:
            raise InvalidRequest(
                f"no kind {kind}", "invalid_kind", {"kind": ["unknown"]}
            )
        with self.db.transaction() as session:
            rec = reconciliation.get(
                session, _id(reconciliation_id, "reconciliation_id")
            )
            return [
                reconciliation.item_view(item)
                for item in reconciliation.items(
                    session,
                    rec.id,
                    state,
                    kind,
                    _bounded(after, "after"),
                    _bounded(limit, "limit", 1, 1000),
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
                session, _id(reconciliation_id, "reconciliation_id")
            )
            return [
                {**worker.payout_view(p), "created_at": p.created_at.isoformat()}
                for p in reconciliation.link_candidates(session, rec)
            ]

    def _provider_has(self, payout: Any) -> bool | None:
        """Does the provider hold a payment for this payout (asked by our reference)?
        None when it cannot be asked or did not answer."""
        provider = self.payout_engine.providers.get(payout.provider)
        if provider is None:
            return None
        try:
            found = provider.find(worker.order_of(payout), {})
        except Exception:  # noqa: BLE001  (not knowing is not "no")
            return None
        if found is None:
            return False
        return True if found.status in ("sent", "paid", "pending") else None

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
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
        if not isinstance(item_ids, list) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in item_ids
        ):
            raise InvalidRequest(
                "item_ids is a list of item numbers",
                "invalid_items",
                {"item_ids": ["a list of integers"]},
            )
        with self.db.transaction() as session:
            found = reconciliation.resolve(
                session,
                who,
                _id(reconciliation_id, "reconciliation_id"),
                item_ids,
                str(action),
                _reason(reason),
                _now(),
                _id(payout_id, "payout_id") if payout_id is not None else None,
                self._provider_has,
                str(write_off_to or "unexplained_differences"),
            )
            return [reconciliation.item_view(item) for item in found]

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=StipendsError)
    def sign_off_reconciliation(
        self, actor: Any, reconciliation_id: str, note: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            rec = reconciliation.sign_off(
                session,
                who,
                _id(reconciliation_id, "reconciliation_id"),
                _reason(note),
                _now(),
            )
            return reconciliation.view(session, rec)

    # -- the gateway's webhook relay ------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def stripe_event(self, event: Any) -> dict[str, str]:
        if not isinstance(event, dict):
            raise InvalidRequest("not a Stripe event", "invalid_event")
        outcome = worker.apply_stripe_event(self.db.transaction, event)
        return {"outcome": outcome}
