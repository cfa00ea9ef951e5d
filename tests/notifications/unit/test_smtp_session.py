"""The SMTP session: STARTTLS and a login when configured, a neutral Message-ID."""

import smtplib
from typing import Any

import pytest

from notifications.channels import EmailChannel, domain_of
from notifications.templates import Message


class FakeSmtp:
    """Records what the channel asks of the relay (a fake: unit tier)."""

    sessions: list["FakeSmtp"] = []
    offers_tls = True

    def __init__(self, host: str, port: int, **_: Any) -> None:
        self.calls: list[str] = []
        self.sent: list[bytes] = []
        FakeSmtp.sessions.append(self)

    def starttls(self, context: Any = None) -> None:
        if not FakeSmtp.offers_tls:
            raise smtplib.SMTPNotSupportedError("STARTTLS extension not supported")
        assert context is not None and context.check_hostname  # verified
        self.calls.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.calls.append(f"login {user}")

    def sendmail(self, sender: str, to: list[str], data: bytes) -> None:
        self.calls.append("sendmail")
        self.sent.append(data)

    def close(self) -> None:
        self.calls.append("close")


@pytest.fixture(autouse=True)
def fake_smtp(monkeypatch: pytest.MonkeyPatch) -> None:
    FakeSmtp.sessions, FakeSmtp.offers_tls = [], True
    monkeypatch.setattr(smtplib, "SMTP", FakeSmtp)


def channel(**options: Any) -> EmailChannel:
    return EmailChannel(
        "relay.example.org",
        587,
        "Account <no-reply@mail.example.org>",
        "Team <team@example.org>",
        5,
        **options,
    )


MESSAGE = Message(subject="A new message", body="Sign in to read it.")


def test_starttls_then_login_before_any_mail() -> None:
    channel(starttls=True, user="relay-user", password="secret").send(
        "a@example.org", MESSAGE, discreet=True, message_id="m1"
    )
    (session,) = FakeSmtp.sessions
    assert session.calls == ["starttls", "login relay-user", "sendmail"]


def test_a_relay_without_starttls_is_never_used_in_the_clear() -> None:
    FakeSmtp.offers_tls = False
    with pytest.raises(Exception, match="smtp"):
        channel(starttls=True).send(
            "a@example.org", MESSAGE, discreet=True, message_id="m1"
        )
    (session,) = FakeSmtp.sessions
    assert "sendmail" not in session.calls and session.calls[-1] == "close"


def test_the_message_id_names_the_senders_domain_only() -> None:
    channel().send("a@example.org", MESSAGE, discreet=True, message_id="m1")
    (session,) = FakeSmtp.sessions
    assert b"Message-ID: <m1@mail.example.org>" in session.sent[0]
    assert domain_of("no address") == "localhost"


def test_every_line_of_a_mail_ends_in_crlf_as_smtp_wants() -> None:
    """smtplib sends bytes as they are: a mail in bare LFs is one long line to a
    server that reads by CRLF, refused past 1,000 bytes."""
    long = Message(
        subject="Работа для администраторов программы", body="Строка\n" * 300
    )
    channel().send("a@example.org", long, discreet=False, message_id="m1")
    (session,) = FakeSmtp.sessions
    (data,) = session.sent
    assert data.count(b"\r\n") > 30  # headers, the folded subject, the body's lines
    assert b"\n" not in data.replace(b"\r\n", b"")  # no bare LF anywhere
    assert max(len(line) for line in data.split(b"\r\n")) < 998  # RFC 5322 2.1.1
