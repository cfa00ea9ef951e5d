"""A batch of events handled in one transaction (see `svyaz.batch_handler`, the
batched event handler).

While a batch runs, the worker's green thread holds a `Batch`: every
`db.transaction()` a handler opens joins the batch's one session (nothing commits
until the whole batch has been handled), and `inbox.claim` takes its answer from
one multi-row claim of every event in the batch. Plain functions and no nameko:
`svyaz.dependencies` and `svyaz.inbox` read it, `svyaz.batch_handler` drives it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from eventlet.corolocal import local

from svyaz.envelope import ReceivedEvent
from svyaz.outbox import OUTBOX_PENDING

_here = local()
log = logging.getLogger(__name__)


class Batch:
    """The events of one batch, and the one session their handlers share."""

    def __init__(self, events: Sequence[ReceivedEvent]) -> None:
        self.events = list(events)
        self._held: set[tuple[str, Any]] | None = None  # see `holds`
        self.reset()

    def reset(self) -> None:
        """Ready to run (again: a run that a dead connection failed left nothing)."""
        self.current: ReceivedEvent | None = None  # the event being handled
        self.session: Any = None  # opened by the first db.transaction()
        self.owner: Any = None  # the Database provider that opened it
        self.claimed: set[Any] | None = None  # event ids (text) the multi-row claim won
        # work gathered by key, to do at the end of the batch's transaction (see
        # `before_commit`) or once it has committed (see `defer`)
        self.closing: dict[str, tuple[Callable[[list[Any]], None], list[Any]]] = {}
        self.deferred: dict[str, tuple[Callable[[list[Any]], None], list[Any]]] = {}

    def before_commit(
        self, key: str, run: Callable[[list[Any]], None], items: list[Any]
    ) -> None:
        """Hand `items` to `run` at the end of the batch's transaction, just before
        its commit, together with every other handler's items under the same key:
        set-based writes for the whole batch. A failure there rolls the batch back
        as a handler's would."""
        entry = self.closing.setdefault(key, (run, []))
        entry[1].extend(items)

    def defer(
        self, key: str, run: Callable[[list[Any]], None], items: list[Any]
    ) -> None:
        """Hand `items` to `run` once the whole batch has committed, together with
        every other handler's items under the same key (one call for the batch): a
        mail sent before the commit, then rolled back with the batch, would be sent
        again. A batch rolled back runs nothing of it."""
        entry = self.deferred.setdefault(key, (run, []))
        entry[1].extend(items)

    def run_deferred(self) -> None:
        """After the commit: each key's work once. A failure is logged, not raised:
        the batch's effect has committed and its messages are acknowledged; what
        the work leaves undone is its own to recover (a notification's lease runs
        out and its sender's timer takes it up)."""
        deferred, self.deferred = self.deferred, {}
        for key, (run, items) in deferred.items():
            try:
                run(items)
            except Exception:  # noqa: BLE001 - committed already; see above
                log.exception("work deferred after a batch's commit failed (%s)", key)

    def holds(self, event: ReceivedEvent) -> bool:
        if self._held is None:  # once per batch, not a scan per claim
            self._held = {(each.consumer, each.event_id) for each in self.events}
        return (event.consumer, event.event_id) in self._held

    def commit(self) -> None:
        """Commit the batch's one transaction; wake the outbox relay if a handler
        recorded an event."""
        closing, self.closing = self.closing, {}
        for run, items in closing.values():
            run(items)
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


def run_batch(method: Any, service: Any, batch: Batch) -> None:
    """The method on each event of the batch, all in the batch's one transaction,
    committed at the end; rolled back whole if any of them raises."""
    batch.reset()
    with running(batch):
        try:
            for event in batch.events:
                batch.current = event
                method(service, event)
            batch.commit()
        except BaseException:
            batch.close(rollback=True)
            raise
        batch.close(rollback=False)
    batch.run_deferred()  # outside the batch: its transactions are their own
