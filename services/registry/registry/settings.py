"""The registry's own settings, read and checked once at start-up
(svyaz.settings). The platform's (the broker, the database, the bus keys, the
data keys) are read by libs/svyaz; docs/configuration.md lists them all."""

from __future__ import annotations

from dataclasses import dataclass

from svyaz import settings
from svyaz.settings import setting


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
