"""The database refuses a payout or a run in a state the code does not know, whatever
statement writes it (the set-based ones bypass `Payout.move_to`)."""

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

DUMMY = {  # a value of each type a required column may have
    "uuid": "gen_random_uuid()",
    "bigint": "1",
    "integer": "1",
    "character varying": "'x'",
    "text": "'x'",
    "timestamp with time zone": "now()",
    "date": "current_date",
    "boolean": "false",
    "jsonb": "'{}'",
}


def insert_with_status(conn: Any, table: str, status: str) -> None:
    required = conn.execute(
        text(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_name = :t AND is_nullable = 'NO' AND column_default IS NULL "
            "AND column_name <> 'status'"
        ),
        {"t": table},
    ).all()
    names = ", ".join(["status", *(c.column_name for c in required)])
    values = ", ".join([":status", *(DUMMY[c.data_type] for c in required)])
    conn.execute(
        text(f"INSERT INTO {table} ({names}) VALUES ({values})"), {"status": status}
    )


@pytest.mark.parametrize(
    ("table", "known", "constraint"),
    [
        ("payouts", "queued", "payout_status"),
        ("payout_runs", "draft", "payout_run_status"),
    ],
)
def test_an_unknown_state_is_refused(
    database: Any, table: str, known: str, constraint: str
) -> None:
    engine = create_engine(database("stipends"))
    with engine.begin() as conn:
        conn.execute(text("SET session_replication_role = replica"))  # FKs aside
        insert_with_status(conn, table, known)  # a known state goes in
        with pytest.raises(IntegrityError, match=constraint):
            with conn.begin_nested():
                insert_with_status(conn, table, "lost")
    engine.dispose()
