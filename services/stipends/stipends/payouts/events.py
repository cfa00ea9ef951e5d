"""The payout events. Ids, amounts and codes only: never a name, an account number or
a Stripe destination. `payout.failed.v1` carries a `reason` code the communicator can
act on (see FAILURE_REASONS); the notifications service words it."""

from marshmallow import Schema, fields, validate

from stipends.events import PRODUCER
from svyaz.envelope import EventSpec
from svyaz.vocabulary import PAYOUT_FAILURE_REASONS

FAILURE_REASONS = PAYOUT_FAILURE_REASONS  # the one list (svyaz.vocabulary)


class PayoutV1(Schema):
    payout_id = fields.UUID(required=True)
    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    run_id = fields.UUID(required=True)
    amount_minor = fields.Integer(required=True, validate=validate.Range(min=1))
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    provider = fields.String(required=True)


class PayoutFailedV1(PayoutV1):
    reason = fields.String(required=True, validate=validate.OneOf(FAILURE_REASONS))


class RunBuiltV1(Schema):
    run_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    payouts = fields.Integer(required=True, validate=validate.Range(min=1))


class RunReleasedV1(Schema):
    run_id = fields.UUID(required=True)
    released_at = fields.String(required=True)  # ISO 8601 with its offset


class ReconciliationCompletedV1(Schema):
    run_id = fields.UUID(required=True)
    matched = fields.Integer(required=True, validate=validate.Range(min=0))
    discrepancies = fields.Integer(required=True, validate=validate.Range(min=0))


PAYOUT_PAID = EventSpec(PRODUCER, "payout.paid.v1", PayoutV1)
PAYOUT_FAILED = EventSpec(PRODUCER, "payout.failed.v1", PayoutFailedV1)

# No payout.sent.v1: the communicator hears once, when the money arrives or when
# something is wrong (tests/contracts: every consumed event has a producer).
# for finance: a run waiting for release, a released run to reconcile, the outcome
RUN_BUILT = EventSpec(PRODUCER, "payout_run.built.v1", RunBuiltV1)
RUN_RELEASED = EventSpec(PRODUCER, "payout_run.released.v1", RunReleasedV1)
RECONCILIATION_COMPLETED = EventSpec(
    PRODUCER, "reconciliation.completed.v1", ReconciliationCompletedV1
)
PUBLISHED = (
    PAYOUT_PAID,
    PAYOUT_FAILED,
    RUN_BUILT,
    RUN_RELEASED,
    RECONCILIATION_COMPLETED,
)


def aggregate(payout_id: object) -> str:
    return f"payout:{payout_id}"


def run_aggregate(run_id: object) -> str:
    return f"payout_run:{run_id}"
