"""The OpenAPI 3 document of /api/v1, generated from the routes' marshmallow schemas."""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from gateway.http import OPERATIONS

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
ERRORS = {
    400: "Invalid input",
    401: "Not signed in",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Payload too large",
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
            "application/problem+json."
        },
    )
    spec.components.schema("Problem", PROBLEM)
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", op.path)
        operation: dict[str, Any] = {"summary": op.summary, "responses": {}}
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
                "content": {"application/json": {"schema": op.body}},
            }
        for status, schema in op.responses.items():
            if isinstance(schema, list):  # [XSchema]: an array of them
                schema = {"type": "array", "items": schema[0]}
            content = {"application/json": {"schema": schema}} if schema else None
            operation["responses"][str(status)] = {
                "description": "OK",
                **({"content": content} if content else {}),
            }
        for status, title in ERRORS.items():
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
