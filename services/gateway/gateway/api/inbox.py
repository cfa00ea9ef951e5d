"""Everyone's own messages and how they are told."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import api_group
from gateway.roles import SIGNED_IN
from gateway.schemas import (
    DoneSchema,
    InboxMessageSchema,
    InboxQuerySchema,
    PreferencesSchema,
)

api = api_group(("inbox",))  # the routes' tags in the OpenAPI document


class InboxApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/me/inbox",
        summary="One's messages (the details discreet mail leaves out)",
        roles=SIGNED_IN,
        query=InboxQuerySchema,
        responses={200: [InboxMessageSchema]},
    )
    def api_inbox(self, call: Call) -> Any:
        return self.deadline(
            self.notifications.list_inbox,
            call.actor,
            {**call.query, "language": call.lang},
        )

    @api(
        "POST",
        "/api/v1/me/inbox/<int:message_id>/read",
        summary="Mark one of one's messages read",
        roles=SIGNED_IN,
        responses={200: DoneSchema},
    )
    def api_mark_read(self, call: Call, message_id: int) -> Any:
        self.deadline(self.notifications.mark_read, call.actor, message_id)
        return {"status": "read"}

    @api(
        "GET",
        "/api/v1/me/preferences",
        summary="How one is told: channels, language, time zone, quiet hours",
        roles=SIGNED_IN,
        responses={200: PreferencesSchema},
    )
    def api_preferences(self, call: Call) -> Any:
        return self.deadline(self.notifications.get_preferences, call.actor)

    @api(
        "PUT",
        "/api/v1/me/preferences",
        summary="Change one's preferences (only the fields given)",
        roles=SIGNED_IN,
        body=PreferencesSchema,
        responses={200: PreferencesSchema},
    )
    def api_set_preferences(self, call: Call) -> Any:
        saved = self.deadline(self.notifications.set_preferences, call.actor, call.body)
        return self.preferences_saved(call, saved)
