"""nameko's HTTP entrypoint, answering every error as application/problem+json."""

from __future__ import annotations

import logging
from typing import Any

from marshmallow import ValidationError
from nameko.web.handlers import HttpRequestHandler
from werkzeug.wrappers import Response

from gateway.exceptions import BadRequest, problem
from svyaz.errors import ServiceError

log = logging.getLogger(__name__)


class HttpEntrypoint(HttpRequestHandler):
    def response_from_exception(self, exc: Exception) -> Response:
        if isinstance(exc, ValidationError):
            exc = BadRequest(
                "the request is invalid", "invalid_input", exc.messages_dict
            )
        response = problem(exc)
        if response.status_code >= 500:
            log.error("request failed: %s", type(exc).__name__)
        return response


def http(method: str, url: str, **kwargs: Any) -> Any:
    kwargs.setdefault("expected_exceptions", (ServiceError, ValidationError))
    return HttpEntrypoint.decorator(method, url, **kwargs)
