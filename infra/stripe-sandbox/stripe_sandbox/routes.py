"""The route registry: the extension point of the sandbox.

A module adds endpoints with the `api` decorator and is listed in MODULES; nothing
else changes. Each handler receives a `Call` (parsed parameters, path arguments,
the connected account named by `Stripe-Account`) and returns the object to answer
with, or raises errors.StripeError. Bodies are parsed by API family:

- "v1": form-encoded bodies (`a[b]=c`), query strings on GET, `Stripe-Account`.
- "v2": JSON bodies, `Stripe-Context` names the account (Global Payouts'
  recipients and outbound payments: stripe_sandbox.v2).
- "control": the test-only API under /_sandbox/, JSON bodies, no API key.

The v1/v2 routes take precedence over localstripe's own (see app.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# modules whose import registers routes
MODULES = ("stripe_sandbox.connect", "stripe_sandbox.control", "stripe_sandbox.v2")


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any]
    args: dict[str, str]
    account: str | None
    base_url: str
    query: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[Call], Any]


@dataclass
class Route:
    method: str
    pattern: str
    family: str
    handler: Handler
    regex: re.Pattern[str]


class Registry:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, pattern: str, family: str = "v1"
    ) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method.upper(), pattern, family, handler, regex))
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method == method:
                found = route.regex.match(path)
                if found:
                    return route, found.groupdict()
        return None

    def knows_path(self, path: str) -> bool:
        return any(route.regex.match(path) for route in self.routes)


registry = Registry()
api = registry.add
