"""The runtime role (`svyaz.migrations.grant_runtime_role`), on the real PostgreSQL:
a service's migrations run as the role that owns its database and grant the role
the service connects as its rows, and nothing of the schema. stipends' migrations
stand for every service's (they share `run_env`)."""

import logging
import uuid
from types import SimpleNamespace
from typing import Any

import psycopg2
import psycopg2.errors
import pytest
from sqlalchemy import text

import svyaz.dependencies
from svyaz.config import ConfigurationError
from svyaz.db import guard_owner_role, make_engine, refuse_owner_role
from svyaz.dependencies import Database
from tests.conftest import PG
from tests.stack import free_port
from tests.svyaz.integration.conftest import Roles


def _admin(database: str = "postgres") -> Any:
    conn = psycopg2.connect(f"{PG}/{database}")
    conn.autocommit = True
    return conn


@pytest.fixture
def migrated(roles: Roles, monkeypatch: pytest.MonkeyPatch) -> Roles:
    roles.migrate(monkeypatch, roles.runtime)
    return roles


def test_the_runtime_role_reads_and_writes_rows(migrated: Roles) -> None:
    with migrated.cursor(migrated.runtime) as cur:
        cur.execute(
            "INSERT INTO outbox (event_id, event_type, producer, aggregate_id, "
            "envelope) VALUES (%s, 'probe.v1', 'stipends', 'probe', '{}') "
            "RETURNING id",  # its id from the table's sequence
            (str(uuid.uuid4()),),
        )
        (made,) = cur.fetchone()
        cur.execute("UPDATE outbox SET attempts = 1 WHERE id = %s", (made,))
        cur.execute("SELECT attempts FROM outbox WHERE id = %s", (made,))
        assert cur.fetchone() == (1,)
        cur.execute("DELETE FROM outbox WHERE id = %s", (made,))
        assert cur.rowcount == 1
        cur.execute("SELECT version_num FROM alembic_version")
        assert cur.fetchone() is not None  # the schema's version, to read
        # reconciliation stages its reports in temporary tables
        cur.execute("CREATE TEMP TABLE staged (n int)")
        cur.execute("INSERT INTO staged SELECT generate_series(1, 10)")
        cur.execute("ANALYZE staged")


@pytest.mark.parametrize(
    ("statement", "refusal"),
    [
        ("DROP TABLE postings", "must be owner"),
        ("ALTER TABLE journal_entries DISABLE TRIGGER ALL", "must be owner"),
        ("ALTER TABLE payouts ADD COLUMN extra int", "must be owner"),
        ("CREATE TABLE public.extra (n int)", "permission denied for schema public"),
        ("UPDATE alembic_version SET version_num = 'x'", "permission denied"),
        ("TRUNCATE command_results", "permission denied"),
    ],
)
def test_the_runtime_role_cannot_change_the_schema(
    migrated: Roles, statement: str, refusal: str
) -> None:
    with (
        migrated.cursor(migrated.runtime) as cur,
        pytest.raises(psycopg2.Error, match=refusal),
    ):
        cur.execute(statement)
    # and the ledger's append-only guard stands for it
    with migrated.cursor(migrated.runtime) as cur:
        cur.execute(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'postings'::regclass "
            "AND NOT tgisinternal AND tgenabled <> 'D'"
        )
        (guards,) = cur.fetchone()
        assert guards > 0


def test_a_later_migration_s_tables_are_the_runtime_role_s_to_use(
    migrated: Roles,
) -> None:
    with migrated.cursor(migrated.owner) as cur:  # a later migration, as the owner
        cur.execute("CREATE TABLE later_made (id bigserial, n int)")
    with migrated.cursor(migrated.runtime) as cur:
        cur.execute("INSERT INTO later_made (n) VALUES (7) RETURNING id")
        assert cur.fetchone() == (1,)


def _grants(roles: Roles) -> list[tuple[str, str]]:
    conn = _admin(roles.database)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT table_name, privilege_type "
                "FROM information_schema.role_table_grants WHERE grantee = %s "
                "ORDER BY 1, 2",
                (roles.runtime,),
            )
            return cur.fetchall()
    finally:
        conn.close()


def test_running_the_migrations_again_changes_nothing(
    migrated: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = _grants(migrated)
    assert ("postings", "INSERT") in before
    assert ("alembic_version", "SELECT") in before
    assert ("alembic_version", "UPDATE") not in before
    migrated.migrate(monkeypatch, migrated.runtime)
    assert _grants(migrated) == before


def test_an_unknown_runtime_role_is_refused_and_nothing_is_migrated(
    roles: Roles, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(RuntimeError, match="names nobody_here, which does not exist"):
        roles.migrate(monkeypatch, "nobody_here")
    conn = _admin(roles.database)
    try:
        with conn.cursor() as cur:  # the migrations' transaction was rolled back
            cur.execute("SELECT to_regclass('public.alembic_version')")
            assert cur.fetchone() == (None,)
    finally:
        conn.close()


def test_a_production_service_refuses_to_connect_as_the_owner(
    migrated: Roles,
) -> None:
    """In production a service's Database refuses, at start-up, a DB_URI that
    connects as the role owning its tables; its runtime role passes."""
    owner = migrated.url(migrated.owner)
    with pytest.raises(ConfigurationError, match=f"connects as {migrated.owner}, "):
        refuse_owner_role(owner)
    refuse_owner_role(migrated.url(migrated.runtime))  # owns nothing: no error
    database = Database()
    database.container = SimpleNamespace(
        config={"SVYAZ_ENV": "production", "DB_URI": owner}, max_workers=2
    )
    with pytest.raises(ConfigurationError, match="runtime role"):
        database.setup()
    database.container.config["SVYAZ_ENV"] = "development"  # not checked there
    database.setup()
    database.stop()


def test_a_database_away_at_start_up_is_not_waited_for(caplog: Any) -> None:
    away = f"postgresql+psycopg2://nobody@127.0.0.1:{free_port()}/nowhere"
    assert refuse_owner_role(away) is False  # the outage is waited for elsewhere
    assert "checked when it answers" in caplog.text


def test_the_owner_check_waits_for_a_database_away_at_start_up(
    migrated: Roles, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    """A production service whose database did not answer at start-up makes the
    owner check on its first connection: as the owner, that connection is refused
    and closed, and so is every later one; as the runtime role, work goes on."""
    monkeypatch.setattr(svyaz.dependencies, "refuse_owner_role", lambda url: False)
    database = Database()
    database.container = SimpleNamespace(
        config={"SVYAZ_ENV": "production", "DB_URI": migrated.url(migrated.owner)},
        max_workers=2,
    )
    database.setup()  # "away": it starts
    try:
        for _ in range(2):  # refused again: no connection of the owner's is kept
            with pytest.raises(ConfigurationError, match="runtime role"):
                with database.engine.connect() as conn:
                    conn.execute(text("SELECT 1"))
        assert f"connects as {migrated.owner}, " in caplog.text
        assert database.engine.pool.checkedout() == 0
    finally:
        database.stop()
    database.container.config["DB_URI"] = migrated.url(migrated.runtime)
    database.setup()
    try:
        with database.engine.connect() as conn:
            assert conn.execute(text("SELECT current_user")).scalar() == (
                migrated.runtime
            )
    finally:
        database.stop()


def test_the_owner_check_on_connection_runs_once_it_passed(
    migrated: Roles, caplog: Any
) -> None:
    """Passed once, the check is not made on the connections opened later."""
    caplog.set_level(logging.INFO, logger="svyaz.db")
    engine = make_engine(migrated.url(migrated.runtime), pool_size=2)
    guard_owner_role(engine)
    try:
        with engine.connect() as first, engine.connect() as second:
            assert first.execute(text("SELECT 1")).scalar() == 1
            assert second.execute(text("SELECT 1")).scalar() == 1
        assert caplog.text.count("owns none of its tables") == 1
    finally:
        engine.dispose()
