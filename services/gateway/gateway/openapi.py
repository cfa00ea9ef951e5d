"""The OpenAPI 3 document of /api/v1, generated from the routes' declarations
(gateway.http) and their marshmallow schemas: every operation with its roles, its
security (the session cookie, and the X-CSRF-Token header for writes), its body,
its answers and its errors (application/problem+json). Every string states its
maxLength, enum or format, so a client learns the limits here and not from a 400."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway.api_refusals import COMMON, REFUSES, SAID, STATE_CODE_SAID
from gateway.http import (
    IDEMPOTENCY_HEADER,
    UNSAFE_METHODS,
    Route,
    api_routes,
    describe_size,
)
from gateway.refusals import REFUSALS
from gateway.schemas import COUNTRY, REASON, WORD

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` maps fields to messages",
    "properties": {
        "type": {"type": "string", "format": "uri", "enum": ["about:blank"]},
        "title": {"type": "string", "maxLength": WORD},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {
            "type": "string",
            "maxLength": REASON,
            "description": "what went wrong, in English, for the developer",
        },
        "code": {
            "type": "string",
            "maxLength": WORD,
            "description": "a stable word for a program to act on "
            "(`invalid_input`, `csrf`, `not_signed_in`, `payout_not_paid`, ...)",
        },
        "errors": {
            "type": "object",
            "description": "each refused field with its messages (a list of "
            "strings); for a list or an object, the same again by index or name",
            "additionalProperties": True,
        },
    },
    "required": ["type", "title", "status"],
}
# the document's own answer
SELF = {
    "type": "object",
    "description": "An OpenAPI 3.0.3 document (https://spec.openapis.org/oas/v3.0.3)",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string", "enum": ["3.0.3"]},
        "info": {"type": "object"},
        "paths": {"type": "object"},
        "components": {"type": "object"},
    },
}
ERRORS = {
    400: "Invalid input",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large: the body is longer than `x-max-body-bytes`",
    415: "Unsupported media type: a body must be sent as application/json",
    503: "Service unavailable",
}

# the answer of a throttled operation whose bucket is full (gateway.throttles)
THROTTLED = {
    "description": "Too many attempts (code `too_many_attempts`): from this "
    "client address, on this account, or in all. Nothing was checked or changed; "
    "try again after Retry-After seconds. On signing in, a full account bucket "
    "still lets through an attempt that carries a second-factor `code`.",
    "headers": {
        "Retry-After": {
            "description": "seconds until the bucket takes attempts again",
            "schema": {"type": "integer", "minimum": 1},
        }
    },
    "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
    },
}


SECURITY_SCHEMES = {
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": "The session, set by POST /api/v1/session as an HttpOnly, "
        "SameSite=Strict cookie; Secure (sent back over https only) unless the "
        "gateway runs with COOKIE_SECURE=false for development on plain http.",
    },
    "csrf": {
        "type": "apiKey",
        "in": "header",
        "name": "X-CSRF-Token",
        "description": "The session's `csrf_token` (in the answer of POST "
        "/api/v1/session), sent with every POST, PUT, PATCH and DELETE of a "
        "signed-in session; without it a write is 403 with code `csrf`.",
    },
}


IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "A key you choose for this request (a uuid; 8 to 64 letters, "
    "digits, - or _). Sent again with the same request within 24 hours (your "
    "answer was lost, a retry), it is carried out once and answered as the first "
    "time; with a different body to the same operation it is refused (409, code "
    "`idempotency_key_reused`). Without one, the request is its own and a retry "
    "may act twice. Keys are your account's: nobody else's collide with them.",
    "schema": {
        "type": "string",
        "minLength": 8,
        "maxLength": 64,
        "pattern": "^[A-Za-z0-9_-]+$",
    },
}


def path_parameter(name: str, url: str) -> dict[str, Any]:
    """A path value: an integer, a uuid (every `…_id`) or a country code."""
    schema: dict[str, Any]
    if f"<int:{name}>" in url:
        schema = {"type": "integer", "minimum": 0}
    elif name.endswith("_id"):
        schema = {"type": "string", "format": "uuid"}
    elif name == "country":
        schema = {
            "type": "string",
            "pattern": "^[A-Z]{2}$",
            "minLength": COUNTRY,
            "maxLength": COUNTRY,
        }
    else:
        schema = {"type": "string", "maxLength": WORD}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def security(op: Route) -> list[dict[str, list[str]]]:
    """Open routes: none (the second factor's checks its enrolling session itself);
    a signed-in route: the cookie, and the CSRF header for a write."""
    if op.roles is None:
        return []
    if op.csrf == "session":
        return [{"session": [], "csrf": []}]
    return [{"session": []}]


def described(title: str, codes: list[str]) -> str:
    """An error answer's description: its title, and the codes this operation
    answers with in it, each with what the console tells its user (English)."""
    if not codes:
        return title
    said = []
    for code in codes:
        sentence = SAID.get(code) or REFUSALS.get(code)
        said.append(f"`{code}`: {sentence}" if sentence else f"`{code}`.")
    return f"{title}. Besides the common codes: " + " ".join(said)


def common_codes() -> str:
    """The codes any operation may answer with, for the document's description."""
    return "; ".join(
        f"`{code}` ({status}): {when}" for code, (status, when) in COMMON.items()
    )


def document() -> dict[str, Any]:
    spec = APISpec(
        title="Svyaz API",
        version="1.0.0",
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={
            "description": "JSON API of the Svyaz gateway. Errors are "
            "application/problem+json. A body is JSON, sent with Content-Type: "
            "application/json (anything else is 415), and no longer than the "
            "operation's `x-max-body-bytes` (longer is 413); every text field and "
            "list states its maxLength or maxItems (a line break counts as one "
            "character, CR LF too, and is kept as LF). A path no operation has is 404 "
            "`no_such_operation`; a method the path does not take is 405 "
            "`method_not_allowed`, with the methods it takes in `Allow`. A refusal "
            "is application/problem+json with a stable `code`. Any operation may "
            "answer with these: " + common_codes() + "; and " + STATE_CODE_SAID + "."
            " Each operation's error "
            "answers name the codes it answers with besides them (in the "
            "description, and as a list in `x-codes`), read from the services' "
            "code: a client that meets another code acts on its status."
        },
    )
    spec.components.schema("Problem", PROBLEM)
    for name, scheme in SECURITY_SCHEMES.items():
        spec.components.security_scheme(name, scheme)
    paths: dict[str, dict[str, Any]] = {}
    for op in api_routes():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", op.path)
        operation: dict[str, Any] = {
            "summary": op.summary,
            "responses": {},
            "x-max-body-bytes": op.max_body,
            "security": security(op),
        }
        if op.tags:
            operation["tags"] = list(op.tags)
        if op.roles:
            operation["x-roles"] = list(op.roles)
            operation["description"] = "For: " + ", ".join(op.roles) + "."
        parameters: list[Any] = [
            path_parameter(p, op.path) for p in re.findall(r"{([a-z_]+)}", path)
        ]
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        if op.method in UNSAFE_METHODS:
            parameters.append(IDEMPOTENCY_PARAMETER)
        if parameters:
            operation["parameters"] = parameters
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "description": f"JSON, at most {describe_size(op.max_body)}",
                "content": {"application/json": {"schema": op.body}},
            }
        elif op.method in UNSAFE_METHODS:
            operation["x-no-body"] = True  # nothing to send (an empty body or {})
        for status, schema in op.responses.items():
            if isinstance(schema, list):  # [XSchema]: an array of them
                schema = {"type": "array", "items": schema[0]}
            elif schema is None:  # an object the service shapes
                schema = {"type": "object", "additionalProperties": True}
            operation["responses"][str(status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": schema}},
            }
        refuses = REFUSES.get(f"{op.method} {op.path}", {})
        for status, title in ERRORS.items():
            if status == 415 and op.method not in UNSAFE_METHODS:
                continue
            if str(status) in operation["responses"]:
                continue
            codes = sorted(code for code, s in refuses.items() if s == status)
            answer: dict[str, Any] = {
                "description": described(title, codes),
                "content": {
                    "application/problem+json": {
                        "schema": {"$ref": "#/components/schemas/Problem"}
                    }
                },
            }
            if codes:
                answer["x-codes"] = codes
            operation["responses"][str(status)] = answer
        if op.throttle is not None:
            operation["responses"]["429"] = THROTTLED
        paths.setdefault(path, {})[op.method.lower()] = operation
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()
