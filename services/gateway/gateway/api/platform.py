"""What is open to everyone and answers for itself: liveness, the OpenAPI document,
and Stripe's signed webhooks; and the housekeeping every replica does (throttling
buckets deleted once their window ends, sessions and applicants' drafts once they
run out)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from werkzeug.wrappers import Request, Response

from gateway import drafts, logic, openapi, readiness, throttles
from gateway.base import Call, GatewayBase
from gateway.http import WEBHOOK_BODY, api, raw, respond
from svyaz.timers import timer

PAYOUT_EVENTS = frozenset({"transfer", "payout", "balance"})


class PlatformApi(GatewayBase):
    @timer("THROTTLE_PURGE_INTERVAL", throttles.PURGE_EVERY)
    def purge_throttles(self) -> None:
        """No bucket (a keyed hash of a client address or an email) outlives its
        window by more than PURGE_EVERY seconds, whichever replica is running."""
        with self.db.transaction() as session:
            throttles.purge(session)

    @timer("SESSION_PURGE_INTERVAL", 60.0)
    def purge_sessions(self) -> None:
        """A session that ran out is deleted within a minute, not only when its
        browser comes back with it (most never do)."""
        with self.db.transaction() as session:
            logic.expired(session)

    @timer("APPLY_DRAFT_PURGE_INTERVAL", 60.0)
    def purge_drafts(self) -> None:
        """An applicant's draft that ran out (APPLY_DRAFT_HOURS) is deleted within a
        minute, whether or not its browser ever comes back with the key."""
        with self.db.transaction() as session:
            drafts.purge(session)

    @raw("GET", "/healthz")
    def healthz(self, request: Request) -> Response:
        """Liveness: the process answers (a restart would not help otherwise)."""
        return respond(200, {"status": "ok"})

    @raw("GET", "/readyz")
    def readyz(self, request: Request) -> Response:
        """Readiness: the gateway's database answers, the broker takes a
        connection and the services it calls have a consumer on their RPC queues.
        503 names the failing checks (database, broker, services); the answer is
        kept for `READY_CACHE_SECONDS` so that probing it costs the system little."""
        failing = readiness.failing(self.config, self._database_ready)
        if failing:
            return respond(503, {"status": "not ready", "failing": failing})
        return respond(200, {"status": "ready"})

    def _database_ready(self) -> bool:
        try:
            with self.db.transaction() as session:
                return bool(session.execute(text("SELECT 1")).scalar() == 1)
        except Exception:  # noqa: BLE001 - any failure means not ready
            return False

    @api(
        "GET",
        "/api/v1/openapi.json",
        summary="This document: every operation, schema, enum and limit of the API",
        roles=None,
        responses={200: openapi.SELF},
        tags=("meta",),
    )
    def openapi(self, call: Call) -> Any:
        return openapi.document()

    @raw("POST", "/webhooks/stripe", max_body=WEBHOOK_BODY)
    def stripe_webhook(self, request: Request) -> Response:
        """Stripe's signed events: verified on the raw body, then relayed by RPC.

        Relays are idempotent on the receiving side (state, not counters), so Stripe's
        at-least-once, any-order delivery is safe.
        """
        event = self.webhooks.verify(
            request.get_data(cache=False),
            request.headers.get("Stripe-Signature", ""),
        )
        if event["type"] == "account.updated":
            account = event["data"]["object"]
            capabilities = account.get("capabilities") or {}
            self.deadline(
                self.registry.stripe_account_updated,
                account["id"],
                capabilities.get("transfers") == "active",
            )
        elif event["type"].split(".")[0] in PAYOUT_EVENTS:
            # transfers and payouts: stipends deduplicates by event id and is safe
            # in any order; an error here is a 5xx, so Stripe delivers again
            self.deadline(self.stipends.stripe_event, event)
        return respond(200, {"received": True})
