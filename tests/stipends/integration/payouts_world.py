"""Approved stipends built through the real logic (programme, cycle, reports,
close, approvals), ready for payout runs; a worker on a settable clock."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from stipends.logic import ledger, ledger_reports
from stipends.logic.payouts import phases, runs
from stipends.payouts.providers import Provider, TokenBucket
from tests.stipends.integration.conftest import (
    ADMIN_A,
    FINANCE,
    Db,
    add_communicator,
    logic_actor,
)
from tests.stipends.integration.test_approvals import World

FINGERPRINT = "cd" * 32


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class PayWorld:
    def __init__(
        self, db: Db, payees: int, provider: str = "stripe_connect", **rules: Any
    ) -> None:
        self.db = db
        self.world = World(db, **{"budget_minor": 10_000_000, **rules})
        self.payees = [
            add_communicator(db, fingerprint=FINGERPRINT) for _ in range(payees)
        ]
        if provider != "stripe_connect":
            db.sql(
                "UPDATE communicators SET payout_provider = :p WHERE id = ANY(:ids)",
                p=provider,
                ids=self.payees,
            )
        for who in self.payees:
            self.world.reported(who)
        self.world.close()
        self.stipends = [self.world.stipend_of(who).id for who in self.payees]
        for stipend in self.stipends:
            self.world.approve(ADMIN_A, stipend)
        self.destinations: dict[uuid.UUID, dict[str, Any]] = {}
        self.clock = Clock()

    @property
    def cycle_id(self) -> uuid.UUID:
        return self.world.cycle_id

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self.db.session() as session, session.begin():
            yield session

    def build(self, who: dict[str, Any] = FINANCE) -> runs.Built:
        with self.transaction() as session:
            return runs.build_run(
                session,
                logic_actor(who),
                self.cycle_id,
                {"stripe_connect", "stripe_global", "bank_file"},
            )

    def release(self, run: Any, who: dict[str, Any] = FINANCE) -> None:
        with self.transaction() as session:
            runs.release_run(
                session, logic_actor(who), run.id, run.totals_digest, True, self.clock()
            )

    def released(self) -> runs.Built:
        built = self.build()
        self.release(built.run)
        return built

    def destination(self, communicator_id: uuid.UUID) -> dict[str, Any]:
        if communicator_id not in self.destinations:
            raise phases.DestinationUnavailable()
        return self.destinations[communicator_id]

    def worker(
        self, providers: dict[str, Provider], rate: float = 1000.0, **settings: Any
    ) -> phases.Worker:
        return phases.Worker(
            self.transaction,
            providers,
            self.destination,
            TokenBucket(rate),
            phases.Settings(**settings),
            clock=self.clock,
        )

    def statuses(self) -> dict[str, str]:
        rows = self.db.sql("SELECT stipend_id, status FROM payouts")
        return {str(r[0]): r[1] for r in rows}

    def balanced(self) -> bool:
        with self.db.session() as session:
            return bool(ledger_reports.trial_balance(session)["balanced"])

    def balance(self, code: str) -> int:
        with self.db.session() as session:
            return ledger.balance(session, code)

    def finish(self, payouts: phases.Worker, rounds: int = 40) -> None:
        """Drive and poll until nothing is open, moving the clock past every wait."""
        for _ in range(rounds):
            payouts.drive()
            payouts.poll()
            if not self.db.sql(
                "SELECT 1 FROM payouts WHERE status IN ('queued', 'calling', 'sent')"
            ):
                return
            self.clock.advance(400)
        raise AssertionError(f"payouts still open: {self.statuses()}")
