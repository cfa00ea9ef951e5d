"""Names and arguments of every exchange and queue: the one place they are decided.

- Each producer publishes to the topic exchange `<producer>.events`, routing key the
  event type (`communicator.applied.v1`).
- Each event handler consumes a durable quorum queue `<consumer>.<method>` with a
  delivery limit and the dead-letter exchange `svyaz.dlx`; its parked messages land in
  `<consumer>.<method>.dlq`.
- RPC uses nameko's `nameko-rpc` exchange and `rpc-<service>` queues; messages refused
  there are parked in `rpc-<service>.dlq`.

`infra/rabbitmq/definitions.json` is generated from these functions (see
infra/rabbitmq/generate.py) and a test checks that it still matches.
"""

from __future__ import annotations

from typing import Any

from kombu import Exchange, Queue

DLX = "svyaz.dlx"
RPC_EXCHANGE = "nameko-rpc"
RPC_REQUEST_TTL_MS = 3_600_000  # an RPC request nobody took within an hour is parked
MAX_ATTEMPTS = 5  # handler failures before the consumer parks a message itself
DELIVERY_LIMIT = MAX_ATTEMPTS + 2  # the broker's own net, for consumers that crash


def events_exchange(producer: str) -> Exchange:
    return Exchange(f"{producer}.events", type="topic", durable=True)


def dead_letter_exchange() -> Exchange:
    return Exchange(DLX, type="direct", durable=True)


def queue_arguments(name: str) -> dict[str, Any]:
    return {
        "x-queue-type": "quorum",
        "x-delivery-limit": DELIVERY_LIMIT,
        "x-dead-letter-exchange": DLX,
        "x-dead-letter-routing-key": name,
        # dead-letter without loss: the broker keeps a message until the DLQ has it
        "x-dead-letter-strategy": "at-least-once",
        "x-overflow": "reject-publish",
    }


def handler_queue_name(consumer: str, method: str) -> str:
    return f"{consumer}.{method}"


def event_queue(consumer: str, method: str, source: str, event_type: str) -> Queue:
    name = handler_queue_name(consumer, method)
    return Queue(
        name,
        exchange=events_exchange(source),
        routing_key=event_type,
        durable=True,
        queue_arguments=queue_arguments(name),
    )


def parking_queue(name: str) -> Queue:
    return Queue(
        f"{name}.dlq",
        exchange=dead_letter_exchange(),
        routing_key=name,
        durable=True,
        queue_arguments={"x-queue-type": "quorum"},
    )


def rpc_queue_name(service: str) -> str:
    return f"rpc-{service}"


def definitions(
    handlers: list[tuple[str, str, str, str]], rpc_services: list[str]
) -> dict[str, Any]:
    """RabbitMQ definitions for handlers given as (consumer, method, source, type)."""
    exchanges: dict[str, dict[str, Any]] = {}
    queues: list[dict[str, Any]] = []
    bindings: list[dict[str, Any]] = []

    def exchange(ex: Exchange) -> None:
        exchanges[ex.name] = {
            "name": ex.name,
            "vhost": "/",
            "type": ex.type,
            "durable": True,
            "auto_delete": False,
            "internal": False,
            "arguments": {},
        }

    def queue(q: Queue) -> None:
        queues.append(
            {
                "name": q.name,
                "vhost": "/",
                "durable": True,
                "auto_delete": False,
                "arguments": dict(getattr(q, "queue_arguments", None) or {}),
            }
        )
        bindings.append(
            {
                "source": q.exchange.name,
                "vhost": "/",
                "destination": q.name,
                "destination_type": "queue",
                "routing_key": q.routing_key,
                "arguments": {},
            }
        )

    exchange(dead_letter_exchange())
    exchange(Exchange(RPC_EXCHANGE, type="topic", durable=True))
    for consumer, method, source, event_type in sorted(handlers):
        q = event_queue(consumer, method, source, event_type)
        exchange(q.exchange)
        queue(q)
        queue(parking_queue(q.name))
    policies: list[dict[str, Any]] = []
    for service in sorted(rpc_services):
        name = rpc_queue_name(service)
        queue(
            Queue(
                name,
                exchange=Exchange(RPC_EXCHANGE, type="topic"),
                routing_key=f"{service}.*",
                durable=True,
            )
        )
        queue(parking_queue(name))
        # a request that waited an hour has long been given up by its caller: park
        # it where an operator sees it rather than act on it late
        policies.append(
            {
                "name": f"svyaz-{name}",
                "vhost": "/",
                "pattern": f"^{name}$",
                "apply-to": "queues",
                "priority": 0,
                "definition": {
                    "message-ttl": RPC_REQUEST_TTL_MS,
                    "dead-letter-exchange": DLX,
                    "dead-letter-routing-key": name,
                },
            }
        )
    return {
        "rabbit_version": "3.10.8",
        "vhosts": [{"name": "/"}],
        "exchanges": sorted(exchanges.values(), key=lambda e: e["name"]),
        "queues": queues,
        "bindings": bindings,
        "policies": policies,
    }
