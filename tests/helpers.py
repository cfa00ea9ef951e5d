"""Helpers for tests that talk to RabbitMQ directly and poll with a bound."""

import hashlib
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import amqp
import kombu

from svyaz import keys as svyaz_keys
from svyaz import signing
from svyaz.keys import GATEWAY

ROOT = Path(__file__).resolve().parents[1]
KEYS = ROOT / "var" / "keys"


def bus_settings(identity: str) -> dict[str, str]:
    """The development bus settings of `identity`, by absolute path."""
    return signing.development_config(KEYS, identity)


# every client of a test run is 127.0.0.1 and the run signs the same people in
# again and again: the run's gateways throttle only far above what it does
# (tests/gateway/integration/test_throttles.py tests the throttling itself)
UNTHROTTLED = {
    "THROTTLE_PER_ADDRESS": "1000000",
    "THROTTLE_PER_ACCOUNT": "1000000",
    "THROTTLE_GLOBAL": "1000000",
}


# the run creates and signs in thousands of accounts: its registries hash passwords
# at argon2's least cost (1 pass over 1 MiB) instead of 3 over 64 MiB, about 175 ms
# of CPU each (the shipped cost is tested in tests/registry/unit/test_passwords.py)
LIGHT_PASSWORDS = {
    "PASSWORD_TIME_COST": "1",
    "PASSWORD_MEMORY_KIB": "1024",
    "PASSWORD_PARALLELISM": "1",
}
# the shipped cost, for the tests whose point is the hash's cost (a known email must
# cost the same time as a new one: at the light cost the hash is lost in the noise)
SHIPPED_PASSWORDS = {
    "PASSWORD_TIME_COST": "3",
    "PASSWORD_MEMORY_KIB": "65536",
    "PASSWORD_PARALLELISM": "4",
}


# the platform's identities, and the test-only services of tests/svyaz
TEST_IDENTITIES = (*svyaz_keys.IDENTITIES, "probe", "slow", "caller")


def actor(
    roles: list[str] | tuple[str, ...],
    ident: Any = None,
    *,
    stage: str = "full",
    second_factor: bool = True,
    ttl: float = 6 * 3600,
) -> dict[str, Any]:
    """A signed-in person as the gateway passes them: id, roles and the assertion
    the registry would sign at sign-in (this process holds the development registry
    key). Good for `ttl` seconds, so that a long test run does not outlive it."""
    import dataclasses

    from svyaz import assertions

    if not signing.can_sign_as(svyaz_keys.REGISTRY):
        configure_bus()
    person = uuid.UUID(str(ident)) if ident else uuid.uuid4()
    now = time.time()
    claims = assertions.new_claims(
        person,
        frozenset(roles),
        stage=stage,
        totp_at=now if second_factor else None,
        now=now,
    )
    claims = dataclasses.replace(claims, exp=now + ttl)
    return {
        "id": str(person),
        "roles": sorted(roles),
        "assertion": assertions.mint(claims),
    }


def configure_bus(default: str = GATEWAY) -> None:
    """The test process signs as `default` and holds every development key, so a
    test can sign as any process (`signing.signing_as(...)`), as an attacker who
    stole that key could."""
    svyaz_keys.ensure(KEYS, TEST_IDENTITIES)
    signing.configure_from_config(bus_settings(default), default)
    for identity in TEST_IDENTITIES:
        signing.add_identity(
            identity, svyaz_keys.load_private(KEYS / "private" / f"{identity}.key")
        )


def publish_raw(
    amqp_uri: str,
    exchange: str,
    routing_key: str,
    body: bytes | str,
    content_type: str = signing.CONTENT_TYPE,
    headers: dict[str, Any] | None = None,
) -> None:
    """Put bytes on the bus as they are: no serializer, no signature added."""
    with kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as c:
        c.Producer().publish(
            body if isinstance(body, bytes) else body.encode(),
            exchange=kombu.Exchange(exchange, type="topic", durable=True),
            routing_key=routing_key,
            content_type=content_type,
            content_encoding="utf-8",
            headers=headers or {},
            declare=[kombu.Exchange(exchange, type="topic", durable=True)],
        )


def _amqp_connection(amqp_uri: str) -> amqp.Connection:
    parts = kombu.Connection(amqp_uri)
    conn = amqp.Connection(
        f"{parts.hostname}:{parts.port or 5672}",
        userid=parts.userid,
        password=parts.password,
        virtual_host=parts.virtual_host,
    )
    conn.connect()
    return conn


def queue_depth(amqp_uri: str, queue: str) -> int:
    conn = _amqp_connection(amqp_uri)
    try:
        return int(conn.channel().queue_declare(queue, passive=True).message_count)
    finally:
        conn.close()


def take(amqp_uri: str, queue: str, timeout: float = 15.0) -> Any:
    """The next message on `queue` (acked), waiting at most `timeout` seconds. A
    quorum queue whose process the broker has not started yet answers `noproc`
    (541, which closes the connection): that is waited out like an empty queue."""
    deadline = time.monotonic() + timeout
    conn = _amqp_connection(amqp_uri)
    try:
        channel = conn.channel()
        while time.monotonic() < deadline:
            try:
                message = channel.basic_get(queue, no_ack=True)
            except amqp.exceptions.InternalError as exc:
                if "noproc" not in str(exc):
                    raise
                conn.collect()
                time.sleep(0.2)
                conn = _amqp_connection(amqp_uri)
                channel = conn.channel()
                continue
            if message is not None:
                return message
            time.sleep(0.05)
        raise AssertionError(f"no message arrived on {queue} within {timeout} s")
    finally:
        if conn.connected:
            conn.close()
        else:
            conn.collect()


def wait_until(check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll `check` until it returns something truthy (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def publish_event(
    amqp_uri: str, envelope: dict[str, Any], signer: str | None = None
) -> None:
    """Publish an envelope as its producer's relay would: signed with the producer's
    key (or `signer`'s, to play a process that pretends to be the producer)."""
    exchange = kombu.Exchange(
        f"{envelope['producer']}.events", type="topic", durable=True
    )
    route = signing.Route(envelope["event_type"])
    with (
        kombu.Connection(amqp_uri, transport_options={"confirm_publish": True}) as c,
        signing.signing_as(signer or envelope["producer"]),
        signing.publishing(route),
    ):
        c.Producer().publish(
            envelope,
            exchange=exchange,
            routing_key=envelope["event_type"],
            serializer=signing.NAME,
            declare=[exchange],
        )


EARLIER_CODE_MARGIN = 8.0  # s: longer than a loaded machine takes to check a code


def earlier_code(totp: Any) -> str:
    """The previous 30-second step's code (still accepted, for clock drift), for an
    enrollment that leaves the current step and the next to the person's sign-ins
    (each code is good once). Taken only when the step has more than
    EARLIER_CODE_MARGIN seconds left: taken just before a step ends, it was two steps
    old when the registry checked it on a loaded machine, and refused."""
    left = totp.interval - time.time() % totp.interval
    if left < EARLIER_CODE_MARGIN:
        time.sleep(left + 0.05)
    return str(totp.at(time.time() - totp.interval))


def next_code(totp: Any) -> str:
    """The code of the next 30-second step. The registry accepts a code once and a
    neighbouring step for clock drift, so a test that already used this step's code
    (at enrollment, say) signs the next step as an authenticator would in 30 s."""
    import time as _time

    return str(totp.at(_time.time() + totp.interval))


def rewrite_access_log(sql: Any, first_id: int, last_id: int | None = None) -> None:
    """What someone with the database's owner rights and no access-log key does:
    rewrites the rows from `first_id` on and recomputes each hash the way the old
    chain was made (plain SHA-256 of the previous hash and the row), then the head."""
    sql("ALTER TABLE pii_access_log DISABLE TRIGGER pii_access_log_insert_only")
    rows = sql("SELECT * FROM pii_access_log ORDER BY id")
    # the first rewritten row keeps its link to what comes before it
    prev = next(r.prev_hash for r in rows if r.id == first_id)
    for row in rows:
        if row.id < first_id or (last_id is not None and row.id > last_id):
            continue
        purpose = "nothing to see" if row.id == first_id else row.purpose
        parts = [
            prev,
            str(row.id),
            str(row.communicator_id),
            row.accessor,
            row.field,
            purpose,
            row.at.isoformat(),
        ]
        digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
        sql(
            "UPDATE pii_access_log SET purpose = :p, prev_hash = :v, hash = :h "
            "WHERE id = :i",
            p=purpose,
            v=prev,
            h=digest,
            i=row.id,
        )
        prev = digest
    if last_id is None:
        sql("UPDATE access_chain_head SET hash = :h", h=prev)


class FakeClock:
    """A monotonic clock for unit tests, and the sleep that moves it: `clock()` is
    the time, `clock.sleep(s)` records `s` in `slept` and moves the time on."""

    def __init__(self) -> None:
        self.t = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.t += seconds


def run_entrypoint(
    container: Any,
    method: str,
    *args: Any,
    context_data: dict[str, Any] | None = None,
    timeout: float = 30.0,
    **kwargs: Any,
) -> Any:
    """Run `method` in one new worker of `container`: its result, or its exception
    raised here. nameko's `entrypoint_hook` answers with whichever worker of that
    method ends first, so a test's call could be answered by the gateway's call to
    the same method running meanwhile (a refusal the test expected came back as the
    gateway's counts: CI, 2026-12-07). This waits for the worker it spawned."""
    import eventlet
    from eventlet.event import Event
    from nameko.extensions import Entrypoint
    from nameko.testing.utils import get_extension

    entrypoint = get_extension(container, Entrypoint, method_name=method)
    if entrypoint is None:
        raise LookupError(f"{container.service_name} has no entrypoint {method}")
    ended: Event = Event()

    def handle_result(worker_ctx: Any, result: Any, exc_info: Any) -> Any:
        ended.send((result, exc_info))
        return result, exc_info

    container.spawn_worker(
        entrypoint, args, kwargs, context_data=context_data, handle_result=handle_result
    )
    with eventlet.Timeout(
        timeout, TimeoutError(f"{method} did not end in {timeout} s")
    ):
        result, exc_info = ended.wait()
    if exc_info is not None:
        raise exc_info[1].with_traceback(exc_info[2])
    return result


# CLDR's medium month names, written out here as the tests' own oracle (the pages
# format with Babel): English's abbreviations, Russian's genitive ones
_MONTHS = {
    "en": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),
    "ru": "янв. февр. мар. апр. мая июн. июл. авг. сент. окт. нояб. дек.".split(),
}


def written_day(day: Any, language: str = "en") -> str:
    """A date as a page in `language` shows it: "Dec 8, 2026" / "8 дек. 2026 г."
    (`day`: a date, or its ISO text)."""
    from datetime import date

    d = day if isinstance(day, date) else date.fromisoformat(str(day)[:10])
    month = _MONTHS[language][d.month - 1]
    if language == "ru":
        return f"{d.day} {month} {d.year}\u202fг."
    return f"{month} {d.day}, {d.year}"
