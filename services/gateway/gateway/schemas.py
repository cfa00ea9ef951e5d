"""marshmallow schemas for the HTTP API's bodies."""

from marshmallow import Schema, fields


class ApplicationRequestSchema(Schema):
    """POST /api/v1/applications. Checked in depth by the registry."""

    pseudonym = fields.String(required=True)
    email = fields.String(required=True)
    country = fields.String(required=True)
    language = fields.String()
    consent = fields.Boolean(required=True)


class ApplicationAcceptedSchema(Schema):
    status = fields.String()
