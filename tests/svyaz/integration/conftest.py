import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2
import pytest
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine

from tests.conftest import PG, ROOT
from tests.svyaz.integration import probe


@pytest.fixture
def probe_db(database: Callable[[str], str]) -> str:
    url = database("stipends")
    probe.create_effects_table(url)
    probe.reset()
    return url


@pytest.fixture
def probe_engine(probe_db: str) -> Any:
    engine: Engine = create_engine(probe_db)
    yield engine
    engine.dispose()


@pytest.fixture
def probe_config(
    service_config: Callable[..., dict[str, Any]], probe_db: str
) -> dict[str, Any]:
    return service_config("stipends", DB_URI=probe_db)


@pytest.fixture
def probe_container(probe_config: dict[str, Any], container_factory: Any) -> Any:
    # the database comes first so that it is dropped after the container stops
    container = container_factory(probe.ProbeService, probe_config)
    container.start()
    return container


# -- a database owned by a role of its own, and its runtime role -------------
class Roles:
    def __init__(self) -> None:
        tag = uuid.uuid4().hex[:10]
        self.database = f"test_roles_{tag}"
        self.owner = f"test_owner_{tag}"
        self.runtime = f"test_owner_{tag}_app"

    def url(self, role: str) -> str:
        host = PG.split("@", 1)[1]
        return f"postgresql+psycopg2://{role}@{host}/{self.database}"

    def connect(self, role: str) -> Any:
        conn = psycopg2.connect(self.url(role).replace("+psycopg2", ""))
        conn.autocommit = True
        return conn

    @contextmanager
    def cursor(self, role: str) -> Iterator[Any]:
        """A cursor of a connection as `role`, each statement committed."""
        conn = self.connect(role)
        try:
            with conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    def migrate(self, monkeypatch: pytest.MonkeyPatch, runtime: str) -> None:
        monkeypatch.setenv("DB_RUNTIME_ROLE", runtime)
        alembic = AlembicConfig(str(ROOT / "services" / "stipends" / "alembic.ini"))
        alembic.set_main_option("sqlalchemy.url", self.url(self.owner))
        command.upgrade(alembic, "head")


@pytest.fixture
def roles() -> Iterator[Roles]:
    """An empty database owned by its own login role, a second login role beside
    it, and no one else allowed in (as `make run` and init.sql make them)."""
    made = Roles()
    admin = psycopg2.connect(f"{PG}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        for role in (made.owner, made.runtime):
            cur.execute(f'CREATE ROLE "{role}" LOGIN')
        cur.execute(f'CREATE DATABASE "{made.database}" OWNER "{made.owner}"')
        cur.execute(f'REVOKE ALL ON DATABASE "{made.database}" FROM PUBLIC')
    try:
        yield made
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{made.database}" WITH (FORCE)')
            for role in (made.owner, made.runtime):
                cur.execute(f'DROP ROLE IF EXISTS "{role}"')
        admin.close()
