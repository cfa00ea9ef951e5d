"""The stipends service's nameko dependency providers."""

from __future__ import annotations

import logging
import os
import random
import signal
from typing import Any

from nameko.extensions import DependencyProvider

from stipends.logic.payouts.phases import Settings
from stipends.payouts.providers import (
    BankFile,
    Provider,
    StripeConnect,
    StripeGlobal,
)
from stipends.payouts.ratelimit import SharedTokenBucket
from svyaz import banking
from svyaz import config as settings

log = logging.getLogger(__name__)


def _flag(value: Any) -> bool:
    return str(value).lower() not in ("false", "0", "no", "off")


class PayoutEngine(DependencyProvider):
    """Providers, the rate limit and the worker's settings, shared by workers."""

    def setup(self) -> None:
        config = self.container.config
        self.enabled = _flag(config.get("PAYOUT_WORKER_ENABLED", True))
        self.rate = settings.positive(config, "PAYOUT_RATE_LIMIT", 20)
        self.bucket: SharedTokenBucket | None = None
        self.settings = Settings(
            lease=settings.positive(config, "PAYOUT_LEASE_SECONDS", 60),
            poll_interval=settings.positive(config, "PAYOUT_POLL_SECONDS", 30),
            max_backoff=settings.positive(config, "PAYOUT_MAX_BACKOFF_SECONDS", 300),
        )
        self.settings.sent_deadline["stripe_connect"] = settings.positive(
            config, "PAYOUT_STRIPE_CONFIRM_SECONDS", 60
        )
        self.settings.sent_deadline["stripe_global"] = settings.positive(
            config, "PAYOUT_GLOBAL_CONFIRM_SECONDS", 60
        )
        self.providers: dict[str, Provider] = {"bank_file": BankFile()}
        if config.get("STRIPE_API_BASE"):
            key, base = (
                settings.secret(config, "STRIPE_API_KEY"),
                str(config["STRIPE_API_BASE"]),
            )
            self.providers["stripe_connect"] = StripeConnect.from_config(key, base)
            if config.get("STRIPE_FINANCIAL_ACCOUNT"):  # Global Payouts' source
                self.providers["stripe_global"] = StripeGlobal.from_config(
                    key, base, str(config["STRIPE_FINANCIAL_ACCOUNT"])
                )
        # test-only: the chaos run has a worker SIGKILL itself as a phase ends
        self.kill_at_phase = float(
            settings.unsafe(config, "UNSAFE_PAYOUT_KILL_AT_PHASE", 0)
        )
        self.debtor = {
            "name": str(config.get("BANK_DEBTOR_NAME", "")),
            "iban": str(config.get("BANK_DEBTOR_IBAN", "")),
            "bic": str(config.get("BANK_DEBTOR_BIC", "")),
        }
        # a typo in the programme's own account stops start-up, not a payday; left
        # empty, only the pain.001 file is refused (bank.checked_debtor)
        for key, check in (
            ("BANK_DEBTOR_IBAN", banking.iban),
            ("BANK_DEBTOR_BIC", banking.bic),
        ):
            value = self.debtor[key.rsplit("_", 1)[1].lower()]
            try:
                if value:
                    check(value)
            except banking.AccountRefused as refused:
                raise settings.ConfigurationError(f"{key}: {refused.message}") from None

    def shared_bucket(self, transaction: Any) -> SharedTokenBucket:
        """One rate limit for every replica of the service (a PostgreSQL row)."""
        if self.bucket is None:
            self.bucket = SharedTokenBucket(transaction, "payouts", self.rate)
        return self.bucket

    def get_dependency(self, worker_ctx: Any) -> PayoutEngine:
        return self

    def on_phase(self, phase: str) -> None:
        """With `UNSAFE_PAYOUT_KILL_AT_PHASE: p`, die by SIGKILL with probability p
        as a payout phase ends: the crash the worker's recovery must survive."""
        if self.kill_at_phase and random.random() < self.kill_at_phase:
            log.warning("fault injection: SIGKILL at the end of phase %s", phase)
            for handler in logging.getLogger().handlers:
                handler.flush()
            os.kill(os.getpid(), signal.SIGKILL)
