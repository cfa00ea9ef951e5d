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


def clustered(definitions: dict[str, Any]) -> dict[str, Any]:
    """`definitions` for a RabbitMQ cluster: the RPC queues (classic, as nameko
    declares them) mirrored on every node by their policies (`ha-mode: all`, synced
    at once), so that a service's RPC queue outlives the node it was declared on.
    Event and parking queues are quorum queues, replicated on every node already."""
    policies = []
    for policy in definitions["policies"]:
        if str(policy["pattern"]).startswith(f"^{rpc_queue_name('')}"):
            policy = {
                **policy,
                "definition": {
                    **policy["definition"],
                    "ha-mode": "all",
                    "ha-sync-mode": "automatic",
                },
            }
        policies.append(policy)
    return {**definitions, "policies": policies}


# --- who may do what on the broker --------------------------------------------------


def reply_key(identity: str, tag: str) -> str:
    """The routing key of a reply to `identity`'s calls (`svyaz.rpc_proxy`): it
    names the caller, so that the broker lets only the caller's own user bind a
    queue to it (`broker_permissions`' topic permissions). nameko's is a bare uuid,
    which any service that was called once could bind, and so read the replies
    other services send its caller."""
    return f"reply-{identity}-{tag}"


def reply_keys(identity: str) -> str:
    """A pattern of `identity`'s reply keys (no braces here: RabbitMQ expands
    `{...}` in topic permission patterns)."""
    return _escape(reply_key(identity, "")) + "[0-9a-f-]+"


STANDALONE = "standalone_rpc_proxy"  # nameko's name for a CLI's reply queues
DEFAULT_EXCHANGE = "amq.default"  # where a parked message is retried to its own queue


def handlers_in(definitions: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(consumer, method, source, event type) of every handler queue in generated
    `definitions`: the bindings of `<consumer>.<method>` to `<source>.events`."""
    found = []
    for binding in definitions["bindings"]:
        source = str(binding["source"])
        if source.endswith(".events"):
            consumer, _, method = str(binding["destination"]).partition(".")
            found.append(
                (consumer, method, source[: -len(".events")], binding["routing_key"])
            )
    return sorted(found)


def rpc_services_in(definitions: dict[str, Any]) -> list[str]:
    prefix = rpc_queue_name("")
    return sorted(
        q["name"][len(prefix) :]
        for q in definitions["queues"]
        if q["name"].startswith(prefix) and not q["name"].endswith(".dlq")
    )


def _any_of(patterns: list[str]) -> str:
    return "^(" + "|".join(sorted(set(patterns))) + ")$"


def _escape(name: str) -> str:
    return name.replace(".", r"\.")


def broker_permissions(
    service: str, handlers: list[tuple[str, str, str, str]], rpc_services: list[str]
) -> dict[str, Any]:
    """What `service`'s broker user may do in the vhost, least privilege: read
    (consume, bind from) only its own queues, the RPC exchange and the exchanges of
    the events it handles; write (publish) only to its own events exchange, the RPC
    exchange and the dead-letter exchange (and the default one, for retrying its own
    parked messages). Topic permissions narrow what it may bind: on another
    producer's exchange only the event types it handles, on the RPC exchange only
    its own requests and its replies.

    RabbitMQ's `configure` right (declare, delete) also covers the shared exchanges a
    service declares before binding to them; a tool (`finance-cli`, `operator`) gets
    its reply queues only."""
    own = _escape(service)
    subscribed: dict[str, list[str]] = {}
    for consumer, _method, source, event_type in handlers:
        if consumer == service:
            subscribed.setdefault(source, []).append(event_type)
    queues = [rf"{own}\..*", rf"rpc\.reply-{own}-.*"]
    if service in rpc_services:
        queues.append(rf"rpc-{own}(\.dlq)?")
    shared = [_escape(RPC_EXCHANGE), _escape(DLX)]
    sources = [_escape(events_exchange(s).name) for s in subscribed]
    topics = [
        {
            "exchange": RPC_EXCHANGE,
            "write": ".*",
            # bind: its own replies only, and its own requests (`<service>.*`)
            "read": _any_of(
                [reply_keys(service)]
                + ([rf"{own}\.\*"] if service in rpc_services else [])
            ),
        }
    ]
    for source, types in sorted(subscribed.items()):
        topics.append(
            {
                "exchange": events_exchange(source).name,
                # a topic permission is per exchange: a service handling one of its
                # own events (registry's erasure) still publishes every event there
                "write": ".*" if source == service else "^$",
                "read": _any_of([_escape(t) for t in types]),
            }
        )
    return {
        "configure": _any_of(queues + shared + sources),
        "write": _any_of(queues + shared + [_escape(DEFAULT_EXCHANGE)]),
        "read": _any_of(queues + shared + sources),
        "topics": topics,
    }


def tool_permissions(tool: str) -> dict[str, Any]:
    """A CLI's (svyaz-finance, the operator's console; `tool` its bus identity):
    RPC calls and the replies to its own."""
    queue = rf"rpc\.reply-{STANDALONE}-.*"
    rpc = _escape(RPC_EXCHANGE)
    return {
        "configure": _any_of([queue, rpc]),
        "write": _any_of([queue, rpc]),
        "read": _any_of([queue, rpc]),
        "topics": [
            {
                "exchange": RPC_EXCHANGE,
                "write": ".*",
                "read": _any_of([reply_keys(tool)]),
            }
        ],
    }
