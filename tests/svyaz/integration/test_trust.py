"""Identity on the bus is proven, not asserted: each attack of the trust review,
played against the real registry service (or the platform's probe service) on real
RabbitMQ and PostgreSQL, is refused, parked or answered with a clear error, and
changes nothing. Each test fails if its defence is taken away."""

import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import amqp
import kombu
import pytest
from nameko.testing.services import entrypoint_hook
from sqlalchemy import create_engine, text

from registry.service import RegistryService
from svyaz import signing, topology
from svyaz.consuming import REASON_HEADER
from svyaz.keys import FINANCE_CLI, GATEWAY, NOTIFICATIONS, OPERATOR, STIPENDS
from svyaz.rpc import REPLAYED_COPY, rpc
from svyaz.rpc_proxy import RpcProxy
from tests.helpers import (
    _amqp_connection,
    actor,
    publish_event,
    take,
    wait_until,
)
from tests.svyaz.integration import probe

ADMIN = actor(["program_admin"])
RPC_EXCHANGE = kombu.Exchange(topology.RPC_EXCHANGE, type="topic", durable=True)


@pytest.fixture
def registry(
    database: Any, service_config: Any, container_factory: Any
) -> Iterator[dict[str, Any]]:
    url = database("registry")
    config = service_config("registry", DB_URI=url)
    container_factory(RegistryService, config).start()
    engine = create_engine(url)
    yield {"config": config, "engine": engine}
    engine.dispose()


def corridor(engine: Any, country: str) -> str:
    with engine.connect() as conn:
        return str(
            conn.execute(
                text("SELECT provider FROM corridors WHERE country = :c"),
                {"c": country},
            ).scalar_one()
        )


def signed_at(raw: str, body: Any, signer: str, ts: float) -> str:
    """`raw`, as `signer` would have signed it at `ts` with its own key (the sealed
    body is bound to the stamp, so it is sealed again for the new one)."""
    wrapper = json.loads(raw)
    wrapper["ts"] = f"{ts:.6f}"
    stamp = signing.read_stamp(json.dumps(wrapper))[0]
    nonce = b"\x00" * 12
    sealed = signing._state.sealer.encrypt(
        nonce, json.dumps(body).encode(), stamp.context()
    )
    wrapper["body"] = base64.urlsafe_b64encode(nonce + sealed).decode()
    key = signing._state.private[signer][0]
    wrapper["sig"] = base64.urlsafe_b64encode(
        key.sign(stamp.text(wrapper["body"]))
    ).decode()
    return json.dumps(wrapper)


class Wire:
    """An attacker (or a test) with a connection to the broker: publishes raw
    signed requests and reads the answers on a reply queue of its own."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self.conn: amqp.Connection = _amqp_connection(amqp_uri)
        self.channel = self.conn.channel()
        self.reply_to = f"attacker-{uuid.uuid4().hex[:8]}"
        self.channel.exchange_declare(
            topology.RPC_EXCHANGE, "topic", durable=True, auto_delete=False
        )
        self.channel.queue_declare(self.reply_to, exclusive=True)
        self.channel.queue_bind(self.reply_to, topology.RPC_EXCHANGE, self.reply_to)

    def sign(
        self,
        method: str,
        *args: Any,
        signer: str = GATEWAY,
        ts: float | None = None,
        key: str = "",
    ) -> tuple[str, str]:
        """A request for `method` signed by `signer` (at `ts`, with the command's
        idempotency `key`); (body, corr id)."""
        correlation_id = str(uuid.uuid4())
        route = signing.Route(method, self.reply_to, correlation_id, idem=key)
        with signing.signing_as(signer), signing.publishing(route):
            raw = signing.encode({"args": list(args), "kwargs": {}})
        if ts is not None:  # the signer's own key, at another time
            raw = signed_at(raw, {"args": list(args), "kwargs": {}}, signer, ts)
        return raw, correlation_id

    def send(self, routing_key: str, body: str, correlation_id: str) -> None:
        self.channel.basic_publish(
            amqp.Message(
                body,
                content_type=signing.CONTENT_TYPE,
                content_encoding="utf-8",
                reply_to=self.reply_to,
                correlation_id=correlation_id,
            ),
            exchange=topology.RPC_EXCHANGE,
            routing_key=routing_key,
        )

    def answer(self, correlation_id: str, timeout: float = 15.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = self.channel.basic_get(self.reply_to, no_ack=True)
            if message is None:
                time.sleep(0.05)
                continue
            if message.properties.get("correlation_id") == correlation_id:
                return dict(signing.decode(message.body))
        raise AssertionError(f"no answer within {timeout} s")

    def call(self, routing_key: str, body: str, correlation_id: str) -> Any:
        self.send(routing_key, body, correlation_id)
        return self.answer(correlation_id)

    def close(self) -> None:
        self.conn.close()


@pytest.fixture
def wire(rabbit_config: dict[str, Any]) -> Iterator[Wire]:
    found = Wire(rabbit_config["AMQP_URI"])
    yield found
    found.close()


def parked_on(amqp_uri: str, queue: str) -> Any:
    """The next parked message, or None while the parking queue is not declared."""
    try:
        return take(amqp_uri, queue, timeout=0.5)
    except (amqp.exceptions.NotFound, AssertionError):
        return None


def refusal(answer: dict[str, Any]) -> str:
    error = answer.get("error") or {}
    assert error, f"expected a refusal, got {answer}"
    return str(error.get("value"))


def test_a_genuine_request_is_answered(registry: Any, wire: Wire) -> None:
    body, corr = wire.sign("registry.list_corridors")
    answer = wire.call("registry.list_corridors", body, corr)
    assert answer["error"] is None
    assert {c["country"] for c in answer["result"]} >= {"GE", "DE"}


def test_a_replayed_request_within_the_window_is_parked_unanswered(
    registry: Any, wire: Wire
) -> None:
    captured, corr = wire.sign("registry.set_corridor", ADMIN, "GE", "stripe_connect")
    assert wire.call("registry.set_corridor", captured, corr)["error"] is None
    assert corridor(registry["engine"], "GE") == "stripe_connect"
    back, corr2 = wire.sign("registry.set_corridor", ADMIN, "GE", "bank_file")
    assert wire.call("registry.set_corridor", back, corr2)["error"] is None

    wire.send("registry.set_corridor", captured, corr)  # the same bytes again
    parked = wait_until(lambda: parked_on(wire.amqp_uri, "rpc-registry.dlq"), "it")
    reason = dict(parked.properties["application_headers"])[REASON_HEADER]
    assert reason == REPLAYED_COPY  # says it is harmless
    assert corridor(registry["engine"], "GE") == "bank_file"  # nothing changed
    # parked, not answered: the first copy's caller already has its answer
    with pytest.raises(AssertionError, match="no answer"):
        wire.answer(corr, timeout=1.0)


def nonces_of(engine: Any, body: str) -> int:
    nonce = signing.read_stamp(body)[0].nonce
    with engine.connect() as conn:
        return int(
            conn.execute(
                text("SELECT count(*) FROM bus_nonces WHERE nonce = :n"), {"n": nonce}
            ).scalar_one()
        )


def test_a_replayed_command_is_parked_unanswered_its_nonce_taken_with_it(
    registry: Any, wire: Wire
) -> None:
    """A command with its key takes its nonce in its own transaction (one commit
    for the request): a replayed copy is found there and parked, not run again
    and not answered, even after the same key was answered."""
    key = uuid.uuid4().hex
    captured, corr = wire.sign(
        "registry.set_corridor", ADMIN, "GE", "stripe_connect", key=key
    )
    assert wire.call("registry.set_corridor", captured, corr)["error"] is None
    assert nonces_of(registry["engine"], captured) == 1  # committed with it
    back, corr2 = wire.sign("registry.set_corridor", ADMIN, "GE", "bank_file")
    assert wire.call("registry.set_corridor", back, corr2)["error"] is None

    wire.send("registry.set_corridor", captured, corr)  # the same bytes again
    parked = wait_until(lambda: parked_on(wire.amqp_uri, "rpc-registry.dlq"), "it")
    assert dict(parked.properties["application_headers"])[REASON_HEADER] == (
        REPLAYED_COPY
    )
    assert corridor(registry["engine"], "GE") == "bank_file"  # nothing changed
    with pytest.raises(AssertionError, match="no answer"):
        wire.answer(corr, timeout=1.0)


def test_a_refused_commands_nonce_stays_taken_so_its_replay_is_parked(
    registry: Any, wire: Wire
) -> None:
    """The refusal rolls the command back, not its nonce: a copy of a refused
    request is parked, not decided again (the state may have changed since)."""
    key = uuid.uuid4().hex
    captured, corr = wire.sign(
        "registry.set_corridor", ADMIN, "GE", "no_such_provider", key=key
    )
    assert refusal(wire.call("registry.set_corridor", captured, corr))
    assert nonces_of(registry["engine"], captured) == 1
    with registry["engine"].connect() as conn:  # the refusal is not remembered
        assert not conn.execute(
            text("SELECT count(*) FROM command_results WHERE key LIKE :k"),
            {"k": key + "%"},
        ).scalar_one()

    wire.send("registry.set_corridor", captured, corr)
    parked = wait_until(lambda: parked_on(wire.amqp_uri, "rpc-registry.dlq"), "it")
    assert dict(parked.properties["application_headers"])[REASON_HEADER] == (
        REPLAYED_COPY
    )
    with pytest.raises(AssertionError, match="no answer"):
        wire.answer(corr, timeout=1.0)


def test_a_request_older_than_the_window_is_refused(registry: Any, wire: Wire) -> None:
    old = time.time() - 3600
    body, corr = wire.sign(
        "registry.set_corridor", ADMIN, "GE", "stripe_connect", ts=old
    )
    answer = wire.call("registry.set_corridor", body, corr)
    assert "older than 45 s" in refusal(answer)
    assert corridor(registry["engine"], "GE") == "bank_file"


def test_a_request_re_routed_to_another_method_is_refused(
    registry: Any, wire: Wire
) -> None:
    """Signed for one method, published to another with the same arguments."""
    body, corr = wire.sign("registry.list_corridors")
    answer = wire.call("registry.list_clubs", body, corr)
    assert (
        "signed for 'registry.list_corridors', delivered to 'registry.list_clubs'"
    ) in refusal(answer)


def test_a_request_with_another_reply_address_is_refused(
    registry: Any, wire: Wire
) -> None:
    body, corr = wire.sign("registry.list_corridors")
    answer_to = Wire(wire.amqp_uri)  # a copy sent to answer someone else
    try:
        answer_to.send("registry.list_corridors", body, corr)
        answer = answer_to.answer(corr)
    finally:
        answer_to.close()
    assert "reply address or correlation id is not the one signed" in refusal(answer)


@pytest.mark.parametrize(
    ("signer", "method", "args"),
    [
        (NOTIFICATIONS, "registry.set_corridor", (ADMIN, "GE", "stripe_connect")),
        (FINANCE_CLI, "registry.erase", (ADMIN, str(uuid.uuid4()), "a reason")),
        (OPERATOR, "registry.get_contact", (str(uuid.uuid4()), "curiosity")),
        (STIPENDS, "registry.sign_in", ("a@example.org", "password", None)),
    ],
)
def test_a_signer_not_declared_for_the_method_is_refused(
    registry: Any, wire: Wire, signer: str, method: str, args: tuple[Any, ...]
) -> None:
    body, corr = wire.sign(method, *args, signer=signer)
    answer = wire.call(method, body, corr)
    assert f"'{signer}' may not call {method.split('.')[1]}" in refusal(answer)
    assert corridor(registry["engine"], "GE") == "bank_file"


def test_a_method_without_declared_callers_is_refused(
    rabbit_config: dict[str, Any],
    service_config: Any,
    container_factory: Any,
    database: Any,
    wire: Wire,
) -> None:
    class Undeclared:
        name = "probe"

        @rpc
        def anything(self) -> str:
            return "ran"

    config = service_config("stipends", DB_URI=database("stipends"))
    container_factory(Undeclared, config).start()
    body, corr = wire.sign("probe.anything")
    assert "anything declares no callers" in refusal(
        wire.call("probe.anything", body, corr)
    )


@pytest.mark.parametrize(
    "invented",
    [
        {"id": str(uuid.uuid4()), "roles": ["program_admin"]},
        {"id": ADMIN["id"], "roles": ["program_admin"], "assertion": "made up"},
        "program_admin",
        actor(["program_admin"], ttl=-1),  # expired
    ],
)
def test_an_invented_or_expired_actor_with_a_valid_signature_is_refused(
    registry: Any, wire: Wire, invented: Any
) -> None:
    """The gateway's own key, correctly used, cannot make up a person."""
    body, corr = wire.sign("registry.set_corridor", invented, "GE", "stripe_connect")
    answer = wire.call("registry.set_corridor", body, corr)
    assert "who is acting is not proven" in refusal(answer)
    assert corridor(registry["engine"], "GE") == "bank_file"


def test_an_assertion_signed_by_a_stolen_service_key_is_refused(
    registry: Any, wire: Wire
) -> None:
    from svyaz import assertions
    from tests.svyaz.unit.test_assertions import _forge

    claims = assertions.new_claims(uuid.uuid4(), frozenset({"program_admin"}))
    forged = {"id": str(claims.sub), "assertion": _forge(claims, GATEWAY)}
    body, corr = wire.sign("registry.set_corridor", forged, "GE", "stripe_connect")
    answer = wire.call("registry.set_corridor", body, corr)
    assert "not the registry's" in refusal(answer)
    assert corridor(registry["engine"], "GE") == "bank_file"


def test_a_message_signed_with_another_services_key_is_parked(
    registry: Any, wire: Wire
) -> None:
    """notifications' key, claiming to be stipends (who may read destinations)."""
    body, corr = wire.sign(
        "registry.get_payout_destination", str(uuid.uuid4()), "payout", signer=STIPENDS
    )
    wrapper = json.loads(body)
    stolen = signing._state.private[NOTIFICATIONS][0]
    stamp = signing.read_stamp(body)[0]
    wrapper["sig"] = base64.urlsafe_b64encode(
        stolen.sign(stamp.text(wrapper["body"]))
    ).decode()
    wire.send("registry.get_payout_destination", json.dumps(wrapper), corr)
    parked = wait_until(lambda: parked_on(wire.amqp_uri, "rpc-registry.dlq"), "it")
    reason = dict(parked.properties["application_headers"])[REASON_HEADER]
    assert reason == "refused: InvalidSignature: bad signature from 'stipends'"


class Caller:
    name = "caller"

    registry = RpcProxy("registry")

    @rpc(callers={GATEWAY})
    def ask(self) -> Any:
        return self.registry.list_corridors()


def test_a_forged_reply_is_dropped_and_the_real_one_is_taken(
    rabbit_config: dict[str, Any],
    service_config: Any,
    container_factory: Any,
    database: Any,
) -> None:
    """The attacker reads the request (no registry runs), answers it signed as
    notifications, then the real registry's answer comes: only that one counts."""
    config = service_config("stipends", DB_URI=database("stipends"))
    caller = container_factory(Caller, config)
    caller.start()
    amqp_uri = rabbit_config["AMQP_URI"]
    conn = _amqp_connection(amqp_uri)
    channel = conn.channel()
    channel.exchange_declare(
        topology.RPC_EXCHANGE, "topic", durable=True, auto_delete=False
    )
    channel.queue_declare("rpc-registry", durable=True, auto_delete=False)
    channel.queue_bind("rpc-registry", topology.RPC_EXCHANGE, "registry.*")

    def forge(as_who: str, request: Any, answer: Any) -> None:
        props = request.properties
        route = signing.Route(props["reply_to"], "", props["correlation_id"])
        with signing.signing_as(as_who), signing.publishing(route):
            body = signing.encode({"result": answer, "error": None})
        channel.basic_publish(
            amqp.Message(
                body,
                content_type=signing.CONTENT_TYPE,
                content_encoding="utf-8",
                correlation_id=props["correlation_id"],
            ),
            exchange=topology.RPC_EXCHANGE,
            routing_key=props["reply_to"],
        )

    with entrypoint_hook(caller, "ask") as ask:
        import eventlet

        asked = eventlet.spawn(ask)
        request = wait_until(
            lambda: channel.basic_get("rpc-registry", no_ack=True), "the request"
        )
        forge(NOTIFICATIONS, request, [{"country": "GE", "provider": "forged"}])
        eventlet.sleep(0.5)
        assert not asked.dead  # the forged answer was not taken
        forge("registry", request, [{"country": "GE", "provider": "bank_file"}])
        assert asked.wait() == [{"country": "GE", "provider": "bank_file"}]
    conn.close()


# -- events --------------------------------------------------------------------
def _effects(probe_engine: Any) -> list[int]:
    with probe_engine.connect() as conn:
        return [r.n for r in conn.execute(text("SELECT n FROM probe_effects"))]


def test_an_event_whose_signer_is_not_its_producer_is_parked(
    probe_container: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    amqp_uri = rabbit_config["AMQP_URI"]
    envelope = probe.THING_HAPPENED.build("thing:1", n=41).envelope("corr")
    publish_event(amqp_uri, envelope, signer=GATEWAY)  # the gateway's stolen key
    parked = take(amqp_uri, "probe.on_thing_happened.dlq")
    reason = dict(parked.properties["application_headers"])[REASON_HEADER]
    assert "signed by 'gateway' for producer 'probe'" in reason
    assert probe.CALLS[41] == 0 and _effects(probe_engine) == []


def test_an_event_hours_late_is_taken_once_and_its_replay_ignored(
    probe_container: Any, probe_engine: Any, rabbit_config: dict[str, Any]
) -> None:
    """Events may wait in their durable queue while a consumer is down: never
    refused for their age; the inbox (event id) stops a replay."""
    amqp_uri = rabbit_config["AMQP_URI"]
    envelope = probe.THING_HAPPENED.build("thing:1", n=42).envelope("corr")
    route = signing.Route(envelope["event_type"])
    with signing.signing_as("probe"), signing.publishing(route):
        wrapper = json.loads(signing.encode(envelope))
    late = signed_at(json.dumps(wrapper), envelope, "probe", time.time() - 5 * 3600)
    from tests.helpers import publish_raw

    publish_raw(amqp_uri, "probe.events", "thing.happened.v1", late)
    wait_until(lambda: _effects(probe_engine) == [42], "the late event's effect")
    publish_raw(amqp_uri, "probe.events", "thing.happened.v1", late)  # replayed
    wait_until(lambda: probe.CALLS[42] == 2, "the replay to reach the handler")
    assert _effects(probe_engine) == [42]  # once
