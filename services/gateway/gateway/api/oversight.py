"""Program admins' oversight: the access log of personal data (browse it, verify
its hash chain), every communicator record's activity trail, and the work parked
along the way (undeliverable notifications, parked bus messages of every service),
each retried or discarded with a reason the service audits."""

from __future__ import annotations

from typing import Any

from gateway import oversight
from gateway.base import Call
from gateway.http import api_group
from gateway.oversight import OversightCalls
from gateway.pages import ident
from gateway.roles import ADMIN
from gateway.schemas import (
    AccessLogCheckSchema,
    AccessLogPageSchema,
    AccessLogQuerySchema,
    ActivityEntrySchema,
    DeliveryActedSchema,
    MessageActedSchema,
    ParkedActionSchema,
    ParkedReasonSchema,
    ServiceParkedSchema,
)

ADMINS = (ADMIN,)
api = api_group(("oversight",))  # the routes' tags in the OpenAPI document


class OversightApi(OversightCalls):
    @api(
        "GET",
        "/api/v1/access-log",
        summary="Who read whose personal data, when and why, newest first: "
        "pseudonyms and account ids only, never a value",
        roles=ADMINS,
        query=AccessLogQuerySchema,
        responses={200: AccessLogPageSchema},
    )
    def api_access_log(self, call: Call) -> Any:
        return self.access_log(call, call.query)

    @api(
        "GET",
        "/api/v1/access-log/verification",
        summary="Walk the access log's hash chain: is any row changed, removed, or "
        "cut from its end?",
        roles=ADMINS,
        responses={200: AccessLogCheckSchema},
    )
    def api_verify_access_log(self, call: Call) -> Any:
        return self.deadline(self.registry.verify_access_log, call.actor)

    @api(
        "GET",
        "/api/v1/communicators/<communicator_id>/activity",
        summary="A communicator record's trail, oldest first: who did what and when "
        "(codes and ids, no free text)",
        roles=ADMINS,
        responses={200: [ActivityEntrySchema]},
    )
    def api_activity(self, call: Call, communicator_id: str) -> Any:
        return self.deadline(
            self.registry.get_communicator_activity,
            call.actor,
            ident(communicator_id, "communicator_id"),
        )

    @api(
        "GET",
        "/api/v1/parked-messages",
        summary="The parked bus messages of registry, stipends, notifications and "
        "insights: "
        "why, when, how often, whether a retry can work",
        roles=ADMINS,
        responses={200: [ServiceParkedSchema]},
    )
    def api_parked_messages(self, call: Call) -> Any:
        return oversight.all_parked(self.proxies(), self.deadline, call.actor)

    @api(
        "POST",
        "/api/v1/parked-messages/<service>/<message_id>/retry",
        summary="Put a parked event back on its queue (audited with the reason); a "
        "message that cannot be retried is refused with why (409)",
        roles=ADMINS,
        body=ParkedReasonSchema,
        responses={200: MessageActedSchema},
    )
    def api_retry_message(self, call: Call, service: str, message_id: str) -> Any:
        return self.act_on_message(
            call, service, message_id, "retry", call.body["reason"]
        )

    @api(
        "POST",
        "/api/v1/parked-messages/<service>/<message_id>/discard",
        summary="Remove a parked message for good (audited with the reason)",
        roles=ADMINS,
        body=ParkedReasonSchema,
        responses={200: MessageActedSchema},
    )
    def api_discard_message(self, call: Call, service: str, message_id: str) -> Any:
        return self.act_on_message(
            call, service, message_id, "discard", call.body["reason"]
        )

    @api(
        "GET",
        "/api/v1/parked-actions",
        summary="Every audited retry and discard of parked work, in every service, "
        "newest first",
        roles=ADMINS,
        responses={200: [ParkedActionSchema]},
    )
    def api_parked_actions(self, call: Call) -> Any:
        return oversight.all_actions(self.proxies(), self.deadline, call.actor)

    @api(
        "POST",
        "/api/v1/deliveries/parked/<delivery_id>/retry",
        summary="Send a parked notification again (audited with the reason)",
        roles=ADMINS,
        body=ParkedReasonSchema,
        responses={200: DeliveryActedSchema},
    )
    def api_retry_delivery(self, call: Call, delivery_id: str) -> Any:
        return self.deadline(
            self.notifications.retry_parked,
            call.actor,
            oversight.delivery_number(delivery_id),
            call.body["reason"],
        )

    @api(
        "POST",
        "/api/v1/deliveries/parked/<delivery_id>/discard",
        summary="Give a parked notification up for good (audited with the reason)",
        roles=ADMINS,
        body=ParkedReasonSchema,
        responses={200: DeliveryActedSchema},
    )
    def api_discard_delivery(self, call: Call, delivery_id: str) -> Any:
        return self.deadline(
            self.notifications.discard_parked,
            call.actor,
            oversight.delivery_number(delivery_id),
            call.body["reason"],
        )
