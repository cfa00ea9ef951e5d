"""Every text field and list a request can carry has a maximum length: in the
schemas the routes declare (and the OpenAPI document says so), and in the console
forms (one table, which the pages' own maxlength never exceeds)."""

import re
from pathlib import Path
from typing import Any

import pytest
from marshmallow import Schema, fields, validate
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

import gateway.service  # noqa: F401  (declares the routes)
from gateway import openapi, pages, schemas, web
from gateway.exceptions import BadRequest
from gateway.http import api_routes
from gateway.schemas.people import ApplicationRequestSchema

TEMPLATES = Path(pages.__file__).parent / "templates"


def request_schemas() -> set[type[Schema]]:
    return {s for op in api_routes() for s in (op.body, op.query) if s is not None}


def has_max(field: fields.Field) -> bool:
    return any(
        isinstance(v, validate.Length) and v.max is not None for v in field.validators
    )


def unbounded(field: fields.Field, where: str) -> list[str]:
    if isinstance(field, fields.Nested):
        nested = field.schema
        return [
            problem
            for name, inner in nested.fields.items()
            for problem in unbounded(inner, f"{where}.{name}")
        ]
    if isinstance(field, fields.List):
        own = [] if has_max(field) else [f"{where} (no maximum item count)"]
        return own + unbounded(field.inner, f"{where}[]")
    if isinstance(field, fields.UUID):
        return []  # parsed to a uuid: 36 characters or refused
    if isinstance(field, fields.String):
        return [] if has_max(field) else [f"{where} (no maximum length)"]
    if isinstance(field, (fields.Dict, fields.Raw)):
        return [f"{where} (free-form: bound it)"]
    return []


def test_the_routes_declare_their_request_schemas() -> None:
    names = {s.__name__ for s in request_schemas()}
    assert {"SignInRequestSchema", "ApplicationRequestSchema"} <= names
    assert {"CommunicatorQuerySchema", "ReportRequestSchema"} <= names


@pytest.mark.parametrize("schema", sorted(request_schemas(), key=lambda s: s.__name__))
def test_every_request_text_field_and_list_has_a_maximum(
    schema: type[Schema],
) -> None:
    problems = [
        problem
        for name, field in schema().load_fields.items()
        for problem in unbounded(field, f"{schema.__name__}.{name}")
    ]
    assert problems == []


def test_the_walk_finds_an_unbounded_field() -> None:
    class Loose(Schema):
        name = fields.String()
        tags = fields.List(schemas.text(10))
        ok = schemas.many(schemas.text(10), 5)

    found = [p for n, f in Loose().fields.items() for p in unbounded(f, n)]
    assert found == ["name (no maximum length)", "tags (no maximum item count)"]


def resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return dict(document["components"]["schemas"][name])
    return schema


def undocumented(document: dict[str, Any], schema: dict[str, Any], where: str):  # type: ignore[no-untyped-def]
    schema = resolve(document, schema)
    if schema.get("type") == "object":
        for name, prop in schema.get("properties", {}).items():
            yield from undocumented(document, prop, f"{where}.{name}")
    elif schema.get("type") == "array":
        if "maxItems" not in schema:
            yield f"{where} (no maxItems)"
        yield from undocumented(document, schema["items"], f"{where}[]")
    elif schema.get("type") == "string" and schema.get("format") not in (
        "uuid",
        "date",
    ):
        if "maxLength" not in schema:
            yield f"{where} (no maxLength)"


def test_the_openapi_document_states_every_limit() -> None:
    document = openapi.document()
    problems: list[str] = []
    checked = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            assert isinstance(operation["x-max-body-bytes"], int), where
            assert "413" in operation["responses"], where
            body = operation.get("requestBody")
            if body:
                schema = body["content"]["application/json"]["schema"]
                problems += undocumented(document, schema, where)
                checked += 1
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    problems += undocumented(
                        document, parameter["schema"], f"{where}?{parameter['name']}"
                    )
                    checked += 1
            if method.upper() in ("POST", "PUT", "DELETE"):
                assert "415" in operation["responses"], where
    assert checked > 20 and problems == []
    sign_in = document["paths"]["/api/v1/session"]["post"]
    assert sign_in["x-max-body-bytes"] == 16 * 1024
    signed = document["components"]["schemas"]["SignInRequest"]["properties"]
    assert signed["email"]["maxLength"] == schemas.EMAIL
    report = document["components"]["schemas"]["ReportRequest"]["properties"]
    assert report["topics"]["maxItems"] == schemas.TOPICS
    assert report["narrative"]["maxLength"] == schemas.NARRATIVE


def form_fields() -> dict[str, list[tuple[str, int | None]]]:
    """Each template's form fields: (name, its maxlength attribute or None)."""
    found: dict[str, list[tuple[str, int | None]]] = {}
    for template in sorted(TEMPLATES.glob("*.html")):
        for tag in re.findall(
            r"<(?:input|textarea|select)\b[^>]*>", template.read_text()
        ):
            name = re.search(r'name="([^"]+)"', tag)
            if not name or name.group(1) == "file":
                continue
            most = re.search(r'maxlength="(\d+)"', tag)
            names = (
                [n for n, _ in pages.APPLY_FIELDS]
                if name.group(1) == "{{ name }}"
                else [name.group(1)]
            )
            found.setdefault(template.name, []).extend(
                (n, int(most.group(1)) if most else None) for n in names
            )
    return found


def test_no_page_lets_a_browser_send_more_than_the_gateway_takes() -> None:
    fields_by_page = form_fields()
    assert len(fields_by_page) > 10
    for page, found in fields_by_page.items():
        for name, most in found:
            allowed = pages.FORM_LIMITS.get(name, schemas.WORD)
            assert most is None or most <= allowed, (page, name, most, allowed)
    assert set(pages.FORM_LIMITS) <= {n for f in fields_by_page.values() for n, _ in f}


def form_request(data: dict[str, Any]) -> Request:
    return Request(EnvironBuilder(method="POST", data=data).get_environ())


def test_a_console_form_value_longer_than_its_limit_is_refused() -> None:
    fits = {"narrative": "x" * schemas.NARRATIVE, "step": "approve", "csrf": "t"}
    assert web.form(form_request(fits))["step"] == "approve"
    with pytest.raises(BadRequest) as too_long:
        web.form(form_request({**fits, "narrative": "x" * (schemas.NARRATIVE + 1)}))
    assert too_long.value.fields == {
        "narrative": [f"Longer than maximum length {schemas.NARRATIVE}."]
    }
    with pytest.raises(BadRequest) as unlisted:  # a field not in the table: a word
        web.form(form_request({"anything": "x" * (schemas.WORD + 1)}))
    assert "anything" in unlisted.value.fields
    with pytest.raises(BadRequest) as repeated:
        web.form(form_request({"item": ["1"] * (pages.FORM_VALUES + 1)}))
    assert "item" in repeated.value.fields


def test_a_line_break_counts_one_character_as_the_browser_counts_it() -> None:
    """A textarea's value at its maxlength, in lines, arrives with CR LF breaks: one
    character more per break than the browser let the person type."""
    typed = "\n".join(["x" * 99] * 60)[: schemas.NARRATIVE - 1]  # ends in a letter
    sent = typed.replace("\n", "\r\n")
    assert len(sent) > schemas.NARRATIVE >= len(typed)
    request = form_request({"narrative": sent, "observed_change": "a\r\nb"})
    assert web.form(request)["narrative"] == typed
    report = pages.report_from_form(request.form)  # what goes to the service
    assert report["narrative"] == typed and report["observed_change"] == "a\nb"
    with pytest.raises(BadRequest):  # one character beyond, counted the same way
        web.form(form_request({"narrative": sent + "xx"}))


def test_the_api_counts_a_line_break_as_one_character_too() -> None:
    """A JSON text sent with CR LF breaks at its limit in characters typed is taken,
    and reaches the service with LF breaks, as from the consoles; one character
    beyond is refused. The OpenAPI document still calls it a string with that
    limit."""
    from gateway.schemas.programmes import ReportRequestSchema

    typed = "\n".join(["x" * 99] * 60)[: schemas.NARRATIVE - 1]
    sent = typed.replace("\n", "\r\n")
    assert len(sent) > schemas.NARRATIVE
    field = ReportRequestSchema().fields["narrative"]
    assert field.deserialize(sent) == typed
    assert not ReportRequestSchema().validate({"narrative": sent}, partial=True)
    refused = ReportRequestSchema().validate({"narrative": sent + "xx"}, partial=True)
    assert "narrative" in refused
    document = openapi.document()["components"]["schemas"]
    described = next(
        s["properties"]["narrative"]
        for name, s in document.items()
        if name.startswith("ReportRequest")
    )
    assert (described["type"], described["maxLength"]) == ("string", schemas.NARRATIVE)


def test_the_application_form_takes_what_the_api_takes() -> None:
    """The console's apply form lets a browser send no more than the API (and the
    registry) accept for the same field: a longer name was refused only after it
    was sent."""
    declared = ApplicationRequestSchema().fields
    for name in ("legal_name", "city", "referral", "pseudonym", "email", "motivation"):
        (most,) = [
            v.max for v in declared[name].validators if isinstance(v, validate.Length)
        ]
        assert pages.FORM_LIMITS[name] == most, name


def test_preferences_say_every_fault_in_one_answer() -> None:
    """A bad time zone and channels without the inbox are both said at once, not
    the second only after the first is mended."""
    from gateway.schemas.oversight import PreferencesSchema

    faults = PreferencesSchema().validate(
        {"channels": ["email"], "timezone": "Mars/Olympus", "language": "de"}
    )
    assert set(faults) == {"channels", "timezone", "language"}
    assert "inbox cannot be turned off" in str(faults["channels"])
    assert not PreferencesSchema().validate({"channels": ["inbox", "email"]})


@pytest.mark.parametrize("given", [{}, {"code": ""}, {"code": "   "}, {"code": None}])
def test_a_release_without_a_code_is_refused_the_same_way_missing_or_empty(
    given: dict[str, str | None],
) -> None:
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as refused:
        schemas.ReleaseRequestSchema().load({"totals_digest": "ab12", **given})
    assert refused.value.messages == {
        "code": ["the code from your authenticator app is needed"]
    }
