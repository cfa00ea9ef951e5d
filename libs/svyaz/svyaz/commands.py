"""Idempotent commands: a state-changing RPC repeated with the same idempotency key
takes effect once and answers as it did the first time.

RPC is at least once: a reply lost on the way (a cut connection, a caller's
timeout) makes the caller ask again, and a double-clicked form asks twice. So every
command carries an idempotency key from its caller, and the service keeps, in its
`command_results` table, the key with who asked (the signer and the acting account),
the method, a keyed digest of the arguments (HMAC under a key derived from the
service's private bus key: arguments may hold an email address or a password) and
the answer, written IN THE SAME TRANSACTION
as the command's effect:

- the same key again, with the same arguments, within `IDEMPOTENCY_WINDOW_HOURS`
  (24): the first answer, and nothing changes;
- the same key with other arguments: refused, `idempotency_key_reused` (409),
  saying to reload the page or make a new request (a caller's key sent to another
  method derives another key: a separate request, not refused);
- two copies at once: the second's insert waits on the first's row (the primary key)
  until the first commits, then reads its answer (or, if the first failed, runs);
- a refusal (an expected error) is not remembered: the transaction rolls back, the
  key's row with it, so nothing is half applied and a repeat is decided afresh
  against the state as it is then (a person who fixed the cause may send the same
  form again).

The key travels in the signed stamp of the RPC request (`svyaz.signing`, `idem`),
never as an argument: a caller binds a key to its work (`svyaz.idempotency`: a
console form's hidden field, an API request's `Idempotency-Key`, a CLI's invocation)
and its proxy derives one key per method called (`<key>.<service>.<method>.<n>`),
so one form whose handler calls two commands, or one command twice, keeps them
apart, and the same form sent again derives the same keys.

A key is scoped to the account acting (the `actor` argument's verified assertion;
"" for an anonymous command such as an application) and to the signer: two people
cannot collide. A command with no key (a caller of the release before) runs as it
always did.

A service marks its commands with `@command` under `@rpc`; the method's own
`self.db.transaction()` blocks join the command's transaction (as savepoints), so
its answer is stored before the one commit. The request's RPC nonce
(svyaz.nonces) is taken in that transaction too, before the claim: a replayed copy
is parked there without running; a refusal rolls back to a savepoint after the
nonce, so the nonce stays taken while the key's row and the effects go. Rows past
the window are purged every `COMMAND_PURGE_INTERVAL` seconds (`CommandUpkeep`).
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar

from kombu.utils.json import dumps as json_dumps
from kombu.utils.json import loads as json_loads
from sqlalchemy import (
    DateTime,
    Index,
    String,
    Text,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from svyaz import assertions, nonces, signing
from svyaz import settings as typed
from svyaz.db import PlatformBase
from svyaz.errors import Conflict
from svyaz.timers import timer

log = logging.getLogger(__name__)

WINDOW_HOURS = 24.0
PURGE_BATCH = 5000
REUSED = "idempotency_key_reused"
F = TypeVar("F", bound=Callable[..., Any])


class KeyReused(Conflict):
    """The idempotency key was already used for a different request."""


@dataclass(frozen=True)
class Settings(typed.Settings):
    window_hours: float = typed.setting(
        "IDEMPOTENCY_WINDOW_HOURS", WINDOW_HOURS, minimum=0.01
    )


class CommandResult(PlatformBase):
    __tablename__ = "command_results"
    __table_args__ = (Index("command_results_created", "created_at"),)

    signer: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    method: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    result: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


# -- the service's side ---------------------------------------------------------------


def request_hash(method: str, arguments: dict[str, Any], secret: bytes) -> str:
    """A keyed digest (HMAC-SHA256 under the service's `secret`) of what was
    asked: the method and its arguments but the actor (whose assertion is renewed
    every few minutes; the account is the key's scope). Keyed, because arguments
    hold personal data and secrets (an email asking for a password reset, a new
    password): a plain hash of them could be checked against guesses by anyone who
    reads the table."""
    asked = {name: value for name, value in arguments.items() if name != "actor"}
    text = json.dumps([method, asked], sort_keys=True, default=str)
    return hmac.new(secret, text.encode(), hashlib.sha256).hexdigest()


def account_of(actor: Any) -> str | None:
    """The account an actor argument proves, "" for none given, None when it
    proves nothing (the method refuses it itself)."""
    if actor is None:
        return ""
    token = actor.get("assertion") if isinstance(actor, dict) else actor
    try:
        return str(assertions.verify(token).sub)
    except assertions.InvalidAssertion:
        return None


def window(handle: Any) -> timedelta:
    container = handle.container
    hours = typed.of(container, Settings).window_hours if container else WINDOW_HOURS
    return timedelta(hours=hours)


def reused() -> KeyReused:
    return KeyReused(
        "this request id was already used for a different request: reload the "
        "page (or, through the API, make a new Idempotency-Key) and send it again",
        REUSED,
        {"idempotency_key": ["already used for a different request"]},
    )


_NOT_YET = object()


def claim(
    session: Session,
    signer: str,
    account: str,
    key: str,
    method: str,
    digest: str,
    keep: timedelta,
) -> Any:
    """Take the key for this request (returns _NOT_YET: run the command), or the
    answer stored for it. A concurrent first copy holds the row: the insert waits
    until it commits (its answer), or rolls back (this one runs)."""
    table = CommandResult.__table__
    ident = {"signer": signer, "account": account, "key": key}
    taken = session.execute(
        insert(table)
        .values(**ident, method=method, request_hash=digest)
        .on_conflict_do_nothing()
        .returning(table.c.key)
    ).first()
    if taken is not None:
        return _NOT_YET
    row = session.get(
        CommandResult,
        (signer, account, key),
        with_for_update=True,
        populate_existing=True,
    )
    if row is None:  # purged between the two statements: take it again
        return claim(session, signer, account, key, method, digest, keep)
    if row.created_at < datetime.now(UTC) - keep:  # past the window: a new request
        session.delete(row)
        session.flush()
        return claim(session, signer, account, key, method, digest, keep)
    if row.method != method or row.request_hash != digest:
        raise reused()
    log.info("command repeated, first answer returned: %s", method)
    return json_loads(row.result) if row.result is not None else None


def store(session: Session, signer: str, account: str, key: str, result: Any) -> None:
    """The answer onto the row the claim inserted (this transaction's, locked by
    it): one UPDATE, no read of the row first."""
    table = CommandResult.__table__
    stored = session.execute(
        update(table)
        .where(table.c.signer == signer, table.c.account == account, table.c.key == key)
        .values(result=json_dumps(result))
    )
    assert getattr(stored, "rowcount", 1) == 1


def command(method: F) -> F:
    """Make a service's RPC method an idempotent command (see the module). The
    service provides `db` (svyaz.dependencies.Database)."""
    signature = inspect.signature(method)
    name = method.__name__

    @wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        handle: Any = getattr(self, "db", None)
        key = getattr(handle, "idempotency_key", None)
        pending: nonces.Pending | None = getattr(handle, "pending_nonce", None)
        if not key:
            take_alone(handle, pending)
            return method(self, *args, **kwargs)
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(list(bound.arguments.items())[1:])
        account = account_of(arguments.get("actor"))
        if account is None:  # who acts is not proven: the method says so
            take_alone(handle, pending)
            return method(self, *args, **kwargs)
        signer = handle.signer or ""
        service = getattr(handle.container, "service_name", None)
        digest = request_hash(name, arguments, signing.digest_key(service))
        refused: Exception | None = None
        with handle.command_transaction() as session:
            if pending is not None and not nonces.take(session, pending):
                raise nonces.Replayed(pending.nonce)
            # a refused command rolls back to here, and its nonce stays taken
            work = session.begin_nested() if pending is not None else None
            try:
                first = claim(
                    session, signer, account, key, name, digest, window(handle)
                )
                if first is not _NOT_YET:
                    return first
                result = method(self, *args, **kwargs)
                store(session, signer, account, key, result)
                return result
            except Exception as exc:
                if work is None:
                    raise
                work.rollback()
                handle.forget_after_commit()
                refused = exc
        assert refused is not None
        raise refused

    run.__signature__ = signature  # type: ignore[attr-defined]
    run.svyaz_command = True  # type: ignore[attr-defined]
    return run  # type: ignore[return-value]


def take_alone(handle: Any, pending: nonces.Pending | None) -> None:
    """A nonce left for a command that does not run as one (no key, no proven
    actor): taken in a transaction of its own before the method runs, as the RPC
    consumer takes every other request's."""
    if pending is None:
        return
    with handle.transaction() as session:
        fresh = nonces.take(session, pending)
    if not fresh:
        raise nonces.Replayed(pending.nonce)


def is_command(function: Any) -> bool:
    return bool(getattr(function, "svyaz_command", False))


def purge(session: Session, keep: timedelta, now: datetime | None = None) -> int:
    """Delete up to PURGE_BATCH rows past the window; the number deleted."""
    table = CommandResult.__table__
    cutoff = (now or datetime.now(UTC)) - keep
    oldest = (
        select(table.c.signer, table.c.account, table.c.key)
        .where(table.c.created_at < cutoff)
        .limit(PURGE_BATCH)
    )
    statement = delete(table).where(
        tuple_(table.c.signer, table.c.account, table.c.key).in_(oldest)
    )
    result = session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


class CommandUpkeep:
    """A service's purge of its command results past the window, a batch at a time,
    every `COMMAND_PURGE_INTERVAL` seconds (3600). The service class inherits it
    and has a `db` (svyaz.dependencies.Database)."""

    db: Any

    @timer("COMMAND_PURGE_INTERVAL", 3600.0)
    def purge_command_results(self) -> None:
        keep = window(self.db)
        while True:
            with self.db.transaction() as session:
                deleted = purge(session, keep)
            if deleted:
                log.info("command results purged: %d past the window", deleted)
            if deleted < PURGE_BATCH:
                return
