"""A running notifications container on its own database and vhost, a real SMTP
server on loopback (aiosmtpd) whose received mail the tests read, and a small real
nameko service named `registry` that answers the contact RPCs."""

import email
import email.header
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from typing import Any, ClassVar

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, text

from notifications.service import NotificationsService
from svyaz.dependencies import Caller
from svyaz.errors import NotFound
from svyaz.keys import NOTIFICATIONS
from svyaz.rpc import rpc
from tests.helpers import actor as signed_in
from tests.helpers import publish_event, run_entrypoint, wait_until

MAX_ATTEMPTS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def decoded(value: str) -> str:
    return str(email.header.make_header(email.header.decode_header(value)))


@dataclass
class Mail:
    to: str
    sender: str
    subject: str
    body: str
    raw: bytes


class SmtpSink:
    """aiosmtpd on a free loopback port; keeps what it receives; can refuse."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[Mail] = []
        self.refuse_next = 0  # answer 451 to the next N messages
        self._lock = threading.Lock()
        self.controller: Controller | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self._lock:
            if self.refuse_next > 0:
                self.refuse_next -= 1
                return "451 4.3.0 try again later"
            message: Message = email.message_from_bytes(envelope.content)
            payload = message.get_payload(decode=True)
            assert isinstance(payload, bytes)
            self.received.append(
                Mail(
                    to=str(message["To"]),
                    sender=decoded(str(message["From"])),
                    subject=decoded(str(message["Subject"])),
                    body=payload.decode(),
                    raw=envelope.content,
                )
            )
        return "250 OK"

    def start(self) -> None:
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[Mail]:
        with self._lock:
            return [m for m in self.received if m.to == address]


class RegistryStandIn:
    """A real nameko service named `registry` answering what notifications asks."""

    name = "registry"
    caller = Caller()

    contacts: ClassVar[dict[str, dict[str, str]]] = {}
    staff: ClassVar[dict[str, list[dict[str, str]]]] = {}
    resets: ClassVar[dict[str, dict[str, str]]] = {}  # reset id: the link's answer
    callers: ClassVar[list[str | None]] = []
    batches: ClassVar[list[int]] = []  # how many ids each get_contacts call asked
    mentors: ClassVar[dict[str, list[dict[str, str]]]] = {}  # communicator: mentors

    @rpc(callers={NOTIFICATIONS})
    def get_contact(self, communicator_id: str, purpose: str) -> dict[str, str]:
        self.callers.append(self.caller)
        if communicator_id not in self.contacts:
            raise NotFound("no such communicator")
        return {"communicator_id": communicator_id, **self.contacts[communicator_id]}

    @rpc(callers={NOTIFICATIONS})
    def get_contacts(
        self, ids: list[str], purpose: str, audience: str = "communicator"
    ) -> list[dict[str, Any]]:
        """As the registry answers: the ones it knows, the unknown left out."""
        self.callers.append(self.caller)
        self.batches.append(len(ids))
        if audience == "staff":
            rows = {r["account_id"]: r for rs in self.staff.values() for r in rs}
            return [
                {"id": i, "email": rows[i]["email"], "language": None}
                for i in ids
                if i in rows
            ]
        return [
            {
                "id": i,
                "email": self.contacts[i]["email"],
                "language": self.contacts[i]["language"],
            }
            for i in ids
            if i in self.contacts
        ]

    @rpc(callers={NOTIFICATIONS})
    def list_staff_ids(self, role: str) -> list[str]:
        self.callers.append(self.caller)
        return [row["account_id"] for row in self.staff.get(role, [])]

    @rpc(callers={NOTIFICATIONS})
    def get_staff_contact(self, account_id: str, purpose: str) -> dict[str, str]:
        self.callers.append(self.caller)
        for rows in self.staff.values():
            for row in rows:
                if row["account_id"] == account_id:
                    return dict(row)
        raise NotFound("no such staff member")

    @rpc(callers={NOTIFICATIONS})
    def get_mentors(self, communicator_id: str) -> list[dict[str, str]]:
        self.callers.append(self.caller)
        return list(self.mentors.get(communicator_id, []))

    @rpc(callers={NOTIFICATIONS})
    def issue_password_reset(self, reset_id: str) -> dict[str, str]:
        self.callers.append(self.caller)
        if reset_id not in self.resets:
            raise NotFound("no such reset")
        return dict(self.resets[reset_id])


@dataclass
class Notifications:
    container: Any
    url: str
    amqp_uri: str
    smtp: SmtpSink
    engine: Any = field(init=False)

    def __post_init__(self) -> None:
        self.engine = create_engine(self.url)

    def call(self, method: str, *args: Any) -> Any:
        return run_entrypoint(self.container, method, *args)

    def sql(self, query: str, **params: Any) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(query), params)
            return list(result) if result.returns_rows else []

    def communicator(self, language: str = "ru") -> tuple[str, str]:
        ident = str(uuid.uuid4())
        address = f"c.{ident[:8]}@example.org"
        RegistryStandIn.contacts[ident] = {"email": address, "language": language}
        return ident, address

    def publish(self, event_type: str, producer: str, **data: Any) -> dict[str, Any]:
        body = envelope(event_type, producer, **data)
        publish_event(self.amqp_uri, body)
        return body

    def processed(self, event_id: str) -> bool:
        rows = self.sql(
            "SELECT 1 FROM processed_events WHERE event_id = :e", e=event_id
        )
        return bool(rows)

    def mail_to(self, address: str, timeout: float = 15.0) -> Mail:
        mail = wait_until(lambda: self.smtp.to(address), f"mail to {address}", timeout)
        recipient = next(
            (i for i, c in RegistryStandIn.contacts.items() if c["email"] == address),
            None,
        )
        if recipient is not None:  # and its send recorded: the mail leaves first,
            # from a row that is due or taken (attempted, leased to its sender)
            wait_until(
                lambda: (
                    not self.sql(
                        "SELECT 1 FROM deliveries WHERE recipient_id = :r"
                        " AND channel = 'email' AND status = 'pending'"
                        " AND (due_at <= now() OR attempts > 0)",
                        r=recipient,
                    )
                ),
                "the delivery to be recorded",
            )
        return mail[0]


def envelope(event_type: str, producer: str, **data: Any) -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "occurred_at": "2026-11-24T00:00:00+00:00",
        "producer": producer,
        "correlation_id": str(uuid.uuid4()),
        "data": data,
    }


def actor(ident: str, *roles: str) -> dict[str, Any]:
    """A signed-in person (a communicator unless roles are given), as the gateway
    passes them: with the registry's assertion."""
    return signed_in(list(roles) or ["communicator"], ident)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def notifications(
    database: Any,
    service_config: Any,
    container_factory: Any,
    rabbit_config: dict[str, Any],
    smtp: SmtpSink,
) -> Iterator[Notifications]:
    RegistryStandIn.contacts.clear()
    RegistryStandIn.staff.clear()
    RegistryStandIn.resets.clear()
    RegistryStandIn.callers.clear()
    RegistryStandIn.batches.clear()
    url = database("notifications")
    # the stand-in keeps its RPC nonces in the notifications test database
    registry = container_factory(
        RegistryStandIn, service_config("registry", DB_URI=url)
    )
    registry.start()
    config = service_config(
        "notifications",
        DB_URI=url,
        SMTP_PORT=smtp.port,
        SMTP_TIMEOUT=2,
        SENDER_INTERVAL=0.2,
        NOTIFY_MAX_ATTEMPTS=MAX_ATTEMPTS,
        NOTIFY_RETRY_BASE=0.2,
        NOTIFY_RETRY_MAX=1,
        REGISTRY_TIMEOUT=5,
        DIGEST_INTERVAL=3600,
        FINISHED_WORK_PURGE_INTERVAL=0.2,
    )
    container = container_factory(NotificationsService, config)
    container.start()
    wrapper = Notifications(container, url, rabbit_config["AMQP_URI"], smtp)
    yield wrapper
    wrapper.engine.dispose()
