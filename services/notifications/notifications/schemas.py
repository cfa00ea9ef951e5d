"""marshmallow schemas: the events notifications consumes and what it reads by RPC."""

from marshmallow import EXCLUDE, Schema, fields


class CommunicatorAppliedIn(Schema):
    """registry's communicator.applied.v1 as notifications reads it."""

    class Meta:
        unknown = EXCLUDE

    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)


class ContactIn(Schema):
    class Meta:
        unknown = EXCLUDE

    communicator_id = fields.UUID(required=True)
    email = fields.Email(required=True)
    language = fields.String(required=True)
