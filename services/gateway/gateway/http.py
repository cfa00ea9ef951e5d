"""nameko's HTTP entrypoint, made safe by default: every response carries strict
security headers, every error is application/problem+json, and every route describes
itself for the OpenAPI document."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from gateway.exceptions import BadRequest, PayloadTooLarge, problem
from svyaz.errors import ServiceError

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    # no third-party assets, no inline script, no framing, forms post only to us
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says of one route."""

    method: str
    path: str
    summary: str
    body: type[Schema] | None = None
    # a response schema, or [XSchema] for an array of them
    responses: dict[int, type[Schema] | list[type[Schema]] | None] = field(
        default_factory=dict
    )
    tags: tuple[str, ...] = ()
    query: type[Schema] | None = None
    roles: tuple[str, ...] = ()  # empty: open to everyone


OPERATIONS: list[Operation] = []


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


MAX_BODY = 40 * 1024 * 1024  # bytes: a period's report or statement is the largest


class HttpEntrypoint(HttpRequestHandler):
    def handle_request(self, request: Any) -> Response:
        """A body longer than MAX_BODY is refused before anything reads it (and
        werkzeug stops reading one that lied about its length)."""
        request.max_content_length = MAX_BODY
        if request.content_length is not None and request.content_length > MAX_BODY:
            return secure(
                problem(
                    PayloadTooLarge(
                        f"the body is larger than {MAX_BODY // 2**20} MiB", "too_large"
                    )
                )
            )
        response: Response = super().handle_request(request)
        return response

    def response_from_result(self, result: Any) -> Response:
        return secure(super().response_from_result(result))

    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RequestEntityTooLarge):  # a body longer than it said
            exc = PayloadTooLarge("the body is too large", "too_large")
        if isinstance(exc, ValidationError):
            exc = BadRequest(
                "the request is invalid", "invalid_input", exc.messages_dict
            )
        response = problem(exc)
        if response.status_code >= 500:
            log.error("request failed: %s", type(exc).__name__)
        return secure(response)


def http(
    method: str,
    url: str,
    *,
    summary: str = "",
    body: type[Schema] | None = None,
    responses: dict[int, type[Schema] | list[type[Schema]] | None] | None = None,
    tags: tuple[str, ...] = (),
    query: type[Schema] | None = None,
    roles: tuple[str, ...] = (),
    **kwargs: Any,
) -> Any:
    """`@http("POST", "/api/v1/x", body=XSchema, responses={201: YSchema})`.

    `roles` documents who may call an /api route (the handler enforces it).
    """
    kwargs.setdefault("expected_exceptions", (ServiceError, ValidationError))
    if url.startswith("/api/"):
        OPERATIONS.append(
            Operation(
                method, url, summary, body, dict(responses or {}), tags, query, roles
            )
        )
    return HttpEntrypoint.decorator(method, url, **kwargs)
