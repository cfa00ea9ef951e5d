"""The stipends service's entrypoints: communicators' communication strategies
(versions, sharing) and the mentors' comments and feedback on them and on reports."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from stipends.entrypoints.base import Entrypoints, ident, load, now
from stipends.exceptions import StipendsError
from stipends.logic import report_feedback, strategies
from stipends.logic.actors import COORDINATOR, Actor
from stipends.schemas import (
    MenteeOutSchema,
    MessageOutSchema,
    MessageRequestSchema,
    ReportThreadsOutSchema,
    StrategyContentSchema,
    StrategyVersionOutSchema,
    StrategyViewOutSchema,
)
from svyaz.commands import command
from svyaz.keys import GATEWAY
from svyaz.rpc import rpc


class StrategiesEntrypoints(Entrypoints):
    def _clubs(self, who: Actor) -> frozenset[uuid.UUID]:
        """The clubs a coordinator coordinates, as the registry (who owns clubs)
        says now; nobody else's matter (an admin mentors everyone)."""
        if not who.is_(COORDINATOR):
            return frozenset()
        return frozenset(
            uuid.UUID(club["id"])
            for club in self.registry.list_clubs()
            if club.get("coordinator_id") == str(who.id)
        )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def get_strategy(self, actor: Any, communicator_id: str) -> dict[str, Any]:
        """A communicator's strategy, its versions and discussion: for them or a
        mentor (their club's coordinator, an admin); a mentor sees shared versions
        only."""
        who = Actor.load(actor)
        target = ident(communicator_id, "communicator_id")
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            view = strategies.strategy_view(session, who, target, clubs)
            return StrategyViewOutSchema().dump(view)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def save_strategy(self, actor: Any, strategy: Any) -> dict[str, Any]:
        """Write one's strategy's draft (a revision after sharing is a new
        version); what was redacted comes back."""
        who = Actor.load(actor)
        content = load(StrategyContentSchema(), strategy)
        with self.db.transaction() as session:
            result = strategies.save_strategy(session, who, content)
            return {
                "version": StrategyVersionOutSchema().dump(result.version),
                "redacted": result.redacted,
            }

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def share_strategy(self, actor: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return StrategyVersionOutSchema().dump(
                strategies.share_strategy(session, who, now())
            )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def comment_on_strategy(
        self, actor: Any, communicator_id: str, body: Any
    ) -> dict[str, Any]:
        """A mentor's comment, or the communicator's answer, on the latest shared
        version."""
        return self._post_message(
            strategies.comment_on_strategy,
            actor,
            ident(communicator_id, "communicator_id"),
            body,
        )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def list_strategies_to_mentor(
        self, actor: Any, waiting_only: bool = False
    ) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            found = strategies.strategies_to_mentor(
                session, who, clubs, bool(waiting_only)
            )
            return MenteeOutSchema().dump(found, many=True)

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    def list_report_feedback(self, actor: Any, communicator_id: str) -> dict[str, Any]:
        """A communicator's reports with their feedback threads: for them and
        their mentors only."""
        who = Actor.load(actor)
        target = ident(communicator_id, "communicator_id")
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            return ReportThreadsOutSchema().dump(
                report_feedback.report_threads(session, who, target, clubs)
            )

    @rpc(callers={GATEWAY}, expected_exceptions=StipendsError)
    @command
    def give_report_feedback(
        self, actor: Any, report_id: str, body: Any
    ) -> dict[str, Any]:
        """A mentor's feedback on a report, or its author's answer."""
        return self._post_message(
            report_feedback.give_report_feedback,
            actor,
            ident(report_id, "report_id"),
            body,
        )

    def _post_message(
        self, post: Callable[..., Any], actor: Any, target: Any, body: Any
    ) -> dict[str, Any]:
        """A message in a strategy's discussion or a report's feedback thread:
        `post(session, who, target, text, clubs)` gives it and what was redacted."""
        who = Actor.load(actor)
        text = load(MessageRequestSchema(), {"body": body})["body"]
        clubs = self._clubs(who)
        with self.db.transaction() as session:
            message, removed = post(session, who, target, text, clubs)
            return {"message": MessageOutSchema().dump(message), "redacted": removed}
