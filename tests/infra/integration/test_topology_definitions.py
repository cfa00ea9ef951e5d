"""The committed RabbitMQ definitions load into a broker, and every service then
declares its queues against them without a single argument mismatch."""

import json
from typing import Any

import requests

from gateway.service import GatewayService
from insights.service import InsightsService
from notifications.service import NotificationsService
from registry.service import RegistryService
from stipends.service import StipendsService
from tests.conftest import ROOT
from tests.helpers import queue_depth

API = "http://127.0.0.1:15672/api"


def test_services_start_on_a_broker_loaded_from_the_definitions(
    rabbit_config: dict[str, Any],
    database: Any,
    service_config: Any,
    container_factory: Any,
) -> None:
    definitions = json.loads((ROOT / "infra/rabbitmq/definitions.json").read_text())
    response = requests.post(
        f"{API}/definitions/{rabbit_config['vhost']}",
        json=definitions,
        auth=("guest", "guest"),
        timeout=30,
    )
    assert response.status_code in (200, 201, 204), response.text
    policies = requests.get(
        f"{API}/policies/{rabbit_config['vhost']}", auth=("guest", "guest"), timeout=30
    ).json()
    assert {p["name"] for p in policies} == {
        "svyaz-rpc-registry",
        "svyaz-rpc-stipends",
        "svyaz-rpc-notifications",
        "svyaz-rpc-insights",
    }

    for cls, service in (
        (RegistryService, "registry"),
        (StipendsService, "stipends"),
        (NotificationsService, "notifications"),
        (InsightsService, "insights"),
    ):
        container_factory(
            cls, service_config(service, DB_URI=database(service))
        ).start()  # a PRECONDITION_FAILED on any queue argument would raise here
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS="127.0.0.1:0")
    ).start()

    for queue in [q["name"] for q in definitions["queues"]]:
        assert queue_depth(rabbit_config["AMQP_URI"], queue) == 0


def test_docker_compose_s_broker_file_loads_and_confines_each_user() -> None:
    """infra/rabbitmq/development.json (the topology, each process's own user with
    its development password, their permissions) loads into a broker as a whole;
    then stipends' user reads its own queue and no other service's. Loaded here
    with the users' names and the vhost made unique to this test."""
    import uuid

    import amqp
    import pytest

    tag = uuid.uuid4().hex[:8]
    vhost = f"svyaz-compose-{tag}"
    text = (ROOT / "infra/rabbitmq/development.json").read_text()
    development = json.loads(text.replace('"svyaz-', f'"{tag}-svyaz-'))
    for kind, items in development.items():
        if isinstance(items, list):
            for item in items:
                for key in ("vhost", "name") if kind == "vhosts" else ("vhost",):
                    if item.get(key) == "/":
                        item[key] = vhost
    users = [u["name"] for u in development["users"]]
    assert f"{tag}-svyaz-stipends" in users
    try:
        response = requests.post(
            f"{API}/definitions", json=development, auth=("guest", "guest"), timeout=60
        )
        assert response.status_code in (200, 201, 204), response.text

        def connect() -> amqp.Connection:
            conn = amqp.Connection(
                "127.0.0.1:5672",
                userid=f"{tag}-svyaz-stipends",
                password="dev-stipends-broker",  # noqa: S106 - development.json's
                virtual_host=vhost,
            )
            conn.connect()
            return conn

        with connect() as conn:
            assert conn.channel().basic_get("stipends.on_communicator_applied") is None
        with connect() as conn, pytest.raises(amqp.exceptions.AccessRefused):
            conn.channel().basic_get("rpc-registry")
    finally:
        for user in users:
            requests.delete(f"{API}/users/{user}", auth=("guest", "guest"), timeout=30)
        requests.delete(f"{API}/vhosts/{vhost}", auth=("guest", "guest"), timeout=30)
