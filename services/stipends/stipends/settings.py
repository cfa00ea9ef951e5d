"""The stipends service's own settings, read and checked once at start-up
(svyaz.settings). The platform's (the broker, the database, the bus keys, the
metrics page, the timers' periods) are read by libs/svyaz; docs/configuration.md
lists them all."""

from __future__ import annotations

from dataclasses import dataclass

from svyaz import settings
from svyaz.config import DEV_SECRET_PREFIX, ConfigurationError
from svyaz.settings import setting

# seconds and rates: each must be above 0 (`check`)
ABOVE_ZERO = (
    "payout_rate_limit",
    "payout_lease_seconds",
    "payout_poll_seconds",
    "payout_max_backoff_seconds",
    "payout_stripe_confirm_seconds",
    "payout_global_confirm_seconds",
)


@dataclass(frozen=True)
class Settings(settings.Settings):
    # the payout worker (a timer) calls providers; off: payouts wait, queued
    payout_worker_enabled: bool = setting("PAYOUT_WORKER_ENABLED", True)
    # provider calls a second, one limit shared by every replica (a PostgreSQL row)
    payout_rate_limit: float = setting("PAYOUT_RATE_LIMIT", 20.0)
    # how long a call may stay unanswered before it is made again with the same key
    payout_lease_seconds: float = setting("PAYOUT_LEASE_SECONDS", 60.0)
    # how often the poller asks about sent payouts
    payout_poll_seconds: float = setting("PAYOUT_POLL_SECONDS", 30.0)
    # the longest wait between two tries of a payout the provider keeps refusing
    payout_max_backoff_seconds: float = setting("PAYOUT_MAX_BACKOFF_SECONDS", 300.0)
    # how long before a sent Stripe transfer (outbound payment) is asked about
    payout_stripe_confirm_seconds: float = setting(
        "PAYOUT_STRIPE_CONFIRM_SECONDS", 60.0
    )
    payout_global_confirm_seconds: float = setting(
        "PAYOUT_GLOBAL_CONFIRM_SECONDS", 60.0
    )
    # Stripe (empty base: no Stripe corridor); the key is needed only with a base,
    # so it is checked as a secret in `check`
    stripe_api_base: str = setting("STRIPE_API_BASE", "")
    stripe_api_key: str = setting("STRIPE_API_KEY", "")
    # Global Payouts' source account (empty: that corridor's payouts wait, retried)
    stripe_financial_account: str = setting("STRIPE_FINANCIAL_ACCOUNT", "")
    # the programme's own bank account, as the pain.001 file names it (empty: only
    # that file is refused); checked by the payout engine, which names the setting
    bank_debtor_name: str = setting("BANK_DEBTOR_NAME", "")
    bank_debtor_iban: str = setting("BANK_DEBTOR_IBAN", "")
    bank_debtor_bic: str = setting("BANK_DEBTOR_BIC", "")
    # test-only (the chaos run): the probability a payout worker SIGKILLs itself
    # as a phase ends; refused in production unless 0
    unsafe_payout_kill_at_phase: float = setting(
        "UNSAFE_PAYOUT_KILL_AT_PHASE", 0.0, minimum=0
    )

    def check(self, production: bool) -> None:
        for name, (spec, _) in self.specs().items():
            value = getattr(self, name)
            if name in ABOVE_ZERO and value <= 0:
                raise ConfigurationError(
                    f"setting {spec.key} must be a number above 0, not "
                    f"{str(value)[:40]!r}: fix the environment variable {spec.key}"
                )
        if self.stripe_api_base and not self.stripe_api_key:
            raise ConfigurationError(
                "setting STRIPE_API_KEY is missing: set the environment variable "
                "STRIPE_API_KEY"
            )
        if (
            production
            and self.stripe_api_base
            and (DEV_SECRET_PREFIX in self.stripe_api_key)
        ):
            raise ConfigurationError(
                "setting STRIPE_API_KEY still holds a development default; "
                "set a real secret in the environment variable STRIPE_API_KEY"
            )
        if production and self.unsafe_payout_kill_at_phase:
            raise ConfigurationError(
                "setting UNSAFE_PAYOUT_KILL_AT_PHASE is for tests only; unset it"
            )
