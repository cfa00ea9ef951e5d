"""The impact view for a programme of 20,000 communicators over 24 cycles, against
the same aggregate queries on an indexed table, and the rebuild of the read model
from the events.

    python bench/impact.py [--communicators 20000] [--cycles 24] [--runs 15]

The facts (what each event contributed, as the insights service keeps them) are
made up and COPYed into a fresh insights database: each communicator activated in
one of 40 clubs in 10 countries (30% moved to the professional tier), 24 cycles
opened, in each cycle 80% of the communicators submit a report that is then
reviewed (about 1 in 8 rejected), and accepted professionals' stipends approved
and paid. Then:

- rebuild: `insights.logic.facts.rebuild` (empties the read model and makes it
  again from the facts, set by set), timed once;
- ours: `insights.logic.cycle_figures.cycle_view` for the last cycle, by country of the
  club, through the insights models, with suppression and the money and payouts
  figures: the view the console and the API show;
- the baseline: the same aggregates (reports by group and outcome and by observed
  change with the sums, the channels and audiences named, communicators retained
  and new) as plain SQL on one table holding the same reports with their group
  already on each row, indexed on the cycle: what a hand-made table for this one
  view would answer.

Medians of --runs after a warm-up. Last line:
RESULT impact ratio=<median ours / median baseline> target<=3
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import database, machine, result  # noqa: E402

from insights.logic import cycle_figures, facts  # noqa: E402
from svyaz.db import copy_in  # noqa: E402

COUNTRIES = ("GE", "AM", "KZ", "RS", "TR", "DE", "PL", "LT", "KG", "UZ")
CHANNELS = ("phone", "video", "messenger", "in_person", "letter")
AUDIENCES = ("family", "friends", "colleagues", "online_community")
CHANGES = ("none", "some", "clear")

BASELINE = (
    """SELECT grp, status, observed_change, count(*), sum(conversations), sum(hours),
              sum(topics_count)
         FROM baseline WHERE cycle_id = %(c)s GROUP BY grp, status, observed_change""",
    """SELECT code, count(*) FROM baseline, jsonb_array_elements_text(channels) code
        WHERE cycle_id = %(c)s GROUP BY code""",
    """SELECT code, count(*) FROM baseline, jsonb_array_elements_text(audiences) code
        WHERE cycle_id = %(c)s GROUP BY code""",
    """SELECT b.grp, p.communicator_id IS NOT NULL, count(DISTINCT b.communicator_id)
         FROM baseline b
         LEFT JOIN (SELECT DISTINCT communicator_id FROM baseline
                     WHERE cycle_id = %(p)s) p ON p.communicator_id = b.communicator_id
        WHERE b.cycle_id = %(c)s GROUP BY 1, 2""",
)


def line(event_type: str, at: datetime, data: dict) -> bytes:
    body = json.dumps(data).replace('"', '""')
    return f'{uuid.uuid4()},{event_type},{at.isoformat()},"{body}"\n'.encode()


def made_up(communicators: int, cycles: int) -> Iterator[bytes]:
    rng = random.Random(20)
    start = datetime(2025, 1, 1, tzinfo=UTC)
    programme = str(uuid.uuid4())
    clubs = [(str(uuid.uuid4()), COUNTRIES[i % len(COUNTRIES)]) for i in range(40)]
    people = [str(uuid.uuid4()) for _ in range(communicators)]
    professional = set()
    yield line(
        "programme.budget_changed.v1",
        start,
        {"programme_id": programme, "currency": "EUR", "budget_minor": 10**10},
    )
    for person in people:
        club, country = rng.choice(clubs)
        yield line(
            "communicator.activated.v1",
            start,
            {"communicator_id": person, "club_id": club, "club_country": country},
        )
        if rng.random() < 0.3:
            professional.add(person)
            yield line(
                "communicator.tier_changed.v1",
                start + timedelta(days=1),
                {"communicator_id": person, "tier": "professional"},
            )
    for n in range(cycles):
        opened = start + timedelta(days=30 * n + 2)
        cycle = str(uuid.uuid4())
        period = f"{2025 + (n // 12)}-{n % 12 + 1:02d}"
        yield line(
            "cycle.opened.v1",
            opened,
            {"cycle_id": cycle, "programme_id": programme, "period": period},
        )
        for person in people:
            if rng.random() >= 0.8:
                continue
            report = str(uuid.uuid4())
            figures_ = {
                "conversations": rng.randint(0, 30),
                "hours": rng.randint(0, 40),
                "audiences": rng.sample(AUDIENCES, rng.randint(1, 2)),
                "channels": rng.sample(CHANNELS, rng.randint(1, 3)),
                "topics_count": rng.randint(0, 4),
                "observed_change": rng.choice(CHANGES),
            }
            ids = {"report_id": report, "communicator_id": person, "cycle_id": cycle}
            at = opened + timedelta(days=rng.randint(1, 20))
            yield line("report.submitted.v1", at, {**ids, "late": False, **figures_})
            decision = "rejected" if rng.random() < 0.125 else "accepted"
            yield line(
                "report.reviewed.v1",
                at + timedelta(days=2),
                {**ids, "decision": decision, **figures_},
            )
            if decision == "accepted" and person in professional:
                stipend = str(uuid.uuid4())
                money = {
                    "stipend_id": stipend,
                    "communicator_id": person,
                    "amount_minor": 300_00,
                    "currency": "EUR",
                }
                yield line(
                    "stipend.approved.v1",
                    opened + timedelta(days=28),
                    {**money, "cycle_id": cycle},
                )
                yield line("payout.paid.v1", opened + timedelta(days=31), money)


def timed(work: object, runs: int) -> float:
    work()  # type: ignore[operator]  # warm-up
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        work()  # type: ignore[operator]
        took.append(time.perf_counter() - started)
    return statistics.median(took)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--communicators", type=int, default=20_000)
    parser.add_argument("--cycles", type=int, default=24)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    with database("insights") as url:
        engine = create_engine(url)
        started = time.perf_counter()
        with Session(engine) as session, session.begin():
            copy_in(
                session,
                "COPY facts (event_id, event_type, occurred_at, data) "
                "FROM STDIN WITH (FORMAT csv)",
                made_up(args.communicators, args.cycles),
            )
        kept = time.perf_counter() - started
        with Session(engine) as session, session.begin():
            started = time.perf_counter()
            count = facts.rebuild(session)
            rebuilt = time.perf_counter() - started
        print(f"facts: {count} events, made and COPYed in {kept:.1f} s", flush=True)
        print(f"rebuild: {rebuilt:.1f} s ({count / rebuilt:,.0f} events/s)", flush=True)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
            last, previous = conn.execute(
                text("SELECT cycle_id FROM cycles ORDER BY period DESC LIMIT 2")
            ).scalars()
            conn.execute(
                text(
                    "CREATE TABLE baseline AS SELECT r.*, "
                    "COALESCE(m.country, 'unknown') AS grp FROM reports r "
                    "LEFT JOIN members m USING (communicator_id)"
                )
            )
            conn.execute(text("CREATE INDEX baseline_cycle ON baseline (cycle_id)"))
            conn.execute(text("ANALYZE baseline"))
            reports = conn.execute(
                text("SELECT count(*) FROM reports WHERE cycle_id = :c"), {"c": last}
            ).scalar()
        print(f"the cycle: {reports} reports", flush=True)

        def ours() -> None:
            with Session(engine) as session:
                cycle_figures.cycle_view(session, last, "country", 5)

        raw = engine.raw_connection()

        def baseline() -> None:
            with raw.cursor() as cur:
                for query in BASELINE:
                    cur.execute(query, {"c": str(last), "p": str(previous)})
                    cur.fetchall()

        mine = timed(ours, args.runs)
        theirs = timed(baseline, args.runs)
        raw.close()
        print(f"ours (cycle_view, suppressed): median {mine * 1000:.1f} ms", flush=True)
        print(
            f"baseline (indexed table):      median {theirs * 1000:.1f} ms", flush=True
        )
        engine.dispose()
    result("impact", mine / theirs, "<=3")
    return 0


if __name__ == "__main__":
    sys.exit(main())
