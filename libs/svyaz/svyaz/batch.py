"""A batch of events handled in one transaction (see `svyaz.messaging`'s batched
event handler).

While a batch runs, the worker's green thread holds a `Batch`: every
`db.transaction()` a handler opens joins the batch's one session (nothing commits
until the whole batch has been handled), and `inbox.claim` takes its answer from
one multi-row claim of every event in the batch. Plain functions and no nameko:
`svyaz.dependencies` and `svyaz.inbox` read it, `svyaz.messaging` drives it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventlet.corolocal import local

from svyaz.envelope import ReceivedEvent
from svyaz.outbox import OUTBOX_PENDING

_here = local()


class Batch:
    """The events of one batch, and the one session their handlers share."""

    def __init__(self, events: Sequence[ReceivedEvent]) -> None:
        self.events = list(events)
        self.reset()

    def reset(self) -> None:
        """Ready to run (again: a run that a dead connection failed left nothing)."""
        self.current: ReceivedEvent | None = None  # the event being handled
        self.session: Any = None  # opened by the first db.transaction()
        self.owner: Any = None  # the Database provider that opened it
        self.claimed: set[Any] | None = None  # event ids the multi-row claim won

    def holds(self, event: ReceivedEvent) -> bool:
        return any(
            each.event_id == event.event_id and each.consumer == event.consumer
            for each in self.events
        )

    def commit(self) -> None:
        """Commit the batch's one transaction; wake the outbox relay if a handler
        recorded an event."""
        if self.session is None:
            return
        pending = self.session.info.get(OUTBOX_PENDING)
        self.session.commit()
        if pending and self.owner is not None:
            self.owner.committed_events()

    def close(self, rollback: bool) -> None:
        if self.session is None:
            return
        try:
            if rollback:
                self.session.rollback()
        finally:
            self.session.close()
            self.session = None


def current() -> Batch | None:
    """The batch this green thread is handling, if any."""
    return getattr(_here, "batch", None)


@contextmanager
def running(batch: Batch) -> Iterator[Batch]:
    _here.batch = batch
    try:
        yield batch
    finally:
        _here.batch = None
