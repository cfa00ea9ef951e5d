"""Parameter checks with Stripe's wording. Form values arrive as strings."""

from __future__ import annotations

import re
from typing import Any

from .errors import StripeError, invalid, missing


def only(params: dict[str, Any], allowed: set[str]) -> None:
    for name in params:
        if name not in allowed:
            raise StripeError(
                400,
                f"Received unknown parameter: {name}",
                param=name,
                code="parameter_unknown",
            )


def integer(
    params: dict[str, Any], name: str, *, required: bool = False, minimum: int = 1
) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise missing(name)
        return None
    if isinstance(value, bool):
        raise invalid(f"Invalid integer: {value}", name, "parameter_invalid_integer")
    try:
        number = int(str(value))
    except ValueError:
        raise invalid(
            f"Invalid integer: {value}", name, "parameter_invalid_integer"
        ) from None
    if number < minimum:
        raise invalid(f"This value must be greater than or equal to {minimum}.", name)
    return number


def text(
    params: dict[str, Any], name: str, *, required: bool = False, max_length: int = 5000
) -> str | None:
    value = params.get(name)
    if value is None:
        if required:
            raise missing(name)
        return None
    if not isinstance(value, str):
        raise invalid(f"Invalid string: {value!r}", name, "parameter_invalid_string")
    if required and not value:
        raise invalid(
            f"You passed an empty string for '{name}'.", name, "parameter_invalid_empty"
        )
    if len(value) > max_length:
        raise invalid(f"'{name}' is too long (maximum {max_length}).", name)
    return value


def choice(
    params: dict[str, Any],
    name: str,
    options: tuple[str, ...],
    default: str | None = None,
) -> str | None:
    value = params.get(name, default)
    if value is None:
        return None
    if value not in options:
        raise invalid(f"Invalid {name}: must be one of {', '.join(options)}", name)
    return str(value)


def currency(params: dict[str, Any], *, required: bool = True) -> str | None:
    value = text(params, "currency", required=required)
    if value is None:
        return None
    value = value.lower()
    if not re.fullmatch(r"[a-z]{3}", value):
        raise invalid(f"Invalid currency: {value}", "currency")
    return value


def boolean(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    raise invalid(f"Invalid boolean: {value}", name, "parameter_invalid_boolean")


def metadata(value: Any, current: dict[str, str] | None = None) -> dict[str, str]:
    """Merge `value` into `current` as Stripe does: an empty value removes a key."""
    result = dict(current or {})
    if value is None:
        return result
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise invalid("Invalid metadata: must be an object", "metadata")
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 40:
            raise invalid("Metadata keys must be 1 to 40 characters.", "metadata")
        if not isinstance(item, str) or len(item) > 500:
            raise invalid(
                "Metadata values must be strings of 500 characters at most.", "metadata"
            )
        if item == "":
            result.pop(key, None)
        else:
            result[key] = item
    if len(result) > 50:
        raise invalid("Metadata can have at most 50 keys.", "metadata")
    return result
