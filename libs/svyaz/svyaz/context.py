"""Per-worker context the platform carries between services: the correlation id and
the verified caller of an RPC."""

from __future__ import annotations

import uuid
from typing import Any

CORRELATION_ID = "correlation_id"
CALLER = "svyaz.caller"


def correlation_id(worker_ctx: Any) -> str:
    """The worker's correlation id, created once and then passed on with every call."""
    data = worker_ctx.context_data
    value = data.get(CORRELATION_ID)
    if not value:
        value = data[CORRELATION_ID] = str(uuid.uuid4())
    return str(value)


def caller(worker_ctx: Any) -> str | None:
    """The identity whose key signed the RPC request this worker serves, if any."""
    value = worker_ctx.context_data.get(CALLER)
    return str(value) if value else None
