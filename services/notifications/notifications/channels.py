"""Channels behind one interface.

Each channel has a `name`, says whether it is `enabled` and whether it is `immediate`
(written in the same transaction as the event that caused it, like the in-app inbox)
or `remote` (sent later by the scheduled sender, to an address asked of the registry).
A remote channel's `send` raises DeliveryFailed; nothing else escapes it.
"""

from __future__ import annotations

import smtplib
import ssl
from email.header import Header
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import parseaddr
from typing import Any, Protocol

import requests

from notifications.exceptions import DeliveryFailed
from notifications.templates import Message

# a mail written with CRLF line ends, as SMTP wants them: smtplib sends bytes as they
# are, and a mail in bare LFs is one line to a server that reads by CRLF, refused
# once it is longer than 1,000 bytes (RFC 5321 4.5.3.1.6)
SMTP_LINES = compat32.clone(linesep="\r\n")

EMAIL, INBOX, TELEGRAM = "email", "inbox", "telegram"


class Channel(Protocol):
    name: str
    enabled: bool
    immediate: bool

    def send(
        self, address: str | None, message: Message, *, discreet: bool, message_id: str
    ) -> None: ...


class InboxChannel:
    """The in-app inbox: a row the gateway shows after sign-in (written by logic)."""

    name, enabled, immediate = INBOX, True, True

    def send(
        self, address: str | None, message: Message, *, discreet: bool, message_id: str
    ) -> None:
        raise AssertionError("the inbox is written with the event, never sent")


def domain_of(sender: str) -> str:
    """The domain of a `Name <local@domain>` address ("localhost" without one)."""
    local, at, domain = parseaddr(sender)[1].rpartition("@")
    return domain if at and local and domain else "localhost"


class EmailChannel:
    """Email over SMTP. Discreet mail leaves under a neutral sender name.

    Open SMTP sessions are kept in a small pool and reused (one mail at a time per
    session); a session the server has dropped is replaced once, transparently."""

    name, enabled, immediate = EMAIL, True, False

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        staff_sender: str,
        timeout: float,
        pool_size: int = 10,
        starttls: bool = False,
        user: str = "",
        password: str = "",
    ):
        self.host, self.port, self.timeout = host, port, timeout
        self.sender, self.staff_sender = sender, staff_sender
        self.pool_size = pool_size
        self.starttls, self.user, self.password = starttls, user, password
        self._idle: list[smtplib.SMTP] = []

    def _connect(self) -> smtplib.SMTP:
        """A session to the relay: STARTTLS (the certificate checked) and then
        authentication when configured; a relay that does not offer STARTTLS when
        it is asked for is refused, never used in the clear."""
        smtp = smtplib.SMTP(
            self.host, self.port, local_hostname="localhost", timeout=self.timeout
        )
        try:
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            self._close(smtp)
            raise
        return smtp

    def _release(self, smtp: smtplib.SMTP) -> None:
        if len(self._idle) < self.pool_size:
            self._idle.append(smtp)
        else:
            self._close(smtp)

    @staticmethod
    def _close(smtp: smtplib.SMTP) -> None:
        try:
            smtp.close()
        except OSError:
            pass

    def close(self) -> None:
        while self._idle:
            smtp = self._idle.pop()
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                self._close(smtp)

    def send(
        self, address: str | None, message: Message, *, discreet: bool, message_id: str
    ) -> None:
        if not address:
            raise DeliveryFailed("no email address for this recipient", permanent=True)
        mail = MIMEText(message.body, "plain", "utf-8")
        sender = self.sender if discreet else self.staff_sender
        mail["From"] = sender
        mail["To"] = address
        # typeshed types a header as str; email.message takes a Header too
        mail["Subject"] = Header(message.subject, "utf-8")  # type: ignore[assignment]
        # the sender's own domain: nothing in a discreet mail's headers names
        # the programme unless MAIL_FROM does
        mail["Message-ID"] = f"<{message_id}@{domain_of(sender)}>"
        envelope = (parseaddr(sender)[1], [address], mail.as_bytes(policy=SMTP_LINES))
        smtp: smtplib.SMTP | None = None
        try:
            if self._idle:
                smtp = self._idle.pop()
                try:
                    smtp.sendmail(*envelope)
                except (smtplib.SMTPServerDisconnected, OSError):
                    self._close(smtp)  # dropped while idle: one fresh session
                    smtp = None
                else:
                    self._release(smtp)
                    return
            smtp = self._connect()
            smtp.sendmail(*envelope)
            self._release(smtp)
        except smtplib.SMTPRecipientsRefused:
            self._discard(smtp)
            raise DeliveryFailed("smtp: recipient refused", permanent=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            self._discard(smtp)
            raise DeliveryFailed(f"smtp: {type(exc).__name__}") from None

    def _discard(self, smtp: smtplib.SMTP | None) -> None:
        if smtp is not None:
            self._close(smtp)


class TelegramChannel:
    """A Telegram bot (Bot API sendMessage). Disabled without a token."""

    name, immediate = TELEGRAM, False

    def __init__(self, token: str, api_base: str, timeout: float, session: Any = None):
        self.token, self.api_base, self.timeout = token, api_base.rstrip("/"), timeout
        self.enabled = bool(token)
        self.http = session or requests.Session()

    def send(
        self, address: str | None, message: Message, *, discreet: bool, message_id: str
    ) -> None:
        if not self.enabled:
            raise DeliveryFailed("telegram is not configured", permanent=True)
        if not address:
            raise DeliveryFailed("no telegram chat for this recipient", permanent=True)
        try:
            response = self.http.post(
                f"{self.api_base}/bot{self.token}/sendMessage",
                json={
                    "chat_id": address,
                    "text": f"{message.subject}\n\n{message.body}",
                },
                timeout=self.timeout,
            )
        except requests.RequestException as exc:
            raise DeliveryFailed(f"telegram: {type(exc).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise DeliveryFailed(f"telegram: HTTP {response.status_code}")
        if response.status_code != 200:
            raise DeliveryFailed(
                f"telegram: HTTP {response.status_code}", permanent=True
            )
