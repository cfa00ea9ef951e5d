"""Events the registry publishes. Payloads carry ids and pseudonyms only; the agreed
shapes are the samples in tests/contracts/samples and docs/events.md."""

from marshmallow import Schema, fields, validate

from svyaz.envelope import EventSpec

PRODUCER = "registry"
PROVIDERS = ("stripe_connect", "stripe_global", "bank_file")


class CommunicatorAppliedV1(Schema):
    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)


class CommunicatorActivatedV1(Schema):
    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)
    club_id = fields.UUID(required=True, allow_none=True)
    # added (optional): the country of the club, never of the person (docs/impact.md)
    club_country = fields.String(allow_none=True, validate=validate.Length(equal=2))


class CommunicatorClubChangedV1(Schema):
    """An admin put an active (or applying, or suspended) communicator into a club,
    moved them, or took them out (`club_id` None)."""

    communicator_id = fields.UUID(required=True)
    club_id = fields.UUID(required=True, allow_none=True)
    # the country of the club, never of the person (as in communicator.activated.v1)
    club_country = fields.String(
        required=True, allow_none=True, validate=validate.Length(equal=2)
    )


class CommunicatorIdV1(Schema):
    communicator_id = fields.UUID(required=True)


class CommunicatorTierChangedV1(Schema):
    communicator_id = fields.UUID(required=True)
    tier = fields.String(
        required=True, validate=validate.OneOf(("volunteer", "professional"))
    )
    training_completed = fields.Boolean(required=True)


class CommunicatorPayoutSetupNeededV1(Schema):
    communicator_id = fields.UUID(required=True)
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))


class CommunicatorPayoutReadyV1(Schema):
    communicator_id = fields.UUID(required=True)
    provider = fields.String(required=True, validate=validate.OneOf(PROVIDERS))
    destination_fingerprint = fields.String(
        required=True, validate=validate.Length(equal=64)
    )


class TrainingCompletedV1(Schema):
    """A communicator completed a training (recorded once per training)."""

    training_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)


class PasswordResetRequestedV1(Schema):
    reset_id = fields.UUID(required=True)


class VouchRequestedV1(Schema):
    """An applicant named this active member; the member is asked to confirm."""

    vouch_id = fields.UUID(required=True)
    voucher_id = fields.UUID(required=True)


def _spec(name: str, schema: type[Schema]) -> EventSpec:
    return EventSpec(PRODUCER, name, schema)


COMMUNICATOR_APPLIED = _spec("communicator.applied.v1", CommunicatorAppliedV1)
COMMUNICATOR_ACTIVATED = _spec("communicator.activated.v1", CommunicatorActivatedV1)
COMMUNICATOR_REJECTED = _spec("communicator.rejected.v1", CommunicatorIdV1)
COMMUNICATOR_SUSPENDED = _spec("communicator.suspended.v1", CommunicatorIdV1)
COMMUNICATOR_REINSTATED = _spec("communicator.reinstated.v1", CommunicatorIdV1)
COMMUNICATOR_OFFBOARDED = _spec("communicator.offboarded.v1", CommunicatorIdV1)
COMMUNICATOR_TIER_CHANGED = _spec(
    "communicator.tier_changed.v1", CommunicatorTierChangedV1
)
COMMUNICATOR_PAYOUT_SETUP_NEEDED = _spec(
    "communicator.payout_setup_needed.v1", CommunicatorPayoutSetupNeededV1
)
COMMUNICATOR_PAYOUT_READY = _spec(
    "communicator.payout_ready.v1", CommunicatorPayoutReadyV1
)
COMMUNICATOR_CLUB_CHANGED = _spec(
    "communicator.club_changed.v1", CommunicatorClubChangedV1
)
COMMUNICATOR_ERASED = _spec("communicator.erased.v1", CommunicatorIdV1)
PASSWORD_RESET_REQUESTED = _spec(
    "account.password_reset_requested.v1", PasswordResetRequestedV1
)
VOUCH_REQUESTED = _spec("vouch.requested.v1", VouchRequestedV1)
TRAINING_COMPLETED = _spec("training.completed.v1", TrainingCompletedV1)

PUBLISHED = (
    COMMUNICATOR_APPLIED,
    COMMUNICATOR_ACTIVATED,
    COMMUNICATOR_REJECTED,
    COMMUNICATOR_SUSPENDED,
    COMMUNICATOR_REINSTATED,
    COMMUNICATOR_OFFBOARDED,
    COMMUNICATOR_TIER_CHANGED,
    COMMUNICATOR_PAYOUT_SETUP_NEEDED,
    COMMUNICATOR_PAYOUT_READY,
    COMMUNICATOR_ERASED,
    PASSWORD_RESET_REQUESTED,
    VOUCH_REQUESTED,
    TRAINING_COMPLETED,
    COMMUNICATOR_CLUB_CHANGED,
)


def aggregate(communicator_id: object) -> str:
    return f"communicator:{communicator_id}"
