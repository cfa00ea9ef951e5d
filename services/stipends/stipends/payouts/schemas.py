"""The payout RPCs' input: the receipt schemas (marshmallow, as the rest of the
service), and the arguments checked one by one, because each refusal has its own
code (and field) that the gateway and the finance CLI show."""

import uuid
from datetime import date
from typing import Any

from marshmallow import Schema, fields, validate

from stipends.exceptions import InvalidRequest
from stipends.logic.payouts.matching import DISCREPANCIES
from stipends.payouts.models import (
    ITEM_STATES,
    RECEIPT_PROBLEM_STATUSES,
    RECEIPT_RESOLUTIONS,
    RECONCILIATION_SOURCES,
)


class ReceiptSchema(Schema):
    payout_id = fields.UUID(required=True)
    received = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=500))


class ReceiptProblemsSchema(Schema):
    status = fields.String(
        load_default="open", validate=validate.OneOf(RECEIPT_PROBLEM_STATUSES)
    )


class ResolveReceiptSchema(Schema):
    problem_id = fields.UUID(required=True)
    resolution = fields.String(
        required=True, validate=validate.OneOf(RECEIPT_RESOLUTIONS)
    )
    note = fields.String(required=True, validate=validate.Length(min=1, max=500))


# -- payout arguments: each refusal names its field and has its own code -----------
def checked_id(value: Any, name: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise InvalidRequest(
            f"{name} is not a valid id", "invalid_id", {name: ["not a valid id"]}
        ) from None


def optional_id(value: Any, name: str) -> uuid.UUID | None:
    return checked_id(value, name) if value is not None else None


def checked_date(value: Any, name: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidRequest(
            f"{name} is not a date (YYYY-MM-DD)", "invalid_date", {name: ["not a date"]}
        ) from None


def bounded(value: Any, name: str, least: int = 0, most: int = 10**9) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not least <= value <= most
    ):
        raise InvalidRequest(
            f"{name} is a whole number from {least} to {most}",
            f"invalid_{name}",
            {name: [f"{least} to {most}"]},
        )
    return value


def reason(value: Any, name: str = "reason") -> str:
    """A person's reason (or `note`): 1 to 500 characters, refused under its name."""
    if not isinstance(value, str) or not value.strip() or len(value) > 500:
        raise InvalidRequest(
            f"give a {name} (1 to 500 characters)",
            f"{name}_required",
            {name: ["required, at most 500 characters"]},
        )
    return value.strip()


def second_factor_code(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest(
            "a code from your authenticator is needed",
            "code_required",
            {"code": ["required"]},
        )
    return value.strip()


def statement_text(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidRequest("the statement is CSV text", "invalid_statement")
    return value


def stripe_event(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InvalidRequest("not a Stripe event", "invalid_event")
    return value


def reconciliation_source(value: Any) -> str:
    if value not in RECONCILIATION_SOURCES:
        raise InvalidRequest(
            f"no source {value}",
            "invalid_source",
            {"source": [f"one of {RECONCILIATION_SOURCES}"]},
        )
    return str(value)


def item_filters(state: Any, kind: Any) -> tuple[str | None, str | None]:
    """A work queue's optional filters: an item state, a kind of difference."""
    if state is not None and state not in ITEM_STATES:
        raise InvalidRequest(
            f"no state {state}",
            "invalid_state",
            {"state": [f"one of {ITEM_STATES}"]},
        )
    if kind is not None and kind not in DISCREPANCIES:
        raise InvalidRequest(f"no kind {kind}", "invalid_kind", {"kind": ["unknown"]})
    return state, kind


def item_ids(value: Any) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in value
    ):
        raise InvalidRequest(
            "item_ids is a list of item numbers",
            "invalid_items",
            {"item_ids": ["a list of integers"]},
        )
    return value
