"""The committed RabbitMQ definitions load into a broker, and every service then
declares its queues against them without a single argument mismatch."""

import json
from typing import Any

import requests

from gateway.service import GatewayService
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
    }

    for cls, service in (
        (RegistryService, "registry"),
        (StipendsService, "stipends"),
        (NotificationsService, "notifications"),
    ):
        container_factory(
            cls, service_config(service, DB_URI=database(service))
        ).start()  # a PRECONDITION_FAILED on any queue argument would raise here
    container_factory(
        GatewayService, service_config("gateway", WEB_SERVER_ADDRESS="127.0.0.1:0")
    ).start()

    for queue in [q["name"] for q in definitions["queues"]]:
        assert queue_depth(rabbit_config["AMQP_URI"], queue) == 0
