"""The OpenAPI 3 document of /api/v1, generated from the routes' marshmallow schemas."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway.http import UNSAFE_METHODS, api_routes, describe_size

PROBLEM = {
    "type": "object",
    "description": "RFC 9457 problem details; `errors` maps fields to messages",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": True},
    },
    "required": ["type", "title", "status"],
}
# the document's own answer
SELF = {
    "type": "object",
    "description": "An OpenAPI 3.0.3 document (https://spec.openapis.org/oas/v3.0.3)",
    "required": ["openapi", "info", "paths"],
    "properties": {
        "openapi": {"type": "string"},
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
            "list states its maxLength or maxItems."
        },
    )
    spec.components.schema("Problem", PROBLEM)
    paths: dict[str, dict[str, Any]] = {}
    for op in api_routes():
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", op.path)
        operation: dict[str, Any] = {
            "summary": op.summary,
            "responses": {},
            "x-max-body-bytes": op.max_body,
        }
        if op.tags:
            operation["tags"] = list(op.tags)
        if op.roles:
            operation["x-roles"] = list(op.roles)
            operation["description"] = "For: " + ", ".join(op.roles) + "."
        parameters: list[Any] = [
            {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
            for p in re.findall(r"{([a-z_]+)}", path)
        ]
        if op.query is not None:
            parameters.append({"in": "query", "schema": op.query})
        if parameters:
            operation["parameters"] = parameters
        if op.body is not None:
            operation["requestBody"] = {
                "required": True,
                "description": f"JSON, at most {describe_size(op.max_body)}",
                "content": {"application/json": {"schema": op.body}},
            }
        for status, schema in op.responses.items():
            if isinstance(schema, list):  # [XSchema]: an array of them
                schema = {"type": "array", "items": schema[0]}
            elif schema is None:  # an object the service shapes
                schema = {"type": "object", "additionalProperties": True}
            operation["responses"][str(status)] = {
                "description": "OK",
                "content": {"application/json": {"schema": schema}},
            }
        for status, title in ERRORS.items():
            if status == 415 and op.method not in UNSAFE_METHODS:
                continue
            operation["responses"].setdefault(
                str(status),
                {
                    "description": title,
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                },
            )
        paths.setdefault(path, {})[op.method.lower()] = operation
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()
