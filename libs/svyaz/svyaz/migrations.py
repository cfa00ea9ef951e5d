"""Migration steps for the platform tables, called from each service's migrations.

Each function is frozen once released: a later change to the platform tables is a new
function (`platform_tables_v2`), added to a new migration in every service.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


def create_platform_tables_v1(op: Any) -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "event_id", postgresql.UUID(as_uuid=True), nullable=False, unique=True
        ),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column("producer", sa.String(64), nullable=False),
        sa.Column("aggregate_id", sa.String(200), nullable=False),
        sa.Column("envelope", postgresql.JSONB(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.Text()),
    )
    op.create_index(
        "outbox_unsent", "outbox", ["id"], postgresql_where=sa.text("sent_at IS NULL")
    )
    op.create_index(
        "outbox_aggregate_unsent",
        "outbox",
        ["aggregate_id", "id"],
        postgresql_where=sa.text("sent_at IS NULL"),
    )
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), primary_key=True),
        sa.Column("event_type", sa.String(100), nullable=False),
        sa.Column(
            "processed_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )


def drop_platform_tables_v1(op: Any) -> None:
    op.drop_table("processed_events")
    op.drop_table("outbox")


def run_env(target_metadata: Any, config_path: str) -> None:
    """The body of every service's migrations/env.py.

    The database URL comes from the service's config.yml (DB_URI), unless the caller
    set `sqlalchemy.url` on the Alembic config (tests do, for their own databases).
    Migrations run as the role that owns the database; with `DB_RUNTIME_ROLE` set
    (the role the service itself connects as), the same transaction grants that
    role what the service needs of what they made, and nothing more
    (`grant_runtime_role`).
    """
    from alembic import context
    from sqlalchemy import engine_from_config, pool

    from svyaz import config as settings

    alembic_config = context.config
    url = alembic_config.get_main_option("sqlalchemy.url")
    if not url:
        url = settings.require(settings.load(config_path), "DB_URI")
    runtime_role = os.environ.get("DB_RUNTIME_ROLE", "").strip()
    connectable = engine_from_config(
        {"sqlalchemy.url": url}, prefix="sqlalchemy.", poolclass=pool.NullPool
    )
    limits = session_limits()  # a wrong value stops here, before any change
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            unlimited(connection)
            context.run_migrations()
            if runtime_role:
                grant_runtime_role(connection, runtime_role)
            limit_sessions(connection, limits)


# Every session of the database (the services', a person's psql) is bounded: a
# statement and a transaction left open doing nothing (and, when set, a wait for a
# lock). Without them one stuck transaction (a process frozen with its locks held,
# a session left open) holds rows every worker then queues behind, with no end.
# Set on the database (ALTER DATABASE, which its owner may do), not per
# connection: PgBouncer in transaction pooling drops a client's startup options and
# shares server connections, while a database's defaults apply to every server
# login.
SESSION_LIMITS = {  # setting: (environment variable, default)
    "statement_timeout": ("DB_STATEMENT_TIMEOUT", "5min"),
    # off unless set: the two others already free a stuck holder, and a wait cut
    # short fails the work (an event handler behind insights' rebuild would retry
    # until parked)
    "lock_timeout": ("DB_LOCK_TIMEOUT", "0"),
    "idle_in_transaction_session_timeout": ("DB_IDLE_IN_TRANSACTION_TIMEOUT", "5min"),
}
DURATION = re.compile(r"(\d{1,9})\s*(ms|s|min|h)?")


def session_limits(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The limits `limit_sessions` sets, from the environment (a PostgreSQL
    duration: `30s`, `5min`, `500ms`; `0` for none); a value of another shape
    refuses the migration, naming the variable."""
    environ = os.environ if environ is None else environ
    found = {}
    for setting, (variable, default) in SESSION_LIMITS.items():
        value = environ.get(variable, "").strip() or default
        if not DURATION.fullmatch(value):
            raise RuntimeError(
                f"{variable}={value!r} is not a duration: give a number with ms, s, "
                "min or h (for example 30s or 5min), or 0 for no limit"
            )
        found[setting] = re.sub(r"\s", "", value)
    return found


def unlimited(connection: Any) -> None:
    """The migration's own transaction is not bounded by the database's limits (a
    backfill may run for long, a lock may take time to get)."""
    from sqlalchemy import text

    for setting in SESSION_LIMITS:
        connection.execute(text(f"SET LOCAL {setting} = 0"))


def limit_sessions(connection: Any, limits: dict[str, str]) -> None:
    """The database's defaults for every new session (`SESSION_LIMITS`); sessions
    already open keep theirs. Run again, it sets the same."""
    from sqlalchemy import text

    database = connection.dialect.identifier_preparer.quote(
        connection.execute(text("SELECT current_database()")).scalar_one()
    )
    for setting, value in limits.items():
        connection.execute(text(f"ALTER DATABASE {database} SET {setting} = '{value}'"))


def grant_runtime_role(connection: Any, role: str) -> None:
    """What the service's runtime role may do in its database: connect, make
    temporary tables (reconciliation stages its reports in them), and read and write
    the rows of every table and sequence in the `public` schema, the migrations'
    bookkeeping (`alembic_version`) read only. Tables made by later migrations get the
    same by default. It owns nothing, so it cannot alter, drop or disable the
    triggers of a table (the ledger's append-only guard), nor create one: a stolen
    runtime password reaches the rows the service itself writes, not the schema
    that keeps them honest. Run again, it changes nothing."""
    from sqlalchemy import text

    exists = connection.execute(
        text("SELECT 1 FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    if exists is None:
        raise RuntimeError(
            f"DB_RUNTIME_ROLE names {role}, which does not exist: create that login "
            "role first (make run and infra/postgres/init.sql do)"
        )
    quoted = connection.dialect.identifier_preparer.quote(role)
    database = connection.dialect.identifier_preparer.quote(
        connection.execute(text("SELECT current_database()")).scalar_one()
    )
    for statement in (
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {quoted}",
        f"GRANT USAGE ON SCHEMA public TO {quoted}",
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public "
        f"TO {quoted}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {quoted}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {quoted}",
        f"REVOKE INSERT, UPDATE, DELETE ON alembic_version FROM {quoted}",
    ):
        connection.execute(text(statement))


def create_bus_nonces_v2(op: Any) -> None:
    """The nonces of RPC requests taken in the last `BUS_RPC_MAX_AGE` seconds, shared
    by every replica of the service, so that a replayed request is refused whichever
    replica it reaches."""
    op.create_table(
        "bus_nonces",
        sa.Column("signer", sa.String(64), primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("bus_nonces_expiry", "bus_nonces", ["expires_at"])


def drop_bus_nonces_v2(op: Any) -> None:
    op.drop_table("bus_nonces")


def create_parked_actions_v3(op: Any) -> None:
    """The audit of retries and discards of parked work (`svyaz.parked_actions`): parked
    bus messages in every service, parked deliveries in notifications."""
    op.create_table(
        "parked_actions",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column(
            "at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.Column("actor_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("actor_roles", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("queue", sa.String(255)),
        sa.Column("route", sa.String(255)),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint(
            "char_length(btrim(reason)) BETWEEN 3 AND 500", name="parked_reason"
        ),
        sa.CheckConstraint("action IN ('retry', 'discard')", name="parked_action"),
    )
    op.create_index("parked_actions_subject", "parked_actions", ["subject_id"])


def drop_parked_actions_v3(op: Any) -> None:
    op.drop_table("parked_actions")


def create_command_results_v4(op: Any) -> None:
    """The answers of idempotent commands (`svyaz.commands`): a key, who asked (the
    signer and the acting account), the method, a hash of the arguments and the
    answer, kept for IDEMPOTENCY_WINDOW_HOURS."""
    op.create_table(
        "command_results",
        sa.Column("signer", sa.String(64), primary_key=True),
        sa.Column("account", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("method", sa.String(100), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result", sa.Text()),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
    )
    op.create_index("command_results_created", "command_results", ["created_at"])


def drop_command_results_v4(op: Any) -> None:
    op.drop_table("command_results")
