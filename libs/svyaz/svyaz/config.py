"""Settings: read from the nameko config, which alone reads the environment.

`config.yml` files hold `${ENV_VAR:dev-default}` placeholders. This module turns the
loaded mapping into checked values and refuses development secrets in production.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

DEV_SECRET_PREFIX = "dev-"  # noqa: S105 - a marker, not a secret
# PostgreSQL's administrators: a service connects as its own database's owner instead
SUPERUSERS = ("postgres", "root")


class ConfigurationError(Exception):
    """A setting is missing or unusable; start-up must stop."""


def load(path: str | Path) -> dict[str, Any]:
    """Load a service's config.yml the way `nameko run --config` does."""
    from nameko.cli.main import setup_yaml_parser

    setup_yaml_parser()
    with open(path) as handle:
        return yaml.safe_load(handle)


def environment(config: Mapping[str, Any]) -> str:
    return str(config.get("SVYAZ_ENV") or "development")


def is_production(config: Mapping[str, Any]) -> bool:
    return environment(config) == "production"


def require(config: Mapping[str, Any], key: str) -> Any:
    value = config.get(key)
    if value is None or value == "":
        raise ConfigurationError(
            f"setting {key} is missing: set the environment variable {key}"
        )
    return value


def secret(config: Mapping[str, Any], key: str) -> str:
    """A secret setting; its development default is refused in production."""
    value = str(require(config, key))
    if is_production(config) and DEV_SECRET_PREFIX in value:
        raise ConfigurationError(
            f"setting {key} still holds a development default; "
            f"set a real secret in the environment variable {key}"
        )
    return value


def unsafe(config: Mapping[str, Any], key: str, safe: Any) -> Any:
    """A test-only switch (`UNSAFE_...`, for the chaos run): its value, which must be
    the safe one in production."""
    value = config.get(key, safe)
    if value is None or value == "":
        value = safe
    if is_production(config) and str(value).lower() != str(safe).lower():
        raise ConfigurationError(f"setting {key} is for tests only; unset it")
    return value


def positive(config: Mapping[str, Any], key: str, default: float) -> float:
    """A number above 0 (seconds, a rate): its default when unset; anything else
    stops start-up with the setting named."""
    value = config.get(key, default)
    if value is None or value == "":
        return float(default)
    try:
        number = float("nan") if isinstance(value, bool) else float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not math.isfinite(number) or number <= 0:
        raise ConfigurationError(
            f"setting {key} must be a number above 0, not {str(value)[:40]!r}: "
            f"fix the environment variable {key}"
        )
    return number


def development_only(config: Mapping[str, Any]) -> list[str]:
    """What in `config` is only for development, each with what to do instead."""
    from urllib.parse import urlsplit

    found: list[str] = []
    # a cluster's URI names every node, `;`-separated (kombu fails over among them)
    nodes = [urlsplit(uri) for uri in str(config.get("AMQP_URI") or "").split(";")]
    if any(amqp.username in (None, "", "guest") for amqp in nodes):
        found.append(
            "AMQP_URI uses RabbitMQ's guest user: give the service its own broker user"
        )
    elif any(DEV_SECRET_PREFIX in (amqp.password or "") for amqp in nodes):
        found.append(
            "AMQP_URI holds a development password: set the broker user's own password"
        )
    if config.get("DB_URI"):
        database = urlsplit(str(config["DB_URI"]))
        if not database.password:
            found.append(
                "DB_URI has no password: give the service its own database role "
                "with a password"
            )
        elif DEV_SECRET_PREFIX in database.password:
            found.append(
                "DB_URI holds a development password: set the role's own password"
            )
        if database.username in SUPERUSERS:
            found.append(
                f"DB_URI connects as {database.username}, the superuser: connect as "
                "the role that owns the service's database"
            )
    if str(config.get("COOKIE_SECURE", True)).lower() == "false":
        found.append("COOKIE_SECURE is false: cookies must be Secure (unset it)")
    public = config.get("PUBLIC_URL")
    if public and urlsplit(str(public)).scheme != "https":
        found.append("PUBLIC_URL is not https: links in mail must use TLS")
    return found


def refuse_development_settings(config: Mapping[str, Any]) -> None:
    """With SVYAZ_ENV=production, stop start-up on any development-only setting,
    naming each one (the bus keys are checked by svyaz.signing)."""
    if not is_production(config):
        return
    found = development_only(config)
    if found:
        raise ConfigurationError("refusing to start in production: " + "; ".join(found))


def parse_keyring(text: str, key: str = "keyring") -> dict[str, bytes]:
    """Parse `id=secret,id=secret` into {id: secret-bytes}."""
    ring: dict[str, bytes] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        ident, sep, value = item.partition("=")
        if not sep or not ident or not value:
            raise ConfigurationError(f"{key}: entries must look like id=secret")
        ring[ident.strip()] = value.strip().encode()
    if not ring:
        raise ConfigurationError(f"{key}: no keys given")
    return ring
