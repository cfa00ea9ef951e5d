"""The registry service: entrypoints only. Each loads its input with a schema, opens
one transaction, calls one logic function and dumps the result."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from marshmallow import ValidationError
from nameko.dependency_providers import Config

from registry.dependencies import ErasureJournal, Stripe, Vault
from registry.exceptions import InvalidRequest, RegistryError
from registry.logic import (
    access,
    accounts,
    activity,
    applications,
    clubs,
    directory,
    erasure,
    indexes,
    keys,
    payouts,
    staff,
    vetting,
    vouches,
)
from registry.logic.actors import Actor
from registry.schemas import (
    AccessLogPageSchema,
    AccessLogQuerySchema,
    AccountUpdatedSchema,
    ActivitySchema,
    ApplicationReceivedSchema,
    ApplicationSchema,
    BankDetailsSchema,
    ClubChangesSchema,
    ClubMemberSchema,
    ClubOutSchema,
    ClubSchema,
    CommunicatorSummarySchema,
    CompletionsSchema,
    ContactRequestSchema,
    ContactSchema,
    CoordinatorSchema,
    CorridorSchema,
    DecisionSchema,
    ErasedEventSchema,
    ReviewResolutionSchema,
    SearchSchema,
    SignInSchema,
    StaffAccountSchema,
    StaffContactRequestSchema,
    StaffInvitationSchema,
    StaffOutSchema,
    TierSchema,
    TrainingOutSchema,
    TrainingSchema,
    VouchAnswerSchema,
    VouchRequestSchema,
)
from svyaz import arguments, inbox
from svyaz.actors import ADMIN
from svyaz.dependencies import Caller, Database, OutboxRelay
from svyaz.envelope import ReceivedEvent
from svyaz.keys import FINANCE_CLI, GATEWAY, NOTIFICATIONS, OPERATOR, STIPENDS
from svyaz.messaging import Unprocessable, event_handler, rpc
from svyaz.metrics import Observed
from svyaz.parking import ParkedMessagesEntrypoints
from svyaz.timers import timer

load = arguments.loader(InvalidRequest)
ident = arguments.id_loader(InvalidRequest)


log = logging.getLogger(__name__)
SUMMARY = CommunicatorSummarySchema()
REWRAP_BATCHES = 20  # of keys.rewrap's 500 each, per rewrap_keys call
KEY_UPKEEP_SECONDS = 10.0  # the access log's seal, a batch of blind indexes re-keyed
REKEY_BATCHES = 10  # of indexes.rekey's, per rekey_blind_indexes call
JOURNAL_TICK_SECONDS = 5.0


class RegistryService(ParkedMessagesEntrypoints):
    name = "registry"

    db = Database()
    outbox = OutboxRelay()
    observed = Observed()
    keys = Vault()
    stripe = Stripe()
    caller = Caller()
    config = Config()
    journal = ErasureJournal()

    # -- applying ------------------------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def apply(self, application: dict[str, Any]) -> dict[str, Any]:
        data = load(ApplicationSchema(), application)
        with self.db.transaction() as session:
            applications.apply(session, self.keys, data, datetime.now(UTC))
        return ApplicationReceivedSchema().dump({})

    # -- vetting -------------------------------------------------------------------
    def _decision(self, step: Any, actor: Any, payload: dict[str, Any]) -> Any:
        who = Actor.load(actor)
        data = load(DecisionSchema(), payload)
        with self.db.transaction() as session:
            return SUMMARY.dump(
                step(session, who, data["communicator_id"], data["reason"])
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def start_review(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(
            vetting.start_review,
            actor,
            {"communicator_id": communicator_id, "reason": reason},
        )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def approve(self, actor: Any, communicator_id: str, reason: str) -> Any:
        who = Actor.load(actor)
        data = load(
            DecisionSchema(), {"communicator_id": communicator_id, "reason": reason}
        )
        with self.db.transaction() as session:
            return SUMMARY.dump(
                vetting.approve(
                    session, self.keys, who, data["communicator_id"], data["reason"]
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def reject(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(
            vetting.reject,
            actor,
            {"communicator_id": communicator_id, "reason": reason},
        )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def suspend(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(
            vetting.suspend,
            actor,
            {"communicator_id": communicator_id, "reason": reason},
        )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def reinstate(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(
            vetting.reinstate,
            actor,
            {"communicator_id": communicator_id, "reason": reason},
        )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def offboard(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(
            vetting.offboard,
            actor,
            {"communicator_id": communicator_id, "reason": reason},
        )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def get_application(self, actor: Any, communicator_id: str) -> Any:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            view = vetting.application_view(
                session, self.keys, who, ident(communicator_id)
            )
        return {
            **view,
            "id": str(view["id"]),
            "open_review_items": [
                {"id": str(i["id"]), "kind": i["kind"]}
                for i in view["open_review_items"]
            ],
        }

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def list_review_items(self, actor: Any) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            items = vetting.list_review_items(session, who)
        return [{**item, "id": str(item["id"])} for item in items]

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def resolve_review_item(
        self, actor: Any, item_id: str, outcome: str, note: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(
            ReviewResolutionSchema(),
            {"item_id": item_id, "outcome": outcome, "note": note},
        )
        with self.db.transaction() as session:
            item = vetting.resolve_review_item(
                session, who, data["item_id"], data["outcome"], data["note"]
            )
            return {"id": str(item.id), "status": item.status}

    # -- lookup --------------------------------------------------------------------
    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def find_communicators(self, actor: Any, query: Any) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        criteria = load(SearchSchema(), query)
        with self.db.transaction() as session:
            return SUMMARY.dump(
                directory.find(session, self.keys, who, criteria), many=True
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def get_profile(self, actor: Any, communicator_id: str, purpose: str) -> Any:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            view = directory.profile(
                session, self.keys, who, ident(communicator_id), str(purpose)
            )
        return {**view, "id": str(view["id"])}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def get_consent_text(self) -> dict[str, str]:
        with self.db.transaction() as session:
            text = applications.current_consent(session)
            return {"version": text.version, "en": text.body_en, "ru": text.body_ru}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def get_own_status(self, actor: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            communicator = directory.own_status(session, who)
            return {
                **SUMMARY.dump(communicator),
                "payout_setup": payouts.setup_status(session, communicator.id),
                "vouch_requests": vouches.pending_count(
                    session, communicator.id, datetime.now(UTC)
                ),
            }

    # -- vouching ------------------------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def list_vouch_requests(self, actor: Any) -> list[dict[str, Any]]:
        """The vouch requests naming the signed-in member, applications not yet
        decided: the applicant's pseudonym and, while pending, city (logged)."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return VouchRequestSchema(many=True).dump(
                vouches.list_requests(session, self.keys, who, datetime.now(UTC))
            )

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def answer_vouch(self, actor: Any, vouch_id: str, answer: str) -> dict[str, Any]:
        """The member named confirms or declines (`answer`), once."""
        who = Actor.load(actor)
        data = load(VouchAnswerSchema(), {"vouch_id": vouch_id, "answer": answer})
        with self.db.transaction() as session:
            vouch = vouches.answer(
                session,
                who,
                data["vouch_id"],
                data["answer"] == "confirm",
                datetime.now(UTC),
            )
            return {"id": str(vouch.id), "state": vouch.status}

    @rpc(callers={NOTIFICATIONS}, expected_exceptions=RegistryError)
    def get_contact(self, communicator_id: str, purpose: str) -> dict[str, Any]:
        request = load(
            ContactRequestSchema(),
            {"communicator_id": communicator_id, "purpose": purpose},
        )
        with self.db.transaction() as session:
            contact = directory.contact(
                session,
                self.keys,
                request["communicator_id"],
                self.caller,
                request["purpose"],
            )
        return ContactSchema().dump(contact)

    @rpc(callers={NOTIFICATIONS}, expected_exceptions=RegistryError)
    def list_staff_ids(self, role: str) -> list[str]:
        """Who holds a staff role (ids only), for the notifications service."""
        request = load(
            StaffContactRequestSchema(), {"role": role, "purpose": "listing staff"}
        )
        with self.db.transaction() as session:
            found = accounts.staff_ids(session, request["role"], self.caller)
        return [str(ident) for ident in found]

    @rpc(callers={NOTIFICATIONS}, expected_exceptions=RegistryError)
    def get_staff_contact(self, account_id: str, purpose: str) -> dict[str, str]:
        """One staff member's email at send time, for the notifications service."""
        request = load(
            StaffContactRequestSchema(), {"role": "staff", "purpose": purpose}
        )
        with self.db.transaction() as session:
            email = accounts.staff_contact(
                session,
                self.keys,
                ident(account_id, "account_id"),
                self.caller,
                request["purpose"],
            )
        return {"account_id": str(account_id), "email": email}

    # -- clubs, trainings, tiers ---------------------------------------------------
    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def create_club(self, actor: Any, club: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(ClubSchema(), club)
        with self.db.transaction() as session:
            return ClubOutSchema().dump(clubs.create_club(session, who, data))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def update_club(self, actor: Any, club_id: str, changes: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        club = ident(club_id, "club_id")
        data = load(ClubChangesSchema(), changes)
        with self.db.transaction() as session:
            return ClubOutSchema().dump(clubs.update_club(session, who, club, data))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def set_club_coordinator(
        self, actor: Any, club_id: str, account_id: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(CoordinatorSchema(), {"club_id": club_id, "account_id": account_id})
        with self.db.transaction() as session:
            return ClubOutSchema().dump(
                clubs.set_club_coordinator(
                    session, who, data["club_id"], data["account_id"]
                )
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def remove_club_coordinator(self, actor: Any, club_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        club = ident(club_id, "club_id")
        with self.db.transaction() as session:
            return ClubOutSchema().dump(
                clubs.remove_club_coordinator(session, who, club)
            )

    @rpc(callers={GATEWAY, OPERATOR, STIPENDS}, expected_exceptions=RegistryError)
    def list_clubs(self) -> list[dict[str, Any]]:
        """Every club with its coordinator's account id (stipends asks it to know
        whose strategies and reports a coordinator mentors)."""
        with self.db.transaction() as session:
            return ClubOutSchema().dump(clubs.list_clubs(session), many=True)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def club_members(self, actor: Any, club_id: str) -> list[str]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return clubs.club_members(session, who, ident(club_id, "club_id"))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def list_club_members(self, actor: Any, club_id: str) -> list[dict[str, Any]]:
        """[{id, pseudonym, status}]: the club's own coordinator and admins only."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return ClubMemberSchema(many=True).dump(
                clubs.list_club_members(session, who, ident(club_id, "club_id"))
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def create_training(self, actor: Any, training: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(TrainingSchema(), training)
        with self.db.transaction() as session:
            row = clubs.create_training(
                session, who, data["title"], data["held_on"], data["club_id"]
            )
            return {"id": str(row.id), "title": row.title}

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def list_trainings(self, actor: Any) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return TrainingOutSchema(many=True).dump(clubs.list_trainings(session, who))

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def record_training_completion(
        self, actor: Any, training_id: str, communicator_id: str
    ) -> None:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            clubs.record_completion(
                session, who, ident(training_id, "training_id"), ident(communicator_id)
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def record_training_completions(
        self, actor: Any, training_id: str, communicator_ids: Any
    ) -> dict[str, Any]:
        """{"recorded": n, "already": n, "refused": [{communicator_id, code,
        message}]}: up to 500 at once, in one transaction."""
        who = Actor.load(actor)
        data = load(
            CompletionsSchema(),
            {"training_id": training_id, "communicator_ids": communicator_ids},
        )
        with self.db.transaction() as session:
            return clubs.record_completions(
                session, who, data["training_id"], data["communicator_ids"]
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def set_tier(self, actor: Any, communicator_id: str, tier: str, reason: str) -> Any:
        who = Actor.load(actor)
        data = load(
            TierSchema(),
            {"communicator_id": communicator_id, "tier": tier, "reason": reason},
        )
        with self.db.transaction() as session:
            return SUMMARY.dump(
                clubs.set_tier(
                    session, who, data["communicator_id"], data["tier"], data["reason"]
                )
            )

    # -- payouts -------------------------------------------------------------------
    @rpc(callers={GATEWAY, STIPENDS, OPERATOR}, expected_exceptions=RegistryError)
    def list_corridors(self) -> list[dict[str, str]]:
        with self.db.transaction() as session:
            return [
                {"country": c.country, "provider": c.provider}
                for c in payouts.corridors(session)
            ]

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def set_corridor(self, actor: Any, country: str, provider: str) -> dict[str, str]:
        who = Actor.load(actor)
        data = load(CorridorSchema(), {"country": country, "provider": provider})
        with self.db.transaction() as session:
            row = payouts.set_corridor(session, who, data["country"], data["provider"])
            return {"country": row.country, "provider": row.provider}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def start_payout_setup(self, actor: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return payouts.start_payout_setup(session, self.keys, self.stripe, who)

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def refresh_payout_setup(self, actor: Any) -> dict[str, str]:
        """Back from a hosted onboarding: a Global Payouts recipient is checked with
        Stripe at once (Connect accounts are told by webhook)."""
        who = Actor.load(actor)
        who.require("communicator")
        with self.db.transaction() as session:
            return {
                "status": payouts.refresh_payout_setup(
                    session, self.keys, self.stripe, who
                )
            }

    @timer("RECIPIENT_CHECK_SECONDS", 300.0, eager=True)
    def check_recipients(self) -> None:
        """Global Payouts recipients still pending, asked every
        RECIPIENT_CHECK_SECONDS: ready once Stripe holds their payout method."""
        with self.db.transaction() as session:
            pending = payouts.pending_recipients(session)
        for communicator_id in pending:
            with self.db.transaction() as session:
                payouts.check_recipient(
                    session, self.keys, self.stripe, communicator_id
                )

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def set_bank_details(self, actor: Any, details: Any) -> dict[str, str]:
        who = Actor.load(actor)
        data = load(BankDetailsSchema(), details)
        with self.db.transaction() as session:
            payouts.set_bank_details(session, self.keys, who, data)
        return {"status": "ready"}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def stripe_account_updated(
        self, account_id: str, transfers_active: bool
    ) -> dict[str, bool]:
        data = load(
            AccountUpdatedSchema(),
            {"account_id": account_id, "transfers_active": transfers_active},
        )
        with self.db.transaction() as session:
            changed = payouts.stripe_account_updated(
                session, self.keys, data["account_id"], data["transfers_active"]
            )
        return {"changed": changed}

    @rpc(callers={STIPENDS}, expected_exceptions=RegistryError)
    def get_payout_destination(
        self, communicator_id: str, purpose: str
    ) -> dict[str, Any]:
        with self.db.transaction() as session:
            return payouts.payout_destination(
                session, self.keys, self.caller, ident(communicator_id), str(purpose)
            )

    # -- erasure, keys, the access log ----------------------------------------------
    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    def erase(self, actor: Any, communicator_id: str, reason: str) -> dict[str, str]:
        who = Actor.load(actor)
        data = load(
            DecisionSchema(), {"communicator_id": communicator_id, "reason": reason}
        )
        with self.db.transaction() as session:
            erasure.erase(
                session, self.keys, who, data["communicator_id"], data["reason"]
            )
        self.journal_erasures()  # at once; the timer catches what a crash left
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
        batch = int(self.config.get("REKEY_BATCH", indexes.BATCH))
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

    # -- signing in -----------------------------------------------------------------
    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=RegistryError)
    def sign_in(
        self,
        email: str,
        password: str,
        code: str | None = None,
        step_up: bool = False,
    ) -> dict[str, Any]:
        """{"status": ok|second_factor|enroll|invalid, "actor": ..., ...}; the gateway
        gives every failure the same neutral answer. `step_up`: the gateway's
        throttling bucket of this account is full; only the right password with a
        valid code passes (accounts.sign_in)."""
        try:
            data = SignInSchema().load(
                {"email": email, "password": password, "code": code}
            )
        except ValidationError:
            return {"status": "invalid", "actor": None, "enrollment_uri": None}
        with self.db.transaction() as session:
            result = accounts.sign_in(
                session,
                self.keys,
                data["email"],
                data["password"],
                data["code"],
                step_up=step_up is True,
            )
        actor = result.assertion  # ok and enroll: with the signed assertion
        if actor is None and result.actor is not None and result.status != "invalid":
            actor = {"id": str(result.actor.id), "roles": sorted(result.actor.roles)}
        return {
            "status": result.status,
            "actor": actor,
            "enrollment_uri": result.enrollment_uri,
        }

    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=RegistryError)
    def confirm_second_factor(self, actor: Any, code: str) -> dict[str, Any]:
        """{"confirmed", "actor"}: the first code of a new authenticator; the
        answer's actor carries the full assertion of the same sign-in."""
        who = Actor.load(actor, enrolling=True)
        with self.db.transaction() as session:
            signed = accounts.confirm_second_factor(session, self.keys, who, str(code))
        return {"confirmed": signed is not None, "actor": signed}

    @rpc(callers={GATEWAY, FINANCE_CLI, OPERATOR}, expected_exceptions=RegistryError)
    def renew_assertion(self, assertion: Any) -> dict[str, Any]:
        """A new assertion for a current sign-in, against the account as it is now
        (roles, disabled, the communicator's status); refused when it may no longer
        act. The gateway renews before each assertion runs out."""
        with self.db.transaction() as session:
            return accounts.renew(session, str(assertion))

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def request_password_reset(self, email: str) -> dict[str, str]:
        """Always the same answer, whether or not the email has an account."""
        if isinstance(email, str) and 3 <= len(email) <= 254:
            with self.db.transaction() as session:
                accounts.request_reset(
                    session, self.keys, email.strip(), datetime.now(UTC)
                )
        return {"status": "requested"}

    @rpc(callers={NOTIFICATIONS}, expected_exceptions=RegistryError)
    def issue_password_reset(self, reset_id: str) -> dict[str, Any]:
        """A new one-time token and the address, for the notifications service."""
        with self.db.transaction() as session:
            issued = accounts.issue_reset(
                session,
                self.keys,
                ident(reset_id, "reset_id"),
                self.caller,
                datetime.now(UTC),
            )
        return {
            **issued,
            "account_id": str(issued["account_id"]),
            "expires_at": issued["expires_at"].isoformat(),
        }

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def reset_password(self, token: str, password: str) -> dict[str, str]:
        if not isinstance(token, str) or not isinstance(password, str):
            raise InvalidRequest("token and password are text", "invalid_request")
        with self.db.transaction() as session:
            account_id = accounts.reset_password(
                session, token, password, datetime.now(UTC)
            )
        return {"account_id": str(account_id)}

    @rpc(callers={GATEWAY, FINANCE_CLI}, expected_exceptions=RegistryError)
    def offer_second_factor(self, actor: Any) -> dict[str, str]:
        """A communicator turns TOTP on: the secret to scan, confirmed by
        `confirm_second_factor` with a code from the app."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            uri = accounts.offer_second_factor(session, self.keys, who)
        return {"enrollment_uri": uri}

    @rpc(callers={GATEWAY, STIPENDS}, expected_exceptions=RegistryError)
    def verify_second_factor(self, actor: Any, code: str) -> dict[str, bool]:
        """Is this a current code of the actor's authenticator (for the gateway)?"""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            verified = accounts.verify_second_factor(
                session, self.keys, who, str(code), datetime.now(UTC)
            )
        return {"verified": verified}

    @rpc(callers={OPERATOR}, expected_exceptions=RegistryError)
    def create_staff_account(self, actor: Any, account: Any) -> dict[str, Any]:
        who = Actor.load(actor)
        data = load(StaffAccountSchema(), account)
        with self.db.transaction() as session:
            row = accounts.create_staff_account(
                session,
                self.keys,
                who,
                data["email"],
                data["roles"],
                data["password"],
            )
            return {"id": str(row.id), "roles": sorted(row.role_set)}

    # -- staff accounts' life cycle ----------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def list_staff(self, actor: Any) -> list[dict[str, Any]]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            return StaffOutSchema(many=True).dump(staff.list_staff(session, who))

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def invite_staff(self, actor: Any, invitation: Any) -> dict[str, Any]:
        """A staff account with no password, and a one-time link (72 h) mailed to
        the invitee, who sets their own password and authenticator."""
        who = Actor.load(actor)
        data = load(StaffInvitationSchema(), invitation)
        with self.db.transaction() as session:
            row = staff.invite(
                session,
                self.keys,
                who,
                data["email"],
                data["roles"],
                datetime.now(UTC),
            )
            return {"id": str(row.id), "roles": sorted(row.role_set)}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def disable_staff(self, actor: Any, account_id: str) -> dict[str, Any]:
        """Signing in and renewals stop at once for this account."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            row = staff.set_disabled(session, who, ident(account_id), True)
            return {"id": str(row.id), "disabled": True}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def enable_staff(self, actor: Any, account_id: str) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            row = staff.set_disabled(session, who, ident(account_id), False)
            return {"id": str(row.id), "disabled": False}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def request_second_factor_reset(
        self, actor: Any, account_id: str, reason: str
    ) -> dict[str, Any]:
        who = Actor.load(actor)
        with self.db.transaction() as session:
            reset = staff.request_second_factor_reset(
                session, who, ident(account_id), str(reason or ""), datetime.now(UTC)
            )
            return {"id": str(reset.id), "account_id": str(reset.account_id)}

    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    def approve_second_factor_reset(self, actor: Any, reset_id: str) -> dict[str, Any]:
        """The second admin: the person enrolls a new authenticator at their next
        sign-in."""
        who = Actor.load(actor)
        with self.db.transaction() as session:
            row = staff.approve_second_factor_reset(
                session, who, ident(reset_id, "reset_id"), datetime.now(UTC)
            )
            return {"id": str(row.id), "second_factor": "reset"}
