"""What the gateway gives an operator: a correlation id per request (its own, never
the client's), an access line per request by route template with no address and no
query value, request counts by template, /readyz that says which part is missing,
and no metrics on the public port."""

import logging
import uuid

import pytest
import requests
from prometheus_client import REGISTRY

from gateway.metrics import HEADER


def count(method: str, route: str, status: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "svyaz_http_requests_total",
            {"method": method, "route": route, "status": status},
        )
        or 0.0
    )


def test_each_request_gets_its_own_correlation_id(gateway_url: str) -> None:
    sent = str(uuid.uuid4())
    first = requests.get(f"{gateway_url}/healthz", headers={HEADER: sent}, timeout=10)
    second = requests.get(f"{gateway_url}/healthz", timeout=10)
    ids = {first.headers[HEADER], second.headers[HEADER]}
    assert len(ids) == 2 and sent not in ids  # a client cannot choose the id
    for value in ids:
        assert str(uuid.UUID(value)) == value


def test_the_access_log_and_the_counts_name_the_route_template_only(
    gateway_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    ident = str(uuid.uuid4())
    route = "/api/v1/communicators/<communicator_id>"
    before = count("GET", route, "401")
    with caplog.at_level(logging.INFO, logger="gateway.access"):
        answer = requests.get(
            f"{gateway_url}/api/v1/communicators/{ident}?email=olga@example.org",
            timeout=10,
        )
    assert answer.status_code == 401
    (line,) = [r for r in caplog.records if r.name == "gateway.access"]
    assert line.http["route"] == route
    assert line.http["status"] == 401
    assert line.http["method"] == "GET"
    text = f"{line.getMessage()} {line.http}"
    for secret in (ident, "olga", "example.org", "127.0.0.1"):
        assert secret not in text
    assert count("GET", route, "401") == before + 1


def test_metrics_are_not_served_on_the_public_port(gateway_url: str) -> None:
    assert requests.get(f"{gateway_url}/metrics", timeout=10).status_code == 404


def test_readyz_names_what_is_missing(gateway_url: str) -> None:
    """Only the gateway runs here: no service consumes its RPC queue."""
    answer = requests.get(f"{gateway_url}/readyz", timeout=10)
    assert answer.status_code == 503
    assert answer.json() == {"status": "not ready", "failing": ["services"]}
    assert requests.get(f"{gateway_url}/healthz", timeout=10).status_code == 200
