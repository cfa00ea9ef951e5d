"""Programmes for program admins (finance reads them, funds them and reverses a
funding booked by mistake): their rules, their budget, and the cycles they open."""

from __future__ import annotations

from typing import Any

from gateway.base import Call, GatewayBase
from gateway.exceptions import BadRequest
from gateway.http import IDEMPOTENCY_HEADER, api_group
from gateway.roles import ADMIN, FINANCE
from gateway.schemas import (
    CycleRequestSchema,
    CycleSchema,
    FundingRequestSchema,
    FundingReversalRequestSchema,
    ListedCycleSchema,
    ProgrammeChangesRequestSchema,
    ProgrammeRequestSchema,
    ProgrammeSchema,
)

api = api_group(("programmes",))  # the routes' tags in the OpenAPI document


def idempotency_key(call: Call) -> str:
    """The funding's key: the header or the body's field. Both may be sent only
    with the same value: two keys would make a retry that sends one of them fund
    again."""
    header = call.request.headers.get(IDEMPOTENCY_HEADER)
    field = call.body["idempotency_key"]
    if header and field and header != field:
        raise BadRequest(
            "the Idempotency-Key header and the body's idempotency_key differ: send "
            "one key (the same one on every retry of this funding)",
            "idempotency_keys_differ",
            {"idempotency_key": ["differs from the Idempotency-Key header"]},
        )
    key = header or field
    if not key:
        raise BadRequest(
            "send an Idempotency-Key header or an idempotency_key in the body (a "
            "uuid chosen once per funding, the same on every retry of it)",
            "idempotency_key_required",
            {"idempotency_key": ["required"]},
        )
    return str(key)


class ProgrammesApi(GatewayBase):
    @api(
        "GET",
        "/api/v1/programmes",
        summary="Every programme with its budget, reserved, spent and available",
        roles=(ADMIN, FINANCE),
        responses={200: [ProgrammeSchema]},
    )
    def api_programmes(self, call: Call) -> Any:
        return self.deadline(self.stipends.list_programmes, call.actor)

    @api(
        "POST",
        "/api/v1/programmes",
        summary="Create a programme (its currency is fixed from then on)",
        roles=(ADMIN,),
        body=ProgrammeRequestSchema,
        responses={201: ProgrammeSchema},
    )
    def api_create_programme(self, call: Call) -> Any:
        return self.deadline(
            self.stipends.create_programme, call.actor, {**call.body, "budget_minor": 0}
        )

    @api(
        "GET",
        "/api/v1/programmes/<programme_id>",
        summary="A programme with its money and its `version` (for a change)",
        roles=(ADMIN, FINANCE),
        responses={200: ProgrammeSchema},
    )
    def api_programme(self, call: Call, programme_id: str) -> Any:
        return self.deadline(self.stipends.get_programme, call.actor, programme_id)

    @api(
        "PATCH",
        "/api/v1/programmes/<programme_id>",
        summary="Change a programme's rules as of the version you read (409 "
        "programme_changed when someone changed it since)",
        roles=(ADMIN,),
        body=ProgrammeChangesRequestSchema,
        responses={200: ProgrammeSchema},
    )
    def api_update_programme(self, call: Call, programme_id: str) -> Any:
        return self.deadline(
            self.stipends.update_programme, call.actor, programme_id, call.body
        )

    @api(
        "POST",
        "/api/v1/programmes/<programme_id>/funding",
        summary="Fund the budget once per key (the Idempotency-Key header or "
        "`idempotency_key`, the same value if both are sent; each person's keys "
        "are their own): a repeat with the same key funds nothing",
        roles=(ADMIN, FINANCE),
        body=FundingRequestSchema,
        responses={200: ProgrammeSchema},
    )
    def api_fund_programme(self, call: Call, programme_id: str) -> Any:
        return self.deadline(
            self.stipends.fund_programme,
            call.actor,
            programme_id,
            call.body["amount_minor"],
            idempotency_key(call),
        )

    @api(
        "POST",
        "/api/v1/programmes/<programme_id>/fundings/<int:entry_id>/reversal",
        summary="Reverse a funding booked by mistake (`entry_id` from the "
        "programme's `fundings`), saying why: its amount leaves the budget. 409 "
        "`reversed_already`, or `funding_in_use` when part of it is reserved or "
        "paid; 404 when the funding is not this programme's",
        roles=(ADMIN, FINANCE),
        body=FundingReversalRequestSchema,
        responses={200: ProgrammeSchema},
    )
    def api_reverse_funding(self, call: Call, programme_id: str, entry_id: int) -> Any:
        return self.deadline(
            self.stipends.reverse_funding,
            call.actor,
            entry_id,
            call.body["reason"],
            programme_id,
        )

    @api(
        "GET",
        "/api/v1/programmes/<programme_id>/cycles",
        summary="A programme's cycles, newest deadline first",
        roles=(ADMIN, FINANCE),
        responses={200: [ListedCycleSchema]},
    )
    def api_programme_cycles(self, call: Call, programme_id: str) -> Any:
        return self.deadline(self.stipends.list_cycles, call.actor, programme_id)

    @api(
        "POST",
        "/api/v1/programmes/<programme_id>/cycles",
        summary="Open a reporting cycle for a period, with its deadline",
        roles=(ADMIN,),
        body=CycleRequestSchema,
        responses={201: CycleSchema},
    )
    def api_open_cycle(self, call: Call, programme_id: str) -> Any:
        return self.deadline(
            self.stipends.open_cycle,
            call.actor,
            programme_id,
            call.body["period"],
            call.body["deadline"],
        )
