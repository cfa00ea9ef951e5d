"""A gateway and a registry, in this process, on the test's vhost and databases."""

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from nameko.testing.services import replace_dependencies

from gateway.service import GatewayService
from registry.service import RegistryService
from svyaz import signing
from tests.registry.integration.conftest import FakeConnect, Registry


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def as_gateway() -> Iterator[None]:
    """This test process signs as the gateway, as the real gateway process does."""
    ring = dict(signing._state.keyring)
    signing.configure("gateway", ring)
    yield
    signing.configure("cli", ring)


@pytest.fixture
def gateway_url(database: Any, service_config: Any, container_factory: Any) -> str:
    address = f"127.0.0.1:{free_port()}"
    container_factory(
        GatewayService,
        service_config(
            "gateway",
            WEB_SERVER_ADDRESS=address,
            RPC_TIMEOUT=5,
            DB_URI=database("gateway"),
            COOKIE_SECURE=False,
        ),
    ).start()
    return f"http://{address}"


@pytest.fixture
def system(
    as_gateway: None,
    database: Any,
    service_config: Any,
    container_factory: Any,
    gateway_url: str,
) -> Iterator[Registry]:
    url = database("registry")
    registry = container_factory(
        RegistryService, service_config("registry", DB_URI=url)
    )
    connect = FakeConnect()
    replace_dependencies(registry, stripe=connect)
    registry.start()
    wrapper = Registry(registry, url, connect)
    wrapper.url = gateway_url
    yield wrapper
    wrapper.engine.dispose()
