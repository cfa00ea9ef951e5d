"""The notifications service's own settings, read and checked once at start-up
(svyaz.settings). The platform's (the broker, the database, the bus keys, the
metrics page, the timers' intervals) are read by libs/svyaz; docs/configuration.md
lists them all."""

from __future__ import annotations

from dataclasses import dataclass

from notifications.logic.deliveries import RetryPolicy
from svyaz import settings
from svyaz.settings import setting

TELEGRAM_API = "https://api.telegram.org"


@dataclass(frozen=True)
class Settings(settings.Settings):
    # outgoing mail: the relay, and the senders of discreet and of staff mail
    smtp_host: str = setting("SMTP_HOST")
    smtp_port: int = setting("SMTP_PORT", minimum=1)
    smtp_timeout: float = setting("SMTP_TIMEOUT", 10.0, minimum=0.001)
    smtp_pool_size: int = setting("SMTP_POOL_SIZE", 10, minimum=0)
    smtp_starttls: bool = setting("SMTP_STARTTLS", False)
    smtp_user: str = setting("SMTP_USER", "")
    smtp_password: str = setting("SMTP_PASSWORD", "")
    mail_from: str = setting("MAIL_FROM")
    mail_from_staff: str = setting("MAIL_FROM_STAFF", "")  # empty: MAIL_FROM
    # the Telegram bot channel, disabled while the token is empty
    telegram_bot_token: str = setting("TELEGRAM_BOT_TOKEN", "")
    telegram_api: str = setting("TELEGRAM_API", TELEGRAM_API)
    telegram_timeout: float = setting("TELEGRAM_TIMEOUT", 10.0, minimum=0.001)
    # seconds a contact asked of the registry at send time may take
    registry_timeout: float = setting("REGISTRY_TIMEOUT", 10.0, minimum=0.001)
    # the retry backoff before a delivery is parked
    notify_max_attempts: int = setting("NOTIFY_MAX_ATTEMPTS", 6, minimum=1)
    notify_retry_base: float = setting("NOTIFY_RETRY_BASE", 30.0, minimum=0.001)
    notify_retry_max: float = setting("NOTIFY_RETRY_MAX", 3600.0, minimum=0.001)
    # the staff digest's period (seconds; also its timer's interval)
    digest_interval: float = setting("DIGEST_INTERVAL", 3600.0, minimum=0.001)
    # "a report is due soon" this long before a cycle's deadline
    reminder_lead_hours: float = setting("REMINDER_LEAD_HOURS", 72.0, minimum=0)
    # a released run should be reconciled within this long
    reconcile_due_hours: float = setting("RECONCILE_DUE_HOURS", 168.0, minimum=0)
    # staff work done is kept this long as a tombstone (logic.work)
    finished_work_keep_days: float = setting("FINISHED_WORK_KEEP_DAYS", 90.0, minimum=0)
    # the consoles, for the link in a password-reset mail
    public_url: str = setting("PUBLIC_URL")

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            max_attempts=self.notify_max_attempts,
            base_seconds=self.notify_retry_base,
            max_seconds=self.notify_retry_max,
        )

    @property
    def staff_sender(self) -> str:
        return self.mail_from_staff or self.mail_from
