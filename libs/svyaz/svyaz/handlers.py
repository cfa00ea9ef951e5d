"""`event_handler`, the decorator a service declares its event handlers with: one
event per worker (`svyaz.single_handler.EventHandler`) or up to `batch` events in
one transaction (`svyaz.batch_handler.BatchEventHandler`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from svyaz import batch as batching
from svyaz.batch_handler import BatchEventHandler
from svyaz.db import retrying
from svyaz.single_handler import EventHandler

BATCH = 100  # events per transaction for a batched handler (its prefetch)


def event_handler(
    source_service: str, event_type: str, batch: int = 0, **kwargs: Any
) -> Any:
    """Declare a method the handler of `event_type` from `source_service`.

    `batch=N` (N > 1) hands it up to N events in one transaction
    (`BatchEventHandler`); the method is still written for one event, and runs
    once per event of the batch."""

    def decorate(method: Any) -> Any:
        @wraps(method)
        def run(
            self: Any, event: Any, stopping: Callable[[], bool] | None = None
        ) -> Any:
            # a connection that died under it: the handler runs again at once, as
            # a redelivery would run it (its inbox makes that safe); a database
            # that stays away is waited for, unless the service is stopping
            # (`stopping`, the entrypoint's: the message goes back instead)
            given_back = stopping or (lambda: False)
            if not isinstance(event, batching.Batch):
                return retrying(lambda: method(self, event), stopping=given_back)
            return retrying(
                lambda: batching.run_batch(method, self, event), stopping=given_back
            )

        if batch <= 1:
            return EventHandler.decorator(source_service, event_type, **kwargs)(run)
        return BatchEventHandler.decorator(
            source_service, event_type, batch=batch, **kwargs
        )(run)

    return decorate
