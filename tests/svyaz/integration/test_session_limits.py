"""Every session of a service's database is bounded (`svyaz.migrations.SESSION_LIMITS`),
on the real PostgreSQL: the migrations, run as the role that owns the database (no
superuser), set the database's defaults, so a statement, a lock wait and a
transaction left open end by themselves, for the runtime role and through a pooler
alike. stipends' migrations stand for every service's (they share `run_env`)."""

from __future__ import annotations

import time

import psycopg2
import psycopg2.errors
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from svyaz.db import make_engine
from svyaz.migrations import SESSION_LIMITS, session_limits, unlimited
from tests.svyaz.integration.conftest import Roles


def _shown(roles: Roles, role: str) -> dict[str, str]:
    with roles.cursor(role) as cur:
        found = {}
        for setting in SESSION_LIMITS:
            cur.execute(f"SHOW {setting}")
            found[setting] = cur.fetchone()[0]
        return found


def test_a_new_session_starts_bounded(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _, (variable, _) in SESSION_LIMITS.items():
        monkeypatch.delenv(variable, raising=False)
    roles.migrate(monkeypatch, roles.runtime)
    expected = {
        "statement_timeout": "5min",
        "lock_timeout": "0",
        "idle_in_transaction_session_timeout": "5min",
    }
    assert _shown(roles, roles.runtime) == expected
    assert _shown(roles, roles.owner) == expected
    # run again (every deploy migrates), with other values: the new ones hold
    monkeypatch.setenv("DB_LOCK_TIMEOUT", "10s")
    roles.migrate(monkeypatch, roles.runtime)
    assert _shown(roles, roles.runtime)["lock_timeout"] == "10s"


def test_each_limit_ends_what_it_bounds(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "300ms")
    monkeypatch.setenv("DB_LOCK_TIMEOUT", "200ms")
    monkeypatch.setenv("DB_IDLE_IN_TRANSACTION_TIMEOUT", "1s")
    roles.migrate(monkeypatch, roles.runtime)
    # a statement that runs too long is cancelled
    with (
        roles.cursor(roles.runtime) as cur,
        pytest.raises(psycopg2.errors.QueryCanceled, match="statement timeout"),
    ):
        cur.execute("SELECT pg_sleep(2)")
    holder = roles.connect(roles.runtime)
    holder.autocommit = False
    waiter = roles.connect(roles.runtime)
    try:
        with waiter.cursor() as cur:
            cur.execute(
                "INSERT INTO bus_nonces (signer, nonce, expires_at) "
                "VALUES ('probe', 'probe', now())"
            )
        with holder.cursor() as cur:  # a transaction holding the row, left open
            cur.execute("SELECT 1 FROM bus_nonces WHERE nonce = 'probe' FOR UPDATE")
        # a wait for that row gives up
        began = time.monotonic()
        with (
            waiter.cursor() as cur,
            pytest.raises(psycopg2.errors.LockNotAvailable, match="lock timeout"),
        ):
            cur.execute("DELETE FROM bus_nonces WHERE nonce = 'probe'")
        assert time.monotonic() - began < 0.9  # the lock's limit, not the holder's end
        # and the holder, idle in its transaction, is ended by the server, which
        # lets the row go
        time.sleep(1.5)
        with pytest.raises(psycopg2.Error, match="idle-in-transaction|closed"):
            with holder.cursor() as cur:
                cur.execute("SELECT 1")
        with waiter.cursor() as cur:
            cur.execute("DELETE FROM bus_nonces WHERE nonce = 'probe'")
            assert cur.rowcount == 1
    finally:
        holder.close()
        waiter.close()


def test_a_migration_lifts_the_limits_for_itself(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backfill may run long: the migration's own transaction is not bounded by
    the database's limits (`unlimited`, the first step of `run_env`)."""
    monkeypatch.setenv("DB_STATEMENT_TIMEOUT", "50ms")
    roles.migrate(monkeypatch, roles.runtime)
    engine = make_engine(roles.url(roles.owner), pool_size=1)
    try:
        with engine.begin() as conn:
            with pytest.raises(DBAPIError, match="statement timeout"):
                with conn.begin_nested():
                    conn.execute(text("SELECT pg_sleep(0.2)"))
            unlimited(conn)
            conn.execute(text("SELECT pg_sleep(0.2)"))
    finally:
        engine.dispose()
    roles.migrate(monkeypatch, roles.runtime)  # again, with the limit in place


@pytest.mark.parametrize("value", ["5 minutes", "-1s", "1e3", "30s; DROP TABLE x"])
def test_a_limit_of_another_shape_is_refused_by_name(value: str) -> None:
    with pytest.raises(RuntimeError, match="DB_LOCK_TIMEOUT=.* is not a duration"):
        session_limits({"DB_LOCK_TIMEOUT": value})


def test_the_shapes_postgresql_reads_are_taken() -> None:
    assert session_limits({"DB_STATEMENT_TIMEOUT": "30 s", "DB_LOCK_TIMEOUT": "0"}) == {
        "statement_timeout": "30s",
        "lock_timeout": "0",
        "idle_in_transaction_session_timeout": "5min",
    }
