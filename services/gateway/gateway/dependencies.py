"""Gateway DependencyProviders."""

from __future__ import annotations

from typing import Any

import eventlet
import stripe
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider

from gateway.exceptions import BadRequest, UpstreamUnavailable
from svyaz import config as settings


class Deadline(DependencyProvider):
    """Waits for an RPC reply at most RPC_TIMEOUT seconds, then answers 503."""

    def setup(self) -> None:
        self.timeout = float(self.container.config.get("RPC_TIMEOUT", 10))

    def get_dependency(self, worker_ctx: Any) -> Any:
        timeout = self.timeout

        def call(method: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                reply = method.call_async(*args, **kwargs)
            except UnknownService:  # no consumer queue: the service is not deployed
                raise UpstreamUnavailable(
                    "a service is not available", "upstream_unavailable"
                ) from None
            try:
                with eventlet.Timeout(timeout):
                    return reply.result()
            except eventlet.Timeout:
                raise UpstreamUnavailable(
                    "a service did not answer in time", "upstream_timeout"
                ) from None

        return call


class StripeWebhooks(DependencyProvider):
    """Verifies Stripe-Signature on the raw body with the endpoint secret."""

    def setup(self) -> None:
        config = self.container.config
        self.secret = settings.secret(config, "STRIPE_WEBHOOK_SECRET")
        self.tolerance = int(config.get("STRIPE_WEBHOOK_TOLERANCE", 300))

    def get_dependency(self, worker_ctx: Any) -> StripeWebhooks:
        return self

    def verify(self, payload: bytes, header: str) -> Any:
        try:
            event = stripe.Webhook.construct_event(
                payload, header, self.secret, self.tolerance
            )
        except (ValueError, stripe.SignatureVerificationError):
            raise BadRequest(
                "the webhook signature does not verify", "bad_signature"
            ) from None
        return event.to_dict() if hasattr(event, "to_dict") else dict(event)
