"""The stipends service's entrypoints: the registry's events about communicators,
folded into stipends' read model of them, and the read of one."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError

from stipends import logic
from stipends.entrypoints.base import Entrypoints, payload
from stipends.exceptions import InvalidRequest, StipendsError
from stipends.schemas import (
    CommunicatorActivatedIn,
    CommunicatorAppliedIn,
    CommunicatorClubChangedIn,
    CommunicatorIdIn,
    CommunicatorPayoutReadyIn,
    CommunicatorSchema,
    CommunicatorTierChangedIn,
    TrainingCompletedIn,
)
from svyaz import inbox
from svyaz.envelope import ReceivedEvent
from svyaz.handlers import BATCH, event_handler
from svyaz.keys import GATEWAY, OPERATOR
from svyaz.rpc import rpc


class CommunicatorsEntrypoints(Entrypoints):
    @event_handler("registry", "communicator.applied.v1", batch=BATCH)
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
                logic.registry_changed(
                    session, event.event_type, data, event.occurred_at
                )

    @event_handler("registry", "communicator.activated.v1", batch=BATCH)
    def on_communicator_activated(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorActivatedIn())

    @event_handler("registry", "communicator.suspended.v1", batch=BATCH)
    def on_communicator_suspended(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.reinstated.v1", batch=BATCH)
    def on_communicator_reinstated(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.offboarded.v1", batch=BATCH)
    def on_communicator_offboarded(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @event_handler("registry", "communicator.club_changed.v1", batch=BATCH)
    def on_communicator_club_changed(self, event: ReceivedEvent) -> None:
        """An admin moved them: the club's coordinator mentors them from now on."""
        self._fold(event, CommunicatorClubChangedIn())

    @event_handler("registry", "communicator.tier_changed.v1", batch=BATCH)
    def on_communicator_tier_changed(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorTierChangedIn())

    @event_handler("registry", "training.completed.v1", batch=BATCH)
    def on_training_completed(self, event: ReceivedEvent) -> None:
        """Any completed training counts for a programme that requires one, the
        volunteer tier's included (the tier's own event says so only when the tier
        changes)."""
        self._fold(event, TrainingCompletedIn())

    @event_handler("registry", "communicator.payout_ready.v1", batch=BATCH)
    def on_communicator_payout_ready(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorPayoutReadyIn())

    @event_handler("registry", "communicator.erased.v1", batch=BATCH)
    def on_communicator_erased(self, event: ReceivedEvent) -> None:
        self._fold(event, CommunicatorIdIn())

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=StipendsError)
    def get_communicator(self, communicator_id: str) -> dict[str, Any]:
        try:
            ident = CommunicatorSchema().load({"id": communicator_id})["id"]
        except ValidationError as exc:
            raise InvalidRequest(
                "the request is invalid", "invalid_input", exc.messages_dict
            ) from None
        with self.db.transaction() as session:
            return CommunicatorSchema().dump(logic.get_communicator(session, ident))
