"""Oversight by program admins, shared by the console and the API: the access log's
filters, every service's parked bus messages and their audited retries and
discards, and what a parking reason means in plain words (a code with a label in
gateway.i18n).

The services say why a message was parked in English sentences from their code
(svyaz.consuming, svyaz.rpc, svyaz.parked_messages); here each is classified into
a code the consoles translate. The sentence itself stays available for the
technically minded."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from gateway.base import Call, GatewayBase
from gateway.exceptions import BadRequest, UpstreamUnavailable
from svyaz import parked_messages
from svyaz.rpc import REPLAYED_COPY

SERVICES = ("registry", "stipends", "notifications", "insights")


def service_name(value: str) -> str:
    """A service named in a path, checked against those that park work."""
    if value not in SERVICES:
        raise BadRequest(
            "no such service: registry, stipends, notifications or insights",
            "unknown_service",
        )
    return value


def reason_kind(reason: str | None) -> str:
    """Why a bus message was parked, as a code (label kind `parked_reason`)."""
    text = reason or ""
    if text == REPLAYED_COPY or text.startswith("replayed copy"):
        return "replayed_copy"
    if text.startswith("refused:"):
        return "refused"
    if text.startswith("malformed event:"):
        return "malformed"
    for broker, words in parked_messages.BROKER_REASONS.items():
        if text == words:
            return f"broker_{broker}"
    if text.startswith("dead-lettered by the broker"):
        return "broker_other"
    if text in ("", "no reason recorded"):
        return "unknown"
    return "failed"  # the handler raised on every attempt: "<Error>: <message>"


def why_not_kind(why_not: str | None) -> str | None:
    """Why a parked message cannot be retried, as a code (kind `parked_why_not`)."""
    if not why_not:
        return None
    return {
        parked_messages.WHY_NOT_REPLAYED: "replayed_copy",
        parked_messages.WHY_NOT_RPC: "rpc_request",
        parked_messages.WHY_NOT_UNSIGNED: "unsigned",
    }.get(why_not, "other")


def described(message: dict[str, Any]) -> dict[str, Any]:
    return {
        **message,
        "reason_kind": reason_kind(message.get("reason")),
        "why_not_kind": why_not_kind(message.get("why_not")),
    }


def all_parked(proxies: dict[str, Any], call: Callable[..., Any], actor: Any) -> list:
    """Each service's parked messages; a service that does not answer is listed as
    unavailable (the others still show)."""
    found = []
    for name in SERVICES:
        try:
            listed = call(proxies[name].list_parked_messages, actor)
        except UpstreamUnavailable:
            found.append(
                {"service": name, "available": False, "queues": [], "messages": []}
            )
            continue
        found.append(
            {
                "service": name,
                "available": True,
                "queues": listed["queues"],
                "messages": [described(m) for m in listed["messages"]],
            }
        )
    return found


def all_actions(proxies: dict[str, Any], call: Callable[..., Any], actor: Any) -> list:
    """The audited retries and discards of every service, newest first."""
    found = []
    for name in SERVICES:
        try:
            rows = call(proxies[name].list_parked_actions, actor)
        except UpstreamUnavailable:
            continue
        found += [{**row, "service": name} for row in rows]
    return sorted(found, key=lambda row: row.get("at") or "", reverse=True)


# -- the access log ------------------------------------------------------------------
def access_log_filters(
    query: dict[str, Any], find: Callable[[str], list[dict[str, Any]]]
) -> dict[str, Any] | None:
    """The registry's filters for the access log from what a person gives: a
    communicator's pseudonym (exact, whatever its case) becomes their id, days
    become instants (`until` counts its whole day). None: the pseudonym names
    nobody, so nothing can match."""
    filters: dict[str, Any] = {}
    pseudonym = (query.get("pseudonym") or "").strip()
    if pseudonym:
        matches = [
            row["id"]
            for row in find(pseudonym)
            if row["pseudonym"].casefold() == pseudonym.casefold()
        ]
        if not matches:
            return None
        filters["communicator_id"] = matches[0]
    if query.get("reader_id"):
        filters["reader_id"] = str(query["reader_id"])
    if query.get("since"):
        filters["since"] = _day_start(query["since"])
    if query.get("until"):
        filters["until"] = _day_start(query["until"] + timedelta(days=1))
    return filters


def _day_start(day: date) -> str:
    return datetime(day.year, day.month, day.day, tzinfo=UTC).isoformat()


def delivery_number(value: str) -> int:
    """A parked delivery's number from a path or a form."""
    if not value.isdigit() or len(value) > 18:
        raise BadRequest("a delivery's number is a whole number", "invalid_id")
    return int(value)


class OversightCalls(GatewayBase):
    """What the oversight API and console both call."""

    def proxies(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "stipends": self.stipends,
            "notifications": self.notifications,
            "insights": self.insights,
        }

    def access_log(self, call: Call, query: dict[str, Any]) -> dict[str, Any]:
        """One page of the access log for `query` (AccessLogQuerySchema's fields)."""
        filters = access_log_filters(
            query,
            lambda prefix: self.deadline(
                self.registry.find_communicators,
                call.actor,
                {"pseudonym": prefix, "limit": 101},
            ),
        )
        offset, limit = query.get("offset", 0), query.get("limit", 50)
        page = {"items": [], "total": 0}
        if filters is not None:
            page = self.deadline(
                self.registry.list_access_log, call.actor, offset, limit, filters
            )
        return {**page, "offset": offset, "limit": limit}

    def act_on_message(
        self, call: Call, service: str, message_id: str, action: str, reason: str
    ) -> dict[str, Any]:
        name = service_name(service)
        method = getattr(self.proxies()[name], f"{action}_parked_message")
        done = self.deadline(method, call.actor, message_id, reason)
        return {
            "service": name,
            "message": described(done["message"]),
            "outcome": done["outcome"],
        }
