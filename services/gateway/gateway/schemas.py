"""marshmallow schemas for the HTTP API's bodies."""

from marshmallow import Schema, fields


class ApplicationRequestSchema(Schema):
    """POST /api/v1/applications. The registry checks every field in depth; here
    only the shape, so that unknown fields are refused before anything travels."""

    pseudonym = fields.String(required=True)
    legal_name = fields.String(required=True)
    email = fields.String(required=True)
    phone = fields.String(allow_none=True)
    messenger = fields.String(allow_none=True)
    country = fields.String(required=True)
    city = fields.String(required=True)
    languages = fields.List(fields.String())
    language = fields.String()
    club_id = fields.String(allow_none=True)
    motivation = fields.String()
    referral = fields.String(allow_none=True)
    consent_version = fields.String(required=True)
    consent = fields.Boolean(required=True)


class ApplicationAcceptedSchema(Schema):
    status = fields.String()
