"""What every group of the stipends service's entrypoints shares: the input loaders,
and the dependencies `stipends.service.StipendsService` provides."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError

from stipends.exceptions import InvalidRequest
from svyaz import arguments
from svyaz.consuming import Unprocessable
from svyaz.envelope import ReceivedEvent

load = arguments.loader(InvalidRequest)
ident = arguments.id_loader(InvalidRequest)


def now() -> datetime:
    return datetime.now(UTC)


def payload(schema: Schema, event: ReceivedEvent) -> dict[str, Any]:
    try:
        return schema.load(event.data)
    except ValidationError as exc:
        raise Unprocessable(f"bad payload: {exc.messages}") from None


class Entrypoints:
    """The stipends service's dependencies, as the entrypoints see them (declared,
    and provided, on StipendsService)."""

    db: Any  # svyaz.dependencies.Database
    outbox: Any  # the relay's wake-up
    observed: Any  # svyaz.metrics.Observed
    settings: Any  # stipends.settings.Settings
    registry: Any  # the registry's RPC proxy
    payout_engine: Any  # stipends.dependencies.PayoutEngine
