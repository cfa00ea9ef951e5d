"""Every gateway response carries strict security headers; errors are problem+json;
the OpenAPI document describes every /api route from the marshmallow schemas."""

import errno
import re
import socket
import uuid
from typing import Any

import pytest
import requests

from gateway.http import SECURITY_HEADERS, api_routes
from gateway.service import GatewayService


@pytest.fixture
def gateway(gateway_url: str) -> str:
    return gateway_url


def test_success_and_error_responses_carry_the_security_headers(gateway: str) -> None:
    ok = requests.get(f"{gateway}/healthz", timeout=10)
    bad = requests.post(
        f"{gateway}/api/v1/applications",
        data=b"[",
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert (ok.status_code, bad.status_code) == (200, 400)
    for response in (ok, bad):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, name
    assert "script-src" not in SECURITY_HEADERS["Content-Security-Policy"]
    assert bad.headers["Content-Type"] == "application/problem+json"
    assert bad.json() == {
        "type": "about:blank",
        "title": "Invalid input",
        "status": 400,
        "detail": "the body is not JSON",
        "code": "invalid_json",
    }


def test_unknown_fields_are_refused_with_field_detail(gateway: str) -> None:
    response = requests.post(
        f"{gateway}/api/v1/applications",
        timeout=10,
        json={"pseudonym": "x", "is_admin": True},
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert errors["is_admin"] == ["Unknown field."]
    assert errors["email"] == ["Missing data for required field."]


def test_a_service_that_does_not_answer_gives_503(gateway: str) -> None:
    body = {
        "pseudonym": "owl_1",
        "legal_name": "A B",
        "email": "a@example.org",
        "country": "GE",
        "city": "Tbilisi",
        "consent_version": "2026-11",
        "consent": True,
    }
    response = requests.post(f"{gateway}/api/v1/applications", json=body, timeout=30)
    # no registry runs on this test's vhost: the gateway answers, it does not hang
    assert response.status_code == 503
    assert response.json()["code"] in ("upstream_timeout", "upstream_unavailable")


def test_the_openapi_document_describes_every_api_route(gateway: str) -> None:
    document = requests.get(f"{gateway}/api/v1/openapi.json", timeout=10).json()
    assert document["openapi"] == "3.0.3"
    described = {(m.upper(), p) for p, ops in document["paths"].items() for m in ops}
    routes = {
        (op.method, re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", op.path))
        for op in api_routes()
    }
    assert routes and described == routes
    schemas = document["components"]["schemas"]
    application = schemas["ApplicationRequest"]
    assert set(application["required"]) >= {"pseudonym", "email", "consent"}
    for path in document["paths"].values():
        for operation in path.values():
            assert operation["responses"]["400"]["content"]["application/problem+json"][
                "schema"
            ] == {"$ref": "#/components/schemas/Problem"}


def test_query_parameters_and_roles_are_described(gateway: str) -> None:
    document = requests.get(f"{gateway}/api/v1/openapi.json", timeout=10).json()
    search = document["paths"]["/api/v1/communicators"]["get"]
    names = {p["name"] for p in search["parameters"] if p["in"] == "query"}
    assert names == {"pseudonym", "status", "page", "per_page"}
    assert search["x-roles"] == ["program_admin", "finance"]
    members = document["paths"]["/api/v1/clubs/{club_id}/members"]["get"]
    assert members["parameters"][0] == {
        "name": "club_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }


def test_an_address_no_route_has_is_answered_as_the_routes_answer(gateway: str) -> None:
    """An unknown address or method: problem+json under /api/, naming where the
    operations are; a page in the reader's language elsewhere; security headers on
    both (werkzeug's own answer is an English page without them)."""
    api = requests.get(f"{gateway}/api/v1/no-such-thing", timeout=10)
    method = requests.delete(f"{gateway}/api/v1/openapi.json", timeout=10)
    page = requests.get(f"{gateway}/no-such-page?lang=ru", timeout=10)
    posted = requests.post(f"{gateway}/healthz", data={"a": "1"}, timeout=10)
    assert [r.status_code for r in (api, method, page, posted)] == [404, 405, 404, 405]
    for response in (api, method, page, posted):
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value, name
    assert api.headers["Content-Type"] == "application/problem+json"
    assert api.json()["code"] == "no_such_operation"
    assert "/api/v1/openapi.json" in api.json()["detail"]
    assert method.json()["code"] == "method_not_allowed"
    assert "GET" in method.headers["Allow"].split(", ")
    assert page.headers["Content-Type"].startswith("text/html")
    assert "Такой страницы нет" in page.text and "Not Found" not in page.text
    assert "GET" in posted.headers["Allow"].split(", ")
    assert "нельзя открыть таким способом" in posted.text
    # a console address that only takes a form, opened (a page a form answered,
    # reloaded): the page above it, not a wrong-method page (an outside reading)
    for address, above in (
        ("/me/payout-setup", "/me"),
        (f"/mentor/{uuid.uuid4()}/comments", None),
        ("/me/bank-details", "/me"),
    ):
        opened = requests.get(gateway + address, timeout=10, allow_redirects=False)
        assert opened.status_code == 303, address
        assert opened.headers["Location"] == (above or address.rsplit("/", 1)[0])
        for name, value in SECURITY_HEADERS.items():
            assert opened.headers[name] == value, name
    # the API's stay what they were: a wrong method, said
    wrong = requests.get(f"{gateway}/api/v1/password-resets/new-password", timeout=10)
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"


def test_a_gateway_does_not_share_a_port_another_process_listens_on(
    database: Any, service_config: Any, container_factory: Any
) -> None:
    """Another gateway listens on the port, as nameko's server does (SO_REUSEPORT):
    a second one started on it refuses to start, instead of taking half of the
    first one's connections without a word."""
    other = socket.socket()
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    other.bind(("127.0.0.1", 0))
    other.listen()
    port = other.getsockname()[1]
    try:
        container = container_factory(
            GatewayService,
            service_config(
                "gateway",
                WEB_SERVER_ADDRESS=f"127.0.0.1:{port}",
                DB_URI=database("gateway"),
                COOKIE_SECURE=False,
            ),
        )
        with pytest.raises(OSError) as refused:
            container.start()
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        other.close()
