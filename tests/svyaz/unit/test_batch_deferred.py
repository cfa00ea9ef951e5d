"""Work a batched handler hands to the end of its batch (`Batch.before_commit`) or
to after it (`Batch.defer`) runs once, one call per key with every handler's items:
the first inside the batch's transaction (a failure rolls it back), the second after
the commit and outside the batch (a batch rolled back runs none of it)."""

from typing import Any

import pytest

from svyaz import batch as batching
from svyaz.batch import run_batch
from svyaz.envelope import ReceivedEvent


class FakeSession:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.info: dict[str, Any] = {}

    def commit(self) -> None:
        self.log.append("commit")

    def rollback(self) -> None:
        self.log.append("rollback")

    def close(self) -> None:
        self.log.append("close")


def events(n: int) -> list[ReceivedEvent]:
    """Only their number matters here."""
    return [ReceivedEvent.__new__(ReceivedEvent) for _ in range(n)]


class Service:
    def __init__(self, log: list[str], fail_on: int | None = None) -> None:
        self.log, self.fail_on, self.seen = log, fail_on, 0

    def handle(self, event: Any) -> None:
        running = batching.current()
        assert running is not None
        if running.session is None:
            running.session = FakeSession(self.log)
        self.seen += 1
        if self.seen == self.fail_on:
            raise RuntimeError("poison")
        running.defer("mail", self.send, [self.seen])

    def send(self, items: list[int]) -> None:
        assert batching.current() is None  # outside the batch: its own transactions
        self.log.append(f"send {items}")


def test_deferred_work_runs_once_after_the_commit_with_every_item() -> None:
    log: list[str] = []
    service = Service(log)
    run_batch(Service.handle, service, batching.Batch(events(3)))
    assert log == ["commit", "close", "send [1, 2, 3]"]


def test_a_batch_rolled_back_runs_nothing_it_deferred() -> None:
    log: list[str] = []
    service = Service(log, fail_on=3)
    with pytest.raises(RuntimeError):
        run_batch(Service.handle, service, batching.Batch(events(3)))
    assert log == ["rollback", "close"]


def test_a_failure_of_deferred_work_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    batch = batching.Batch(events(1))
    ran: list[str] = []

    def broken(items: list[Any]) -> None:
        raise OSError("smtp away")

    batch.defer("a", broken, [1])
    batch.defer("b", lambda items: ran.extend(items), ["x"])
    batch.run_deferred()
    assert ran == ["x"]
    assert "deferred" in caplog.text
    batch.run_deferred()  # once only
    assert ran == ["x"]


class Gathering(Service):
    """Each handler hands its item to the batch's end; the end writes them all."""

    def handle(self, event: Any) -> None:
        running = batching.current()
        assert running is not None
        if running.session is None:
            running.session = FakeSession(self.log)
        self.seen += 1
        running.before_commit("write", self.write, [self.seen])

    def write(self, items: list[int]) -> None:
        assert batching.current() is not None  # still in the batch's transaction
        if self.fail_on in items:
            raise RuntimeError("refused")
        self.log.append(f"write {items}")


def test_work_before_the_commit_runs_once_with_every_handlers_items() -> None:
    log: list[str] = []
    run_batch(Gathering.handle, Gathering(log), batching.Batch(events(3)))
    assert log == ["write [1, 2, 3]", "commit", "close"]


def test_a_failure_before_the_commit_rolls_the_batch_back() -> None:
    log: list[str] = []
    with pytest.raises(RuntimeError):
        run_batch(
            Gathering.handle, Gathering(log, fail_on=2), batching.Batch(events(3))
        )
    assert log == ["rollback", "close"]
