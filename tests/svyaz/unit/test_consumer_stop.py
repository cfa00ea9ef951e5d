"""A service's queue consumer looks at what it was asked (cancel a consumer, stop)
every STOP_POLL_SECONDS while the broker is quiet, not kombu's second: a
notifications container stopped in 3.0 s, then in 1.1 s (its batch handlers wait a
second at a time, 23 of them: a stop now ends their wait at once, see
tests/svyaz/integration/test_batches.py)."""

from contextlib import nullcontext
from typing import Any

import pytest

from svyaz.consuming import STOP_POLL_SECONDS, QueueConsumer


def test_the_consumer_waits_for_the_broker_a_tenth_of_a_second_at_a_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer = QueueConsumer()
    waits: list[float] = []

    class Quiet:
        def drain_events(self, timeout: float) -> None:
            waits.append(timeout)
            consumer.should_stop = len(waits) == 3  # asked to stop meanwhile
            raise TimeoutError

        def heartbeat_check(self) -> None:
            pass

    context: Any = lambda **_: nullcontext((Quiet(), None, []))  # noqa: E731
    monkeypatch.setattr(consumer, "consumer_context", context)
    monkeypatch.setattr(consumer, "on_iteration", lambda: None)

    assert list(consumer.consume()) == []

    assert waits == [STOP_POLL_SECONDS] * 3  # and it stopped at the next look
    assert STOP_POLL_SECONDS <= 0.1
