"""The gateway's own settings, read and checked once at start-up
(svyaz.settings). The platform's (the broker, the database, the bus keys, the
metrics page) are read by libs/svyaz; docs/configuration.md lists them all."""

from __future__ import annotations

from dataclasses import dataclass

from svyaz import settings
from svyaz.config import ConfigurationError
from svyaz.settings import setting

MIN_THROTTLE_KEY = 32  # characters of THROTTLE_KEY in production


@dataclass(frozen=True)
class Settings(settings.Settings):
    # cookies carry Secure unless this is false (development over plain http only)
    cookie_secure: bool = setting("COOKIE_SECURE", True)
    # the throttles' HMAC key and limits (gateway.throttles)
    throttle_key: str = setting("THROTTLE_KEY", secret=True)
    throttle_window: int = setting("THROTTLE_WINDOW", 300, minimum=1)
    throttle_per_address: int = setting("THROTTLE_PER_ADDRESS", 20, minimum=1)
    throttle_per_account: int = setting("THROTTLE_PER_ACCOUNT", 10, minimum=1)
    throttle_global: int = setting("THROTTLE_GLOBAL", 1000, minimum=1)
    # proxies in front that add themselves to X-Forwarded-For (0: none)
    trusted_proxies: int = setting("TRUSTED_PROXIES", 0, minimum=0)
    # hours an applicant's draft is kept after its last save (gateway.drafts)
    apply_draft_hours: int = setting("APPLY_DRAFT_HOURS", 72, minimum=1)
    # where people write with a question before they can sign in (gateway pages)
    programme_contact: str = setting("PROGRAMME_CONTACT", "programme@svyaz.invalid")
    stripe_webhook_secret: str = setting("STRIPE_WEBHOOK_SECRET", secret=True)
    # seconds a webhook's signed timestamp may be old
    stripe_webhook_tolerance: int = setting("STRIPE_WEBHOOK_TOLERANCE", 300, minimum=1)

    def check(self, production: bool) -> None:
        if production and len(self.throttle_key) < MIN_THROTTLE_KEY:
            raise ConfigurationError(
                f"THROTTLE_KEY is shorter than {MIN_THROTTLE_KEY} characters; "
                "set a long random secret"
            )
        if production and self.programme_contact.endswith(".invalid"):
            raise ConfigurationError(
                "PROGRAMME_CONTACT is the development address; set the address "
                "people can write to with their questions"
            )
