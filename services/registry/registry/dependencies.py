"""Registry DependencyProviders: the key ring and Stripe Connect."""

from __future__ import annotations

import uuid
from typing import Any

import stripe
from nameko.extensions import DependencyProvider

from registry.exceptions import PayoutSetupFailed
from svyaz import config as settings
from svyaz.crypto import KeyRing, decode_key, parse_master_keys


class Vault(DependencyProvider):
    """The key ring that opens personal data: master keys and the blind-index key."""

    def setup(self) -> None:
        config = self.container.config
        self.keys = KeyRing(
            master_keys=parse_master_keys(settings.secret(config, "MASTER_KEYS")),
            current=str(settings.require(config, "MASTER_KEY_ID")),
            index_key=decode_key(
                settings.secret(config, "BLIND_INDEX_KEY"), "BLIND_INDEX_KEY"
            ),
        )

    def get_dependency(self, worker_ctx: Any) -> KeyRing:
        return self.keys


class StripeConnect:
    """Connected accounts and hosted onboarding, through the official SDK.

    Stripe sees the pseudonymous communicator id in metadata and nothing else about
    the person; the hosted onboarding page collects what Stripe needs directly.
    """

    def __init__(self, client: stripe.StripeClient, return_url: str, refresh_url: str):
        self.client, self.return_url, self.refresh_url = client, return_url, refresh_url

    def create_account(self, communicator_id: uuid.UUID, country: str) -> str:
        try:
            account = self.client.v1.accounts.create(
                {
                    "type": "express",
                    "country": country,
                    "capabilities": {"transfers": {"requested": True}},
                    "metadata": {"communicator_id": str(communicator_id)},
                },
                options={"idempotency_key": f"account:{communicator_id}"},
            )
        except stripe.StripeError as exc:
            raise PayoutSetupFailed(
                f"the payout provider refused: {type(exc).__name__}", "stripe_error"
            ) from None
        return str(account.id)

    def onboarding_link(self, account_id: str) -> str:
        try:
            link = self.client.v1.account_links.create(
                {
                    "account": account_id,
                    "type": "account_onboarding",
                    "return_url": self.return_url,
                    "refresh_url": self.refresh_url,
                }
            )
        except stripe.StripeError as exc:
            raise PayoutSetupFailed(
                f"the payout provider refused: {type(exc).__name__}", "stripe_error"
            ) from None
        return str(link.url)


class Stripe(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        base = str(settings.require(config, "STRIPE_API_BASE"))
        client = stripe.StripeClient(
            settings.secret(config, "STRIPE_API_KEY"),
            base_addresses={"api": base, "connect": base, "files": base},
            max_network_retries=2,
        )
        public = str(settings.require(config, "PUBLIC_URL")).rstrip("/")
        self.connect = StripeConnect(
            client, f"{public}/me/payouts?done=1", f"{public}/me/payouts?again=1"
        )

    def get_dependency(self, worker_ctx: Any) -> StripeConnect:
        return self.connect
