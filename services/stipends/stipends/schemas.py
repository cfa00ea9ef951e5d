"""marshmallow schemas: RPC input/output and the registry events stipends consumes
(each loaded with unknown=EXCLUDE, so a field added later does not break us)."""

from marshmallow import EXCLUDE, Schema, fields


class Incoming(Schema):
    class Meta:
        unknown = EXCLUDE


class CommunicatorAppliedIn(Incoming):
    """registry's communicator.applied.v1 as stipends reads it."""

    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)


class CommunicatorActivatedIn(Incoming):
    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)
    club_id = fields.UUID(required=True, allow_none=True)


class CommunicatorIdIn(Incoming):
    """communicator.suspended/reinstated/offboarded/erased.v1."""

    communicator_id = fields.UUID(required=True)


class CommunicatorTierChangedIn(Incoming):
    communicator_id = fields.UUID(required=True)
    tier = fields.String(required=True)
    training_completed = fields.Boolean(required=True)


class CommunicatorPayoutReadyIn(Incoming):
    communicator_id = fields.UUID(required=True)
    provider = fields.String(required=True)
    destination_fingerprint = fields.String(required=True)


class CommunicatorSchema(Schema):
    id = fields.UUID()
    pseudonym = fields.String(allow_none=True)
    status = fields.String()
    tier = fields.String()
    payout_ready = fields.Boolean()
