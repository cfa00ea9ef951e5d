"""marshmallow schemas: the events notifications consumes (unknown=EXCLUDE), what it
reads from the registry by RPC, and its own RPC input and output."""

from marshmallow import EXCLUDE, Schema, fields, validate

from notifications.templates import LANGUAGES
from svyaz import actors

ROLES = sorted(actors.ROLES)


class Incoming(Schema):
    class Meta:
        unknown = EXCLUDE


class CommunicatorAppliedIn(Incoming):
    """registry's communicator.applied.v1 as notifications reads it."""

    communicator_id = fields.UUID(required=True)
    pseudonym = fields.String(required=True)


class CommunicatorIdIn(Incoming):
    """communicator.rejected.v1, and any event that names only its communicator."""

    communicator_id = fields.UUID(required=True)


class CommunicatorPayoutSetupNeededIn(Incoming):
    communicator_id = fields.UUID(required=True)
    provider = fields.String(required=True)


class ReportSubmittedIn(Incoming):
    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(required=True)


class CycleOpenedIn(Incoming):
    cycle_id = fields.UUID(required=True)
    period = fields.String(required=True, validate=validate.Length(equal=7))
    deadline = fields.AwareDateTime(required=True)


class ReportReviewedIn(Incoming):
    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    cycle_id = fields.UUID(load_default=None)  # its period names the report
    decision = fields.String(
        required=True,
        validate=validate.OneOf(("accepted", "rejected", "changes_requested")),
    )


class StipendIn(Incoming):
    """stipend.proposed.v1 / stipend.approved.v1."""

    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    amount_minor = fields.Integer(required=True, validate=validate.Range(min=0))
    currency = fields.String(required=True, validate=validate.Length(equal=3))
    # proposed only (optional): the staff account that proposed it
    proposed_by = fields.UUID(load_default=None, allow_none=True)


class StrategySharedIn(Incoming):
    """strategy.shared.v1: a strategy waits for a mentor's comment (ids only)."""

    strategy_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    version = fields.Integer(required=True)


class StrategyCommentedIn(Incoming):
    """strategy.commented.v1: a mentor wrote (its author is told, and it waits no
    longer), or its author answered (ids only)."""

    strategy_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    comment_id = fields.UUID(required=True)
    version = fields.Integer(required=True)
    by_mentor = fields.Boolean(required=True)
    # on an answer, the programme admins who wrote on the thread (added, optional)
    admin_mentors = fields.List(fields.UUID(), load_default=list)


class ReportFeedbackGivenIn(Incoming):
    """report.feedback_given.v1: the author is told a mentor wrote, or the club's
    coordinator that the author answered (ids only; the text stays in stipends and
    is read on the author's or the mentor's page)."""

    report_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    feedback_id = fields.UUID(required=True)
    by_mentor = fields.Boolean(load_default=True)  # absent: from before it, a mentor's
    admin_mentors = fields.List(fields.UUID(), load_default=list)  # as above


class VouchRequestedIn(Incoming):
    """vouch.requested.v1: the member named is told to answer (ids only)."""

    vouch_id = fields.UUID(required=True)
    voucher_id = fields.UUID(required=True)


class PasswordResetRequestedIn(Incoming):
    reset_id = fields.UUID(required=True)


class ResetLinkIn(Incoming):
    """What registry.issue_password_reset answers."""

    email = fields.Email(required=True)
    language = fields.String(required=True)
    token = fields.String(required=True, validate=validate.Length(min=20, max=200))
    # an added field (a registry before it sends none): "reset" or "invitation"
    purpose = fields.String(
        load_default="reset", validate=validate.OneOf(("reset", "invitation"))
    )


class RunBuiltIn(Incoming):
    run_id = fields.UUID(required=True)
    payouts = fields.Integer(required=True, validate=validate.Range(min=1))


class RunReleasedIn(Incoming):
    run_id = fields.UUID(required=True)
    released_at = fields.AwareDateTime(required=True)


class ReconciliationCompletedIn(Incoming):
    run_id = fields.UUID(required=True)
    discrepancies = fields.Integer(required=True, validate=validate.Range(min=0))
    # optional (producers before 2026-12-07 did not send them)
    provider = fields.String(load_default=None, validate=validate.Length(max=40))
    first_day = fields.Date(load_default=None)
    last_day = fields.Date(load_default=None)


class CycleClosedIn(Incoming):
    cycle_id = fields.UUID(required=True)
    programme_id = fields.UUID(required=True)
    proposed = fields.Integer(load_default=0, validate=validate.Range(min=0))
    closed_by = fields.UUID(load_default=None, allow_none=True)  # so proposed them


class StipendRejectedIn(Incoming):
    stipend_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)


class ContactIn(Incoming):
    communicator_id = fields.UUID(required=True)
    email = fields.Email(required=True)
    language = fields.String(required=True)
    # has a password set (a registry before it existed: not said)
    signs_in = fields.Boolean(load_default=False)


class StaffContactIn(Incoming):
    account_id = fields.UUID(required=True)
    email = fields.Email(required=True)
    # the language they were invited in: theirs until they choose one
    default_language = fields.String(allow_none=True, load_default=None)


class ContactsIn(Incoming):
    """One contact of the registry's `get_contacts` answer: a communicator's
    profile language, or a staff member's default (the language invited in)."""

    id = fields.UUID(required=True)
    email = fields.Email(required=True)
    language = fields.String(allow_none=True, load_default=None)
    default_language = fields.String(allow_none=True, load_default=None)
    signs_in = fields.Boolean(load_default=False)  # a communicator's password is set


class MentorIn(Incoming):
    """One mentor of the registry's `get_mentors` answer: an account id and its
    kind."""

    id = fields.UUID(required=True)
    kind = fields.String(
        required=True, validate=validate.OneOf(("communicator", "staff"))
    )


class PreferencesIn(Schema):
    """A person's own choices; every field optional, unknown fields refused."""

    language = fields.String(validate=validate.OneOf(LANGUAGES), allow_none=True)
    channels = fields.List(
        fields.String(validate=validate.Length(min=1, max=20)),
        validate=validate.Length(min=1, max=5),
    )
    timezone = fields.String(validate=validate.Length(max=64), allow_none=True)
    quiet_start = fields.Time(allow_none=True)
    quiet_end = fields.Time(allow_none=True)
    discreet = fields.Boolean()


class PreferencesOut(Schema):
    language = fields.String(allow_none=True)
    channels = fields.List(fields.String())
    timezone = fields.String(allow_none=True)
    quiet_start = fields.Time(allow_none=True)
    quiet_end = fields.Time(allow_none=True)
    discreet = fields.Boolean(attribute="effective_discreet")


class InboxQueryIn(Schema):
    language = fields.String(validate=validate.OneOf(LANGUAGES), allow_none=True)
    unread_only = fields.Boolean(load_default=False)
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class InboxMessageOut(Schema):
    id = fields.Integer()
    subject = fields.String()
    body = fields.String()
    created_at = fields.AwareDateTime()
    read = fields.Boolean()


class ParkedOut(Schema):
    """A parked delivery: which channel, which message (template), when it was
    parked, the kind of error. Never an address or the message's contents."""

    id = fields.Integer()
    event_id = fields.UUID()
    recipient_id = fields.UUID()  # a pseudonymous id
    channel = fields.String()
    template = fields.String()
    purpose = fields.Function(lambda d: f"notification:{d.template}")
    attempts = fields.Integer()
    last_error = fields.String()  # a code-like text from channels.py, no address
    error_kind = fields.String()
    updated_at = fields.AwareDateTime()
    parked_at = fields.Function(lambda d: d.updated_at.isoformat())


class ParkedActionIn(Schema):
    delivery_id = fields.Integer(required=True, strict=True)
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class PayoutIn(Incoming):
    """payout.paid.v1 / payout.failed.v1 (a `reason` on failed)."""

    payout_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    amount_minor = fields.Integer(required=True, validate=validate.Range(min=0))
    currency = fields.String(required=True, validate=validate.Length(equal=3))


class PayoutFailedIn(PayoutIn):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=60))


class ReceiptResolvedIn(Incoming):
    """payout.receipt_resolved.v1: finance resolved a payee's "it did not arrive"
    (a code: the template words it; finance's note is not sent)."""

    payout_id = fields.UUID(required=True)
    communicator_id = fields.UUID(required=True)
    resolution = fields.String(required=True, validate=validate.Length(min=1, max=60))
