"""Registry DependencyProviders: the key ring, Stripe Connect and the erasure
journal."""

from __future__ import annotations

import uuid
from typing import Any

import stripe
from nameko.extensions import DependencyProvider

from registry.exceptions import PayoutSetupFailed, StripeClosureFailed
from registry.journal import Journal
from registry.logic import passwords
from registry.settings import Settings
from svyaz import settings
from svyaz.crypto import KeyRing, keyring


class Vault(DependencyProvider):
    """The key ring (master keys, blind-index keys and access-log keys), and the
    cost of the password hashes made in this process."""

    def setup(self) -> None:
        config = self.container.config
        self.keys = keyring(config)
        passwords.configure(settings.of(self.container, Settings))

    def get_dependency(self, worker_ctx: Any) -> KeyRing:
        return self.keys


def refused(exc: stripe.StripeError) -> PayoutSetupFailed:
    return PayoutSetupFailed(
        f"the payout provider refused: {type(exc).__name__}", "stripe_error"
    )


class StripeConnect:
    """Connected accounts (Connect) and recipients (Global Payouts), with Stripe's
    hosted onboarding for both, through the official SDK.

    Stripe sees the pseudonymous communicator id in metadata and nothing else about
    the person; the hosted onboarding page collects what Stripe needs directly.
    """

    def __init__(self, client: stripe.StripeClient, return_url: str, refresh_url: str):
        self.client, self.return_url, self.refresh_url = client, return_url, refresh_url
        self.currency = "eur"  # what Global Payouts pay recipients in

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
            raise refused(exc) from None
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
            raise refused(exc) from None
        return str(link.url)

    def transfers_active(self, account_id: str) -> bool:
        """Can the connected account take transfers now? Asked when the person
        comes back from the hosted onboarding, before Stripe's webhook says so."""
        try:
            account = self.client.v1.accounts.retrieve(account_id)
        except stripe.StripeError as exc:
            raise refused(exc) from None
        capabilities = account.to_dict().get("capabilities") or {}
        return bool(capabilities.get("transfers") == "active")

    # -- Global Payouts (v2): recipient accounts and their payout methods ----------
    def create_recipient(self, communicator_id: uuid.UUID, country: str) -> str:
        try:
            account = self.client.v2.core.accounts.create(
                {
                    "configuration": {
                        "recipient": {
                            "capabilities": {
                                "bank_accounts": {"local": {"requested": True}}
                            }
                        }
                    },
                    "identity": {"country": country.lower()},
                    "metadata": {"communicator_id": str(communicator_id)},
                },
                {"idempotency_key": f"recipient:{communicator_id}"},
            )
        except stripe.StripeError as exc:
            raise refused(exc) from None
        return str(account.id)

    def recipient_onboarding_link(self, account_id: str) -> str:
        try:
            link = self.client.v2.core.account_links.create(
                {
                    "account": account_id,
                    "use_case": {
                        "type": "account_onboarding",
                        "account_onboarding": {
                            # in Stripe's API reference; not yet in the SDK's types
                            "configurations": ["recipient"],  # type: ignore[typeddict-unknown-key]
                            "return_url": self.return_url,
                            "refresh_url": self.refresh_url,
                        },
                    },
                }
            )
        except stripe.StripeError as exc:
            raise refused(exc) from None
        return str(link.url)

    def recipient_payout_method(self, account_id: str, currency: str) -> str | None:
        """The recipient's default payout method for the currency, once onboarded;
        None before, and when Stripe cannot be asked (the next check asks again)."""
        try:
            account = self.client.v2.core.accounts.retrieve(account_id)
        except stripe.StripeError:
            return None
        methods = account.defaults.payout_methods if account.defaults else None
        found = methods.to_dict().get(currency.lower()) if methods else None
        return str(found) if found else None

    # -- erasure: Stripe drops what it collected ------------------------------------
    def delete_account(self, account_id: str) -> None:
        """Delete a Connect account (`DELETE /v1/accounts/{id}`); one Stripe no
        longer has (deleted before, by us or by a replay) counts as done."""
        try:
            self.client.v1.accounts.delete(account_id)
        except stripe.StripeError as exc:
            if not gone(exc):
                raise closing_failed(exc) from None

    def close_recipient(self, account_id: str) -> None:
        """Close a Global Payouts recipient (`POST /v2/core/accounts/{id}/close`,
        the v2 API has no delete); closed before, or unknown, counts as done."""
        try:
            account = self.client.v2.core.accounts.retrieve(account_id)
            if account.closed:
                return
            self.client.v2.core.accounts.close(
                account_id,
                {"applied_configurations": list(account.applied_configurations)},
            )
        except stripe.StripeError as exc:
            if not gone(exc):
                raise closing_failed(exc) from None


def gone(exc: stripe.StripeError) -> bool:
    """Stripe does not know the account (any more): 404 / `resource_missing`, or,
    for an account deleted before, Stripe's answer that it "has been deleted"
    (which carries no code). Anything else is a failure to retry."""
    if exc.http_status == 404 or exc.code == "resource_missing":
        return True
    return "has been deleted" in str(exc.user_message or "")


def closing_failed(exc: stripe.StripeError) -> StripeClosureFailed:
    # the error's class and status only: Stripe's message names the account
    return StripeClosureFailed(
        "Stripe did not confirm closing an erased person's account "
        f"({type(exc).__name__}, HTTP {exc.http_status or 'none'}); it is tried "
        "again, and a retry of this parked message tries again later",
        "stripe_closure_failed",
    )


class ErasureJournal(DependencyProvider):
    """The erasure journal (registry.journal) at ERASURE_JOURNAL: a file kept
    apart from the database and its backups."""

    def setup(self) -> None:
        self.journal = Journal(settings.of(self.container, Settings).erasure_journal)

    def get_dependency(self, worker_ctx: Any) -> Journal:
        return self.journal


class Stripe(DependencyProvider):
    def setup(self) -> None:
        own = settings.of(self.container, Settings)
        base = own.stripe_api_base
        client = stripe.StripeClient(
            own.stripe_api_key,
            base_addresses={"api": base, "connect": base, "files": base},
            max_network_retries=2,
        )
        public = own.public_url.rstrip("/")
        self.connect = StripeConnect(
            client, f"{public}/me/payouts?done=1", f"{public}/me/payouts?again=1"
        )
        self.connect.currency = own.global_payout_currency

    def get_dependency(self, worker_ctx: Any) -> StripeConnect:
        return self.connect
