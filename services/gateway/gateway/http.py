"""nameko's HTTP entrypoint, made safe by default: every response carries strict
security headers, every error is application/problem+json, and every route describes
itself for the OpenAPI document."""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError
from nameko.web.handlers import HttpRequestHandler
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from gateway.exceptions import (
    BadRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    problem,
)
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
    max_body: int = 0  # bytes


OPERATIONS: list[Operation] = []


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


KiB = 1024
# The body sizes a route may take, in bytes. A route that does not say takes the
# smallest, so a new route is safe by default. Text fields are counted at 6 bytes a
# character: a non-ASCII character is 6 bytes once \u-escaped in JSON or
# percent-encoded in a form.
PUBLIC_BODY = 16 * KiB  # the default: sign-in, password resets, second factor, forms
TEXT_BODY = 64 * KiB  # an application's motivation, a report's narrative, 1,000 items
WEBHOOK_BODY = 256 * KiB  # a Stripe event (a few KB; its objects can grow)
UPLOAD_BODY = 40 * 1024 * KiB  # a period's itemized report or bank statement
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def describe_size(size: int) -> str:
    return f"{size // (1024 * KiB)} MiB" if size >= 1024 * KiB else f"{size // KiB} KiB"


def is_json(mimetype: str) -> bool:
    """application/json; werkzeug has already cut off `; charset=utf-8`."""
    return mimetype == "application/json"


def chunked(request: Any) -> bool:
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


class HttpEntrypoint(HttpRequestHandler):
    """`max_body`: the largest body this route takes, in bytes. `json_only`: a body
    sent to it must say `Content-Type: application/json` (the /api routes), so that
    a cross-site form (text/plain, urlencoded, multipart) cannot post to it."""

    def __init__(
        self,
        method: str,
        url: str,
        *,
        max_body: int = PUBLIC_BODY,
        json_only: bool = False,
        **kwargs: Any,
    ) -> None:
        self.max_body = max_body
        self.json_only = json_only
        super().__init__(method, url, **kwargs)

    def handle_request(self, request: Any) -> Response:
        """A body longer than the route takes, or a body of another type than JSON
        to an /api route, is refused before anything reads it (and werkzeug stops
        reading a chunked body at the limit)."""
        refused = self.refusal(request) or self.buffer_chunked(request)
        if refused is not None:
            return secure(problem(refused))
        request.max_content_length = self.max_body
        response: Response = super().handle_request(request)
        return response

    def refusal(self, request: Any) -> Exception | None:
        length = request.content_length
        if length is not None and length > self.max_body:
            return PayloadTooLarge(self.too_large_message(), "too_large")
        has_body = bool(length) or (length is None and chunked(request))
        if (
            self.json_only
            and has_body
            and request.method in UNSAFE_METHODS
            and not is_json(request.mimetype)
        ):
            return UnsupportedMediaType(
                "the body must be JSON, sent with Content-Type: application/json",
                "unsupported_media_type",
            )
        return None

    def buffer_chunked(self, request: Any) -> Exception | None:
        """A chunked body (no Content-Length) is read here, up to one byte past
        the limit, and handed on as a body of known length (werkzeug would read it
        as empty, or cut it at the limit without a word)."""
        if request.content_length is not None or not chunked(request):
            return None
        data = request.environ["wsgi.input"].read(self.max_body + 1)
        if len(data) > self.max_body:
            return PayloadTooLarge(self.too_large_message(), "too_large")
        request.environ["wsgi.input"] = io.BytesIO(data)
        request.environ["CONTENT_LENGTH"] = str(len(data))
        request.environ.pop("HTTP_TRANSFER_ENCODING", None)
        return None

    def too_large_message(self) -> str:
        return (
            f"the body is larger than this route takes ({describe_size(self.max_body)})"
        )

    def response_from_result(self, result: Any) -> Response:
        return secure(super().response_from_result(result))

    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, RequestEntityTooLarge):  # a chunked body past the limit
            exc = PayloadTooLarge(self.too_large_message(), "too_large")
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
    max_body: int = PUBLIC_BODY,
    **kwargs: Any,
) -> Any:
    """`@http("POST", "/api/v1/x", body=XSchema, responses={201: YSchema})`.

    `roles` documents who may call an /api route (the handler enforces it).
    `max_body`: the largest body the route takes (PUBLIC_BODY unless it says);
    the OpenAPI document states it. /api routes take JSON bodies only.
    """
    kwargs.setdefault("expected_exceptions", (ServiceError, ValidationError))
    api = url.startswith("/api/")
    if api:
        OPERATIONS.append(
            Operation(
                method,
                url,
                summary,
                body,
                dict(responses or {}),
                tags,
                query,
                roles,
                max_body,
            )
        )
    return HttpEntrypoint.decorator(
        method, url, max_body=max_body, json_only=api, **kwargs
    )
