"""What the gateway cleans up on its own timers: sessions that ran out are deleted
whether or not their browser ever comes back (throttling buckets: test_throttles)."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from tests.gateway.conftest import start_gateway
from tests.helpers import wait_until

INSERT = text(
    "INSERT INTO sessions (token_hash, actor_id, roles, stage, csrf_token, language,"
    " last_seen, expires_at) VALUES (:token, :actor, 'communicator', 'full', 'x',"
    " 'ru', now(), :expires)"
)


def test_sessions_that_ran_out_are_deleted_by_the_timer(
    as_gateway: None, database: Any, service_config: Any, container_factory: Any
) -> None:
    _, db_url = start_gateway(
        database, service_config, container_factory, SESSION_PURGE_INTERVAL=0.2
    )
    engine = create_engine(db_url)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for token, expires in (
            ("ran-out", now - timedelta(seconds=1)),
            ("live", now + timedelta(hours=1)),
        ):
            conn.execute(
                INSERT, {"token": token, "actor": uuid.uuid4(), "expires": expires}
            )

    def tokens() -> set[str]:
        with engine.connect() as conn:
            return set(conn.execute(text("SELECT token_hash FROM sessions")).scalars())

    wait_until(lambda: tokens() == {"live"}, "the session that ran out deleted", 10)
    assert tokens() == {"live"}  # and the live one is still there
    engine.dispose()
