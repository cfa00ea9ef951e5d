"""Every service's typed settings (its `settings.py`, svyaz.settings) are in its
config.yml (so the environment variable reaches it) and documented in
docs/configuration.md, and the development config.yml reads without error."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from svyaz import config

ROOT = Path(__file__).resolve().parents[3]
SERVICES = sorted(
    path.parent.parent.name
    for path in ROOT.glob("services/*/*/settings.py")
    if path.parent.name == path.parent.parent.name
)
DOCUMENTED = (ROOT / "docs" / "configuration.md").read_text()


def test_the_services_have_settings() -> None:
    assert {"gateway", "registry"} <= set(SERVICES)


@pytest.mark.parametrize("service", SERVICES)
def test_settings_are_configured_documented_and_read(service: str) -> None:
    settings = importlib.import_module(f"{service}.settings").Settings
    raw = (ROOT / "services" / service / "config.yml").read_text()
    keys = settings.keys()
    assert keys
    for key in keys:
        assert f"{key}:" in raw, f"{key} is not in services/{service}/config.yml"
        assert f"`{key}`" in DOCUMENTED, f"{key} is not in docs/configuration.md"
    read = settings.read(config.load(ROOT / "services" / service / "config.yml"))
    assert read is not None
