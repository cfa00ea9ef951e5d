"""Webhook delivery to one configured endpoint, signed the way Stripe signs.

`Stripe-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`.
Every event goes here: the sandbox's own and localstripe's (its scheduler is
redirected in app.py). Faults for tests: `delay` (seconds before sending),
`duplicate` (each event sent twice), `reorder` (each event is held until the next
one has been sent, or `reorder_window` seconds pass). A failed attempt (no answer
or not 2xx) is retried with backoff, as Stripe does, up to `retries` times.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp

log = logging.getLogger("stripe_sandbox.webhooks")


def sign(secret: str, payload: bytes, timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + payload
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass
class WebhookFaults:
    delay: float = 0.0
    duplicate: bool = False
    reorder: bool = False
    reorder_window: float = 2.0

    # events each switch has touched so far ("duplicated", "reordered", "delayed")
    fired: dict[str, int] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.fired[what] = self.fired.get(what, 0) + 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "delay": self.delay,
            "duplicate": self.duplicate,
            "reorder": self.reorder,
            "reorder_window": self.reorder_window,
            "fired": dict(self.fired),
        }


@dataclass
class Deliverer:
    """First attempts leave in the order events happened (one sender); a failed
    delivery is retried on its own, so it holds up no later event."""

    url: str | None = None
    secret: str = "whsec_dev-gateway"
    retries: int = 80  # about ten minutes in all (Stripe itself goes on for days)
    backoff: float = 0.5
    max_backoff: float = 8.0
    faults: WebhookFaults = field(default_factory=WebhookFaults)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    _held: tuple[dict[str, Any], asyncio.TimerHandle] | None = None
    _queue: asyncio.Queue[dict[str, Any]] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def publish(self, event: dict[str, Any]) -> None:
        if not self.url:
            return
        copies = 2 if self.faults.duplicate else 1
        if copies == 2:
            self.faults.count("duplicated")
        for _ in range(copies):
            self._route(event)

    def _route(self, event: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        if not self.faults.reorder:
            self._send_later(event)
            return
        if self._held is None:
            handle = loop.call_later(self.faults.reorder_window, self._release)
            self._held = (event, handle)
            return
        held, handle = self._held
        self._held = None
        handle.cancel()
        self.faults.count("reordered")
        self._send_later(event)  # the later event goes first,
        self._send_later(held)  # the held one right after it

    def _release(self) -> None:
        if self._held is not None:
            held, _ = self._held
            self._held = None
            self._send_later(held)

    def _send_later(self, event: dict[str, Any]) -> None:
        loop = asyncio.get_running_loop()
        if self._queue is None:
            self._queue = asyncio.Queue()
            self._spawn(self._sender())
        if self.faults.delay:
            self.faults.count("delayed")
            loop.call_later(self.faults.delay, self._queue.put_nowait, event)
        else:
            self._queue.put_nowait(event)

    def _spawn(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _sender(self) -> None:
        assert self._queue is not None
        while True:
            event = await self._queue.get()
            record: dict[str, Any] = {
                "event": event["id"],
                "type": event["type"],
                "account": event.get("account"),
                "attempts": 0,
                "status": None,
            }
            self.deliveries.append(record)
            if not await self._attempt(event, record):
                self._spawn(self._retry(event, record))

    async def _retry(self, event: dict[str, Any], record: dict[str, Any]) -> None:
        for attempt in range(1, self.retries + 1):
            await asyncio.sleep(
                min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
            )
            if await self._attempt(event, record):
                return
        log.warning("webhook %s not delivered: %s", event["id"], record["status"])

    async def _attempt(self, event: dict[str, Any], record: dict[str, Any]) -> bool:
        url = self.url
        if not url:
            return True
        payload = json.dumps(event, indent=2, sort_keys=True).encode()
        record["attempts"] += 1
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": sign(self.secret, payload, int(time.time())),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        }
        try:
            timeout = aiohttp.ClientTimeout(total=10)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(url, data=payload, headers=headers) as r:
                    record["status"] = r.status
                    return 200 <= r.status < 300
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            record["status"] = type(exc).__name__
            return False


deliverer = Deliverer()
