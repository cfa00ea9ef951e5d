"""Print RabbitMQ definitions for the whole topology the services declare.

    make topology   # python infra/rabbitmq/generate.py > .../definitions.json

The handlers are found by inspecting each service class, so the file cannot drift from
the code unnoticed: tests/unit/test_topology.py compares the two.
"""

from __future__ import annotations

import importlib
import json

from svyaz import topology
from svyaz.messaging import EventHandler, Rpc

SERVICES = {
    "registry": "registry.service:RegistryService",
    "stipends": "stipends.service:StipendsService",
    "notifications": "notifications.service:NotificationsService",
    "gateway": "gateway.service:GatewayService",
}


def service_class(path: str) -> type:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def collect() -> tuple[list[tuple[str, str, str, str]], list[str]]:
    handlers: list[tuple[str, str, str, str]] = []
    rpc_services: list[str] = []
    for service, path in SERVICES.items():
        cls = service_class(path)
        has_rpc = False
        for name in dir(cls):
            for entrypoint in getattr(getattr(cls, name), "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventHandler):
                    handlers.append(
                        (
                            service,
                            name,
                            entrypoint.source_service,
                            entrypoint.event_type,
                        )
                    )
                elif isinstance(entrypoint, Rpc):
                    has_rpc = True
        if has_rpc:
            rpc_services.append(service)
    return handlers, rpc_services


def definitions() -> dict[str, object]:
    handlers, rpc_services = collect()
    return topology.definitions(handlers, rpc_services)


def main() -> None:
    print(json.dumps(definitions(), indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
