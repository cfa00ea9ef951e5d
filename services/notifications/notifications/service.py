"""The notifications service: entrypoints only."""

from __future__ import annotations

from marshmallow import ValidationError

from notifications import logic
from notifications.dependencies import Mailer
from notifications.schemas import CommunicatorAppliedIn, ContactIn
from notifications.templates import render
from svyaz import inbox
from svyaz.dependencies import Database, OutboxRelay
from svyaz.envelope import ReceivedEvent
from svyaz.messaging import RpcProxy, Unprocessable, event_handler


class NotificationsService:
    name = "notifications"

    db = Database()
    outbox = OutboxRelay()
    mailer = Mailer()
    registry = RpcProxy("registry")

    @event_handler("registry", "communicator.applied.v1")
    def on_communicator_applied(self, event: ReceivedEvent) -> None:
        try:
            data = CommunicatorAppliedIn().load(event.data)
        except ValidationError as exc:
            raise Unprocessable(f"bad payload: {exc.messages}") from None
        recipient = data["communicator_id"]
        with self.db.transaction() as session:
            delivery = logic.open_delivery(
                session, event.event_id, recipient, "email", "application_received"
            )
            delivery_id = delivery.id if delivery else None
        if delivery_id is None:
            return  # sent already: a redelivery changes nothing
        contact = ContactIn().load(
            self.registry.get_contact(str(recipient), "notification:application")
        )
        message = render("application_received", contact["language"])
        self.mailer.send(contact["email"], message, f"{event.event_id}.{delivery_id}")
        with self.db.transaction() as session:
            logic.delivered(session, delivery_id)
            inbox.claim(session, event)
