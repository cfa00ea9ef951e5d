"""The notifications service's typed settings: read once from config.yml's values,
a bad one named at start-up, the staff sender and the retry policy derived."""

from pathlib import Path

import pytest

from notifications.logic.deliveries import RetryPolicy
from notifications.settings import Settings
from svyaz import config
from svyaz.config import ConfigurationError

CONFIG = Path(__file__).resolve().parents[3] / "services/notifications/config.yml"


def test_the_development_config_reads_as_before() -> None:
    read = Settings.read(config.load(CONFIG))
    assert read.retry_policy == RetryPolicy(6, 30.0, 3600.0)
    assert read.staff_sender == read.mail_from_staff != read.mail_from
    assert (read.smtp_starttls, read.registry_timeout) == (False, 10.0)
    assert read.finished_work_keep_days == 90.0


def test_an_empty_staff_sender_is_the_discreet_one() -> None:
    read = Settings.read({**config.load(CONFIG), "MAIL_FROM_STAFF": ""})
    assert read.staff_sender == read.mail_from


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("NOTIFY_MAX_ATTEMPTS", "six"),
        ("NOTIFY_MAX_ATTEMPTS", 0),
        ("SMTP_PORT", "smtp"),
        ("SMTP_STARTTLS", "maybe"),
        ("REMINDER_LEAD_HOURS", "-1"),
    ],
)
def test_a_bad_value_stops_start_up_naming_the_setting(key: str, value: object) -> None:
    with pytest.raises(ConfigurationError, match=key):
        Settings.read({**config.load(CONFIG), key: value})


def test_a_missing_mail_relay_is_named() -> None:
    with pytest.raises(ConfigurationError, match="SMTP_HOST"):
        Settings.read({**config.load(CONFIG), "SMTP_HOST": ""})
