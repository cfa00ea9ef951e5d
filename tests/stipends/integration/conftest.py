"""A stipends database (Alembic head) for logic tests, and a running stipends
container for the RPC and event path."""

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

ADMIN_A = {"id": str(uuid.uuid4()), "roles": ["program_admin"]}
ADMIN_B = {"id": str(uuid.uuid4()), "roles": ["program_admin"]}
ADMIN_C = {"id": str(uuid.uuid4()), "roles": ["program_admin"]}
FINANCE = {"id": str(uuid.uuid4()), "roles": ["finance"]}


class Db:
    def __init__(self, url: str):
        self.url = url
        self.engine = create_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessions()

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(query), params)
            return list(result) if result.returns_rows else []

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        envelopes = [r[0] for r in self.sql("SELECT envelope FROM outbox ORDER BY id")]
        return [e for e in envelopes if event_type in (None, e["event_type"])]


@pytest.fixture
def db(database: Any) -> Iterator[Db]:
    handle = Db(database("stipends"))
    yield handle
    handle.engine.dispose()
