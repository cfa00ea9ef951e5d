"""marshmallow schemas for the registry's RPC input and output."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates

# Countries of residence the programme serves (ISO 3166-1 alpha-2).
COUNTRIES = (
    "AM",
    "AT",
    "BE",
    "CY",
    "CZ",
    "DE",
    "EE",
    "ES",
    "FI",
    "FR",
    "GB",
    "GE",
    "IL",
    "IT",
    "KG",
    "KZ",
    "LT",
    "LV",
    "ME",
    "NL",
    "PL",
    "PT",
    "RS",
    "SE",
    "TR",
    "US",
    "UZ",
)
LANGUAGES = ("ru", "en")
PSEUDONYM = r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,29}$"


class ApplicationSchema(Schema):
    pseudonym = fields.String(
        required=True,
        validate=validate.Regexp(
            PSEUDONYM,
            error="3 to 30 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit",
        ),
    )
    email = fields.Email(required=True, validate=validate.Length(max=254))
    country = fields.String(
        required=True,
        validate=validate.OneOf(COUNTRIES, error="unknown country code {input}"),
    )
    language = fields.String(load_default="ru", validate=validate.OneOf(LANGUAGES))
    consent = fields.Boolean(required=True)

    @pre_load
    def _strip(self, data: Any, **_: object) -> Any:
        if isinstance(data, dict):
            return {k: v.strip() if isinstance(v, str) else v for k, v in data.items()}
        return data

    @validates("consent")
    def _consent_given(self, value: bool, **_: object) -> None:
        if value is not True:
            raise ValidationError("consent to the consent text is required")


class ApplicationReceivedSchema(Schema):
    status = fields.Constant("received")


class ContactRequestSchema(Schema):
    communicator_id = fields.UUID(required=True)
    purpose = fields.String(required=True, validate=validate.Length(min=3, max=200))


class ContactSchema(Schema):
    communicator_id = fields.UUID(required=True)
    email = fields.String(required=True)
    language = fields.String(required=True)
