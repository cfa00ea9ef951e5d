"""Least privilege on the running system (started as `make run` starts it): each
service connects to RabbitMQ as its own user and to PostgreSQL as its own runtime
role (its database is owned by another role, which runs the migrations), and
neither reaches what another service owns. A stolen password of stipends reads no
registry table, alters none of its own, consumes no other service's queue,
publishes to no other producer's exchange and binds no tap to what it does not
handle."""

import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import amqp
import psycopg2
import pytest
import requests

from tests.helpers import wait_until
from tests.stack import API, AUTH, System

SERVICES = ("registry", "stipends", "notifications", "gateway", "insights")


def dsn(system: System, service: str, database: str) -> str:
    """`service`'s own role and password, on `database`."""
    uri = urllib.parse.urlsplit(system.settings.db_uri(service))
    return (
        f"host={uri.hostname} port={uri.port} user={uri.username} "
        f"password={uri.password} dbname={database}"
    )


@contextmanager
def broker_as(system: System, service: str) -> Iterator[amqp.Connection]:
    uri = urllib.parse.urlsplit(system.settings.service_amqp_uri(service))
    conn = amqp.Connection(
        f"{uri.hostname}:{uri.port}",
        userid=uri.username,
        password=uri.password,
        virtual_host=system.settings.vhost,
    )
    conn.connect()
    try:
        yield conn
    finally:
        try:
            conn.close()
        except Exception:  # noqa: BLE001, S110 - already closed by a refusal
            pass


def test_each_service_connects_as_its_own_broker_user_and_database_role(
    system: System,
) -> None:
    vhost = urllib.parse.quote(system.settings.vhost, safe="")

    def users() -> set[str]:
        connections = requests.get(
            f"{API}/vhosts/{vhost}/connections", auth=AUTH, timeout=30
        ).json()
        return {c["user"] for c in connections}

    own = {system.settings.broker_user(s) for s in SERVICES}
    # the management API lists a connection a few seconds after it opens
    wait_until(lambda: own <= users(), "every service user connected", timeout=30)
    admin = psycopg2.connect(f"{system.settings.pg_url}/postgres")
    try:
        with admin.cursor() as cur:

            def roles(name: str) -> set[str]:
                cur.execute(
                    "SELECT DISTINCT usename FROM pg_stat_activity WHERE datname = %s",
                    (name,),
                )
                return {row[0] for row in cur.fetchall()}

            for service in SERVICES:
                name = system.settings.db_name(service)
                role = system.settings.db_runtime_role(service)
                # the gateway's sessions connect on the first sign-in, insights on
                # the first event it keeps
                if service not in ("gateway", "insights"):
                    wait_until(lambda n=name: roles(n), f"a connection to {name}")
                assert roles(name) <= {role}, service
                cur.execute(
                    "SELECT pg_get_userbyid(datdba), has_database_privilege("
                    "'public', datname, 'CONNECT') FROM pg_database "
                    "WHERE datname = %s",
                    (name,),
                )
                assert cur.fetchone() == (system.settings.db_role(service), False)
    finally:
        admin.close()


def test_a_service_s_runtime_role_owns_nothing_of_its_database(
    system: System,
) -> None:
    """The service's password opens its rows, not its schema: the ledger's
    append-only triggers cannot be disabled with it, nor a table dropped."""
    for service in SERVICES:
        conn = psycopg2.connect(dsn(system, service, system.settings.db_name(service)))
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE n.nspname = 'public' "
                    "AND c.relowner = (SELECT oid FROM pg_roles "
                    "WHERE rolname = current_user)"
                )
                assert cur.fetchone() == (0,), service
                cur.execute("SELECT count(*) FROM alembic_version")
                assert cur.fetchone() == (1,), service  # its rows, to read
                with pytest.raises(psycopg2.Error, match="must be owner"):
                    cur.execute("DROP TABLE alembic_version")
        finally:
            conn.close()
    conn = psycopg2.connect(
        dsn(system, "stipends", system.settings.db_name("stipends"))
    )
    try:
        with conn.cursor() as cur, pytest.raises(psycopg2.Error, match="must be owner"):
            cur.execute("ALTER TABLE postings DISABLE TRIGGER ALL")
    finally:
        conn.close()


def test_stipends_role_cannot_reach_the_registry_database(system: System) -> None:
    registry = system.settings.db_name("registry")
    with pytest.raises(psycopg2.OperationalError, match="permission denied"):
        psycopg2.connect(dsn(system, "stipends", registry))
    for other in ("notifications", "gateway", "insights"):  # nor any other service
        with pytest.raises(psycopg2.OperationalError, match="permission denied"):
            psycopg2.connect(dsn(system, other, registry))
    # while its own database is its own
    own = psycopg2.connect(dsn(system, "stipends", system.settings.db_name("stipends")))
    try:
        with own.cursor() as cur:
            cur.execute("SELECT count(*) FROM alembic_version")
            assert cur.fetchone() == (1,)
    finally:
        own.close()


def refused(system: System, service: str, action: Any) -> str:
    """What the broker says when `service`'s user tries `action(channel)`."""
    with broker_as(system, service) as conn:
        channel = conn.channel()
        with pytest.raises(amqp.exceptions.AccessRefused) as caught:
            action(channel)
            channel.basic_qos(0, 0, False)  # a round trip: a refused publish shows
        return str(caught.value)


def test_a_service_user_cannot_consume_another_s_queue(system: System) -> None:
    for queue in (
        "rpc-registry",
        "notifications.on_communicator_applied",
        "notifications.on_communicator_applied.dlq",
    ):
        message = refused(system, "stipends", lambda ch, q=queue: ch.basic_get(q))
        assert "access to queue" in message and queue in message
    message = refused(
        system, "gateway", lambda ch: ch.basic_get("stipends.on_communicator_applied")
    )
    assert "access to queue" in message
    message = refused(
        system, "insights", lambda ch: ch.basic_get("stipends.on_communicator_applied")
    )
    assert "access to queue" in message


def test_a_service_user_cannot_publish_to_an_exchange_it_does_not_own(
    system: System,
) -> None:
    probe = amqp.Message(b"{}")
    message = refused(
        system,
        "stipends",
        lambda ch: ch.basic_publish(probe, "registry.events", "communicator.erased.v1"),
    )
    assert "access to exchange 'registry.events'" in message
    message = refused(
        system,
        "notifications",
        lambda ch: ch.basic_publish(probe, "stipends.events", "payout.paid.v1"),
    )
    assert "access to exchange 'stipends.events'" in message
    # insights only listens: it owns no exchange it could publish an event to
    message = refused(
        system,
        "insights",
        lambda ch: ch.basic_publish(probe, "stipends.events", "report.reviewed.v1"),
    )
    assert "access to exchange 'stipends.events'" in message


def test_a_service_user_binds_only_what_it_handles(system: System) -> None:
    """Its own queue may take the events it handles, never a tap on other
    producers' events or on another service's RPC requests."""
    tap = f"stipends.tap-{uuid.uuid4().hex[:8]}"
    with broker_as(system, "stipends") as conn:
        channel = conn.channel()
        channel.queue_declare(tap, auto_delete=True)
        channel.queue_bind(tap, "registry.events", "communicator.applied.v1")
        channel.basic_publish(amqp.Message(b"{}"), "stipends.events", "probe.v1")
        channel.queue_delete(tap)
    for exchange, key in (
        ("registry.events", "#"),
        ("registry.events", "account.password_reset_requested.v1"),
        ("nameko-rpc", "registry.*"),
    ):

        def bind(ch: Any, exchange: str = exchange, key: str = key) -> None:
            ch.queue_declare(tap, auto_delete=True)
            ch.queue_bind(tap, exchange, key)

        message = refused(system, "stipends", bind)
        assert "access to topic" in message, message


def test_a_service_user_binds_only_the_replies_to_its_own_calls(
    system: System,
) -> None:
    """A reply's routing key names its caller (`reply-<identity>-<uuid>`): stipends,
    which the gateway calls and so learns the gateway's reply keys from, cannot
    bind a queue of its own to them and read what registry answers the gateway.
    Its own replies it binds (as its reply listener did when it started)."""
    tap = f"stipends.tap-{uuid.uuid4().hex[:8]}"
    own = f"reply-stipends-{uuid.uuid4()}"
    with broker_as(system, "stipends") as conn:
        channel = conn.channel()
        channel.queue_declare(tap, auto_delete=True)
        channel.queue_bind(tap, "nameko-rpc", own)
        channel.queue_delete(tap)
    for key in (f"reply-gateway-{uuid.uuid4()}", str(uuid.uuid4()), "#"):

        def bind(ch: Any, key: str = key) -> None:
            ch.queue_declare(tap, auto_delete=True)
            ch.queue_bind(tap, "nameko-rpc", key)

        message = refused(system, "stipends", bind)
        assert "access to topic" in message, (key, message)
