"""Notifications DependencyProviders: the channels."""

from __future__ import annotations

from typing import Any

from nameko.extensions import DependencyProvider

from notifications.channels import Channel, EmailChannel, InboxChannel, TelegramChannel
from svyaz import config as settings


class Channels(DependencyProvider):
    """Every channel by name; a worker gets the mapping."""

    def setup(self) -> None:
        config = self.container.config
        channels: list[Channel] = [
            InboxChannel(),
            EmailChannel(
                host=str(settings.require(config, "SMTP_HOST")),
                port=int(settings.require(config, "SMTP_PORT")),
                sender=str(settings.require(config, "MAIL_FROM")),
                staff_sender=str(config.get("MAIL_FROM_STAFF") or config["MAIL_FROM"]),
                timeout=float(config.get("SMTP_TIMEOUT", 10)),
                pool_size=int(config.get("SMTP_POOL_SIZE", 10)),
                starttls=str(config.get("SMTP_STARTTLS") or "false").lower()
                in ("true", "1", "yes"),
                user=str(config.get("SMTP_USER") or ""),
                password=str(config.get("SMTP_PASSWORD") or ""),
            ),
            TelegramChannel(
                token=str(config.get("TELEGRAM_BOT_TOKEN") or ""),
                api_base=str(config.get("TELEGRAM_API") or "https://api.telegram.org"),
                timeout=float(config.get("TELEGRAM_TIMEOUT", 10)),
            ),
        ]
        self.channels = {channel.name: channel for channel in channels}

    def stop(self) -> None:
        for channel in self.channels.values():
            close = getattr(channel, "close", None)
            if close is not None:
                close()

    kill = stop

    def get_dependency(self, worker_ctx: Any) -> dict[str, Channel]:
        return self.channels
