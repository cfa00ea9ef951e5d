"""`svyaz.db.statements`: each statement commits on its own (no BEGIN, no COMMIT),
and the pooled connection goes back to transactions afterwards, on the real
PostgreSQL."""

import time
from typing import Any

import psycopg2
import pytest
from sqlalchemy import text

from svyaz.db import make_engine, statements
from svyaz.nonces import NonceStore


@pytest.fixture
def engine(probe_db: str) -> Any:
    engine = make_engine(probe_db, pool_size=1, max_overflow=0)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE said (n int)"))
    yield engine
    engine.dispose()


def committed(url: str, query: str) -> list[Any]:
    """What another connection sees committed."""
    other = psycopg2.connect(url.replace("postgresql+psycopg2://", "postgresql://"))
    try:
        with other.cursor() as cursor:
            cursor.execute(query)
            return [row[0] for row in cursor.fetchall()]
    finally:
        other.close()


def seen(url: str) -> list[int]:
    return committed(url, "SELECT n FROM said ORDER BY n")


def test_each_statement_is_committed_as_it_runs(engine: Any, probe_db: str) -> None:
    with statements(engine) as conn:
        conn.execute(text("INSERT INTO said VALUES (1)"))
        assert seen(probe_db) == [1]  # committed before the block ends
        assert conn.execute(text("SELECT count(*) FROM said")).scalar() == 1
        # no transaction was opened: the server says so
        assert conn.execute(text("SELECT now() = statement_timestamp()")).scalar()


def test_the_connection_goes_back_to_transactions(engine: Any, probe_db: str) -> None:
    with statements(engine) as conn:
        conn.execute(text("SELECT 1"))
    with engine.connect() as conn:  # the one pooled connection, again
        conn.execute(text("INSERT INTO said VALUES (2)"))
        assert seen(probe_db) == []  # inside a transaction, not yet committed
        conn.rollback()
    assert seen(probe_db) == []


def test_a_failed_statement_leaves_the_connection_usable(engine: Any) -> None:
    with pytest.raises(Exception, match="said_nowhere"):
        with statements(engine) as conn:
            conn.execute(text("SELECT * FROM said_nowhere"))
    with engine.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM said")).scalar() == 0


def test_a_nonce_is_recorded_in_one_statement(engine: Any, probe_db: str) -> None:
    """The stipends schema has the table (its migrations made the probe database)."""
    store = NonceStore(engine, 60)
    assert store.fresh("gateway", "n-1", time.time()) is True
    assert store.fresh("gateway", "n-1", time.time()) is False  # the replay
    assert committed(probe_db, "SELECT count(*) FROM bus_nonces") == [1]
