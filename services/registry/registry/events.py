"""Events the registry publishes. Payloads carry ids and pseudonyms only."""

from marshmallow import Schema, fields

from svyaz.envelope import EventSpec

PRODUCER = "registry"


class CommunicatorAppliedV1(Schema):
    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)


COMMUNICATOR_APPLIED = EventSpec(
    PRODUCER, "communicator.applied.v1", CommunicatorAppliedV1
)

PUBLISHED = (COMMUNICATOR_APPLIED,)
