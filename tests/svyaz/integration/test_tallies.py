"""Tallies (`svyaz.tallies`) on the real PostgreSQL: every kind of change counted,
folding while others write, two samplers at once, and the services' own tallies
(payouts, deliveries) counting what was there before their migration."""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from svyaz import tallies
from tests.conftest import ROOT

THINGS = tallies.Tally("things", ("kind", "state"))


@pytest.fixture
def engine(database: Callable[[str], str]) -> Iterator[Engine]:
    engine = create_engine(database("stipends"))
    yield engine
    engine.dispose()


def truth(conn: Any, table: str = "things", columns: str = "kind, state") -> dict:
    return {
        tuple(row[:-1]): row[-1]
        for row in conn.execute(
            text(f"SELECT {columns}, count(*) FROM {table} GROUP BY {columns}")
        )
    }


def changes(conn: Any) -> int:
    return int(conn.execute(text("SELECT count(*) FROM things_tally")).scalar())


def read(engine: Engine, tally: tallies.Tally = THINGS) -> dict:
    with Session(engine) as session, session.begin():
        return tallies.read(session, tally)


@pytest.fixture
def things(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE things (id serial PRIMARY KEY, kind text NOT NULL, "
                "state text NOT NULL, note text)"
            )
        )
        # rows from before the tally: the migration counts them
        conn.execute(
            text(
                "INSERT INTO things (kind, state) SELECT 'a', 'new' "
                "FROM generate_series(1, 5)"
            )
        )
        for statement in THINGS.create():
            conn.execute(text(statement))
    return engine


def test_every_change_is_counted_and_folded_into_a_row_a_group(
    things: Engine,
) -> None:
    assert read(things) == {("a", "new"): 5}
    with things.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO things (kind, state) SELECT k, 'new' "
                "FROM unnest(ARRAY['a', 'a', 'b', 'b', 'b']) AS k"
            )
        )
        before = changes(conn)
        # updates that leave the counted columns as they were add nothing
        conn.execute(text("UPDATE things SET note = 'seen'"))
        conn.execute(text("UPDATE things SET state = state, kind = kind"))
        assert changes(conn) == before
        conn.execute(text("UPDATE things SET state = 'done' WHERE id <= 3"))
        conn.execute(text("UPDATE things SET kind = 'c' WHERE id = 4"))
        conn.execute(text("DELETE FROM things WHERE id IN (5, 6, 8)"))
        expected = truth(conn)
    assert expected == {
        ("a", "done"): 3,
        ("c", "new"): 1,
        ("a", "new"): 1,
        ("b", "new"): 2,
    }
    assert read(things) == expected
    with things.begin() as conn:  # folded: one row a group
        assert changes(conn) == len(expected)
        conn.execute(text("DELETE FROM things WHERE kind = 'c'"))
    assert read(things) == {k: v for k, v in expected.items() if k != ("c", "new")}
    with things.begin() as conn:
        conn.execute(text("TRUNCATE things"))
    assert read(things) == {}


def test_a_fold_while_others_write_loses_nothing(things: Engine) -> None:
    writer = things.connect()
    try:
        writer.begin()
        writer.execute(
            text("INSERT INTO things (kind, state) VALUES ('w', 'new'), ('w', 'new')")
        )
        writer.execute(text("UPDATE things SET state = 'old' WHERE id = 1"))
        # the sampler folds what is committed; the writer's changes are not yet
        assert read(things) == {("a", "new"): 5}
        writer.commit()
    finally:
        writer.close()
    with things.connect() as conn:
        assert (
            read(things)
            == truth(conn)
            == {
                ("a", "new"): 4,
                ("a", "old"): 1,
                ("w", "new"): 2,
            }
        )


def test_a_second_sampler_reads_while_the_first_folds(things: Engine) -> None:
    with things.begin() as conn:
        conn.execute(text("UPDATE things SET state = 'old' WHERE id <= 2"))
        unfolded = changes(conn)
    first = Session(things)
    try:
        with first.begin():
            assert tallies.read(first, THINGS) == {("a", "new"): 3, ("a", "old"): 2}
            # the first holds the fold's lock until it commits: the second sums
            # the changes as they are, without waiting and without folding
            assert read(things) == {("a", "new"): 3, ("a", "old"): 2}
            with things.connect() as conn:
                assert changes(conn) == unfolded
    finally:
        first.close()
    with things.connect() as conn:
        assert changes(conn) == 2


def alembic(service: str, url: str) -> AlembicConfig:
    config = AlembicConfig(str(ROOT / "services" / service / "alembic.ini"))
    config.set_main_option("sqlalchemy.url", url)
    return config


@contextmanager
def before(
    database: Callable[[str], str], service: str, revision: str
) -> Iterator[tuple[Engine, Callable[[], None]]]:
    """A service's database at the migration before its tally's, and the step up."""
    url = database(service)
    command.downgrade(alembic(service, url), revision)
    engine = create_engine(url)
    try:
        yield engine, lambda: command.upgrade(alembic(service, url), "head")
    finally:
        engine.dispose()


def sampled(engine: Engine, metrics: Any) -> None:
    with Session(engine) as session, session.begin():
        metrics.sample(session)


def test_payouts_are_counted_from_before_the_migration_and_sampled(
    database: Callable[[str], str],
) -> None:
    from stipends import metrics
    from stipends.payouts.models import PAYOUT_TALLY

    with before(database, "stipends", "0014") as (engine, upgrade):
        with engine.begin() as conn:  # payouts with no runs or stipends behind them
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(
                text(
                    "INSERT INTO payouts (id, run_id, stipend_id, communicator_id, "
                    "amount_minor, currency, provider, status, attempt, fee_minor, "
                    "retries) SELECT gen_random_uuid(), gen_random_uuid(), "
                    "gen_random_uuid(), gen_random_uuid(), 100, 'EUR', p, s, 0, 0, 0 "
                    "FROM (VALUES ('stripe_connect', 'paid'), ('stripe_connect', "
                    "'paid'), ('stripe_connect', 'sent'), ('bank_file', 'failed')) "
                    "AS v (p, s)"
                )
            )
        upgrade()
        sampled(engine, metrics)
        assert gauge(metrics.PAYOUTS, "paid", "stripe_connect") == 2
        assert gauge(metrics.PAYOUTS, "sent", "stripe_connect") == 1
        assert gauge(metrics.PAYOUTS, "failed", "bank_file") == 1
        assert gauge(metrics.PAYOUTS, "queued", "stripe_connect") == 0
        with engine.begin() as conn:
            conn.execute(text("UPDATE payouts SET status = 'paid' WHERE status='sent'"))
            conn.execute(text("DELETE FROM payouts WHERE provider = 'bank_file'"))
        sampled(engine, metrics)
        assert gauge(metrics.PAYOUTS, "paid", "stripe_connect") == 3
        assert gauge(metrics.PAYOUTS, "sent", "stripe_connect") == 0
        assert gauge(metrics.PAYOUTS, "failed", "bank_file") == 0
        with engine.connect() as conn:
            assert read(engine, PAYOUT_TALLY) == truth(
                conn, "payouts", "status, provider"
            )


def test_deliveries_are_counted_from_before_the_migration_and_sampled(
    database: Callable[[str], str],
) -> None:
    from notifications import metrics
    from notifications.models import DELIVERY_TALLY

    insert = text(
        "INSERT INTO deliveries (event_id, recipient_id, channel, template, status, "
        "attempts, audience, discreet) SELECT gen_random_uuid(), gen_random_uuid(), "
        "c, 'welcome', s, 0, 'communicator', true FROM (VALUES ('email', 'sent'), "
        "('email', 'sent'), ('inbox', 'pending')) AS v (c, s)"
    )
    with before(database, "notifications", "0009") as (engine, upgrade):
        with engine.begin() as conn:
            conn.execute(insert)
        upgrade()
        with engine.begin() as conn:
            conn.execute(insert)
            conn.execute(
                text(
                    "UPDATE deliveries SET status = 'parked' WHERE id = "
                    "(SELECT min(id) FROM deliveries WHERE channel = 'inbox')"
                )
            )
        sampled(engine, metrics)
        assert gauge(metrics.DELIVERIES, "email", "sent") == 4
        assert gauge(metrics.DELIVERIES, "inbox", "pending") == 1
        assert gauge(metrics.DELIVERIES, "inbox", "parked") == 1
        assert gauge(metrics.DELIVERIES, "telegram", "sent") == 0
        with engine.connect() as conn:
            assert read(engine, DELIVERY_TALLY) == truth(
                conn, "deliveries", "channel, status"
            )


def gauge(metric: Any, *labels: str) -> float:
    return float(metric.labels(*labels)._value.get())  # noqa: SLF001
