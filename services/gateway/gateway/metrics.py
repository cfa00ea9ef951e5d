"""The gateway's HTTP metrics and access log, hooked in once
(`HttpEntrypoint.handle_request`, gateway/http.py).

Every request gets a correlation id (a new uuid: a client's header is never taken)
that its worker's log lines, every RPC it makes and every event those cause carry
(svyaz.metrics.Observed adopts it), and that the response names in
`X-Correlation-Id` so a person reporting a problem can quote it.

Counted by the route's *template* (`/api/v1/communicators/<uuid:id>`), never the
URL; the access log line holds the method, the template, the status, the duration
and the correlation id: no address, no query string, no path values.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from prometheus_client import Counter, Histogram
from werkzeug.wrappers import Response

from svyaz.context import bind_correlation
from svyaz.metrics import HTTP_CORRELATION

access = logging.getLogger("gateway.access")

ENVIRON_KEY = HTTP_CORRELATION  # what svyaz.metrics.Observed reads
HEADER = "X-Correlation-Id"

REQUESTS = Counter(
    "svyaz_http_requests",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
SECONDS = Histogram(
    "svyaz_http_request_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def observe(
    method: str, route: str, request: Any, answer: Callable[[], Response]
) -> Response:
    """Answer `request` with `answer()`, counted, timed and logged."""
    correlation = str(uuid.uuid4())
    request.environ[ENVIRON_KEY] = correlation
    bind_correlation(correlation)
    started = time.perf_counter()
    status = 500
    try:
        response = answer()
        status = response.status_code
        response.headers[HEADER] = correlation
        return response
    finally:
        took = time.perf_counter() - started
        REQUESTS.labels(method, route, str(status)).inc()
        SECONDS.labels(method, route).observe(took)
        access.info(
            "%s %s %s %.1f ms",
            method,
            route,
            status,
            took * 1000,
            extra={
                "http": {
                    "method": method,
                    "route": route,
                    "status": status,
                    "ms": round(took * 1000, 1),
                }
            },
        )
        bind_correlation(None)
