"""ERASURE_DIGEST_KEY (insights.dependencies.ErasureKey): in production the service
refuses to start on the development default or a short key, naming the setting;
in development the default serves."""

from types import SimpleNamespace

import pytest

from insights.dependencies import MIN_ERASURE_KEY, ErasureKey
from svyaz.config import ConfigurationError
from tests.conftest import service_config_file

DEFAULT = str(service_config_file("insights")["ERASURE_DIGEST_KEY"])


def key(value: str, env: str) -> bytes:
    provider = ErasureKey()
    provider.container = SimpleNamespace(
        config={"SVYAZ_ENV": env, "ERASURE_DIGEST_KEY": value}
    )
    provider.setup()
    return provider.get_dependency(None)


def test_production_refuses_the_development_default_and_a_short_key() -> None:
    assert "dev-" in DEFAULT  # the shipped config's default is a development one
    with pytest.raises(ConfigurationError, match="ERASURE_DIGEST_KEY"):
        key(DEFAULT, "production")
    with pytest.raises(ConfigurationError, match="ERASURE_DIGEST_KEY is shorter"):
        key("x" * (MIN_ERASURE_KEY - 1), "production")
    chosen = "k" * MIN_ERASURE_KEY
    assert key(chosen, "production") == chosen.encode()


def test_development_takes_the_default() -> None:
    assert key(DEFAULT, "development") == DEFAULT.encode()
