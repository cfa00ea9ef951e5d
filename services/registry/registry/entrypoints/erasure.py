"""The registry's entrypoints: erasure, the data keys, the blind indexes and the access
log."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError

from registry.entrypoints.base import Entrypoints, ident, load
from registry.exceptions import RegistryError
from registry.logic import (
    access,
    activity,
    erasure,
    indexes,
    keys,
)
from registry.logic.actors import Actor
from registry.schemas import (
    AccessLogPageSchema,
    AccessLogQuerySchema,
    ActivitySchema,
    DecisionSchema,
    ErasedEventSchema,
)
from svyaz import inbox
from svyaz.actors import ADMIN
from svyaz.commands import command
from svyaz.consuming import Unprocessable
from svyaz.envelope import ReceivedEvent
from svyaz.handlers import event_handler
from svyaz.keys import GATEWAY, OPERATOR
from svyaz.rpc import rpc
from svyaz.timers import timer

log = logging.getLogger(__name__)
REWRAP_BATCHES = 20  # of keys.rewrap's 500 each, per rewrap_keys call
KEY_UPKEEP_SECONDS = 10.0  # the access log's seal, a batch of blind indexes re-keyed
REKEY_BATCHES = 10  # of indexes.rekey's, per rekey_blind_indexes call
JOURNAL_TICK_SECONDS = 5.0


class ErasureEntrypoints(Entrypoints):
    # -- erasure, keys, the access log ----------------------------------------------
    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def erase(self, actor: Any, communicator_id: str, reason: str) -> dict[str, str]:
        who = Actor.load(actor)
        data = load(
            DecisionSchema(), {"communicator_id": communicator_id, "reason": reason}
        )
        with self.db.transaction() as session:
            erasure.erase(
                session, self.keys, who, data["communicator_id"], data["reason"]
            )
        # at once once committed; the timer catches what a crash left
        self.db.after_commit(self.journal_erasures)
        return {"status": "erased"}

    @event_handler("registry", "communicator.erased.v1")
    def on_communicator_erased(self, event: ReceivedEvent) -> None:
        """Close the erased person's Stripe account or recipient. A Stripe failure
        raises: the event is retried with backoff, then parked, and program admins
        see and retry it on the oversight console's parked work."""
        try:
            data = ErasedEventSchema().load(event.data)
        except ValidationError as exc:
            raise Unprocessable(f"bad payload: {exc.messages}") from None
        with self.db.transaction() as session:
            if inbox.claim(session, event):
                erasure.close_at_stripe(
                    session,
                    self.keys,
                    self.stripe,
                    data["communicator_id"],
                    datetime.now(UTC),
                )

    @timer("ERASURE_JOURNAL_INTERVAL", JOURNAL_TICK_SECONDS)
    def journal_erasures(self) -> None:
        """Erasures committed but not yet in the journal (a crash between the two,
        or the migration's list of older ones), written and marked."""
        try:
            with self.db.transaction() as session:
                rows = erasure.unjournaled(session)
                self.journal.append((r.communicator_id, r.erased_at) for r in rows)
                erasure.mark_journaled(rows, datetime.now(UTC))
        except OSError as exc:  # the erasures stay marked unwritten: tried again
            log.error(
                "the erasure journal could not be written (%s); trying again in %s s",
                type(exc).__name__,
                JOURNAL_TICK_SECONDS,
            )

    @rpc(callers={OPERATOR}, expected_exceptions=RegistryError)
    def replay_erasures(self, actor: Any) -> dict[str, Any]:
        """After restoring a backup: every id the erasure journal (or the restored
        table) lists is shredded again if the database holds data of theirs."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            report = erasure.replay(
                session, self.keys, who, self.journal.read(), datetime.now(UTC)
            )
        self.journal_erasures()
        return {
            "listed": report.listed,
            "shredded": [str(ident) for ident in report.shredded],
            "absent": report.absent,
            "closing": [str(ident) for ident in report.closing],
        }

    @rpc(callers={OPERATOR}, expected_exceptions=RegistryError)
    def rewrap_keys(self, actor: Any) -> dict[str, int]:
        """Re-wrap data keys under the current master key, a committed batch at a
        time (at most REWRAP_BATCHES per call); "remaining" is every data key,
        communicators' and accounts', still under an old master key: call again
        until it is 0, then the old key can leave MASTER_KEYS."""
        who = Actor.load(actor)
        done = 0
        for _ in range(REWRAP_BATCHES):
            with self.db.transaction() as session:
                batch = keys.rewrap(session, self.keys, who)
            done += batch
            if not batch:
                break
        with self.db.transaction() as session:
            return {
                "rewrapped": done,
                "remaining": keys.stale_count(session, self.keys),
            }

    @timer("KEY_UPKEEP_INTERVAL", KEY_UPKEEP_SECONDS, eager=True)
    def key_upkeep(self) -> None:
        """At start, seal the access log's older plain SHA-256 chain under the
        access-log key (once); then, every tick, re-key a batch of blind indexes
        made under another key than BLIND_INDEX_KEY_ID (REKEY_BATCH rows a table)."""
        with self.db.transaction() as session:
            access.seal(session, self.keys)
        batch = self.settings.rekey_batch
        if batch > 0:
            with self.db.transaction() as session:
                indexes.rekey(session, self.keys, batch)

    @rpc(callers={OPERATOR}, expected_exceptions=RegistryError)
    def rekey_blind_indexes(self, actor: Any) -> dict[str, Any]:
        """Re-key blind indexes now, a committed batch at a time (the timer does the
        same in the background); "remaining" per table is what still needs an old
        key: at 0 everywhere, the old key can leave BLIND_INDEX_KEYS."""
        Actor.load(actor).require(ADMIN)
        done = 0
        for _ in range(REKEY_BATCHES):
            with self.db.transaction() as session:
                batch = indexes.rekey(session, self.keys)
            done += batch
            if not batch:
                break
        with self.db.transaction() as session:
            return {
                "key_id": self.keys.index_current,
                "rekeyed": done,
                "remaining": indexes.stale_counts(session, self.keys),
            }

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def verify_access_log(self, actor: Any) -> dict[str, Any]:
        Actor.load(actor).require(ADMIN)
        with self.db.transaction() as session:
            report = access.verify(session, self.keys)
        return {
            "intact": report.intact,
            "rows": report.rows,
            "problems": report.problems,
        }

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def list_access_log(
        self, actor: Any, offset: int = 0, limit: int = 50, filters: Any = None
    ) -> dict[str, Any]:
        """{"items": [...], "total": n}: who read whose personal data, newest
        first; ids, pseudonyms, field names and purposes, never a value."""
        who = Actor.load(actor)
        query = load(
            AccessLogQuerySchema(),
            {"offset": offset, "limit": limit, "filters": filters or {}},
        )
        with self.db.transaction() as session:
            return AccessLogPageSchema().dump(
                access.list_log(
                    session, who, query["offset"], query["limit"], query["filters"]
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def get_communicator_activity(
        self, actor: Any, communicator_id: str
    ) -> list[dict[str, Any]]:
        """What happened to a communicator record, oldest first."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return ActivitySchema(many=True).dump(
                activity.communicator_activity(session, who, ident(communicator_id))
            )
