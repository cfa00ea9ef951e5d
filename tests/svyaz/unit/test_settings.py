"""Typed settings (svyaz.settings): each type read and checked, a bad value names
its setting, secrets keep their development default out of production, and a
service's settings are read once per container."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import pytest

from svyaz import settings
from svyaz.config import ConfigurationError
from svyaz.settings import setting


@dataclass(frozen=True)
class Sample(settings.Settings):
    url: str = setting("SAMPLE_URL")
    attempts: int = setting("SAMPLE_ATTEMPTS", 6, minimum=1)
    base: float = setting("SAMPLE_BASE", 30.0, minimum=0.001)
    tls: bool = setting("SAMPLE_TLS", False)
    mode: str = setting("SAMPLE_MODE", "fast", choices=("fast", "slow"))
    token: str = setting("SAMPLE_TOKEN", "dev-token", secret=True)


def test_defaults_and_types() -> None:
    read = Sample.read({"SAMPLE_URL": "http://x"})
    assert read == Sample("http://x", 6, 30.0, False, "fast", "dev-token")
    read = Sample.read(
        {
            "SAMPLE_URL": "http://x",
            "SAMPLE_ATTEMPTS": "3",
            "SAMPLE_BASE": "0.5",
            "SAMPLE_TLS": "Yes",
            "SAMPLE_MODE": "slow",
        }
    )
    assert (read.attempts, read.base, read.tls, read.mode) == (3, 0.5, True, "slow")
    # YAML gives typed values too
    typed = Sample.read({"SAMPLE_URL": "u", "SAMPLE_TLS": True, "SAMPLE_ATTEMPTS": 2})
    assert typed.tls and typed.attempts == 2


@pytest.mark.parametrize(
    ("key", "value", "says"),
    [
        ("SAMPLE_ATTEMPTS", "six", "a whole number"),
        ("SAMPLE_ATTEMPTS", "1.5", "a whole number"),
        ("SAMPLE_ATTEMPTS", "0", "at least 1"),
        ("SAMPLE_ATTEMPTS", True, "a whole number"),
        ("SAMPLE_BASE", "nan", "a number"),
        ("SAMPLE_BASE", "inf", "a number"),
        ("SAMPLE_BASE", "0", "at least 0.001"),
        ("SAMPLE_TLS", "maybe", "true or false"),
        ("SAMPLE_MODE", "medium", "one of fast, slow"),
    ],
)
def test_a_bad_value_names_its_setting(key: str, value: object, says: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        Sample.read({"SAMPLE_URL": "u", key: value})
    assert key in str(raised.value) and says in str(raised.value)


def test_a_required_setting_must_be_given() -> None:
    for config in ({}, {"SAMPLE_URL": ""}, {"SAMPLE_URL": None}):
        with pytest.raises(ConfigurationError, match="SAMPLE_URL is missing"):
            Sample.read(config)


def test_a_development_secret_is_refused_in_production() -> None:
    production = {"SVYAZ_ENV": "production", "SAMPLE_URL": "https://x"}
    with pytest.raises(ConfigurationError, match="SAMPLE_TOKEN"):
        Sample.read(production)
    assert Sample.read({**production, "SAMPLE_TOKEN": "live"}).token == "live"


def test_read_once_per_container() -> None:
    container = SimpleNamespace(config={"SAMPLE_URL": "u"})
    first = settings.of(container, Sample)
    container.config = {"SAMPLE_URL": "changed"}
    assert settings.of(container, Sample) is first
    assert Sample.keys() == [
        "SAMPLE_URL",
        "SAMPLE_ATTEMPTS",
        "SAMPLE_BASE",
        "SAMPLE_TLS",
        "SAMPLE_MODE",
        "SAMPLE_TOKEN",
    ]
