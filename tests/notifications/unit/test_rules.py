"""Rules that need no server: quiet hours in the recipient's zone, retry backoff,
and the Telegram adapter (configured, never reached: its HTTP client is a fake)."""

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from notifications.channels import EmailChannel, TelegramChannel
from notifications.exceptions import DeliveryFailed, InvalidPreferences
from notifications.logic.deliveries import RetryPolicy
from notifications.logic.preferences import quiet_until
from notifications.templates import Message

MESSAGE = Message("New message", "You have a new message in your account.\n")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_no_quiet_hours_means_no_wait() -> None:
    now = at("2026-11-24T03:00:00+00:00")
    assert quiet_until(now, None, None, None) is None
    assert quiet_until(now, time(22), time(22), "UTC") is None


def test_quiet_hours_are_read_in_the_recipients_zone() -> None:
    # 23:30 in Tbilisi (UTC+4) is 19:30 UTC: inside 22:00-07:00 local
    now = at("2026-11-24T19:30:00+00:00")
    until = quiet_until(now, time(22), time(7), "Asia/Tbilisi")
    assert until == at("2026-11-25T07:00:00+04:00")
    # the same instant is 20:30 in Berlin: outside
    assert quiet_until(now, time(22), time(7), "Europe/Berlin") is None


def test_quiet_hours_after_midnight_end_the_same_morning() -> None:
    now = at("2026-11-24T02:00:00+04:00")
    assert quiet_until(now, time(22), time(7), "Asia/Tbilisi") == at(
        "2026-11-24T07:00:00+04:00"
    )
    assert (
        quiet_until(at("2026-11-24T07:00:00+04:00"), time(22), time(7), "Asia/Tbilisi")
        is None
    )


def test_a_daytime_quiet_period() -> None:
    tz = "Europe/Berlin"
    assert quiet_until(at("2026-11-24T13:00:00+01:00"), time(12), time(14), tz) == at(
        "2026-11-24T14:00:00+01:00"
    )
    assert quiet_until(at("2026-11-24T11:59:00+01:00"), time(12), time(14), tz) is None


def test_quiet_hours_across_a_clock_change() -> None:
    # Berlin leaves summer time on 2026-10-25: 07:00 that morning is UTC+1
    now = at("2026-10-24T23:30:00+02:00")
    assert quiet_until(now, time(22), time(7), "Europe/Berlin") == at(
        "2026-10-25T07:00:00+01:00"
    )


def test_an_unknown_zone_is_a_clear_error() -> None:
    with pytest.raises(InvalidPreferences) as refused:
        quiet_until(datetime.now(UTC), time(22), time(7), "Mars/Olympus")
    assert "timezone" in refused.value.fields


def test_backoff_doubles_up_to_a_ceiling_then_parks() -> None:
    policy = RetryPolicy(max_attempts=5, base_seconds=30, max_seconds=90)
    delays = [policy.delay(n) for n in range(1, 6)]
    assert delays == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=90),
        timedelta(seconds=90),
        None,
    ]


class FakeHttp:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def post(self, url: str, json: dict[str, Any], timeout: float) -> Any:
        self.posts.append((url, json))
        return type("Response", (), {"status_code": self.status})()


def test_telegram_is_disabled_without_a_token() -> None:
    http = FakeHttp()
    channel = TelegramChannel("", "https://api.telegram.invalid", 5, session=http)
    assert channel.enabled is False
    with pytest.raises(DeliveryFailed) as failed:
        channel.send("12345", MESSAGE, discreet=True, message_id="m")
    assert failed.value.permanent and http.posts == []


def test_telegram_sends_through_the_bot_api() -> None:
    http = FakeHttp()
    channel = TelegramChannel("123:abc", "https://api.telegram.invalid/", 5, http)
    channel.send("4242", MESSAGE, discreet=True, message_id="m")
    assert http.posts == [
        (
            "https://api.telegram.invalid/bot123:abc/sendMessage",
            {"chat_id": "4242", "text": f"{MESSAGE.subject}\n\n{MESSAGE.body}"},
        )
    ]


@pytest.mark.parametrize(("status", "permanent"), [(429, False), (502, False),
                                                   (403, True)])  # fmt: skip
def test_telegram_failures_are_retried_or_parked(status: int, permanent: bool) -> None:
    channel = TelegramChannel("t", "https://api.telegram.invalid", 5, FakeHttp(status))
    with pytest.raises(DeliveryFailed) as failed:
        channel.send("1", MESSAGE, discreet=True, message_id="m")
    assert failed.value.permanent is permanent


def test_without_an_address_nothing_is_sent() -> None:
    http = FakeHttp()
    with pytest.raises(DeliveryFailed) as failed:
        TelegramChannel("t", "https://x.invalid", 5, http).send(
            None, MESSAGE, discreet=True, message_id="m"
        )
    assert failed.value.permanent and http.posts == []
    email = EmailChannel("127.0.0.1", 9, "a <a@x.invalid>", "b <b@x.invalid>", 1)
    with pytest.raises(DeliveryFailed) as failed:
        email.send(None, MESSAGE, discreet=True, message_id="m")
    assert failed.value.permanent
