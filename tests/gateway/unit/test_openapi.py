"""The OpenAPI document describes the whole API: a client learns every operation's
body, answers, enums, lengths and errors there, and not from a 400."""

import re
from typing import Any

import pytest

import gateway.service  # noqa: F401  (declares the routes)
from gateway import openapi
from gateway.api_refusals import COMMON, REFUSES, SAID
from gateway.http import UNSAFE_METHODS, api_routes
from gateway.refusals import REFUSALS

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi.document()


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = document["components"]["schemas"][name]
    return schema


def strings(
    document: dict[str, Any], schema: dict[str, Any], where: str, seen: set[str]
) -> list[tuple[str, dict[str, Any]]]:
    """Every string schema reachable from `schema`, with where it is."""
    if "$ref" in schema:
        if schema["$ref"] in seen:
            return []
        seen = seen | {schema["$ref"]}
        where = schema["$ref"].rsplit("/", 1)[1]
    schema = resolve(document, schema)
    found = []
    if schema.get("type") == "string":
        found.append((where, schema))
    for name, sub in schema.get("properties", {}).items():
        found += strings(document, sub, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            found += strings(document, schema[key], f"{where}[]", seen)
    for key in ("allOf", "oneOf", "anyOf"):
        for sub in schema.get(key, []):
            found += strings(document, sub, where, seen)
    return found


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def test_every_route_is_an_operation(document: dict[str, Any]) -> None:
    declared = {(r.method.lower(), r.path) for r in api_routes()}
    assert len(operations(document)) == len(declared)


def test_every_operation_answers_2xx_with_a_schema(document: dict[str, Any]) -> None:
    missing = []
    for method, path, operation in operations(document):
        ok = [
            answer
            for status, answer in operation["responses"].items()
            if status.startswith("2")
        ]
        if not ok or not all(
            "schema" in a.get("content", {}).get("application/json", {}) for a in ok
        ):
            missing.append(f"{method.upper()} {path}")
    assert not missing, missing


def test_errors_are_problem_json(document: dict[str, Any]) -> None:
    for method, path, operation in operations(document):
        for status, answer in operation["responses"].items():
            if status[0] in "45":
                (kind,) = answer["content"]
                assert kind == "application/problem+json", (method, path, status)
        assert "400" in operation["responses"], (method, path)


def test_every_request_body_is_declared(document: dict[str, Any]) -> None:
    """A write that takes a body says so, with its schema; a body-less write says
    it takes none (its route declares no body schema)."""
    for route in api_routes():
        path = route.path.replace("<int:", "<")
        path = path.replace("<", "{").replace(">", "}")
        operation = document["paths"][path][route.method.lower()]
        if route.body is not None:
            body = operation["requestBody"]["content"]["application/json"]
            assert body["schema"], path
        else:
            assert "requestBody" not in operation, path
        if route.method in UNSAFE_METHODS and route.body is None:
            assert "x-no-body" in operation, f"{route.method} {path}"


def test_every_string_states_its_limit(document: dict[str, Any]) -> None:
    """Every string a request or an answer carries states a maxLength, an enum or
    a format (uuid, date, date-time, email, uri)."""
    loose = []
    schemas = []
    for _, path, operation in operations(document):
        for parameter in operation.get("parameters", []):
            schemas.append((f"{path} ({parameter['name']})", parameter["schema"]))
        body = operation.get("requestBody", {}).get("content", {})
        for kind in body.values():
            schemas.append((f"{path} body", kind["schema"]))
        for status, answer in operation["responses"].items():
            for kind in answer.get("content", {}).values():
                schemas.append((f"{path} {status}", kind["schema"]))
    for where, schema in schemas:
        for name, found in strings(document, schema, where, set()):
            if not ({"maxLength", "enum", "format"} & set(found)):
                loose.append(name)
    assert not sorted(set(loose)), sorted(set(loose))


def test_the_enums_a_client_needs_are_listed(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    report = schemas["ReportRequest"]["properties"]
    assert report["audiences"]["items"]["enum"] == [
        "family",
        "friends",
        "colleagues",
        "online_community",
    ]
    assert "messenger" in report["channels"]["items"]["enum"]
    assert report["observed_change"]["enum"] == ["none", "some", "clear"]
    assert schemas["Stipend"]["properties"]["status"]["enum"] == [
        "proposed",
        "approved",
        "rejected",
    ]
    assert "bank_file" in schemas["Payout"]["properties"]["provider"]["enum"]
    assert "paid" in schemas["Payout"]["properties"]["status"]["enum"]
    pseudonym = schemas["ApplicationRequest"]["properties"]["pseudonym"]
    assert pseudonym["maxLength"] == 30
    rule = re.compile(pseudonym["pattern"])
    assert rule.fullmatch("Иван_1") and rule.fullmatch("ivan.k")
    assert not rule.fullmatch("Ivаn")  # a Cyrillic "а" among Latin letters
    assert not rule.fullmatch("a/b") and not rule.fullmatch("ab")


def test_a_reconciliation_file_says_what_it_must_hold(
    document: dict[str, Any],
) -> None:
    """A client reads there what a line needs, not from a refused import."""
    content = document["components"]["schemas"]["ReconcileRequest"]["properties"][
        "content"
    ]
    for needed in ("source_id", "gross", "YYYY-MM-DD HH:MM:SS", "names it"):
        assert needed in content["description"], needed


def test_the_security_schemes_are_declared(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["session"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "session",
        "description": schemes["session"]["description"],
    }
    assert schemes["csrf"]["in"] == "header"
    assert schemes["csrf"]["name"] == "X-CSRF-Token"
    for route in api_routes():
        path = route.path.replace("<int:", "<")
        path = path.replace("<", "{").replace(">", "}")
        operation = document["paths"][path][route.method.lower()]
        if route.roles is None:
            assert operation["security"] == [], path
        elif route.csrf == "session":
            assert operation["security"] == [{"session": [], "csrf": []}], path
        else:
            assert operation["security"] == [{"session": []}], path


def test_the_document_describes_itself(document: dict[str, Any]) -> None:
    operation = document["paths"]["/api/v1/openapi.json"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert set(schema["required"]) >= {"openapi", "info", "paths"}
    assert document["openapi"] == "3.0.3"


def test_every_operations_own_refusals_are_named_with_their_status(
    document: dict[str, Any],
) -> None:
    """gateway.api_refusals names each operation's own codes: every key is a
    route, every route has its entry, and the document lists each code under
    its status (in the description and in `x-codes`)."""
    routes = {f"{r.method} {r.path}" for r in api_routes()}
    assert set(REFUSES) == routes
    assert not set(COMMON) & {c for codes in REFUSES.values() for c in codes}
    by_path = {
        re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", r.path): r for r in api_routes()
    }
    for path, item in document["paths"].items():
        for method, operation in item.items():
            own = REFUSES[f"{method.upper()} {by_path[path].path}"]
            for code, status in own.items():
                answer = operation["responses"][str(status)]
                assert code in answer["x-codes"], (method, path, code)
                assert f"`{code}`" in answer["description"]
    release = document["paths"]["/api/v1/payout-runs/{run_id}/release"]["post"]
    assert "totals_mismatch" in release["responses"]["409"]["x-codes"]
    assert "The control totals changed" in release["responses"]["409"]["description"]
    assert "`csrf` (403)" in document["info"]["description"]
    assert "`<thing>_<state>` (409)" in document["info"]["description"]
    decide = document["paths"]["/api/v1/communicators/{communicator_id}/decisions"]
    assert "not_in_review" in decide["post"]["responses"]["409"]["x-codes"]
    # every code says what it means, in words for an API client
    for codes in REFUSES.values():
        for code in codes:
            assert code in SAID or code in REFUSALS, code
