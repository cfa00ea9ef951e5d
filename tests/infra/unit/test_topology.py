"""infra/rabbitmq/definitions.json is what the code declares (regenerate with
`make topology`), and every event a service publishes has a queue to go to."""

import importlib.util
import json

from notifications.events import PUBLISHED as NOTIFICATIONS_EVENTS
from registry.events import PUBLISHED as REGISTRY_EVENTS
from stipends.events import PUBLISHED as STIPENDS_EVENTS
from tests.conftest import ROOT


def generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "generate", ROOT / "infra" / "rabbitmq" / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_definitions_file_matches_the_code() -> None:
    committed = json.loads((ROOT / "infra/rabbitmq/definitions.json").read_text())
    assert committed == json.loads(json.dumps(generator().definitions())), (
        "run `make topology` and commit infra/rabbitmq/definitions.json"
    )


def test_every_handler_queue_is_a_quorum_queue_with_a_dead_letter_queue() -> None:
    definitions = generator().definitions()
    queues = {q["name"]: q for q in definitions["queues"]}
    handlers = [
        n for n in queues if not n.startswith("rpc-") and not n.endswith(".dlq")
    ]
    assert handlers, "no handler queues found"
    for name in handlers:
        args = queues[name]["arguments"]
        assert args["x-queue-type"] == "quorum"
        assert args["x-delivery-limit"] > 0
        assert args["x-dead-letter-exchange"] == "svyaz.dlx"
        assert f"{name}.dlq" in queues


def test_every_published_event_has_a_bound_queue() -> None:
    bindings = generator().definitions()["bindings"]
    routed = {(b["source"], b["routing_key"]) for b in bindings}
    for spec in REGISTRY_EVENTS + STIPENDS_EVENTS + NOTIFICATIONS_EVENTS:
        assert (f"{spec.producer}.events", spec.event_type) in routed, spec


def grants() -> dict[str, dict]:
    from svyaz import topology

    definitions = json.loads((ROOT / "infra/rabbitmq/definitions.json").read_text())
    handlers = topology.handlers_in(definitions)
    rpc = topology.rpc_services_in(definitions)
    assert rpc == ["insights", "notifications", "registry", "stipends"]
    return {
        service: topology.broker_permissions(service, handlers, rpc)
        for service in ("registry", "stipends", "notifications", "gateway", "insights")
    }


def matches(pattern: str, name: str) -> bool:
    import re

    return re.fullmatch(pattern, name) is not None


def test_each_service_user_reads_only_its_own_queues() -> None:
    """read = consume or bind from: a service's own queues, reply queues and DLQs
    only, checked against every queue of the topology."""
    definitions = json.loads((ROOT / "infra/rabbitmq/definitions.json").read_text())
    queues = [q["name"] for q in definitions["queues"]]
    for service, grant in grants().items():
        for queue in queues:
            own = queue.startswith((f"{service}.", f"rpc-{service}"))
            assert matches(grant["read"], queue) == own, (service, queue)
            assert matches(grant["configure"], queue) == own, (service, queue)
        assert matches(grant["read"], f"rpc.reply-{service}-0b1f")
        if service != "gateway":
            assert not matches(grant["read"], "rpc.reply-gateway-0b1f"), service


def test_each_caller_binds_only_the_replies_to_its_own_calls() -> None:
    """Replies are routed by a key naming the caller: each service's and each
    tool's user may bind its own (the key its reply listener binds), none of
    another caller's, nor nameko's bare uuid, which any caller could bind."""
    import uuid

    from svyaz import topology
    from svyaz.keys import FINANCE_CLI, OPERATOR

    callers = {
        service: next(t for t in grant["topics"] if t["exchange"] == "nameko-rpc")
        for service, grant in grants().items()
    }
    for tool in (FINANCE_CLI, OPERATOR):
        (callers[tool],) = topology.tool_permissions(tool)["topics"]
    tag = str(uuid.uuid4())
    for caller, topic in callers.items():
        assert topic["write"] == ".*"  # a reply goes to whoever called
        for other in callers:
            key = topology.reply_key(other, tag)
            assert matches(topic["read"], key) == (other == caller), (caller, other)
        assert not matches(topic["read"], tag), caller
        assert not matches(topic["read"], "#"), caller


def test_each_service_user_publishes_only_to_its_own_exchange() -> None:
    producers = ("registry", "stipends", "notifications", "gateway", "insights")
    for service, grant in grants().items():
        for producer in producers:
            assert matches(grant["write"], f"{producer}.events") == (
                producer == service
            ), (service, producer)
        for shared in ("nameko-rpc", "svyaz.dlx", "amq.default"):
            assert matches(grant["write"], shared), (service, shared)


def test_a_service_user_binds_only_the_events_it_handles() -> None:
    stipends = {t["exchange"]: t for t in grants()["stipends"]["topics"]}
    assert set(stipends) == {"nameko-rpc", "registry.events"}
    assert matches(stipends["registry.events"]["read"], "communicator.applied.v1")
    assert not matches(stipends["registry.events"]["read"], "#")
    assert not matches(
        stipends["registry.events"]["read"], "account.password_reset_requested.v1"
    )
    assert matches(stipends["nameko-rpc"]["read"], r"stipends.*")
    assert not matches(stipends["nameko-rpc"]["read"], r"registry.*")
    # the gateway handles no event and answers no RPC: its replies only
    gateway = {t["exchange"]: t for t in grants()["gateway"]["topics"]}
    assert set(gateway) == {"nameko-rpc"}
    assert not matches(gateway["nameko-rpc"]["read"], r"gateway.*")
    for producer in ("registry", "stipends", "notifications"):
        assert not matches(grants()["gateway"]["read"], f"{producer}.events")
    # insights listens to registry and stipends and answers the gateway; it
    # publishes nothing of its own and reads no one else's RPC
    insights = {t["exchange"]: t for t in grants()["insights"]["topics"]}
    assert set(insights) == {"nameko-rpc", "registry.events", "stipends.events"}
    assert matches(insights["stipends.events"]["read"], "report.reviewed.v1")
    assert not matches(insights["registry.events"]["read"], "communicator.applied.v1")
    assert not matches(insights["nameko-rpc"]["read"], r"registry.*")


def test_a_service_handling_its_own_event_still_publishes_all_of_its_events() -> None:
    """registry consumes its own communicator.erased.v1 (closing at Stripe): the topic
    permission on registry.events must not stop it publishing there, while stipends,
    which also binds registry.events, may publish nothing to it."""
    from registry.events import PUBLISHED

    registry = {t["exchange"]: t for t in grants()["registry"]["topics"]}
    assert matches(registry["registry.events"]["read"], "communicator.erased.v1")
    for spec in PUBLISHED:
        assert matches(registry["registry.events"]["write"], spec.event_type), spec
    stipends = {t["exchange"]: t for t in grants()["stipends"]["topics"]}
    assert not matches(stipends["registry.events"]["write"], "communicator.erased.v1")


def test_docker_compose_s_broker_file_matches_the_code() -> None:
    committed = json.loads((ROOT / "infra/rabbitmq/development.json").read_text())
    generated = json.loads(json.dumps(generator().development()))
    assert committed == generated, (
        "run `make topology` and commit infra/rabbitmq/development.json"
    )
    # the topology itself is definitions.json's, and no user but the administrator
    # may do everything
    topology = json.loads((ROOT / "infra/rabbitmq/definitions.json").read_text())
    for key, value in topology.items():
        assert committed[key] == value, key
    assert "users" not in topology and "permissions" not in topology
    for permission in committed["permissions"]:
        if permission["user"] != "svyaz-admin":
            assert ".*" not in (permission["read"], permission["write"]), permission
