"""Oversight of parked bus messages: list, retry and discard what a service's
dead-letter queues hold, every action audited in the service's own database.

A service gains it by inheriting `ParkedMessagesEntrypoints` (nameko finds entrypoints
and dependencies on base classes):

    class RegistryService(ParkedMessagesEntrypoints):
        ...

Its dead-letter queues are those of its own queues (see `svyaz.topology`): one
`<service>.<handler>.dlq` per event handler and `rpc-<service>.dlq`.

The dead-letter queues are read and acted on by `svyaz.dead_letters`, a parked
message is described by `svyaz.parked_messages`, and each action is audited in
`svyaz.parked_actions`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, fields, validate
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.extensions import DependencyProvider
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from svyaz import arguments, topology
from svyaz import config as settings
from svyaz.actors import ADMIN, Actor
from svyaz.db import committed, make_cooperative, make_engine
from svyaz.dead_letters import DeadLetters
from svyaz.errors import InvalidInput, NotFound, ServiceError
from svyaz.keys import GATEWAY
from svyaz.parked_actions import (
    BUS_MESSAGE,
    DISCARD,
    DISCARDED,
    NOT_FOUND,
    REFUSED,
    RETRIED,
    RETRY,
    ParkedAction,
    actions,
    finish_action,
    start_action,
)
from svyaz.parked_messages import ParkedMessage
from svyaz.rpc import Rpc, rpc
from svyaz.single_handler import EventHandler

log = logging.getLogger(__name__)

MAX_LIMIT = 500


class LimitSchema(Schema):
    limit = fields.Integer(
        load_default=100, strict=True, validate=validate.Range(min=1, max=MAX_LIMIT)
    )


class ParkedActionInSchema(Schema):
    message_id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=3, max=500))


class ParkedMessageSchema(Schema):
    id = fields.String()
    queue = fields.String()
    dead_letter_queue = fields.String()
    kind = fields.String()
    route = fields.String()
    event_id = fields.String(allow_none=True)
    signer = fields.String(allow_none=True)
    signed_at = fields.AwareDateTime(allow_none=True)
    reason = fields.String()
    parked_at = fields.AwareDateTime(allow_none=True)
    attempts = fields.Integer()
    times_parked = fields.Integer()
    retryable = fields.Boolean()
    why_not = fields.String(allow_none=True)


class QueueDepthSchema(Schema):
    queue = fields.String()
    dead_letter_queue = fields.String()
    depth = fields.Integer()


class ParkedMessagesSchema(Schema):
    queues = fields.List(fields.Nested(QueueDepthSchema))
    messages = fields.List(fields.Nested(ParkedMessageSchema))


class ParkedActionSchema(Schema):
    id = fields.Integer()
    at = fields.AwareDateTime()
    actor_id = fields.UUID()
    actor_roles = fields.String()
    subject = fields.String()
    subject_id = fields.String()
    action = fields.String()
    reason = fields.String()
    queue = fields.String(allow_none=True)
    route = fields.String(allow_none=True)
    outcome = fields.String()
    detail = fields.String(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)


load = arguments.loader(InvalidInput)


# -- nameko ----------------------------------------------------------------------------
class ParkedMessages(DependencyProvider):
    """Gives a worker `DeadLetters` for its service's queues and a transaction on
    the service's database for the audit (a small engine of its own)."""

    def setup(self) -> None:
        config = self.container.config
        queues = []
        for entrypoint in self.container.entrypoints:
            if isinstance(entrypoint, EventHandler):
                queues.append(
                    topology.handler_queue_name(
                        self.container.service_name, entrypoint.method_name
                    )
                )
            elif isinstance(entrypoint, Rpc):
                queues.append(topology.rpc_queue_name(self.container.service_name))
        self.amqp_uri = config[AMQP_URI_CONFIG_KEY]
        self.queues = sorted(set(queues))
        make_cooperative()
        self.engine: Engine = make_engine(
            settings.require(config, "DB_URI"), pool_size=1, max_overflow=2
        )
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def stop(self) -> None:
        self.engine.dispose()

    def kill(self) -> None:
        self.engine.dispose()

    def get_dependency(self, worker_ctx: Any) -> ParkedWork:
        return ParkedWork(DeadLetters(self.amqp_uri, self.queues), self.sessionmaker)


class ParkedWork:
    """What a worker gets: the dead letters, and audited actions on them."""

    def __init__(self, letters: DeadLetters, make_session: Callable[[], Session]):
        self.letters = letters
        self._make_session = make_session

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with committed(self._make_session()) as session:
            yield session

    def act(self, who: Actor, ident: str, action: str, reason: str) -> ParkedMessage:
        """Audit first (a database that is down stops the action), act, then
        record the outcome, a refusal's and a miss's too."""
        with self.transaction() as session:
            row = start_action(session, who, BUS_MESSAGE, ident, action, reason)
        try:
            facts = self.letters.act(ident, action)
        except ServiceError as exc:
            outcome = NOT_FOUND if isinstance(exc, NotFound) else REFUSED
            self._finish(row, outcome, exc.message)
            raise
        except Exception as exc:
            self._finish(row, "failed", type(exc).__name__)
            raise
        done = RETRIED if action == RETRY else DISCARDED
        self._finish(row, done, None, facts.queue, facts.route)
        log.warning(
            "parked message %s on %s %s by %s", ident, facts.queue, done, who.label
        )
        return facts

    def _finish(
        self,
        row: ParkedAction,
        outcome: str,
        detail: str | None,
        queue: str | None = None,
        route: str | None = None,
    ) -> None:
        with self.transaction() as session:
            stored = session.get(ParkedAction, row.id, with_for_update=True)
            assert stored is not None
            finish_action(stored, outcome, datetime.now(UTC), detail, queue, route)


PARKED_ERRORS = (ServiceError,)


def _stripped(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _admin(actor: Any) -> Actor:
    who = Actor.load(actor)
    who.require(ADMIN)
    return who


def _rpc(**kwargs: Any) -> Any:
    return rpc(callers={GATEWAY}, expected_exceptions=PARKED_ERRORS, **kwargs)


class ParkedMessagesEntrypoints:
    """The RPCs every service offers on its parked bus messages (program admins,
    through the gateway's console)."""

    parked_messages = ParkedMessages()

    @_rpc()
    def list_parked_messages(self, actor: Any, limit: Any = 100) -> dict[str, Any]:
        _admin(actor)
        size = load(LimitSchema(), {"limit": limit})["limit"]
        work: ParkedWork = self.parked_messages
        out = {
            "queues": [asdict(d) for d in work.letters.depths()],
            "messages": [asdict(m) for m in work.letters.list(size)],
        }
        return dict(ParkedMessagesSchema().dump(out))

    @_rpc()
    def retry_parked_message(
        self, actor: Any, message_id: Any, reason: Any
    ) -> dict[str, Any]:
        return self._act_on_parked(actor, message_id, reason, RETRY)

    @_rpc()
    def discard_parked_message(
        self, actor: Any, message_id: Any, reason: Any
    ) -> dict[str, Any]:
        return self._act_on_parked(actor, message_id, reason, DISCARD)

    @_rpc()
    def list_parked_actions(self, actor: Any, limit: Any = 100) -> list[Any]:
        _admin(actor)
        size = load(LimitSchema(), {"limit": limit})["limit"]
        work: ParkedWork = self.parked_messages
        with work.transaction() as session:
            return list(ParkedActionSchema(many=True).dump(actions(session, size)))

    def _act_on_parked(
        self, actor: Any, message_id: Any, reason: Any, action: str
    ) -> dict[str, Any]:
        who = _admin(actor)
        data = load(
            ParkedActionInSchema(),
            {"message_id": message_id, "reason": _stripped(reason)},
        )
        work: ParkedWork = self.parked_messages
        facts = work.act(who, data["message_id"], action, data["reason"])
        done = RETRIED if action == RETRY else DISCARDED
        return {"message": ParkedMessageSchema().dump(asdict(facts)), "outcome": done}
