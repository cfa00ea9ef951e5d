"""The registry's own settings, read and checked once at start-up
(svyaz.settings). The platform's (the broker, the database, the bus keys, the
data keys) are read by libs/svyaz; docs/configuration.md lists them all."""

from __future__ import annotations

from dataclasses import dataclass

from svyaz import settings
from svyaz.config import ConfigurationError
from svyaz.settings import setting

# OWASP's least argon2id cost for passwords (19 MiB, 2 passes): lower is for tests
MIN_PASSWORD_MEMORY_KIB = 19456
MIN_PASSWORD_TIME_COST = 2


@dataclass(frozen=True)
class Settings(settings.Settings):
    # rows per table whose blind indexes are re-keyed each tick (0: only on request)
    rekey_batch: int = setting("REKEY_BATCH", 50, minimum=0)
    # the erasure journal, kept apart from the database and its backups
    erasure_journal: str = setting("ERASURE_JOURNAL")
    stripe_api_base: str = setting("STRIPE_API_BASE")
    stripe_api_key: str = setting("STRIPE_API_KEY", secret=True)
    # where the web consoles are; Stripe's onboarding returns there
    public_url: str = setting("PUBLIC_URL")
    # what a Global Payouts recipient is paid in unless their country says otherwise
    global_payout_currency: str = setting("GLOBAL_PAYOUT_CURRENCY", "eur")
    # argon2id's cost for a new password hash: RFC 9106's second recommended option
    # (3 passes over 64 MiB in 4 lanes); a sign-in rehashes a password stored at
    # another cost; production refuses less than OWASP's floor (`check`)
    password_time_cost: int = setting("PASSWORD_TIME_COST", 3, minimum=1)
    password_memory_kib: int = setting("PASSWORD_MEMORY_KIB", 65536, minimum=8)
    password_parallelism: int = setting("PASSWORD_PARALLELISM", 4, minimum=1)

    def check(self, production: bool) -> None:
        if self.password_memory_kib < 8 * self.password_parallelism:
            raise ConfigurationError(
                "PASSWORD_MEMORY_KIB must be at least 8 KiB per lane "
                f"(PASSWORD_PARALLELISM {self.password_parallelism}): raise it"
            )
        if production and (
            self.password_memory_kib < MIN_PASSWORD_MEMORY_KIB
            or self.password_time_cost < MIN_PASSWORD_TIME_COST
        ):
            raise ConfigurationError(
                "PASSWORD_MEMORY_KIB and PASSWORD_TIME_COST are below OWASP's least "
                f"cost for passwords ({MIN_PASSWORD_MEMORY_KIB} KiB, "
                f"{MIN_PASSWORD_TIME_COST} passes); unset them for the default"
            )
