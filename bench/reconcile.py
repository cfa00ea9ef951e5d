"""Reconciliation of a period: N provider rows (Stripe's itemized balance change
report, a CSV file in major units) against N paid payouts and their ledger sends.

Ours: stage the report by COPY, check it, resolve and classify every difference in
SQL and store the work queue (`stipends.logic.payouts.reconciliation.start`).

The like-for-like baseline (`careful`), in the same run on the same database: the
same job written by hand for this one report, in one committed transaction, with
the tables it writes shaped as ours (same indexes, logged): the report by COPY into
typed columns (an unreadable amount or time refuses it, by its line), a unique
index on the transfer ids (an id twice refuses it), one check for the first bad
line (an id, a currency, more decimals than the currency has), the amounts in minor
units, one FULL JOIN with each stipend's newest ledger send in the period, each
difference stored as a work-queue item with the row it names, the figures per
currency and the counts stored. Its answer must be ours, or the bench stops.

The reference line (`bare`), as before: COPY the same file into a bare table and one
FULL OUTER JOIN of it with the same ledger rows, nothing checked, stored or
committed. All three are timed from the file to the answer.
Peak Python memory (tracemalloc, in a second, untimed pass) is measured for ours at
N/4, N/2 and N: it stays
flat because rows stream from the file through a spool into COPY.

The seed inserts payouts, journal entries and postings directly with SQL (foreign
keys and ledger triggers off for the seed only, as `session_replication_role =
replica` does): programmes, cycles and stipends play no part in matching.

    python bench/reconcile.py [--n 100000]

At N, three rounds (each side in turn). Last line: RESULT reconcile
ratio=<ours/by hand, the median round> target<=2.5 (issue 22: each bench's target
ratio is against its like-for-like baseline); the line before it gives ours
against the bare reference.
"""

from __future__ import annotations

import argparse
import random
import statistics
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
from svyaz import money  # noqa: E402

ROUNDS = 3  # at N: the RESULT is the median round's
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
    # inside the period, after the payouts seeded before it were made (a row dated
    # outside its period, or before its payout, refuses the report)
    when = f"{datetime.now(UTC) + timedelta(minutes=1):%Y-%m-%d %H:%M:%S}"
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
                f"txn_{i},{when},eur,{gross},0.00,{gross},transfer,{source},payout\n"
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
            datetime.now(UTC),
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


# -- the like-for-like baseline: the same job, written by hand for this report -------
# tables it writes, as ours does (same indexes, logged, committed); made untimed
CAREFUL_TABLES = """
CREATE TABLE IF NOT EXISTS careful_currencies (code text PRIMARY KEY, factor bigint);
CREATE TABLE IF NOT EXISTS careful_reconciliations (
    id bigserial PRIMARY KEY, period_start date, period_end date, provider_rows int,
    matched int, discrepancies int, created_at timestamptz DEFAULT now());
CREATE TABLE IF NOT EXISTS careful_items (LIKE reconciliation_items INCLUDING ALL);
CREATE TABLE IF NOT EXISTS careful_rows (LIKE reconciliation_rows INCLUDING ALL);
CREATE TABLE IF NOT EXISTS careful_figures (LIKE reconciliation_figures INCLUDING ALL)
"""
CAREFUL_REPORT = """
CREATE TEMP TABLE report (line bigserial, balance_transaction_id text,
    created_utc timestamp, currency text COLLATE "C", gross numeric, fee numeric,
    net numeric, reporting_category text COLLATE "C", source_id text,
    description text) ON COMMIT DROP
"""
# one pass over the report: per currency the provider's figure, and the first line
# that cannot be taken (COPY itself refused an unreadable amount or time, naming its
# line): an id missing, a currency that is not three letters, more decimals than
# the currency has
CAREFUL_CHECKED_FIGURES = """
SELECT cur, sum(-exact)::bigint, min(line) FILTER (WHERE
         coalesce(source_id, '') = '' OR length(source_id) > 80
         OR (known IS NULL AND cur !~ '^[A-Z]{3}$')
         OR gross IS NULL OR exact <> trunc(exact))
FROM (SELECT r.line, r.source_id, r.gross, upper(r.currency) AS cur, c.code AS known,
             r.gross * coalesce(c.factor, 100) AS exact
      FROM report r LEFT JOIN careful_currencies c ON c.code = upper(r.currency)
      WHERE r.reporting_category IN ('transfer', 'transfer_reversal')) t
GROUP BY cur
"""
CAREFUL_CLASSIFY = """
WITH sent AS (  -- each stipend's newest ledger send in the period
    SELECT DISTINCT ON (e.stipend_id) e.stipend_id, po.amount_minor AS ledger_minor
    FROM journal_entries e
    JOIN postings po ON po.entry_id = e.id
     AND po.account = 'provider_clearing:stripe_connect:EUR'
    WHERE e.kind = 'payout_sent' AND e.posted_at >= %(start)s
      AND e.posted_at < %(end)s
    ORDER BY e.stipend_id, e.id DESC
), ours AS (  -- sent in the period, or named by the report
    SELECT p.id, p.run_id, p.amount_minor, p.currency, p.provider_ref, s.ledger_minor
    FROM payouts p LEFT JOIN sent s ON s.stipend_id = p.stipend_id
    WHERE p.provider = 'stripe_connect' AND p.status <> 'cancelled'
      AND (s.stipend_id IS NOT NULL
           OR p.provider_ref IN (SELECT source_id FROM report))
), theirs AS (  -- the transfers, in minor units
    SELECT r.source_id, upper(r.currency) AS currency,
           (-r.gross * coalesce(c.factor, 100))::bigint AS minor
    FROM report r LEFT JOIN careful_currencies c ON c.code = upper(r.currency)
    WHERE r.reporting_category = 'transfer'
), judged AS (
    SELECT o.id, o.run_id, o.amount_minor, o.currency, t.source_id, t.minor,
           t.currency AS t_currency, CASE
             WHEN o.id IS NULL THEN 'unexpected_at_provider'
             WHEN t.source_id IS NULL THEN 'missing_at_provider'
             WHEN t.currency <> o.currency THEN 'currency_mismatch'
             WHEN t.minor <> o.amount_minor OR o.ledger_minor <> o.amount_minor
               THEN 'amount_mismatch'
           END AS kind
    FROM ours o FULL JOIN theirs t ON t.source_id = o.provider_ref
), stored AS (
    INSERT INTO careful_items (reconciliation_id, kind, payout_id, run_id,
        provider_ref, ours_minor, theirs_minor, ours_currency, theirs_currency, state)
    SELECT %(rid)s, kind, id, run_id, source_id, amount_minor, minor, currency,
           t_currency, 'open'
    FROM judged WHERE kind IS NOT NULL
    RETURNING 1
)
SELECT (SELECT count(*) FROM judged WHERE kind IS NULL), (SELECT count(*) FROM stored)
"""
# the sends of payouts the report names that were posted outside the period (a
# provider books days after we send): part of the ledger's figure
CAREFUL_OUTSIDE = """
INSERT INTO careful_figures (reconciliation_id, currency, provider_minor,
                             outside_minor)
SELECT %(rid)s, po.currency, 0, sum(po.amount_minor) FROM journal_entries e
JOIN postings po ON po.entry_id = e.id
 AND po.account = 'provider_clearing:stripe_connect:EUR'
WHERE e.kind = 'payout_sent' AND NOT (e.posted_at >= %(start)s
                                      AND e.posted_at < %(end)s)
  AND e.stipend_id IN (SELECT p.stipend_id FROM payouts p
                       JOIN report r ON r.source_id = p.provider_ref)
GROUP BY po.currency HAVING sum(po.amount_minor) <> 0
ON CONFLICT (reconciliation_id, currency)
DO UPDATE SET outside_minor = EXCLUDED.outside_minor
"""
CAREFUL_LEDGER = """
SELECT po.currency, sum(po.amount_minor) FROM journal_entries e
JOIN postings po ON po.entry_id = e.id
 AND po.account = 'provider_clearing:stripe_connect:EUR'
WHERE e.kind = 'payout_sent' AND e.posted_at >= %(start)s AND e.posted_at < %(end)s
GROUP BY po.currency
"""
CAREFUL_KEEP = """
INSERT INTO careful_rows (reconciliation_id, provider_ref, kind, amount_minor,
    currency, payout_id, parent_ref, balance_minor, status, created)
SELECT %(rid)s, r.source_id, 'payment', abs(i.theirs_minor), upper(r.currency),
       i.payout_id, NULL, i.theirs_minor, 'posted', r.created_utc
FROM careful_items i JOIN report r ON r.source_id = i.provider_ref
WHERE i.reconciliation_id = %(rid)s
"""


def careful_tables(url: str) -> None:
    """The baseline's own tables, and the minor units per major unit of each
    currency (a table a hand-written service would keep): made before the
    timing."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for statement in CAREFUL_TABLES.split(";\n"):
            conn.execute(text(statement))
        conn.execute(text("TRUNCATE careful_currencies"))
        conn.execute(
            text("INSERT INTO careful_currencies VALUES (:code, :factor)"),
            [
                {"code": iso, "factor": 10 ** money.exponent(iso)}
                for iso in money.known()
            ],
        )
    engine.dispose()


def careful(url: str, path: Path, start: date, end: date) -> tuple[float, int, int]:
    """The same job as ours, by hand: the report read and checked (a bad line, an id
    named twice, refuse it all), converted to minor units, matched against the
    ledger's sends by transfer id, each difference stored as a work-queue item
    with the rows it names, the figures per currency stored, the counts stored,
    committed. What it leaves out: our reference column, reversals by their
    transfer, payouts paid twice, the provider's statuses, an audit row and the
    events (this report has none of the first four)."""
    engine = create_engine(url)
    began = time.perf_counter()
    raw = engine.raw_connection()
    bounds = {
        "start": datetime.combine(start, datetime.min.time(), UTC),
        "end": datetime.combine(end, datetime.min.time(), UTC),
    }
    try:
        cur = raw.cursor()
        cur.execute("SET LOCAL work_mem = '64MB'")
        cur.execute("SET LOCAL jit = off")
        cur.execute(
            "INSERT INTO careful_reconciliations (period_start, period_end) "
            "VALUES (%s, %s) RETURNING id",
            (start, end),
        )
        (number,) = cur.fetchone()
        rid = uuid.UUID(int=number)
        cur.execute(CAREFUL_REPORT)
        with path.open() as source:
            cur.copy_expert(
                "COPY report (balance_transaction_id, created_utc, currency, gross, "
                "fee, net, reporting_category, source_id, description) "
                "FROM STDIN WITH (FORMAT csv, HEADER)",
                source,
            )
        rows = cur.rowcount
        # an id twice refuses it; compared byte by byte, as ours
        cur.execute('CREATE UNIQUE INDEX ON report (source_id COLLATE "C")')
        cur.execute("SET LOCAL default_statistics_target = 10")  # a sample
        cur.execute("ANALYZE report")
        cur.execute(CAREFUL_CHECKED_FIGURES)
        found = cur.fetchall()
        if any(bad is not None for _, _, bad in found):
            raise SystemExit("the baseline refused the report")
        cur.executemany(
            "INSERT INTO careful_figures (reconciliation_id, currency, provider_minor)"
            " VALUES (%s, %s, %s)",
            [(rid, code, minor) for code, minor, _ in found],
        )
        cur.execute(CAREFUL_OUTSIDE, {"rid": rid, **bounds})
        cur.execute(CAREFUL_CLASSIFY, {"rid": rid, **bounds})
        matched, differences = cur.fetchone()
        cur.execute(CAREFUL_KEEP, {"rid": rid})
        cur.execute(CAREFUL_LEDGER, bounds)
        cur.fetchall()
        cur.execute(
            "UPDATE careful_reconciliations SET provider_rows = %s, matched = %s, "
            "discrepancies = %s WHERE id = %s",
            (rows, matched, differences, number),
        )
        raw.commit()
    finally:
        raw.close()
    elapsed = time.perf_counter() - began
    engine.dispose()
    return elapsed, int(matched), int(differences)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"machine: {machine()}")
    sizes = [args.n // 4, args.n // 2, args.n]
    with database("stipends") as url, tempfile.TemporaryDirectory() as tmp:
        careful_tables(url)
        seeded = 0
        peaks = []
        for size in sizes:
            seed(url, size - seeded, seeded)
            seeded = size
            path = Path(tmp) / f"itemized-{size}.csv"
            planted = report(path, size, 0, rng)
            bare_time, bare_peak = bare(url, path)
            careful_time, careful_matched, careful_found = careful(url, path, *PERIOD)
            our_time, _, view = ours(url, path, *PERIOD, trace=False)
            _, our_peak, _ = ours(url, path, *PERIOD, trace=True)  # memory, untimed
            peaks.append(our_peak)
            print(
                f"N={size:>7}: ours {our_time:6.2f} s "
                f"(peak {our_peak / 2**20:5.1f} MiB)"
                f"  by hand {careful_time:6.2f} s"
                f"  bare SQL {bare_time:6.2f} s (peak {bare_peak / 2**20:5.1f} MiB)"
                f"  matched {view['matched']}, differences {view['discrepancies']}"
                f" (planted: {planted['amount_mismatch']} amount, "
                f"{planted['missing_at_provider']} missing + unexpected)"
            )
            expected = 2 * planted["missing_at_provider"] + planted["amount_mismatch"]
            answers = {
                (view["matched"], view["discrepancies"]),
                (careful_matched, careful_found),
            }
            if answers != {
                (
                    size
                    - (planted["missing_at_provider"] + planted["amount_mismatch"]),
                    expected,
                )
            }:
                raise SystemExit(
                    f"wrong answer: ours {view['matched']} matched and "
                    f"{view['discrepancies']} differences, by hand {careful_matched} "
                    f"and {careful_found}; {expected} differences planted"
                )
        print(
            f"peak memory N/4 -> N: {peaks[0] / 2**20:.1f} -> {peaks[-1] / 2**20:.1f} "
            f"MiB (x{peaks[-1] / max(peaks[0], 1):.2f} for x4 rows)"
        )
        # at N, two more rounds, each side in turn: on a shared machine one round
        # moves by a third; the RESULT is the median round's
        rounds = [(our_time, careful_time, bare_time)]
        for _ in range(ROUNDS - 1):
            their = careful(url, path, *PERIOD)[0]
            mine = ours(url, path, *PERIOD, trace=False)[0]
            rounds.append((mine, their, bare(url, path)[0]))
        for number, (mine, their, plain) in enumerate(rounds, 1):
            print(
                f"round {number} at N={sizes[-1]}: ours {mine:.2f} s, by hand "
                f"{their:.2f} s, bare SQL {plain:.2f} s: {mine / their:.2f} "
                f"(against bare SQL {mine / plain:.2f})"
            )
        ratio = statistics.median(mine / their for mine, their, _ in rounds)
        plain_ratio = statistics.median(mine / plain for mine, _, plain in rounds)
        print(f"ours against bare SQL (reference), median round: {plain_ratio:.2f}")
        result("reconcile", ratio, "<=2.5")


if __name__ == "__main__":
    main()
