"""Nonces of RPC requests, remembered for the replay window in the service's database.

A signed RPC request carries a random nonce. The service's RPC consumer records
(signer, nonce) here before the method runs; a second request with the same pair
within the window is a replay and is refused. An idempotent command's request with
its key (svyaz.commands) leaves its nonce to the command, which records it first
thing in its own transaction (one commit for the request, not two) and keeps it
taken when the command is refused (the command's work rolls back to a savepoint
taken after it). The table is shared by every replica,
so a replay is caught whichever replica the broker hands it to. Rows older than the
window are useless (such a request is refused for its age anyway) and are purged.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from svyaz.db import statements

_RECORD = text(
    "INSERT INTO bus_nonces (signer, nonce, expires_at) VALUES (:signer, :nonce, :exp)"
    " ON CONFLICT DO NOTHING RETURNING 1"
)
_PURGE = text("DELETE FROM bus_nonces WHERE expires_at < now()")
PURGE_EVERY = 60.0  # seconds


class Replayed(Exception):
    """A command's request whose nonce was already taken: a replayed copy, parked
    unanswered (svyaz.rpc)."""


@dataclass(frozen=True)
class Pending:
    """A request's nonce the RPC consumer did not record itself: an idempotent
    command's (svyaz.commands) records it in the command's own transaction, so the
    request costs one commit, not two. `redelivered`: the broker's own redelivery,
    the same request, never a replay."""

    signer: str
    nonce: str
    expires: float  # when the nonce may be forgotten (epoch seconds)
    redelivered: bool

    def text(self) -> str:
        """As the worker's context carries it (no signer: the worker's caller)."""
        return f"{int(self.redelivered)}:{self.expires!r}:{self.nonce}"

    @classmethod
    def parse(cls, signer: str, text: str) -> Pending:
        redelivered, expires, nonce = text.split(":", 2)
        return cls(signer, nonce, float(expires), redelivered == "1")


def values(signer: str, nonce: str, expires: float) -> dict[str, Any]:
    when = datetime.fromtimestamp(expires, UTC)
    return {"signer": signer[:64], "nonce": nonce[:64], "exp": when}


def take(session: Any, pending: Pending) -> bool:
    """Record the nonce in the caller's transaction (it commits with it); False
    if it was taken already and this is not the broker's redelivery: a replay. A
    copy of a request whose first copy is still under way waits here on the first
    one's row until it commits (then: a replay) or rolls back (then: taken now)."""
    row = values(pending.signer, pending.nonce, pending.expires)
    taken = session.execute(_RECORD, row).first()
    return taken is not None or pending.redelivered


class NonceStore:
    def __init__(self, engine: Engine, window: float):
        self.engine = engine
        self.window = window
        self._purged = 0.0

    def fresh(self, signer: str, nonce: str, ts: float) -> bool:
        """Record the nonce; False if it was already seen within the window. One
        statement, committed on its own (`svyaz.db.statements`): the engine does
        not ping a connection before use (a hot path); a connection found dead is
        replaced and the write tried once more."""
        row = values(signer, nonce, ts + self.window)
        try:
            return self._record(row)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            return self._record(row)

    def pending(self, signer: str, nonce: str, ts: float, redelivered: bool) -> Pending:
        """The nonce, left for a command to take in its transaction."""
        return Pending(signer, nonce, ts + self.window, redelivered)

    def purge_when_due(self) -> None:
        """Delete the nonces past the window, at most once a PURGE_EVERY (the
        consumer's own recording does it too; a service whose requests are all
        commands records none itself)."""
        if time.monotonic() - self._purged > PURGE_EVERY:
            self._purged = time.monotonic()
            with self.engine.begin() as connection:
                connection.execute(_PURGE)

    def _record(self, values: dict[str, object]) -> bool:
        """One INSERT, committed on its own (no BEGIN, no COMMIT to wait on)."""
        with statements(self.engine) as connection:
            taken = connection.execute(_RECORD, values).first()
            if time.monotonic() - self._purged > PURGE_EVERY:
                self._purged = time.monotonic()
                connection.execute(_PURGE)
        return taken is not None
