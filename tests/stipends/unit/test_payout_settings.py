"""The payout worker's settings, as the service reads them from its config."""

from types import SimpleNamespace
from typing import Any

import pytest

from stipends.dependencies import PayoutEngine
from svyaz.config import ConfigurationError


def engine(**config: Any) -> PayoutEngine:
    provider = PayoutEngine()
    provider.container = SimpleNamespace(config=config)  # what nameko binds
    provider.setup()
    return provider


def test_without_settings_the_production_defaults_hold() -> None:
    settings = engine().settings
    assert settings.lease == 60.0
    assert settings.poll_interval == 30.0
    assert settings.max_backoff == 300.0
    assert settings.sent_deadline["stripe_connect"] == 60.0


def test_each_time_setting_is_read_from_the_config() -> None:
    read = engine(
        PAYOUT_RATE_LIMIT="100",
        PAYOUT_LEASE_SECONDS="5",
        PAYOUT_POLL_SECONDS="3",
        PAYOUT_MAX_BACKOFF_SECONDS="4",
        PAYOUT_STRIPE_CONFIRM_SECONDS="7",
        PAYOUT_GLOBAL_CONFIRM_SECONDS="9",
    )
    assert read.rate == 100.0
    assert (read.settings.lease, read.settings.poll_interval) == (5.0, 3.0)
    assert read.settings.max_backoff == 4.0
    assert read.settings.sent_deadline["stripe_connect"] == 7.0
    assert read.settings.sent_deadline["stripe_global"] == 9.0


@pytest.mark.parametrize(
    "key",
    ["PAYOUT_MAX_BACKOFF_SECONDS", "PAYOUT_LEASE_SECONDS", "PAYOUT_RATE_LIMIT"],
)
def test_a_setting_that_is_not_a_positive_number_stops_start_up(key: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        engine(**{key: "0"})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("BANK_DEBTOR_IBAN", "DE543704004405320130001"),  # mod-97 fits, a digit long
        ("BANK_DEBTOR_IBAN", "DE89 3704 0044 0532 0130 01"),  # a digit mistyped
        ("BANK_DEBTOR_BIC", "COBAXXFFXXX"),  # XX is no country
    ],
)
def test_an_invalid_programme_account_stops_start_up_naming_the_setting(
    key: str, value: str
) -> None:
    with pytest.raises(ConfigurationError, match=key) as stopped:
        engine(**{key: value})
    assert value not in str(stopped.value)


def test_the_programme_account_may_be_left_empty_or_written_with_spaces() -> None:
    """Empty: the service starts and only the pain.001 file is refused."""
    assert engine(BANK_DEBTOR_IBAN="", BANK_DEBTOR_BIC="").debtor["iban"] == ""
    assert engine(BANK_DEBTOR_IBAN="de89 3704 0044 0532 0130 00").debtor["iban"]


def test_stripe_needs_its_key_only_when_it_has_a_base() -> None:
    assert "stripe_connect" not in engine(STRIPE_API_KEY="").providers
    with pytest.raises(ConfigurationError, match="STRIPE_API_KEY"):
        engine(STRIPE_API_BASE="http://127.0.0.1:8420", STRIPE_API_KEY="")
    read = engine(STRIPE_API_BASE="http://127.0.0.1:8420", STRIPE_API_KEY="sk_x")
    assert "stripe_connect" in read.providers


@pytest.mark.parametrize(
    ("extra", "key"),
    [
        (
            {"STRIPE_API_BASE": "http://127.0.0.1:8420", "STRIPE_API_KEY": "dev-k"},
            "STRIPE_API_KEY",
        ),
        ({"UNSAFE_PAYOUT_KILL_AT_PHASE": "0.1"}, "UNSAFE_PAYOUT_KILL_AT_PHASE"),
    ],
)
def test_production_refuses_development_values(extra: dict[str, str], key: str) -> None:
    with pytest.raises(ConfigurationError, match=key):
        engine(SVYAZ_ENV="production", **extra)


def test_a_switch_that_is_not_true_or_false_stops_start_up() -> None:
    assert engine(PAYOUT_WORKER_ENABLED="off").enabled is False
    with pytest.raises(ConfigurationError, match="PAYOUT_WORKER_ENABLED"):
        engine(PAYOUT_WORKER_ENABLED="sometimes")
