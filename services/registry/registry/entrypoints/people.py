"""The registry's entrypoints: applying, vetting, looking people up, vouching, and
contacts for the services that mail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from registry.entrypoints.base import Entrypoints, ident, load
from registry.exceptions import RegistryError
from registry.logic import (
    accounts,
    applications,
    directory,
    payouts,
    vetting,
    vouches,
)
from registry.logic.actors import Actor
from registry.schemas import (
    ApplicationReceivedSchema,
    ApplicationSchema,
    CommunicatorSummarySchema,
    ContactRequestSchema,
    ContactSchema,
    ContactsItemSchema,
    ContactsRequestSchema,
    DecisionSchema,
    ReviewResolutionSchema,
    SearchSchema,
    StaffContactRequestSchema,
    VouchAnswerSchema,
    VouchRequestSchema,
)
from svyaz.commands import command
from svyaz.keys import GATEWAY, NOTIFICATIONS, OPERATOR
from svyaz.rpc import rpc

SUMMARY = CommunicatorSummarySchema()


class PeopleEntrypoints(Entrypoints):
    # -- applying ------------------------------------------------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=RegistryError)
    @command
    def apply(self, application: dict[str, Any]) -> dict[str, Any]:
        data = load(ApplicationSchema(), application)
        with self.db.transaction() as session:
            applications.apply(session, self.keys, data, datetime.now(UTC))
        return ApplicationReceivedSchema().dump({})

    # -- vetting -------------------------------------------------------------------
    def _decision(
        self, step: Any, actor: Any, communicator_id: str, reason: str
    ) -> Any:
        """A vetting decision: `step(session, actor, communicator_id, reason)`."""
        who = Actor.load(actor)
        data = load(
            DecisionSchema(), {"communicator_id": communicator_id, "reason": reason}
        )
        with self.db.transaction() as session:
            return SUMMARY.dump(
                step(session, who, data["communicator_id"], data["reason"])
            )

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def start_review(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(vetting.start_review, actor, communicator_id, reason)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def approve(self, actor: Any, communicator_id: str, reason: str) -> Any:
        who = Actor.load(actor)
        data = load(
            DecisionSchema(), {"communicator_id": communicator_id, "reason": reason}
        )
        with self.db.transaction() as session:
            communicator = vetting.approve(
                session, self.keys, who, data["communicator_id"], data["reason"]
            )
            # where the activation stands: one more approval needed, or done
            return {
                **SUMMARY.dump(communicator),
                **vetting.approval_progress(session, communicator),
            }

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def reject(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(vetting.reject, actor, communicator_id, reason)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def suspend(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(vetting.suspend, actor, communicator_id, reason)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def reinstate(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(vetting.reinstate, actor, communicator_id, reason)

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=RegistryError)
    @command
    def offboard(self, actor: Any, communicator_id: str, reason: str) -> Any:
        return self._decision(vetting.offboard, actor, communicator_id, reason)

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
            "club_id": str(view["club_id"]) if view["club_id"] else None,
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
    @command
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
    @command
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
    def get_contacts(
        self, ids: list[str], purpose: str, audience: str = "communicator"
    ) -> list[dict[str, Any]]:
        """`get_contact` (or `get_staff_contact`, audience "staff") for up to 100
        people in one call, each read logged; unknown ids, erased communicators and
        disabled staff are left out of the answer (the caller treats them as gone)."""
        request = load(
            ContactsRequestSchema(),
            {"ids": ids, "purpose": purpose, "audience": audience},
        )
        with self.db.transaction() as session:
            if request["audience"] == "staff":
                found = [  # the language invited in: a default, not a choice
                    {"id": account_id, "email": email, "default_language": language}
                    for account_id, email, language in accounts.staff_contacts(
                        session,
                        self.keys,
                        request["ids"],
                        self.caller,
                        request["purpose"],
                    )
                ]
            else:
                found = [
                    {
                        "id": c.communicator_id,
                        "email": c.email,
                        "language": c.language,
                        "signs_in": c.signs_in,
                    }
                    for c in directory.contacts(
                        session,
                        self.keys,
                        request["ids"],
                        self.caller,
                        request["purpose"],
                    )
                ]
        return ContactsItemSchema(many=True).dump(found)

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
        """One staff member's email at send time, for the notifications service, and
        the language they were invited in (theirs until they choose another)."""
        request = load(
            StaffContactRequestSchema(), {"role": "staff", "purpose": purpose}
        )
        with self.db.transaction() as session:
            email, language = accounts.staff_contact(
                session,
                self.keys,
                ident(account_id, "account_id"),
                self.caller,
                request["purpose"],
            )
        return {
            "account_id": str(account_id),
            "email": email,
            "default_language": language,
        }
