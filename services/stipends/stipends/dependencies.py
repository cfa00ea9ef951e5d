"""The stipends service's nameko dependency providers."""

from __future__ import annotations

import logging
import os
import random
import signal
from typing import Any

from nameko.extensions import DependencyProvider

from stipends.logic.payouts import phases
from stipends.payouts.providers import (
    BankFile,
    Provider,
    StripeConnect,
    StripeGlobal,
)
from stipends.payouts.ratelimit import SharedTokenBucket
from stipends.settings import Settings
from svyaz import banking, settings
from svyaz.config import ConfigurationError

log = logging.getLogger(__name__)


class PayoutEngine(DependencyProvider):
    """Providers, the rate limit and the worker's settings, shared by workers; read
    from the service's typed settings (`stipends.settings`)."""

    def setup(self) -> None:
        own = settings.of(self.container, Settings)
        self.enabled = own.payout_worker_enabled
        self.rate = own.payout_rate_limit
        self.bucket: SharedTokenBucket | None = None
        self.settings = phases.Settings(
            lease=own.payout_lease_seconds,
            poll_interval=own.payout_poll_seconds,
            max_backoff=own.payout_max_backoff_seconds,
        )
        self.settings.sent_deadline["stripe_connect"] = (
            own.payout_stripe_confirm_seconds
        )
        self.settings.sent_deadline["stripe_global"] = own.payout_global_confirm_seconds
        self.providers: dict[str, Provider] = {"bank_file": BankFile()}
        if own.stripe_api_base:
            key, base = own.stripe_api_key, own.stripe_api_base
            self.providers["stripe_connect"] = StripeConnect.from_config(key, base)
            if own.stripe_financial_account:  # Global Payouts' source
                self.providers["stripe_global"] = StripeGlobal.from_config(
                    key, base, own.stripe_financial_account
                )
        # test-only: the chaos run has a worker SIGKILL itself as a phase ends
        self.kill_at_phase = own.unsafe_payout_kill_at_phase
        self.debtor = {
            "name": own.bank_debtor_name,
            "iban": own.bank_debtor_iban,
            "bic": own.bank_debtor_bic,
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
                raise ConfigurationError(f"{key}: {refused.message}") from None

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
