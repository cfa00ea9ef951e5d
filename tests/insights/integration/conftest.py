"""A running insights container on its own database and vhost; events published as
their producers' relays would (signed with the producer's key)."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from insights.service import InsightsService
from tests.helpers import publish_event, run_entrypoint, wait_until

NOW = datetime.now(UTC).replace(microsecond=0)


def ago(days: float) -> str:
    """An instant `days` before the test run (inside the inbox's window)."""
    return (NOW - timedelta(days=days)).isoformat()


@dataclass
class Insights:
    container: Any
    url: str
    amqp_uri: str
    engine: Any = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.url)

    def call(self, method: str, *args: Any) -> Any:
        return run_entrypoint(self.container, method, *args)

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(query), params)
            return list(result) if result.returns_rows else []

    def publish(
        self, event_type: str, producer: str, at: str = "", **data: Any
    ) -> dict[str, Any]:
        body = {
            "event_id": str(uuid.uuid4()),
            "event_type": event_type,
            "occurred_at": at or ago(8),
            "producer": producer,
            "correlation_id": str(uuid.uuid4()),
            "data": {
                k: str(v) if isinstance(v, uuid.UUID) else v for k, v in data.items()
            },
        }
        publish_event(self.amqp_uri, body)
        return body

    def kept(self, count: int, timeout: float = 20.0) -> None:
        wait_until(
            lambda: self.sql("SELECT count(*) FROM facts")[0][0] >= count,
            f"{count} facts kept",
            timeout,
        )


@pytest.fixture
def insights(
    database: Any,
    service_config: Any,
    container_factory: Any,
    rabbit_config: dict[str, Any],
) -> Iterator[Insights]:
    url = database("insights")
    config = service_config("insights", DB_URI=url, INSIGHTS_MIN_CELL=5)
    container = container_factory(InsightsService, config)
    container.start()
    yield Insights(container, url, rabbit_config["AMQP_URI"])
