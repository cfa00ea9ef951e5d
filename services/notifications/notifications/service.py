"""The notifications service: entrypoints only."""

from __future__ import annotations

from marshmallow import Schema, ValidationError

from notifications import logic
from notifications.dependencies import Mailer
from notifications.schemas import (
    CommunicatorAppliedIn,
    CommunicatorIdIn,
    CommunicatorPayoutSetupNeededIn,
    ContactIn,
    PayoutIn,
)
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

    def _email(self, event: ReceivedEvent, schema: Schema, template: str) -> None:
        """One email to the communicator the event names, exactly once."""
        try:
            recipient = schema.load(event.data)["communicator_id"]
        except ValidationError as exc:
            raise Unprocessable(f"bad payload: {exc.messages}") from None
        with self.db.transaction() as session:
            delivery = logic.open_delivery(
                session, event.event_id, recipient, "email", template
            )
            delivery_id = delivery.id if delivery else None
        if delivery_id is None:
            return  # sent already: a redelivery changes nothing
        contact = ContactIn().load(
            self.registry.get_contact(str(recipient), f"notification:{template}")
        )
        message = render(template, contact["language"])
        self.mailer.send(contact["email"], message, f"{event.event_id}.{delivery_id}")
        with self.db.transaction() as session:
            logic.delivered(session, delivery_id)
            inbox.claim(session, event)

    @event_handler("registry", "communicator.applied.v1")
    def on_communicator_applied(self, event: ReceivedEvent) -> None:
        self._email(event, CommunicatorAppliedIn(), "application_received")

    @event_handler("registry", "communicator.rejected.v1")
    def on_communicator_rejected(self, event: ReceivedEvent) -> None:
        self._email(event, CommunicatorIdIn(), "application_rejected")

    @event_handler("registry", "communicator.payout_setup_needed.v1")
    def on_communicator_payout_setup_needed(self, event: ReceivedEvent) -> None:
        self._email(event, CommunicatorPayoutSetupNeededIn(), "payout_setup_needed")

    @event_handler("stipends", "payout.paid.v1")
    def on_payout_paid(self, event: ReceivedEvent) -> None:
        self._email(event, PayoutIn(), "payout_paid")

    @event_handler("stipends", "payout.failed.v1")
    def on_payout_failed(self, event: ReceivedEvent) -> None:
        self._email(event, PayoutIn(), "payout_failed")
