"""The gateway service: HTTP entrypoints only."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Request, Response

from gateway import openapi
from gateway.dependencies import Deadline, StripeWebhooks
from gateway.exceptions import BadRequest
from gateway.http import http
from gateway.schemas import ApplicationAcceptedSchema, ApplicationRequestSchema
from svyaz.messaging import RpcProxy

JSON = "application/json"


def json_body(request: Request) -> Any:
    try:
        return json.loads(request.get_data(cache=False) or b"null")
    except ValueError:
        raise BadRequest("the body is not JSON", "invalid_json") from None


def respond(status: int, payload: Any) -> Response:
    return Response(json.dumps(payload), status=status, mimetype=JSON)


class GatewayService:
    name = "gateway"

    registry = RpcProxy("registry")
    deadline = Deadline()
    webhooks = StripeWebhooks()

    @http("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        return respond(200, {"status": "ok"})

    @http("GET", "/api/v1/openapi.json")
    def openapi(self, request: Request) -> Response:
        return respond(200, openapi.document())

    @http(
        "POST",
        "/api/v1/applications",
        summary="Apply to the programme (the same answer whether or not the email "
        "is known)",
        body=ApplicationRequestSchema,
        responses={202: ApplicationAcceptedSchema},
        tags=("communicator",),
    )
    def apply(self, request: Request) -> Response:
        body = ApplicationRequestSchema().load(json_body(request))
        self.deadline(self.registry.apply, body)
        return respond(202, ApplicationAcceptedSchema().dump({"status": "received"}))

    @http("POST", "/webhooks/stripe")
    def stripe_webhook(self, request: Request) -> Response:
        """Stripe's signed events: verified on the raw body, then relayed by RPC.

        Relays are idempotent on the receiving side (state, not counters), so Stripe's
        at-least-once, any-order delivery is safe.
        """
        event = self.webhooks.verify(
            request.get_data(cache=False),
            request.headers.get("Stripe-Signature", ""),
        )
        if event["type"] == "account.updated":
            account = event["data"]["object"]
            capabilities = account.get("capabilities") or {}
            self.deadline(
                self.registry.stripe_account_updated,
                account["id"],
                capabilities.get("transfers") == "active",
            )
        return respond(200, {"received": True})
