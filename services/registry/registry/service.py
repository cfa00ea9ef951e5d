"""The registry service: entrypoints only."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from registry import logic
from registry.dependencies import Vault
from registry.exceptions import InvalidRequest, RegistryError
from registry.schemas import (
    ApplicationReceivedSchema,
    ApplicationSchema,
    ContactRequestSchema,
    ContactSchema,
)
from svyaz.dependencies import Caller, Database, OutboxRelay
from svyaz.messaging import rpc


def load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data or {})
    except ValidationError as exc:
        raise InvalidRequest(
            "the request is invalid", "invalid_request", exc.messages_dict
        ) from None


class RegistryService:
    name = "registry"

    db = Database()
    outbox = OutboxRelay()
    keys = Vault()
    caller = Caller()

    @rpc(expected_exceptions=RegistryError)
    def apply(self, application: dict[str, Any]) -> dict[str, Any]:
        data = load(ApplicationSchema(), application)
        with self.db.transaction() as session:
            logic.apply(session, self.keys, data)
        return ApplicationReceivedSchema().dump({})

    @rpc(expected_exceptions=RegistryError)
    def get_contact(self, communicator_id: str, purpose: str) -> dict[str, Any]:
        request = load(
            ContactRequestSchema(),
            {"communicator_id": communicator_id, "purpose": purpose},
        )
        with self.db.transaction() as session:
            contact = logic.get_contact(
                session,
                self.keys,
                request["communicator_id"],
                self.caller,
                request["purpose"],
            )
        return ContactSchema().dump(contact)
