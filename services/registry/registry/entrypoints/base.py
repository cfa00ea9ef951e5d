"""What every group of the registry's entrypoints shares: the input loaders, and the
dependencies `registry.service.RegistryService` provides."""

from __future__ import annotations

from typing import Any

from registry.exceptions import InvalidRequest
from svyaz import arguments

load = arguments.loader(InvalidRequest)
ident = arguments.id_loader(InvalidRequest)


class Entrypoints:
    """The registry's dependencies, as the entrypoints see them (declared, and
    provided, on RegistryService)."""

    db: Any  # svyaz.dependencies.Database
    outbox: Any  # the relay's wake-up
    observed: Any  # svyaz.metrics.Observed
    keys: Any  # registry.dependencies.Vault
    stripe: Any  # registry.dependencies.Stripe
    caller: Any  # who signed the request (svyaz.dependencies.Caller)
    settings: Any  # registry.settings.Settings
    journal: Any  # the erasure journal
