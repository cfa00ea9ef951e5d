from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine

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
