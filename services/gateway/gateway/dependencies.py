"""Gateway DependencyProviders."""

from __future__ import annotations

from typing import Any

import stripe
from nameko.exceptions import UnknownService
from nameko.extensions import DependencyProvider

from gateway import throttles
from gateway.exceptions import BadRequest, UpstreamUnavailable
from gateway.settings import Settings
from svyaz import settings
from svyaz.rpc_proxy import RpcTimeout


class Deadline(DependencyProvider):
    """A call to a service as the gateway makes it: the platform's proxy gives up
    after RPC_TIMEOUT (svyaz.rpc_proxy.RpcTimeout), and the client gets a 503."""

    def get_dependency(self, worker_ctx: Any) -> Any:
        def call(method: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except UnknownService:  # no consumer queue: the service is not deployed
                raise UpstreamUnavailable(
                    "a service is not available", "upstream_unavailable"
                ) from None
            except RpcTimeout:
                raise UpstreamUnavailable(
                    "a service did not answer in time", "upstream_timeout"
                ) from None

        return call


class StripeWebhooks(DependencyProvider):
    """Verifies Stripe-Signature on the raw body with the endpoint secret."""

    def setup(self) -> None:
        own = settings.of(self.container, Settings)
        self.secret = own.stripe_webhook_secret
        self.tolerance = own.stripe_webhook_tolerance

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


class Throttling(DependencyProvider):
    """The throttling settings, read once (gateway.throttles): THROTTLE_KEY (the
    buckets' HMAC key, a secret), the limits and window, TRUSTED_PROXIES."""

    def setup(self) -> None:
        own = settings.of(self.container, Settings)
        self.secret = own.throttle_key.encode()
        self.limits = throttles.limits_of(own)
        self.proxies = own.trusted_proxies

    def get_dependency(self, worker_ctx: Any) -> Throttling:
        return self
