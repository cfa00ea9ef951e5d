"""The platform timer reads its interval from the service's config at setup."""

from types import SimpleNamespace

import pytest

from svyaz.timers import ConfiguredTimer


def timer_with(config: dict) -> ConfiguredTimer:
    timer = ConfiguredTimer("SOME_INTERVAL", 30.0)
    timer.container = SimpleNamespace(config=config)  # what nameko's bind gives it
    return timer


def test_the_interval_comes_from_the_config_or_the_default() -> None:
    configured = timer_with({"SOME_INTERVAL": "0.5"})
    configured.setup()
    assert configured.interval == 0.5
    default = timer_with({})
    default.setup()
    assert default.interval == 30.0


@pytest.mark.parametrize("bad", ["soon", "0", "-3", None])
def test_a_bad_interval_names_the_setting(bad: object) -> None:
    with pytest.raises(ValueError, match="SOME_INTERVAL"):
        timer_with({"SOME_INTERVAL": bad}).setup()
