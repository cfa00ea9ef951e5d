"""Communication strategies and mentor feedback: a professional communicator drafts,
shares and revises their strategy; a mentor (the coordinator of their club, or any
programme admin) comments on it and leaves feedback on their reports, which only the
author and their mentors see. Stipends decides who may see what; finance never."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.http import TEXT_BODY, api_group
from gateway.roles import ADMIN, COMMUNICATOR, COORDINATOR
from gateway.schemas import (
    MenteeQuerySchema,
    MenteeSchema,
    MessageRequestSchema,
    PostedMessageSchema,
    ReportThreadsSchema,
    SavedStrategySchema,
    StrategyRequestSchema,
    StrategyVersionSchema,
    StrategyViewSchema,
)

api = api_group(("strategies",))  # the routes' tags in the OpenAPI document
MENTORS = (COORDINATOR, ADMIN)
READERS = (COMMUNICATOR, COORDINATOR, ADMIN)  # stipends checks whose


class StrategiesApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/me/strategy",
        summary="One's own communication strategy, every version and its "
        "discussion (null while there is none)",
        roles=(COMMUNICATOR,),
        responses={200: StrategyViewSchema},
    )
    def api_own_strategy(self, call: Call) -> Any:
        return self.deadline(self.stipends.get_strategy, call.actor, call.actor_id)

    @api(
        "PUT",
        "/api/v1/me/strategy",
        summary="Write one's strategy's draft (professional communicators); after "
        "sharing, a save starts the next version. What was redacted comes back",
        roles=(COMMUNICATOR,),
        body=StrategyRequestSchema,
        responses={200: SavedStrategySchema},
        max_body=TEXT_BODY,
    )
    def api_save_strategy(self, call: Call) -> Any:
        return self.deadline(self.stipends.save_strategy, call.actor, call.body)

    @api(
        "POST",
        "/api/v1/me/strategy/sharing",
        summary="Share the draft with one's mentor: that version never changes again",
        roles=(COMMUNICATOR,),
        responses={200: StrategyVersionSchema},
    )
    def api_share_strategy(self, call: Call) -> Any:
        return self.deadline(self.stipends.share_strategy, call.actor)

    @api(
        "GET",
        "/api/v1/strategies",
        summary="The shared strategies one mentors (a coordinator: their clubs' "
        "members; an admin: everyone), those waiting for a comment first; "
        "?waiting=true for those only",
        roles=MENTORS,
        query=MenteeQuerySchema,
        responses={200: [MenteeSchema]},
    )
    def api_mentees(self, call: Call) -> Any:
        return self.deadline(
            self.stipends.list_strategies_to_mentor,
            call.actor,
            bool(call.query.get("waiting", False)),
        )

    @api(
        "GET",
        "/api/v1/communicators/<communicator_id>/strategy",
        summary="A communicator's strategy and its discussion: for them and their "
        "mentors (who see shared versions only)",
        roles=READERS,
        responses={200: StrategyViewSchema},
    )
    def api_strategy(self, call: Call, communicator_id: str) -> Any:
        return self.deadline(self.stipends.get_strategy, call.actor, communicator_id)

    @api(
        "POST",
        "/api/v1/communicators/<communicator_id>/strategy/comments",
        summary="Comment on the latest shared version (a mentor), or answer (the "
        "communicator)",
        roles=READERS,
        body=MessageRequestSchema,
        responses={201: PostedMessageSchema},
    )
    def api_comment_on_strategy(self, call: Call, communicator_id: str) -> Any:
        return self.deadline(
            self.stipends.comment_on_strategy,
            call.actor,
            communicator_id,
            call.body["body"],
        )

    @api(
        "GET",
        "/api/v1/communicators/<communicator_id>/report-feedback",
        summary="A communicator's reports (not drafts) with the strategy version "
        "each refers to and its feedback thread: for them and their mentors only",
        roles=READERS,
        responses={200: ReportThreadsSchema},
    )
    def api_report_feedback(self, call: Call, communicator_id: str) -> Any:
        return self.deadline(
            self.stipends.list_report_feedback, call.actor, communicator_id
        )

    @api(
        "POST",
        "/api/v1/reports/<report_id>/feedback",
        summary="Feedback on a report (its author's mentor; the author is told), or "
        "the author's answer once a mentor has written",
        roles=READERS,
        body=MessageRequestSchema,
        responses={201: PostedMessageSchema},
    )
    def api_give_feedback(self, call: Call, report_id: str) -> Any:
        return self.deadline(
            self.stipends.give_report_feedback, call.actor, report_id, call.body["body"]
        )
