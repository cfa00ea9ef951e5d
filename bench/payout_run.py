"""Payout run throughput: N approved stipends paid through the Stripe sandbox (a
subprocess, through the stripe SDK) by payout workers sharing one rate limit at R
calls/s (the PostgreSQL-backed limit every replica shares, as in the service). Prints
the wall time from release until every payout is sent beside N/R, the floor the rate
limit sets.

First a run at Stripe's test-mode limit (--also-rate 25, N=2,500: its ratio is
printed), then the measured run.

    python bench/payout_run.py [--n 10000] [--rate 100] [--workers 8]
                               [--also-rate 25] [--also-n 2500]

Last line: RESULT payout_run ratio=<wall/(N/R)> target<=1.05
"""

from __future__ import annotations

import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _support import database, machine, result  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

from stipends.logic import ledger  # noqa: E402
from stipends.logic.actors import Actor  # noqa: E402
from stipends.logic.payouts import phases, runs  # noqa: E402
from stipends.models import Communicator, Cycle, Programme, Stipend  # noqa: E402
from stipends.payouts.providers import StripeConnect  # noqa: E402
from stipends.payouts.ratelimit import SharedTokenBucket  # noqa: E402
from svyaz.db import make_cooperative  # noqa: E402
from tests.stripe_harness import API_KEY, running_sandbox  # noqa: E402

AMOUNT = 30_000
FINGERPRINT = "cd" * 32


def seed(sessions: sessionmaker[Session], n: int) -> uuid.UUID:
    """A programme, a closed cycle and n approved stipends with their reservations."""
    with sessions() as session, session.begin():
        admin = uuid.uuid4()
        programme = Programme(
            id=uuid.uuid4(),
            name="bench",
            currency="EUR",
            budget_minor=AMOUNT * n,
            tier_amounts={"professional": AMOUNT},
            approval_bands=[{"up_to_minor": None, "approvers": 1}],
            created_by=admin,
        )
        cycle = Cycle(
            id=uuid.uuid4(),
            programme_id=programme.id,
            period="2026-11",
            deadline=datetime(2026, 11, 30, tzinfo=UTC),
            status="closed",
        )
        session.add(programme)
        session.flush()
        session.add(cycle)
        session.flush()
        ledger.fund(session, programme.id, "EUR", AMOUNT * n, admin)
        payees = [
            Communicator(
                id=uuid.uuid4(),
                status="active",
                tier="professional",
                training_completed=True,
                payout_provider="stripe_connect",
                payout_ready=True,
                destination_fingerprint=FINGERPRINT,
            )
            for _ in range(n)
        ]
        session.add_all(payees)
        session.flush()
        stipends = [
            Stipend(
                id=uuid.uuid4(),
                programme_id=programme.id,
                cycle_id=cycle.id,
                communicator_id=who.id,
                amount_minor=AMOUNT,
                currency="EUR",
                reasons=[],
                status="approved",
                proposed_by=admin,
                approvals_needed=1,
                approvals_given=1,
            )
            for who in payees
        ]
        session.add_all(stipends)
        session.flush()
        for stipend in stipends:
            ledger.reserve(session, programme.id, stipend.id, "EUR", AMOUNT, admin)
        return cycle.id


def run(n: int, rate: float, workers: int, accounts_wanted: int) -> float:
    """One payout run of n stipends at `rate` calls/s; the wall time from release
    until every payout is sent (exits if any is not sent exactly once)."""
    with (
        database("stipends") as url,
        tempfile.TemporaryDirectory() as tmp,
        running_sandbox(Path(tmp) / "sandbox.state") as sandbox,
    ):
        engine = create_engine(url, pool_size=workers + 4)
        sessions = sessionmaker(engine, expire_on_commit=False)
        started = time.monotonic()
        cycle_id = seed(sessions, n)
        client = sandbox.client()
        accounts = []
        for _ in range(accounts_wanted):
            account = client.v1.accounts.create(
                {
                    "type": "express",
                    "country": "DE",
                    "capabilities": {"transfers": {"requested": True}},
                }
            )
            sandbox.onboard(account.id)
            accounts.append(account.id)
        ids = [
            r[0] for r in engine.connect().execute(text("SELECT id FROM communicators"))
        ]
        destinations = {
            who: {
                "provider": "stripe_connect",
                "fingerprint": FINGERPRINT,
                "account": accounts[i % len(accounts)],
            }
            for i, who in enumerate(ids)
        }
        print(f"N={n}, R={rate}/s: seeded in {time.monotonic() - started:.1f} s")

        @contextmanager
        def transaction() -> Iterator[Session]:
            with sessions() as session, session.begin():
                yield session

        finance = Actor(uuid.uuid4(), frozenset({"finance"}))
        with transaction() as session:
            built = runs.build_run(session, finance, cycle_id, {"stripe_connect"})
            run_id, digest = built.run.id, built.run.totals_digest
        with transaction() as session:
            runs.release_run(session, finance, run_id, digest, True, datetime.now(UTC))
        # slots reserved a tenth of a second at a time; a burst of one slot per
        # worker, so each waits for its own while the others record theirs
        bucket = SharedTokenBucket(transaction, "payouts", rate, burst=workers)
        provider = StripeConnect.from_config(API_KEY, sandbox.url)

        def drive() -> None:
            payouts = phases.Worker(
                transaction,
                {"stripe_connect": provider},
                lambda who: destinations[who],
                bucket,
            )
            while sum(payouts.drive(limit=20).values()):
                pass

        began = time.monotonic()
        pool = eventlet.GreenPool(workers)
        for _ in range(workers):
            pool.spawn(drive)
        pool.waitall()
        wall = time.monotonic() - began
        with engine.connect() as conn:
            statuses = dict(
                conn.execute(
                    text("SELECT status, count(*) FROM payouts GROUP BY status")
                ).all()
            )
        made = len(list(client.v1.transfers.list({"limit": 100}).auto_paging_iter()))
        engine.dispose()
    print(f"payouts: {statuses}; sandbox transfers: {made}")
    print(f"wall {wall:.1f} s, N/R {n / rate:.1f} s: ratio {wall / (n / rate):.3f}")
    if statuses != {"sent": n} or made != n:
        print("NOT every stipend was sent exactly once", flush=True)
        sys.exit(1)
    return wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument(
        "--also-rate",
        type=float,
        default=25.0,
        help="a second run at this rate (Stripe's test-mode limit; 0: none)",
    )
    parser.add_argument("--also-n", type=int, default=2_500)
    args = parser.parse_args()
    make_cooperative()
    print(f"machine: {machine()}; {args.workers} workers")
    if args.also_rate:
        run(args.also_n, args.also_rate, args.workers, args.accounts)
    wall = run(args.n, args.rate, args.workers, args.accounts)
    result("payout_run", wall / (args.n / args.rate), "<=1.05")


if __name__ == "__main__":
    main()
