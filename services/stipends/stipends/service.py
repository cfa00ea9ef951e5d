"""The stipends service: entrypoints only."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from stipends import logic
from stipends.exceptions import InvalidRequest, StipendsError
from stipends.schemas import (
    CommunicatorActivatedIn,
    CommunicatorAppliedIn,
    CommunicatorIdIn,
    CommunicatorPayoutReadyIn,
    CommunicatorSchema,
    CommunicatorTierChangedIn,
)
from svyaz import inbox
from svyaz.dependencies import Database, OutboxRelay
from svyaz.envelope import ReceivedEvent
from svyaz.messaging import Unprocessable, event_handler, rpc


def payload(schema: Schema, event: ReceivedEvent) -> dict[str, Any]:
    try:
        return schema.load(event.data)
    except ValidationError as exc:
        raise Unprocessable(f"bad payload: {exc.messages}") from None


class StipendsService:
    name = "stipends"

    db = Database()
    outbox = OutboxRelay()

    @event_handler("registry", "communicator.applied.v1")
    def on_communicator_applied(self, event: ReceivedEvent) -> None:
        data = payload(CommunicatorAppliedIn(), event)
        with self.db.transaction() as session:
            if inbox.claim(session, event):
                logic.record_applicant(
                    session, data["communicator_id"], data["pseudonym"]
                )

    def _fold(self, event: ReceivedEvent, schema: Schema) -> None:
        data = payload(schema, event)
        with self.db.transaction() as session:
            if inbox.claim(session, event):
                logic.registry_changed(session, event.event_type, data)

    @event_handler("registry", "communicator.activated.v1")
    def on_communicator_activated(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorActivatedIn())

    @event_handler("registry", "communicator.suspended.v1")
    def on_communicator_suspended(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.reinstated.v1")
    def on_communicator_reinstated(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.offboarded.v1")
    def on_communicator_offboarded(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.tier_changed.v1")
    def on_communicator_tier_changed(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorTierChangedIn())

    @event_handler("registry", "communicator.payout_ready.v1")
    def on_communicator_payout_ready(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorPayoutReadyIn())

    @event_handler("registry", "communicator.erased.v1")
    def on_communicator_erased(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @rpc(expected_exceptions=StipendsError)
    def get_communicator(self, communicator_id: str) -> dict[str, Any]:
        try:
            ident = CommunicatorSchema().load({"id": communicator_id})["id"]
        except ValidationError as exc:
            raise InvalidRequest(
                "the request is invalid", "invalid_request", exc.messages_dict
            ) from None
        with self.db.transaction() as session:
            return CommunicatorSchema().dump(logic.get_communicator(session, ident))
