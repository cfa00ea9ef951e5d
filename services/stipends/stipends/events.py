"""Events the stipends service publishes. Payloads carry ids and amounts only, never
personal data; the agreed shapes are the samples in tests/contracts/samples and
docs/events.md."""

from marshmallow import Schema, fields, validate

from svyaz.envelope import EventSpec

PRODUCER = "stipends"


class ReportSubmittedV1(Schema):
    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    late = fields.Boolean(required=True)


class ReportReviewedV1(Schema):
    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    decision = fields.String(
        required=True,
        validate=validate.OneOf(("accepted", "rejected", "changes_requested")),
    )


class CycleOpenedV1(Schema):
    cycle_id = fields.UUID(required=True)
    programme_id = fields.UUID(required=True)
    period = fields.String(required=True)
    deadline = fields.String(required=True)  # ISO 8601 with its offset


class CycleClosedV1(Schema):
    cycle_id = fields.UUID(required=True)
    programme_id = fields.UUID(required=True)


class StipendAmountV1(Schema):
    """stipend.proposed.v1 and stipend.approved.v1."""

    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)
    amount_minor = fields.Integer(required=True, validate=validate.Range(min=1))
    currency = fields.String(required=True, validate=validate.Length(equal=3))


class StipendRejectedV1(Schema):
    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)


def _spec(name: str, schema: type[Schema]) -> EventSpec:
    return EventSpec(PRODUCER, name, schema)


REPORT_SUBMITTED = _spec("report.submitted.v1", ReportSubmittedV1)
REPORT_REVIEWED = _spec("report.reviewed.v1", ReportReviewedV1)
CYCLE_OPENED = _spec("cycle.opened.v1", CycleOpenedV1)
CYCLE_CLOSED = _spec("cycle.closed.v1", CycleClosedV1)
STIPEND_PROPOSED = _spec("stipend.proposed.v1", StipendAmountV1)
STIPEND_APPROVED = _spec("stipend.approved.v1", StipendAmountV1)
STIPEND_REJECTED = _spec("stipend.rejected.v1", StipendRejectedV1)

PUBLISHED: tuple[EventSpec, ...] = (
    REPORT_SUBMITTED,
    REPORT_REVIEWED,
    CYCLE_OPENED,
    CYCLE_CLOSED,
    STIPEND_PROPOSED,
    STIPEND_APPROVED,
    STIPEND_REJECTED,
)


def report_aggregate(report_id: object) -> str:
    return f"report:{report_id}"


def cycle_aggregate(cycle_id: object) -> str:
    return f"cycle:{cycle_id}"


def stipend_aggregate(stipend_id: object) -> str:
    return f"stipend:{stipend_id}"


# the payout events live beside the payout code; published by this service all the same
from stipends.payouts.events import PUBLISHED as PAYOUT_EVENTS  # noqa: E402

PUBLISHED = PUBLISHED + PAYOUT_EVENTS
