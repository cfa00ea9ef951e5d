"""Nonces of RPC requests, remembered for the replay window in the service's database.

A signed RPC request carries a random nonce. The service's RPC consumer records
(signer, nonce) here before the method runs; a second request with the same pair
within the window is a replay and is refused. The table is shared by every replica,
so a replay is caught whichever replica the broker hands it to. Rows older than the
window are useless (such a request is refused for its age anyway) and are purged.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

_RECORD = text(
    "INSERT INTO bus_nonces (signer, nonce, expires_at) VALUES (:signer, :nonce, :exp)"
    " ON CONFLICT DO NOTHING RETURNING 1"
)
_PURGE = text("DELETE FROM bus_nonces WHERE expires_at < now()")
PURGE_EVERY = 60.0  # seconds


class NonceStore:
    def __init__(self, engine: Engine, window: float):
        self.engine = engine
        self.window = window
        self._purged = 0.0

    def fresh(self, signer: str, nonce: str, ts: float) -> bool:
        """Record the nonce; False if it was already seen within the window. One
        statement and its commit: the engine does not ping a connection before
        use (a hot path); a connection found dead is replaced and the write tried
        once more."""
        expires = datetime.fromtimestamp(ts, UTC) + timedelta(seconds=self.window)
        values = {"signer": signer[:64], "nonce": nonce[:64], "exp": expires}
        try:
            return self._record(values)
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            return self._record(values)

    def _record(self, values: dict[str, object]) -> bool:
        with self.engine.begin() as connection:
            taken = connection.execute(_RECORD, values).first()
            if time.monotonic() - self._purged > PURGE_EVERY:
                self._purged = time.monotonic()
                connection.execute(_PURGE)
        return taken is not None
