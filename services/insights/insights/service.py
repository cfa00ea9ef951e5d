"""The insights service: entrypoints only.

It listens to the events registry and stipends publish, keeps what each contributes
(`logic.facts`), and answers the gateway's impact views over RPC with every count
suppressed under `INSIGHTS_MIN_CELL` (`logic.figures`). It reads no other service's
database and publishes nothing.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError

from insights.dependencies import ErasureKey, MinCell
from insights.exceptions import (
    CycleNotFound,
    InvalidRequest,
    NotAllowed,
    ProgrammeNotFound,
)
from insights.logic import cycle_figures, facts, programme_figures
from insights.schemas import EVENT_SCHEMAS, CycleQueryIn, ProgrammeQueryIn
from svyaz import actors, inbox
from svyaz.consuming import Unprocessable
from svyaz.dependencies import Database
from svyaz.envelope import ReceivedEvent
from svyaz.handlers import BATCH, event_handler
from svyaz.inbox import InboxUpkeep
from svyaz.keys import GATEWAY
from svyaz.metrics import Observed
from svyaz.parking import ParkedMessagesEntrypoints
from svyaz.rpc import rpc
from svyaz.timers import timer

log = logging.getLogger(__name__)

SCHEMAS: dict[str, Schema] = {name: cls() for name, cls in EVENT_SCHEMAS.items()}
EXPECTED = (InvalidRequest, NotAllowed, CycleNotFound, ProgrammeNotFound)


class Actor(actors.Actor):
    """Who is asking, with this service's errors (see svyaz.actors)."""

    invalid = InvalidRequest
    not_allowed = NotAllowed


def load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return dict(schema.load(data if data is not None else {}))
    except ValidationError as exc:
        raise InvalidRequest(
            "the request is invalid", "invalid_input", exc.messages_dict
        ) from None


class InsightsService(InboxUpkeep, ParkedMessagesEntrypoints):
    name = "insights"

    db = Database()
    observed = Observed(outbox=False)  # publishes nothing: no outbox to watch
    min_cell = MinCell()
    erasure_key = ErasureKey()

    def _load(self, event: ReceivedEvent) -> dict[str, Any]:
        try:
            return dict(SCHEMAS[event.event_type].load(event.data))
        except ValidationError as exc:
            raise Unprocessable(f"bad payload: {exc.messages}") from None

    def _take(self, event: ReceivedEvent) -> None:
        """Load the payload, claim the event and keep its contribution, in one
        transaction; a bad payload is parked with its reason."""
        data = self._load(event)
        with self.db.transaction() as session:
            if not inbox.claim(session, event):
                return
            facts.record(
                session,
                event.event_id,
                event.event_type,
                event.occurred_at,
                data,
                self.erasure_key,
            )

    # -- registry's events -----------------------------------------------------------
    @event_handler("registry", "communicator.activated.v1", batch=BATCH)
    def on_communicator_activated(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("registry", "communicator.club_changed.v1", batch=BATCH)
    def on_communicator_club_changed(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("registry", "communicator.tier_changed.v1", batch=BATCH)
    def on_communicator_tier_changed(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("registry", "communicator.erased.v1", batch=BATCH)
    def on_communicator_erased(self, event: ReceivedEvent) -> None:
        """Detach the person: their id leaves every row here, the counts stay."""
        data = self._load(event)
        with self.db.transaction() as session:
            if not inbox.claim(session, event):
                return
            facts.erase(
                session,
                event.event_id,
                event.occurred_at,
                str(data["communicator_id"]),
                self.erasure_key,
            )

    @timer("INBOX_PURGE_INTERVAL", 3600.0)
    def forget_erasures(self) -> None:
        """Past the inbox's window no event about an erased person can arrive: their
        digest goes too."""
        with self.db.transaction() as session:
            dropped = facts.forget_erasures(session, inbox.window(), datetime.now(UTC))
        if dropped:
            log.info("erasure digests past the inbox window dropped: %d", dropped)

    @event_handler("registry", "training.completed.v1", batch=BATCH)
    def on_training_completed(self, event: ReceivedEvent) -> None:
        self._take(event)

    # -- stipends' events ------------------------------------------------------------
    @event_handler("stipends", "cycle.opened.v1", batch=BATCH)
    def on_cycle_opened(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "programme.budget_changed.v1", batch=BATCH)
    def on_programme_budget_changed(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "report.submitted.v1", batch=BATCH)
    def on_report_submitted(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "report.reviewed.v1", batch=BATCH)
    def on_report_reviewed(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "stipend.approved.v1", batch=BATCH)
    def on_stipend_approved(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "payout.paid.v1", batch=BATCH)
    def on_payout_paid(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "payout.failed.v1", batch=BATCH)
    def on_payout_failed(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "reconciliation.completed.v1", batch=BATCH)
    def on_reconciliation_completed(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "reconciliation.started.v1", batch=BATCH)
    def on_reconciliation_started(self, event: ReceivedEvent) -> None:
        self._take(event)

    @event_handler("stipends", "reconciliation.difference_resolved.v1", batch=BATCH)
    def on_difference_resolved(self, event: ReceivedEvent) -> None:
        self._take(event)

    # -- RPC: the impact views (program admins) --------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=EXPECTED)
    def list_impact_cycles(self, actor: Any) -> list[dict[str, Any]]:
        Actor.load(actor).require(actors.ADMIN)
        with self.db.transaction() as session:
            return [
                {k: str(v) if k.endswith("_id") else v for k, v in row.items()}
                for row in cycle_figures.cycles(session)
            ]

    @rpc(callers={GATEWAY}, expected_exceptions=EXPECTED)
    def get_cycle_impact(self, actor: Any, query: Any) -> dict[str, Any]:
        Actor.load(actor).require(actors.ADMIN)
        ask = load(CycleQueryIn(), query)
        with self.db.transaction() as session:
            view = cycle_figures.cycle_view(
                session, ask["cycle_id"], ask["dimension"], self.min_cell
            )
        return facts.plain(view)

    @rpc(callers={GATEWAY}, expected_exceptions=EXPECTED)
    def get_programme_impact(self, actor: Any, query: Any) -> dict[str, Any]:
        Actor.load(actor).require(actors.ADMIN)
        ask = load(ProgrammeQueryIn(), query)
        with self.db.transaction() as session:
            view = programme_figures.programme_view(
                session, ask["programme_id"], self.min_cell
            )
        return facts.plain(view)
