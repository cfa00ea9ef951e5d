"""How long a batch consumer waits for its batch to fill (`BatchEventHandler`):
`QUICK` while events come one at a time, so that a lone event is not held back for
a batch that is not coming; up to `LINGER` once they come in batches, so that a
batch fills (fewer transactions, claims and acks per event)."""

from typing import Any

from svyaz.batch_handler import LINGER, QUICK, BatchEventHandler


class Broker:
    """drain_events: the first call delivers one message; each later one records
    the timeout it was given and delivers nothing."""

    connected = True

    def __init__(self, arrived: list[Any]) -> None:
        self.arrived = arrived
        self.timeouts: list[float] = []

    def drain_events(self, timeout: float) -> None:
        if not self.arrived:
            self.arrived.append(("body", "message"))
            return
        self.timeouts.append(timeout)
        raise TimeoutError

    def heartbeat_tick(self, rate: int) -> None:
        pass


def waited(filling: bool) -> float:
    handler = BatchEventHandler("bench", "hop.happened.v1", batch=100)
    handler._filling = filling  # noqa: SLF001
    arrived: list[Any] = []
    broker = Broker(arrived)
    handler._wait_for(broker, arrived)  # noqa: SLF001
    assert len(arrived) == 1
    return max(broker.timeouts)


def test_a_lone_event_is_not_held_back() -> None:
    assert waited(filling=False) <= QUICK


def test_events_in_batches_wait_for_the_batch_to_fill() -> None:
    assert QUICK < waited(filling=True) <= LINGER
    assert LINGER >= 10 * QUICK  # the difference is worth having


def test_a_take_of_more_than_one_turns_the_linger_on() -> None:
    """`_take` follows the last take: a burst turns the long wait on, and the
    first take of one after it turns it off."""
    handler = BatchEventHandler("bench", "hop.happened.v1", batch=100)
    assert handler._filling is False  # noqa: SLF001 - quick from the start
    arrived: list[Any] = [("body", n) for n in range(3)]
    assert len(handler._take(arrived)) == 3 and arrived == []  # noqa: SLF001
    assert handler._filling is True  # noqa: SLF001
    arrived.append(("body", 4))
    assert len(handler._take(arrived)) == 1  # noqa: SLF001
    assert handler._filling is False  # noqa: SLF001
