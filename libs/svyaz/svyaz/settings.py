"""Typed settings: each service declares what it reads from its config once, and
reads and checks it all at start-up, so a bad value stops the service naming the
setting instead of failing later inside a handler.

A service's `settings.py`:

    @dataclass(frozen=True)
    class Settings(settings.Settings):
        retry_base: float = settings.setting("NOTIFY_RETRY_BASE", 30.0, minimum=0.001)
        public_url: str = settings.setting("PUBLIC_URL")  # required
        api_key: str = settings.setting("STRIPE_API_KEY", secret=True)

and its service class:

    settings = settings.Configured(Settings)   # a nameko dependency

`Configured` reads the container's config in `setup`, before any entrypoint runs;
`Settings.read(config)` does the same for a CLI or a test. The type comes from the
annotation (str, int, float, bool); `minimum`, `choices` and `secret` (a development
default refused in production, as `svyaz.config.secret`) narrow it.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping
from typing import Any, Self, TypeVar

from nameko.extensions import DependencyProvider

from svyaz import config as svyaz_config
from svyaz.config import ConfigurationError

_REQUIRED: Any = object()
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


@dataclasses.dataclass(frozen=True)
class Spec:
    """How one setting is read: its key in the config (the environment variable of
    the same name), its default (none: required) and what narrows it."""

    key: str
    default: Any = _REQUIRED
    minimum: float | None = None
    choices: tuple[str, ...] = ()
    secret: bool = False

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED


def setting(
    key: str,
    default: Any = _REQUIRED,
    *,
    minimum: float | None = None,
    choices: tuple[str, ...] = (),
    secret: bool = False,
) -> Any:
    """A field of a `Settings` class read from `key`."""
    spec = Spec(key, default, minimum, tuple(choices), secret)
    return dataclasses.field(
        default=None if spec.required else default, metadata={"setting": spec}
    )


def _fail(key: str, what: str, raw: Any) -> ConfigurationError:
    return ConfigurationError(
        f"setting {key} must be {what}, not {str(raw)[:40]!r}: "
        f"fix the environment variable {key}"
    )


def _parse(spec: Spec, kind: Any, raw: Any) -> Any:
    if kind is bool:
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        raise _fail(spec.key, "true or false", raw)
    if kind is int:
        if isinstance(raw, bool):
            raise _fail(spec.key, "a whole number", raw)
        try:
            value: Any = int(str(raw).strip())
        except ValueError:
            raise _fail(spec.key, "a whole number", raw) from None
    elif kind is float:
        try:
            value = float("nan") if isinstance(raw, bool) else float(str(raw).strip())
        except ValueError:
            value = float("nan")
        if not math.isfinite(value):
            raise _fail(spec.key, "a number", raw)
    else:
        value = str(raw)
    if spec.minimum is not None and value < spec.minimum:
        floor = int(spec.minimum) if kind is int else spec.minimum
        raise _fail(spec.key, f"at least {floor}", raw)
    if spec.choices and value not in spec.choices:
        raise _fail(spec.key, "one of " + ", ".join(spec.choices), raw)
    return value


@dataclasses.dataclass(frozen=True)
class Settings:
    """Base of a service's settings; subclasses are frozen dataclasses whose fields
    are made by `setting`."""

    @classmethod
    def specs(cls) -> dict[str, tuple[Spec, Any]]:
        """Each field's name: its spec and its type."""
        hints = typing.get_type_hints(cls)
        return {
            item.name: (item.metadata["setting"], hints[item.name])
            for item in dataclasses.fields(cls)
            if "setting" in item.metadata
        }

    @classmethod
    def read(cls, config: Mapping[str, Any]) -> Self:
        """Every setting read and checked; the first bad one raises
        ConfigurationError naming it."""
        values: dict[str, Any] = {}
        for name, (spec, kind) in cls.specs().items():
            raw = config.get(spec.key)
            if raw is None or raw == "":
                if spec.required:
                    raise ConfigurationError(
                        f"setting {spec.key} is missing: set the environment "
                        f"variable {spec.key}"
                    )
                values[name] = spec.default
            else:
                values[name] = _parse(spec, kind, raw)
            if spec.secret:
                svyaz_config.secret({**config, spec.key: values[name]}, spec.key)
        read = cls(**values)
        read.check(svyaz_config.is_production(config))
        return read

    def check(self, production: bool) -> None:
        """What no single setting says (one setting against the environment, or
        two against each other): raise ConfigurationError naming the setting."""

    @classmethod
    def keys(cls) -> list[str]:
        return [spec.key for spec, _ in cls.specs().values()]


T = TypeVar("T", bound=Settings)


def of(container: Any, cls: type[T]) -> T:
    """The settings of a nameko container, read once and kept on it: the other
    dependency providers of a service take theirs from here in their `setup`."""
    cache: dict[type[Settings], Settings] = container.__dict__.setdefault(
        "_svyaz_settings", {}
    )
    if cls not in cache:
        cache[cls] = cls.read(container.config)
    return typing.cast(T, cache[cls])


class Configured(DependencyProvider):
    """A service's settings, read once when its container starts."""

    def __init__(self, cls: type[Settings]):
        self.cls = cls
        self.value: Settings | None = None

    def setup(self) -> None:
        self.value = of(self.container, self.cls)

    def get_dependency(self, worker_ctx: Any) -> Settings | None:
        return self.value
