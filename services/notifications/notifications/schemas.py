"""marshmallow schemas: the events notifications consumes (unknown=EXCLUDE) and what
it reads by RPC."""

from marshmallow import EXCLUDE, Schema, fields


class Incoming(Schema):
    class Meta:
        unknown = EXCLUDE


class CommunicatorAppliedIn(Incoming):
    """registry's communicator.applied.v1 as notifications reads it."""

    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)


class CommunicatorIdIn(Incoming):
    """communicator.rejected.v1, and any event that names only its communicator."""

    communicator_id = fields.UUID(required=True)


class CommunicatorPayoutSetupNeededIn(Incoming):
    communicator_id = fields.UUID(required=True)
    provider = fields.String(required=True)


class PayoutIn(Incoming):
    """payout.paid.v1 and payout.failed.v1 (only the communicator is needed)."""

    communicator_id = fields.UUID(required=True)
    payout_id = fields.UUID(required=True)


class ContactIn(Incoming):
    communicator_id = fields.UUID(required=True)
    email = fields.Email(required=True)
    language = fields.String(required=True)
