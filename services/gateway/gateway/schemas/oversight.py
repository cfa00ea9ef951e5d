"""Schemas of oversight and notifications: the inbox, preferences, and the parked
deliveries and bus messages."""

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, validate, validates

from gateway.schemas.base import (
    CONTACT_CHANNELS,
    DELIVERY_ERRORS,
    LANGUAGES,
    MESSAGE_BODY,
    NAME,
    PARKED_ACTIONS,
    PARKED_KINDS,
    PARKED_OUTCOMES,
    PARKED_REASONS,
    PARKED_SERVICES,
    PARKED_SUBJECTS,
    PARKED_WHY_NOT,
    REASON,
    WORD,
    choice,
    many,
    matching,
    stamp,
    text,
    uid,
)


# -- the inbox and preferences (the notifications service checks them in depth) ----
class InboxQuerySchema(Schema):
    unread_only = fields.Boolean()


class InboxMessageSchema(Schema):
    id = fields.Integer()
    subject = text(NAME)
    body = text(MESSAGE_BODY)
    created_at = stamp()
    read = fields.Boolean()


CLOCK = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"
CLOCK_ERROR = "a time of day, such as 22:00"


def time_zone(value: str) -> None:
    """An IANA time zone the machine knows."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("use an IANA time zone such as Asia/Tbilisi") from None


class PreferencesSchema(Schema):
    """How to be told: channels, language, quiet hours in one's own time zone;
    `discreet` can be turned off by staff only (communicators always get neutral
    messages with the details behind sign-in)."""

    language = choice(LANGUAGES, allow_none=True)
    channels = many(
        choice(CONTACT_CHANNELS),
        5,
        1,
        metadata={
            "description": "the inbox always; the others this deployment has "
            "turned on (GET answers the ones chosen)"
        },
    )
    timezone = fields.String(
        allow_none=True,
        validate=[validate.Length(max=WORD), time_zone],
        metadata={"description": "an IANA time zone, such as Asia/Tbilisi"},
    )
    quiet_start = matching(CLOCK, CLOCK_ERROR, 8, allow_none=True)
    quiet_end = matching(CLOCK, CLOCK_ERROR, 8, allow_none=True)
    discreet = fields.Boolean()
    available_channels = many(
        choice(CONTACT_CHANNELS),
        5,
        dump_only=True,
        metadata={"description": "the channels one may choose here (answers only)"},
    )

    @validates("channels")
    def _inbox_always(self, value: list[str], **kwargs: Any) -> None:
        """Said here with the other fields' faults, in one answer (the service
        says it too, and which channels this deployment offers)."""
        if "inbox" not in value:
            raise ValidationError(
                "the in-app inbox cannot be turned off: keep inbox among the channels"
            )


class ParkedDeliverySchema(Schema):
    id = fields.Integer()
    event_id = uid()
    recipient_id = uid()
    channel = choice(CONTACT_CHANNELS)
    template = text(WORD)
    attempts = fields.Integer()
    last_error = text(REASON)
    updated_at = stamp()


class ParkedReasonSchema(Schema):
    """Why: saved with the action in the service's audit (parked_actions)."""

    reason = text(500, 3, required=True)


class ParkedDeliveryOutSchema(Schema):
    """A notification that could not be delivered: the channel, the message
    (template), how often it was tried, the kind of error. Never an address."""

    id = fields.Integer()
    event_id = uid()
    recipient_id = uid()
    channel = fields.String(validate=validate.OneOf(("email", "inbox", "telegram")))
    template = text(WORD)
    purpose = text(REASON)
    attempts = fields.Integer()
    last_error = text(REASON)
    error_kind = fields.String(validate=validate.OneOf(DELIVERY_ERRORS))
    updated_at = fields.String(metadata={"format": "date-time"})


class DeliveryActedSchema(Schema):
    id = fields.Integer()
    status = fields.String(validate=validate.OneOf(("pending", "discarded")))


class QueueDepthSchema(Schema):
    queue = text(NAME)
    dead_letter_queue = text(NAME)
    depth = fields.Integer()


class ParkedMessageSchema(Schema):
    """A parked bus message: where from, why, when, how often, whether a retry can
    work (`why_not` says why not). Nothing of its body."""

    id = uid()
    queue = text(NAME)
    dead_letter_queue = text(NAME)
    kind = fields.String(validate=validate.OneOf(PARKED_KINDS))
    route = text(NAME)
    event_id = uid(allow_none=True)
    signer = text(WORD, allow_none=True)
    signed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    reason = text(REASON)
    parked_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    attempts = fields.Integer()
    times_parked = fields.Integer()
    retryable = fields.Boolean()
    why_not = text(REASON, allow_none=True)
    reason_kind = fields.String(
        validate=validate.OneOf(PARKED_REASONS),
        metadata={"description": "why it was parked, as a code"},
    )
    why_not_kind = fields.String(
        allow_none=True,
        validate=validate.OneOf(PARKED_WHY_NOT),
        metadata={"description": "why it cannot be retried, as a code"},
    )


class ServiceParkedSchema(Schema):
    """One service's dead-letter queues; `available` false when it did not answer."""

    service = fields.String(validate=validate.OneOf(PARKED_SERVICES))
    available = fields.Boolean()
    queues = fields.List(fields.Nested(QueueDepthSchema))
    messages = fields.List(fields.Nested(ParkedMessageSchema))


class MessageActedSchema(Schema):
    service = fields.String(validate=validate.OneOf(PARKED_SERVICES))
    message = fields.Nested(ParkedMessageSchema)
    outcome = fields.String(validate=validate.OneOf(("retried", "discarded")))


class ParkedActionSchema(Schema):
    """One audited retry or discard, in the service that holds the work."""

    service = fields.String(validate=validate.OneOf(PARKED_SERVICES))
    id = fields.Integer()
    at = fields.String(metadata={"format": "date-time"})
    actor_id = uid()
    actor_roles = text(WORD)
    subject = fields.String(validate=validate.OneOf(PARKED_SUBJECTS))
    subject_id = uid()
    action = fields.String(validate=validate.OneOf(PARKED_ACTIONS))
    reason = text(REASON)
    queue = text(NAME, allow_none=True)
    route = text(NAME, allow_none=True)
    outcome = fields.String(validate=validate.OneOf(PARKED_OUTCOMES))
    detail = text(REASON, allow_none=True)
    finished_at = fields.String(allow_none=True, metadata={"format": "date-time"})
