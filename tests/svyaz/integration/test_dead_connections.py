"""No pre-ping: a connection the server ended is replaced at checkout by looking at
its socket, and work that a connection dying under it failed is run again
(`svyaz.db.retrying`), on the real PostgreSQL."""

from typing import Any

import psycopg2
from sqlalchemy import text

from svyaz.db import make_engine, retrying
from tests.helpers import publish_event, wait_until
from tests.svyaz.integration import probe
from tests.svyaz.integration.test_guarantees import effects, envelope


def terminate(url: str, pid: int) -> None:
    """End a backend as the chaos run's pg fault does, and wait until it is gone."""
    admin = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    admin.autocommit = True

    def gone() -> bool:
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,)
            )
            row = cursor.fetchone()
            return row is not None and row[0] == 0

    try:
        with admin.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pid,))
        wait_until(gone, "the backend to exit", timeout=10)
    finally:
        admin.close()


def test_a_terminated_pooled_connection_is_replaced_at_checkout(probe_db: str) -> None:
    engine = make_engine(probe_db, pool_size=1, max_overflow=0)
    try:
        assert engine.pool._pre_ping is False  # type: ignore[attr-defined]
        with engine.connect() as conn:
            first = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        terminate(probe_db, int(first))
        with engine.connect() as conn:  # no error: the dead one is never used
            second = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        assert second != first
    finally:
        engine.dispose()


def test_work_whose_connection_dies_mid_transaction_runs_again(probe_db: str) -> None:
    engine = make_engine(probe_db, pool_size=1, max_overflow=0)
    runs = []

    def work() -> None:
        runs.append(1)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO probe_effects (n) VALUES (1)"))
            if len(runs) == 1:
                conn.execute(text("SELECT pg_terminate_backend(pg_backend_pid())"))

    try:
        retrying(work)
        with engine.connect() as conn:
            assert (
                conn.execute(text("SELECT count(*) FROM probe_effects")).scalar() == 1
            )
        assert len(runs) == 2
    finally:
        engine.dispose()


def test_a_handler_whose_connection_dies_runs_again_at_once(
    probe_container: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    probe.CUT.add(12)
    publish_event(rabbit_config["AMQP_URI"], envelope(12))
    wait_until(lambda: effects(probe_engine) == [12], "the effect, once")
    assert probe.CALLS[12] == 2  # run again by the worker, not redelivered
