"""Reconciliation of a period: N provider rows (Stripe's itemized balance change
report, a CSV file in major units) against N paid payouts and their ledger sends.

Ours: stage the report by COPY, check it, resolve and classify every difference in
SQL and store the work queue (`stipends.logic.payouts.reconciliation.start`). The
baseline, in the same run on the same database: COPY the same file into a bare table
and one FULL OUTER JOIN of it with the same ledger rows (each payout's `payout_sent`
entry and its clearing posting). Both are timed from the file to the answer.
Peak Python memory (tracemalloc, in a second, untimed pass) is measured for ours at
N/4, N/2 and N: it stays
flat because rows stream from the file through a spool into COPY.

The seed inserts payouts, journal entries and postings directly with SQL (foreign
keys and ledger triggers off for the seed only, as `session_replication_role =
replica` does): programmes, cycles and stipends play no part in matching.

    python bench/reconcile.py [--n 100000]

Last line: RESULT reconcile ratio=<ours/bare SQL> target<=2.5
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _support import database, machine, result  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from stipends.logic.actors import Actor  # noqa: E402
from stipends.logic.payouts import reconciliation  # noqa: E402
from stipends.logic.payouts.staging import ItemizedReport  # noqa: E402

FINANCE = Actor(uuid.uuid4(), frozenset({"finance"}))  # logic calls, no RPC
TODAY = datetime.now(UTC).date()
PERIOD = (TODAY - timedelta(days=30), TODAY + timedelta(days=1))

SEED = """
SET session_replication_role = replica;
INSERT INTO ledger_accounts (code, kind, currency)
VALUES ('provider_clearing:stripe_connect:EUR', 'provider_clearing', 'EUR'),
       ('programme_funds:bench', 'programme_funds', 'EUR')
ON CONFLICT DO NOTHING;
INSERT INTO payouts (id, run_id, stipend_id, communicator_id, amount_minor, currency,
                     provider, status, attempt, provider_ref, fee_minor, retries)
SELECT md5('p' || (n + :offset))::uuid, :run, md5('s' || (n + :offset))::uuid,
       md5('c' || (n + :offset))::uuid, 30000 + (n + :offset) % 500, 'EUR',
       'stripe_connect', 'paid', 1, 'tr_' || (n + :offset), 0, 0
FROM generate_series(1, :count) AS n;
INSERT INTO journal_entries (id, kind, memo, stipend_id, posted_at)
SELECT n + :offset, 'payout_sent', 'payout sent', md5('s' || (n + :offset))::uuid,
       now() - interval '1 day'
FROM generate_series(1, :count) AS n;
INSERT INTO postings (entry_id, account, amount_minor, currency)
SELECT n + :offset, a.account, a.sign * (30000 + (n + :offset) % 500), 'EUR'
FROM generate_series(1, :count) AS n,
     (VALUES ('provider_clearing:stripe_connect:EUR', 1),
             ('programme_funds:bench', -1)) AS a (account, sign);
SET session_replication_role = DEFAULT;
"""


def seed(url: str, n: int, offset: int) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in SEED.split(";\n"):
            if statement.strip():
                conn.execute(
                    text(statement),
                    {"offset": offset, "count": n, "run": str(uuid.uuid4())},
                )
    with engine.connect() as conn:  # statistics, as autovacuum keeps them live
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    engine.dispose()


def report(path: Path, n: int, offset: int, rng: random.Random) -> dict[str, int]:
    """The provider's side of the same payouts, with differences sprinkled in."""
    planted = {"amount_mismatch": 0, "missing_at_provider": 0, "unexpected": 0}
    with path.open("w") as out:
        out.write(
            "balance_transaction_id,created_utc,currency,gross,fee,net,"
            "reporting_category,source_id,description\n"
        )
        for i in range(offset + 1, offset + n + 1):
            amount = 30000 + i % 500
            roll = rng.random()
            if roll < 0.005:
                planted["missing_at_provider"] += 1
                source, amount = f"tr_other_{i}", amount
                planted["unexpected"] += 1
            elif roll < 0.015:
                planted["amount_mismatch"] += 1
                source, amount = f"tr_{i}", amount + 1
            else:
                source = f"tr_{i}"
            gross = f"-{amount // 100}.{amount % 100:02d}"
            out.write(
                f"txn_{i},2026-11-01 10:00:00,eur,{gross},0.00,{gross},transfer,"
                f"{source},payout\n"
            )
    return planted


def ours(
    url: str, path: Path, start: date, end: date, trace: bool
) -> tuple[float, int, dict]:
    engine = create_engine(url)
    if trace:
        tracemalloc.start()
    began = time.perf_counter()
    with Session(engine) as session, session.begin(), path.open() as lines:
        rec, _ = reconciliation.start(
            session,
            FINANCE,
            "stripe_connect",
            start,
            end,
            "itemized_csv",
            ItemizedReport(lines),
        )
        view = reconciliation.view(session, rec)
    elapsed = time.perf_counter() - began
    peak = 0
    if trace:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    engine.dispose()
    return elapsed, peak, view


def bare(url: str, path: Path) -> tuple[float, int]:
    engine = create_engine(url)
    tracemalloc.start()
    began = time.perf_counter()
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute(
            "CREATE TEMP TABLE raw (balance_transaction_id text, created_utc text, "
            "currency text, gross numeric, fee numeric, net numeric, "
            "reporting_category text, source_id text, description text)"
        )
        with path.open() as source:
            cur.copy_expert("COPY raw FROM STDIN WITH (FORMAT csv, HEADER)", source)
        cur.execute(
            "SELECT count(*), count(l.id), count(r.source_id) FROM raw r "
            "FULL OUTER JOIN ("
            "  SELECT p.id, p.provider_ref, po.amount_minor FROM payouts p"
            "  JOIN journal_entries e ON e.stipend_id = p.stipend_id"
            "   AND e.kind = 'payout_sent'"
            "  JOIN postings po ON po.entry_id = e.id"
            "   AND po.account = 'provider_clearing:stripe_connect:EUR'"
            ") l ON l.provider_ref = r.source_id"
        )
        cur.fetchall()
        raw.rollback()
    finally:
        raw.close()
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    engine.dispose()
    return elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"machine: {machine()}")
    sizes = [args.n // 4, args.n // 2, args.n]
    with database("stipends") as url, tempfile.TemporaryDirectory() as tmp:
        seeded = 0
        peaks = []
        for size in sizes:
            seed(url, size - seeded, seeded)
            seeded = size
            path = Path(tmp) / f"itemized-{size}.csv"
            planted = report(path, size, 0, rng)
            bare_time, bare_peak = bare(url, path)
            our_time, _, view = ours(url, path, *PERIOD, trace=False)
            _, our_peak, _ = ours(url, path, *PERIOD, trace=True)  # memory, untimed
            peaks.append(our_peak)
            print(
                f"N={size:>7}: ours {our_time:6.2f} s "
                f"(peak {our_peak / 2**20:5.1f} MiB)"
                f"  bare SQL {bare_time:6.2f} s (peak {bare_peak / 2**20:5.1f} MiB)"
                f"  matched {view['matched']}, differences {view['discrepancies']}"
                f" (planted: {planted['amount_mismatch']} amount, "
                f"{planted['missing_at_provider']} missing + unexpected)"
            )
            expected = 2 * planted["missing_at_provider"] + planted["amount_mismatch"]
            if view["discrepancies"] != expected or view["matched"] != size - (
                planted["missing_at_provider"] + planted["amount_mismatch"]
            ):
                raise SystemExit(
                    f"wrong answer: {view['discrepancies']} differences, "
                    f"{expected} planted"
                )
        print(
            f"peak memory N/4 -> N: {peaks[0] / 2**20:.1f} -> {peaks[-1] / 2**20:.1f} "
            f"MiB (x{peaks[-1] / max(peaks[0], 1):.2f} for x4 rows)"
        )
        result("reconcile", our_time / bare_time, "<=2.5")


if __name__ == "__main__":
    main()
