"""Schemas of communication strategies (a communicator's plan, in versions) and
their mentors' feedback on them and on reports."""

from marshmallow import Schema, fields, validate

from gateway.schemas.base import (
    APPROACHES,
    AUDIENCES,
    EXPECTED_CHANGE,
    HORIZON_MONTHS,
    ITEMS,
    REASON,
    REPORT_CHANNELS,
    STRATEGY_STATES,
    TOPIC,
    TOPICS,
    WORD,
    choice,
    many,
    stamp,
    text,
    uid,
)
from gateway.schemas.programmes import ReportSchema
from svyaz.actors import ADMIN, COORDINATOR


class StrategyRequestSchema(Schema):
    """A professional communicator's strategy: kinds of audiences (never people),
    channels, topics and approaches, the change they expect and over how many
    months, a note. Saved as the draft; after sharing, a save starts the next
    version. Contacts and links are removed from the text before it is stored."""

    audiences = many(choice(AUDIENCES), ITEMS, required=True)
    channels = many(choice(REPORT_CHANNELS), ITEMS, required=True)
    topics = many(text(TOPIC), TOPICS)
    approaches = many(choice(APPROACHES), ITEMS, required=True)
    expected_change = text(EXPECTED_CHANGE, required=True)
    horizon_months = fields.Integer(
        required=True, validate=validate.Range(min=1, max=HORIZON_MONTHS)
    )
    note = text(REASON)


class MessageSchema(Schema):
    id = uid()
    by_mentor = fields.Boolean()
    mentor_role = choice(
        (COORDINATOR, ADMIN),
        allow_none=True,
        metadata={
            "description": "the role a mentor's message was written in: the "
            "member's club coordinator or a programme admin; null for the "
            "communicator's own words and for mentors' messages written before "
            "2026-12-07"
        },
    )
    author_id = uid()
    body = text(REASON)
    created_at = stamp()


class StrategyVersionSchema(Schema):
    id = uid()
    number = fields.Integer()
    status = choice(STRATEGY_STATES)
    audiences = fields.List(choice(AUDIENCES))
    channels = fields.List(choice(REPORT_CHANNELS))
    topics = fields.List(text(TOPIC))
    approaches = fields.List(choice(APPROACHES))
    expected_change = text(EXPECTED_CHANGE)
    horizon_months = fields.Integer()
    note = text(REASON)
    redactions = fields.List(text(WORD))
    created_at = stamp()
    shared_at = stamp(allow_none=True)
    comments = fields.List(fields.Nested(MessageSchema))


class SavedStrategySchema(Schema):
    version = fields.Nested(StrategyVersionSchema)
    redacted = fields.List(text(WORD))


class StrategyBodySchema(Schema):
    id = uid()
    waiting_for_mentor = fields.Boolean()
    versions = fields.List(fields.Nested(StrategyVersionSchema))


class StrategyViewSchema(Schema):
    """A communicator's strategy, newest version first, each with its discussion;
    `mentor`: whether the reader is the communicator's mentor (who sees shared
    versions only). `strategy` is null while there is none to see."""

    communicator_id = uid()
    pseudonym = text(WORD, allow_none=True)
    tier = text(WORD)
    mentor = fields.Boolean()
    strategy = fields.Nested(StrategyBodySchema, allow_none=True)


class MenteeSchema(Schema):
    communicator_id = uid()
    pseudonym = text(WORD, allow_none=True)
    version = fields.Integer()
    shared_at = stamp()
    waiting_for_mentor = fields.Boolean()


class MenteeQuerySchema(Schema):
    waiting = fields.Boolean()


class MessageRequestSchema(Schema):
    body = text(REASON, min_length=1, required=True)


class PostedMessageSchema(Schema):
    message = fields.Nested(MessageSchema)
    redacted = fields.List(text(WORD))


class ReportThreadSchema(Schema):
    report = fields.Nested(ReportSchema)
    period = text(WORD)
    strategy_version = fields.Integer(allow_none=True)
    feedback = fields.List(fields.Nested(MessageSchema))


class ReportThreadsSchema(Schema):
    """A communicator's reports (not drafts) with their feedback threads: for them
    and their mentors only."""

    communicator_id = uid()
    pseudonym = text(WORD, allow_none=True)
    mentor = fields.Boolean()
    reports = fields.List(fields.Nested(ReportThreadSchema))
