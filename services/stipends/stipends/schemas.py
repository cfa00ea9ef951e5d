"""marshmallow schemas: RPC input/output and the events stipends consumes."""

from marshmallow import EXCLUDE, Schema, fields


class CommunicatorAppliedIn(Schema):
    """registry's communicator.applied.v1 as stipends reads it."""

    class Meta:
        unknown = EXCLUDE

    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)


class CommunicatorSchema(Schema):
    id = fields.UUID()
    pseudonym = fields.String()
    status = fields.String()
