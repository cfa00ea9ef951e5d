"""Per-worker context the platform carries between services: the correlation id and
the verified caller of an RPC."""

from __future__ import annotations

import re
import threading
import uuid
from typing import Any

CORRELATION_ID = "correlation_id"
CALLER = "svyaz.caller"
IDEMPOTENCY_KEY = "svyaz.idempotency_key"  # a command's key, as its caller signed it
# a signed request's nonce the RPC consumer left for the command's own transaction
# (svyaz.nonces.Pending): set only by the consumer, never taken from a header
NONCE = "svyaz.nonce"
# what a correlation id may look like when it comes from outside (a uuid, or a
# short token of safe characters): anything else is replaced, never logged
SAFE_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")
_local = threading.local()  # green-local under eventlet's monkey patch


def bind_correlation(value: str | None) -> None:
    """The correlation id of the log lines this green thread writes from now on."""
    _local.correlation_id = value


def current_correlation() -> str | None:
    """The correlation id bound to this green thread (see `bind_correlation`)."""
    return getattr(_local, "correlation_id", None)


def safe_id(value: Any) -> str | None:
    """`value` if it is shaped like a correlation id, else None."""
    text = str(value or "")
    return text if SAFE_ID.match(text) else None


def correlation_id(worker_ctx: Any) -> str:
    """The worker's correlation id, created once and then passed on with every call.
    (nameko's `context_data` is a copy: the id is kept in the worker's own `data`,
    which every call and event of the worker reads.)"""
    data = getattr(worker_ctx, "data", None)
    if not isinstance(data, dict):
        data = worker_ctx.context_data
    value = data.get(CORRELATION_ID)
    if not value:
        value = data[CORRELATION_ID] = str(uuid.uuid4())
    return str(value)


def caller(worker_ctx: Any) -> str | None:
    """The identity whose key signed the RPC request this worker serves, if any."""
    value = worker_ctx.context_data.get(CALLER)
    return str(value) if value else None


def idempotency_key(worker_ctx: Any) -> str | None:
    """The idempotency key the signed RPC request this worker serves carries."""
    value = worker_ctx.context_data.get(IDEMPOTENCY_KEY)
    return str(value) if value else None
