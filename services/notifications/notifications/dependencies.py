"""Notifications DependencyProviders: the channels."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from nameko.extensions import DependencyProvider

from notifications.exceptions import DeliveryFailed
from notifications.templates import Message
from svyaz import config as settings


class EmailChannel:
    def __init__(self, host: str, port: int, sender: str, timeout: float):
        self.host, self.port, self.sender, self.timeout = host, port, sender, timeout

    def send(self, to: str, message: Message, message_id: str) -> None:
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = to
        mail["Subject"] = message.subject
        mail["Message-ID"] = f"<{message_id}@svyaz.invalid>"
        mail.set_content(message.body)
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(f"smtp: {type(exc).__name__}") from None


class Mailer(DependencyProvider):
    def setup(self) -> None:
        config = self.container.config
        self.channel = EmailChannel(
            host=str(settings.require(config, "SMTP_HOST")),
            port=int(settings.require(config, "SMTP_PORT")),
            sender=str(settings.require(config, "MAIL_FROM")),
            timeout=float(config.get("SMTP_TIMEOUT", 10)),
        )

    def get_dependency(self, worker_ctx: Any) -> EmailChannel:
        return self.channel
