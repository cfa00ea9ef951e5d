"""The stipends service: entrypoints only."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError

from stipends import logic
from stipends.exceptions import InvalidRequest, StipendsError
from stipends.schemas import CommunicatorAppliedIn, CommunicatorSchema
from svyaz import inbox
from svyaz.dependencies import Database, OutboxRelay
from svyaz.envelope import ReceivedEvent
from svyaz.messaging import Unprocessable, event_handler, rpc


class StipendsService:
    name = "stipends"

    db = Database()
    outbox = OutboxRelay()

    @event_handler("registry", "communicator.applied.v1")
    def on_communicator_applied(self, event: ReceivedEvent) -> None:
        try:
            data = CommunicatorAppliedIn().load(event.data)
        except ValidationError as exc:
            raise Unprocessable(f"bad payload: {exc.messages}") from None
        with self.db.transaction() as session:
            if inbox.claim(session, event):
                logic.record_applicant(
                    session, data["communicator_id"], data["pseudonym"]
                )

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
