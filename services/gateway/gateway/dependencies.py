"""Gateway DependencyProviders."""

from __future__ import annotations

from typing import Any

import eventlet
from nameko.extensions import DependencyProvider

from gateway.exceptions import UpstreamUnavailable


class Deadline(DependencyProvider):
    """Waits for an RPC reply at most RPC_TIMEOUT seconds, then answers 503."""

    def setup(self) -> None:
        self.timeout = float(self.container.config.get("RPC_TIMEOUT", 10))

    def get_dependency(self, worker_ctx: Any) -> Any:
        timeout = self.timeout

        def call(method: Any, *args: Any, **kwargs: Any) -> Any:
            reply = method.call_async(*args, **kwargs)
            try:
                with eventlet.Timeout(timeout):
                    return reply.result()
            except eventlet.Timeout:
                raise UpstreamUnavailable(
                    "a service did not answer in time", "upstream_timeout"
                ) from None

        return call
