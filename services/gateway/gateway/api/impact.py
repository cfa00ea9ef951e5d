"""What the programme achieves, as figures: per cycle (by country of the club, club
or tier) and per programme over time. Program admins only; every count under
INSIGHTS_MIN_CELL is hidden (null) by the insights service, with enough others that
none can be worked out (docs/impact.md)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema

from gateway.base import Call, GatewayBase
from gateway.http import api_group
from gateway.roles import ADMIN
from gateway.schemas.base import choice, text, uid

api = api_group(("impact",))  # the routes' tags in the OpenAPI document
DIMENSIONS = ("country", "club", "tier")


class ImpactQuerySchema(Schema):
    dimension = choice(DIMENSIONS, load_default="country")


class ImpactCycleSchema(Schema):
    cycle_id = uid()
    programme_id = uid()
    period = text(7)


class ImpactApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/impact/cycles",
        summary="The cycles the figures know, the latest first (no counts)",
        roles=(ADMIN,),
        responses={200: [ImpactCycleSchema]},
    )
    def api_impact_cycles(self, call: Call) -> Any:
        return self.deadline(self.insights.list_impact_cycles, call.actor)

    @api(
        "GET",
        "/api/v1/impact/cycles/<cycle_id>",
        summary="A cycle's figures by country of the club, club or tier; a hidden "
        "count is null",
        roles=(ADMIN,),
        query=ImpactQuerySchema,
        responses={200: None},
    )
    def api_impact_cycle(self, call: Call, cycle_id: str) -> Any:
        return self.deadline(
            self.insights.get_cycle_impact,
            call.actor,
            {"cycle_id": cycle_id, "dimension": call.query["dimension"]},
        )

    @api(
        "GET",
        "/api/v1/impact/programmes/<programme_id>",
        summary="A programme over time: per cycle, reports, communicators and money; "
        "a hidden count is null",
        roles=(ADMIN,),
        responses={200: None},
    )
    def api_impact_programme(self, call: Call, programme_id: str) -> Any:
        return self.deadline(
            self.insights.get_programme_impact,
            call.actor,
            {"programme_id": programme_id},
        )
