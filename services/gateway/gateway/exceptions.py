"""The one table from error kinds to HTTP statuses, and problem+json bodies."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceError

PROBLEM = "application/problem+json"


class GatewayError(ServiceError):
    """Base of the gateway's own errors."""


class BadRequest(GatewayError, InvalidInput):
    pass


class Unauthorized(GatewayError):
    """No live, fully signed-in session."""


class UpstreamUnavailable(GatewayError):
    """A service did not answer in time."""


class PayloadTooLarge(GatewayError):
    """The request's body is longer than the gateway takes."""


class MethodNotAllowed(GatewayError):
    """The address exists, but not for this method."""


class UnsupportedMediaType(GatewayError):
    """A body of another type than the route takes (JSON for /api routes)."""


class TooManyRequests(GatewayError):
    """A throttled route's bucket is full (gateway.throttles): 429, and the
    seconds until it takes attempts again in Retry-After."""

    def __init__(
        self, message: str, code: str, retry_after: int, scope: str = ""
    ) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after
        self.scope = scope


STATUS: list[tuple[type[Exception], int, str]] = [
    (InvalidInput, 400, "Invalid input"),
    (Unauthorized, 401, "Not signed in"),
    (Forbidden, 403, "Forbidden"),
    (NotFound, 404, "Not found"),
    (MethodNotAllowed, 405, "Method not allowed"),
    (Conflict, 409, "Conflict"),
    (PayloadTooLarge, 413, "Payload too large"),
    (UnsupportedMediaType, 415, "Unsupported media type"),
    (TooManyRequests, 429, "Too many requests"),
    (UpstreamUnavailable, 503, "Service unavailable"),
]


def problem(exc: Exception) -> Response:
    for kind, status, title in STATUS:
        if isinstance(exc, kind):
            body: dict[str, Any] = {
                "type": "about:blank",
                "title": title,
                "status": status,
            }
            if isinstance(exc, ServiceError):
                body["detail"] = exc.message
                body["code"] = exc.code
                if exc.fields:
                    body["errors"] = exc.fields
            response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
            if isinstance(exc, TooManyRequests):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
    body = {"type": "about:blank", "title": "Internal error", "status": 500}
    return Response(json.dumps(body), status=500, mimetype=PROBLEM)
