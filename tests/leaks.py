"""A leak scanner for runs of the whole system: it records every message that crosses
RabbitMQ (a tap queue bound to every exchange the services publish to), every log
line of every process, every request the Stripe sandbox receives (its request log),
every email subject, every line of every metrics page and every series Prometheus
stored (their labels), then looks for the personal values of the test's fixtures
in all of them.

Messages are scanned as they travel (sealed) and, for events, opened too: an event's
data must hold no personal value even for a holder of the bus keys. RPC bodies are
scanned sealed only: `apply` and `get_contact(s)` carry personal data to the registry
and back by design.

    tap = BusTap(system.settings.amqp_uri)   # before the run
    ...                                      # the run
    found = scan(VALUES, sources(system, tap))
    assert found.findings == []
"""

from __future__ import annotations

import email.header
import json
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import kombu

from svyaz import signing

EXCHANGES = (
    ("nameko-rpc", "topic"),
    ("registry.events", "topic"),
    ("stipends.events", "topic"),
)


class BusTap:
    """A queue bound with `#` to every exchange: a copy of all that is published."""

    def __init__(self, amqp_uri: str) -> None:
        self.connection = kombu.Connection(amqp_uri)
        self.channel = self.connection.channel()
        self.name = f"leak-tap-{uuid.uuid4().hex[:8]}"
        self.channel.queue_declare(self.name, exclusive=True, auto_delete=True)
        for exchange, kind in EXCHANGES:
            self.channel.exchange_declare(
                exchange, kind, durable=True, auto_delete=False
            )
            self.channel.queue_bind(self.name, exchange, "#")

    def drain(self) -> list[tuple[str, str]]:
        """(how it travelled, what an event holder reads) of every message so far."""
        found = []
        while True:
            message = self.channel.basic_get(self.name, no_ack=True)
            if message is None:
                return found
            raw = message.body
            text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
            found.append((text, opened_event(text)))

    def close(self) -> None:
        self.connection.close()


def opened_event(text: str) -> str:
    """An event's plaintext (empty for RPC and for what does not open)."""
    try:
        wrapper = json.loads(text)
        if wrapper.get("type") == "message":
            return ""  # RPC: personal data by design, sealed on the wire
        return json.dumps(signing.decode(text), ensure_ascii=False)
    except Exception:  # noqa: BLE001 - a malformed message is scanned raw only
        return ""


class Index:
    """The values looked up by their longest token, so that a text is scanned in one
    pass whatever the number of values (a chaos run has thousands): a text holds a
    value when it holds the value's token and, then, the whole value."""

    TOKEN = re.compile(r"[\w.@+-]+")

    def __init__(self, values: Iterable[str]) -> None:
        self.by_token: dict[str, list[str]] = {}
        for value in values:
            tokens = self.TOKEN.findall(value.lower())
            if tokens:
                key = max(tokens, key=len)
                self.by_token.setdefault(key, []).append(value)

    def find(self, text: str) -> list[str]:
        lowered = text.lower()
        found = []
        for token in set(self.TOKEN.findall(lowered)):
            for key in self._keys(token):
                found += [v for v in self.by_token[key] if v.lower() in lowered]
        return found

    def _keys(self, token: str) -> list[str]:
        """The values' tokens inside a token of the text (`x.chaos.ab@example.org`
        holds `chaos.ab@example.org`): the token itself and its tails."""
        keys = [token] if token in self.by_token else []
        for i, char in enumerate(token):
            if char in ".@+-" and token[i + 1 :] in self.by_token:
                keys.append(token[i + 1 :])
        return keys


def subject(message: Any) -> str:
    return str(email.header.make_header(email.header.decode_header(message["Subject"])))


@dataclass
class Scan:
    counts: dict[str, int] = field(default_factory=dict)
    findings: list[tuple[str, str]] = field(default_factory=list)  # (source, value)

    def summary(self) -> str:
        return (
            f"leak scan: {self.counts.get('bus', 0)} messages "
            f"({self.counts.get('events opened', 0)} events opened), "
            f"{self.counts.get('logs', 0)} log lines, "
            f"{self.counts.get('stripe', 0)} stripe requests, "
            f"{self.counts.get('mail', 0)} emails, "
            f"{self.counts.get('metrics pages', 0)} metrics lines, "
            f"{self.counts.get('prometheus series', 0)} Prometheus series, "
            f"{len(self.findings)} findings"
        )


def scan(values: Iterable[str], sources: dict[str, list[str]]) -> Scan:
    result = Scan()
    wanted = [v for v in values if v]
    for source, texts in sources.items():
        result.counts[source] = len(texts)
        for text in texts:
            lowered = text.lower()
            for value in wanted:
                if value.lower() in lowered:
                    result.findings.append((source, value))
    return result


def said(system: Any) -> dict[str, list[str]]:
    """What the running system wrote: its log lines, the requests the Stripe sandbox
    received, and its mails' subjects."""
    logs: list[str] = []
    for path in sorted(system.stack.logs.glob("*.log")):
        logs += path.read_text(errors="replace").splitlines()
    requests_log = system.stack.logs / "stripe-requests.jsonl"
    stripe = (
        requests_log.read_text(errors="replace").splitlines()
        if requests_log.exists()
        else []
    )
    return {
        "logs": logs,
        "stripe": stripe,
        "mail": [subject(m) for m in system.mails()],
        **measured(system),
    }


def scraped_since(system: Any, moment: float, timeout: float = 30) -> None:
    """Wait until Prometheus has scraped every target after `moment` (unix time):
    what it stores then holds everything the pages showed before it."""
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        targets = requests.get(f"{system.prometheus}/api/v1/targets", timeout=10)
        active = targets.json()["data"]["activeTargets"]
        if active and all(
            t["health"] == "up"
            and datetime.fromisoformat(t["lastScrape"][:26].rstrip("Z"))
            .replace(tzinfo=UTC)
            .timestamp()
            > moment
            for t in active
        ):
            return
        time.sleep(0.2)
    late = [
        f"{t['labels'].get('job')} {t['scrapeUrl']}: {t['health']} "
        f"{t.get('lastError') or ''} (last {t['lastScrape']})"
        for t in active
    ]
    raise AssertionError("Prometheus did not scrape every target: " + "; ".join(late))


def measured(system: Any) -> dict[str, list[str]]:
    """Every line of every process's metrics page, and every series (its labels)
    that Prometheus has stored, when the system runs with them."""
    import requests

    pages: list[str] = []
    for name in system.stack.metrics_ports:
        pages += system.metrics_page(name).splitlines()
    series: list[str] = []
    if system.settings.prometheus_port:
        scraped_since(system, time.time())
        answer = requests.get(
            f"{system.prometheus}/api/v1/series",
            params={"match[]": '{__name__=~".+"}'},
            timeout=30,
        )
        answer.raise_for_status()
        series = [json.dumps(s, ensure_ascii=False) for s in answer.json()["data"]]
    return {"metrics pages": pages, "prometheus series": series}


def sources(system: Any, tap: BusTap) -> dict[str, list[str]]:
    """Everything the running system has said, by kind."""
    drained = tap.drain()
    bus = [raw for raw, _ in drained]
    opened = [event for _, event in drained if event]
    return {"bus": bus, "events opened": opened, **said(system)}
