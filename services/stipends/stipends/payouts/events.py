"""The payout events. Ids, amounts and codes only: never a name, an account number or
a Stripe destination. `payout.failed.v1` carries a `reason` code the communicator can
act on (see FAILURE_REASONS); the notifications service words it."""

from marshmallow import Schema, fields, validate

from stipends.events import PRODUCER
from svyaz.envelope import EventSpec

FAILURE_REASONS = (
    "destination_not_ready",  # set up (or finish setting up) the payout account
    "destination_changed",  # the destination changed since approval: check it
    "destination_rejected",  # the provider refused the destination: fix the details
    "provider_refused",  # the provider refused the payment; finance looks into it
    "returned",  # the money came back (reversed or returned by the bank)
    "marked_failed",  # finance marked it failed (the reason is in the audit trail)
)


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


PAYOUT_PAID = EventSpec(PRODUCER, "payout.paid.v1", PayoutV1)
PAYOUT_FAILED = EventSpec(PRODUCER, "payout.failed.v1", PayoutFailedV1)

# No payout.sent.v1: no service consumes it (an unrouted event is an outbox error),
# and the communicator hears once, when the money arrives or when something is wrong.
PUBLISHED = (PAYOUT_PAID, PAYOUT_FAILED)


def aggregate(payout_id: object) -> str:
    return f"payout:{payout_id}"
