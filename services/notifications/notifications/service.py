"""The notifications service: entrypoints only. Each loads its input with a schema
and calls one use case in `logic` (which opens the transactions it needs, see
`logic.courier`), then dumps the result.

An event handler claims the event (a redelivery finds its claim and does nothing),
and in that one transaction writes the inbox rows and the deliveries (unique per
event, recipient and channel) and leases the mails due now; once it has committed
they are sent and their outcomes recorded. Most handlers are batched (up to 100
events in one transaction, their mails sent together after its commit: one contact
call and one recording statement for the batch); those that commit more than once
per event (password resets, digests, finance fan-out) stay single.
The `send_due` timer sends what waited (quiet hours) or failed (retries with backoff),
and `send_digests` tells program admins what is waiting for them.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from marshmallow import Schema, ValidationError

from notifications import metrics as notifications_metrics
from notifications.dependencies import Channels, Contacts
from notifications.exceptions import InvalidPreferences
from notifications.logic import (
    applications,
    digests,
    erasure,
    finance,
    inbox,
    parked,
    payouts,
    preferences,
    recipients,
    reminders,
    resets,
    reviews,
    work,
)
from notifications.logic.courier import Act, Courier
from notifications.logic.recipients import Recipient
from notifications.models import COMMUNICATOR, staff_audience
from notifications.schemas import (
    CommunicatorAppliedIn,
    CommunicatorIdIn,
    CommunicatorPayoutSetupNeededIn,
    CycleClosedIn,
    CycleOpenedIn,
    InboxMessageOut,
    InboxQueryIn,
    ParkedActionIn,
    ParkedOut,
    PasswordResetRequestedIn,
    PayoutFailedIn,
    PayoutIn,
    PreferencesIn,
    PreferencesOut,
    ReceiptResolvedIn,
    ReconciliationCompletedIn,
    ReportFeedbackGivenIn,
    ReportReviewedIn,
    ReportSubmittedIn,
    RunBuiltIn,
    RunReleasedIn,
    StipendIn,
    StipendRejectedIn,
    StrategyCommentedIn,
    StrategySharedIn,
    VouchRequestedIn,
)
from notifications.settings import Settings
from svyaz import actors
from svyaz.commands import CommandUpkeep, command
from svyaz.consuming import Unprocessable
from svyaz.dependencies import Database, OutboxRelay
from svyaz.envelope import ReceivedEvent
from svyaz.errors import Forbidden, NotFound
from svyaz.handlers import BATCH, event_handler
from svyaz.inbox import InboxUpkeep
from svyaz.keys import GATEWAY, OPERATOR
from svyaz.metrics import Observed
from svyaz.parking import ParkedMessagesEntrypoints
from svyaz.rpc import rpc
from svyaz.settings import Configured
from svyaz.timers import timer

log = logging.getLogger(__name__)

# marshmallow schemas are costly to build and safe to share
SCHEMAS: dict[type[Schema], Schema] = {
    schema: schema()
    for schema in (
        CommunicatorAppliedIn,
        CommunicatorIdIn,
        CommunicatorPayoutSetupNeededIn,
        ReportSubmittedIn,
        ReportReviewedIn,
        ReportFeedbackGivenIn,
        StrategySharedIn,
        StrategyCommentedIn,
        StipendIn,
        StipendRejectedIn,
        CycleClosedIn,
        CycleOpenedIn,
        PasswordResetRequestedIn,
        RunBuiltIn,
        RunReleasedIn,
        ReconciliationCompletedIn,
        PayoutIn,
        PayoutFailedIn,
        ReceiptResolvedIn,
        VouchRequestedIn,
    )
}


def payload_of(event: ReceivedEvent, schema: type[Schema]) -> dict[str, Any]:
    """An event's payload through its shared schema; a bad one is parked."""
    try:
        return dict(SCHEMAS[schema].load(event.data))
    except ValidationError as exc:
        raise Unprocessable(f"bad payload: {exc.messages}") from None


def load(schema: Schema, data: Any) -> dict[str, Any]:
    try:
        return schema.load(data if data is not None else {})
    except ValidationError as exc:
        raise InvalidPreferences(
            "the request is invalid", "invalid_input", exc.messages_dict
        ) from None


def whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPreferences(
            f"{name} must be an integer", "invalid_input", {name: ["not an integer"]}
        )
    return value


def actor_of(data: Any) -> recipients.Recipient:
    """The signed-in person as a recipient: staff when they hold a staff role."""
    return recipients.of_actor(Actor.load(data))


class Actor(actors.Actor):
    """Who is acting, with this service's errors (see svyaz.actors)."""

    invalid = InvalidPreferences
    not_allowed = Forbidden


EXPECTED = (InvalidPreferences, NotFound, Forbidden)


class NotificationsService(InboxUpkeep, CommandUpkeep, ParkedMessagesEntrypoints):
    name = "notifications"

    db = Database()
    outbox = OutboxRelay()
    observed = Observed(sample=notifications_metrics.sample)
    channels = Channels()
    contacts = Contacts()
    settings = Configured(Settings)

    # -- plumbing ------------------------------------------------------------------
    def _courier(self) -> Courier:
        policy = self.settings.retry_policy
        return Courier(self.db.transaction, self.contacts, self.channels, policy)

    def _handle(self, event: ReceivedEvent, schema: type[Schema], act: Act) -> None:
        """Load the payload, then claim the event, act and lease what is due in one
        transaction, then send."""
        self._courier().handle(event, payload_of(event, schema), act)

    # -- registry's events -----------------------------------------------------------
    @event_handler("registry", "communicator.applied.v1", batch=BATCH)
    def on_communicator_applied(self, event: ReceivedEvent) -> None:
        self._handle(event, CommunicatorAppliedIn, applications.applied)

    @event_handler("registry", "communicator.activated.v1", batch=BATCH)
    def on_communicator_activated(self, event: ReceivedEvent) -> None:
        self._handle(event, CommunicatorIdIn, applications.activated)

    @event_handler("registry", "communicator.rejected.v1", batch=BATCH)
    def on_communicator_rejected(self, event: ReceivedEvent) -> None:
        self._handle(event, CommunicatorIdIn, applications.rejected)

    @event_handler("registry", "communicator.payout_setup_needed.v1", batch=BATCH)
    def on_communicator_payout_setup_needed(self, event: ReceivedEvent) -> None:
        self._handle(event, CommunicatorPayoutSetupNeededIn, payouts.setup_needed)

    @event_handler("registry", "communicator.erased.v1", batch=BATCH)
    def on_communicator_erased(self, event: ReceivedEvent) -> None:
        self._handle(event, CommunicatorIdIn, erasure.erased)

    @event_handler("registry", "communicator.suspended.v1", batch=BATCH)
    def on_communicator_suspended(self, event: ReceivedEvent) -> None:
        self._handle(event, CommunicatorIdIn, reminders.set_active_from(False))

    @event_handler("registry", "communicator.offboarded.v1", batch=BATCH)
    def on_communicator_offboarded(self, event: ReceivedEvent) -> None:
        self._handle(event, CommunicatorIdIn, reminders.set_active_from(False))

    @event_handler("registry", "communicator.reinstated.v1", batch=BATCH)
    def on_communicator_reinstated(self, event: ReceivedEvent) -> None:
        self._handle(event, CommunicatorIdIn, reminders.set_active_from(True))

    @event_handler("registry", "vouch.requested.v1", batch=BATCH)
    def on_vouch_requested(self, event: ReceivedEvent) -> None:
        self._handle(event, VouchRequestedIn, applications.vouch_requested)

    @event_handler("registry", "account.password_reset_requested.v1")
    def on_password_reset_requested(self, event: ReceivedEvent) -> None:
        """The one-time link, by email only and at once (see logic.resets)."""
        data = payload_of(event, PasswordResetRequestedIn)
        resets.send_reset(
            self.db.transaction,
            self.contacts,
            self.channels["email"],
            event,
            data["reset_id"],
            self.settings.public_url,
        )

    # -- stipends' events --------------------------------------------------------------
    @event_handler("stipends", "cycle.opened.v1", batch=BATCH)
    def on_cycle_opened(self, event: ReceivedEvent) -> None:
        lead = timedelta(hours=self.settings.reminder_lead_hours)
        self._handle(event, CycleOpenedIn, reminders.opened(lead))

    @event_handler("stipends", "cycle.closed.v1")
    def on_cycle_closed(self, event: ReceivedEvent) -> None:
        """The digest goes out now, once per cycle (see logic.digests)."""
        data = payload_of(event, CycleClosedIn)
        digests.cycle_closed(self._courier(), self.contacts, event, data)

    @event_handler("stipends", "report.submitted.v1", batch=BATCH)
    def on_report_submitted(self, event: ReceivedEvent) -> None:
        self._handle(event, ReportSubmittedIn, reviews.report_submitted)

    @event_handler("stipends", "report.reviewed.v1", batch=BATCH)
    def on_report_reviewed(self, event: ReceivedEvent) -> None:
        self._handle(event, ReportReviewedIn, reviews.report_reviewed)

    @event_handler("stipends", "strategy.shared.v1", batch=BATCH)
    def on_strategy_shared(self, event: ReceivedEvent) -> None:
        """A strategy waits for a mentor's comment: counted in the staff digest,
        and the member's club coordinator is told (asked of the registry first:
        the registry away, the batch is handled again later)."""
        data = payload_of(event, StrategySharedIn)
        mentors = self.contacts.mentors(data["communicator_id"])
        self._handle(event, StrategySharedIn, reviews.strategy_shared_to(mentors))

    @event_handler("stipends", "strategy.commented.v1", batch=BATCH)
    def on_strategy_commented(self, event: ReceivedEvent) -> None:
        """A mentor wrote on a strategy: its author is told to read it on their
        page (nothing of the text travels), and it waits no longer. Its author
        answered: their club's coordinator is told."""
        mentors = self._mentors_of_an_answer(event, StrategyCommentedIn)
        self._handle(event, StrategyCommentedIn, reviews.strategy_commented_to(mentors))

    @event_handler("stipends", "report.feedback_given.v1", batch=BATCH)
    def on_report_feedback_given(self, event: ReceivedEvent) -> None:
        """A mentor left feedback on a report: its author is told to read it on
        their page (nothing of the text travels). Its author answered: their
        club's coordinator is told."""
        mentors = self._mentors_of_an_answer(event, ReportFeedbackGivenIn)
        self._handle(
            event, ReportFeedbackGivenIn, reviews.report_feedback_given_to(mentors)
        )

    def _mentors_of_an_answer(
        self, event: ReceivedEvent, schema: type[Schema]
    ) -> list[Recipient]:
        """Whom to tell of an author's answer: their club's coordinator (asked of
        the registry) and the programme admins who wrote on the thread (the event
        names them), each once; nobody for a mentor's own word."""
        data = payload_of(event, schema)
        if data["by_mentor"]:
            return []
        told = self.contacts.mentors(data["communicator_id"])
        known = {recipient.id for recipient in told}
        for ident in dict.fromkeys(data["admin_mentors"]):
            if ident not in known:
                told.append(Recipient(ident, staff_audience(actors.ADMIN)))
        return told

    @event_handler("stipends", "stipend.proposed.v1", batch=BATCH)
    def on_stipend_proposed(self, event: ReceivedEvent) -> None:
        self._handle(event, StipendIn, reviews.stipend_proposed)

    @event_handler("stipends", "stipend.approved.v1", batch=BATCH)
    def on_stipend_approved(self, event: ReceivedEvent) -> None:
        self._handle(event, StipendIn, reviews.stipend_approved)

    @event_handler("stipends", "stipend.rejected.v1", batch=BATCH)
    def on_stipend_rejected(self, event: ReceivedEvent) -> None:
        self._handle(event, StipendRejectedIn, reviews.stipend_rejected)

    @event_handler("stipends", "payout.paid.v1", batch=BATCH)
    def on_payout_paid(self, event: ReceivedEvent) -> None:
        self._handle(event, PayoutIn, payouts.paid)

    @event_handler("stipends", "payout.failed.v1", batch=BATCH)
    def on_payout_failed(self, event: ReceivedEvent) -> None:
        """Tells the communicator what to fix (the failure code picks the advice)."""
        self._handle(event, PayoutFailedIn, payouts.failed)

    @event_handler("stipends", "payout.receipt_resolved.v1", batch=BATCH)
    def on_receipt_resolved(self, event: ReceivedEvent) -> None:
        """Finance resolved a payment said not to have arrived: its payee is told
        what was found."""
        self._handle(event, ReceiptResolvedIn, payouts.receipt_resolved)

    # -- finance ---------------------------------------------------------------------
    @event_handler("stipends", "payout_run.built.v1")
    def on_run_built(self, event: ReceivedEvent) -> None:
        """A run waits for release: finance hears at once."""
        data = payload_of(event, RunBuiltIn)
        finance.run_built(self._courier(), self.contacts, event, data)

    @event_handler("stipends", "payout_run.released.v1", batch=BATCH)
    def on_run_released(self, event: ReceivedEvent) -> None:
        lead = timedelta(hours=self.settings.reconcile_due_hours)
        self._handle(event, RunReleasedIn, finance.released(lead))

    @event_handler("stipends", "reconciliation.completed.v1")
    def on_reconciliation_completed(self, event: ReceivedEvent) -> None:
        """The run is reconciled; differences found go to finance at once."""
        data = payload_of(event, ReconciliationCompletedIn)
        finance.reconciliation_completed(self._courier(), self.contacts, event, data)

    # -- scheduled ---------------------------------------------------------------
    @timer("SENDER_INTERVAL", 5.0)
    def send_due(self) -> None:
        """Send what fell due: after quiet hours, and retries after backoff."""
        self._courier().send_due()

    @timer("REMINDER_INTERVAL", 300.0)
    def send_reminders(self) -> None:
        """'A report is due soon', once per cycle (see logic.reminders)."""
        reminders.send_reminders(self._courier())

    @timer("DIGEST_INTERVAL", 3600.0)
    def send_digests(self) -> None:
        """Tell program admins what waits for them, once per period."""
        interval = self.settings.digest_interval
        digests.send_periodic_digest(self._courier(), self.contacts, interval)

    @timer("RECONCILE_CHECK_INTERVAL", 3600.0)
    def check_reconciliation(self) -> None:
        """Released runs not reconciled in time: finance hears once per run."""
        finance.check_reconciliation(self._courier(), self.contacts)

    @timer("FINISHED_WORK_PURGE_INTERVAL", 3600.0)
    def purge_finished_work(self) -> None:
        """Staff work done more than FINISHED_WORK_KEEP_DAYS ago (90) is forgotten."""
        keep = timedelta(days=self.settings.finished_work_keep_days)
        with self.db.transaction() as session:
            work.purge_finished_work(session, datetime.now(UTC), keep)

    # -- RPC: the inbox, preferences, parked deliveries ---------------------------
    @rpc(callers={GATEWAY}, expected_exceptions=EXPECTED)
    def list_inbox(self, actor: Any, query: Any = None) -> list[dict[str, Any]]:
        who, ask = actor_of(actor), load(InboxQueryIn(), query)
        with self.db.transaction() as session:
            out = inbox.read_inbox(
                session, who.id, ask.get("language"), ask["unread_only"], ask["limit"]
            )
        return InboxMessageOut(many=True).dump(out)

    @rpc(callers={GATEWAY}, expected_exceptions=EXPECTED)
    @command
    def mark_read(self, actor: Any, message_id: Any) -> dict[str, Any]:
        who, ident = actor_of(actor), whole(message_id, "message_id")
        with self.db.transaction() as session:
            inbox.mark_read(session, who.id, ident, datetime.now(UTC))
        return {"id": message_id, "read": True}

    @rpc(callers={GATEWAY}, expected_exceptions=EXPECTED)
    def get_preferences(self, actor: Any) -> dict[str, Any]:
        """One's choices, and the channels one may choose here."""
        who = actor_of(actor)
        with self.db.transaction() as session:
            pref = preferences.preferences(session, who)
            return self._preferences_out(pref)

    def _preferences_out(self, pref: Any) -> dict[str, Any]:
        out: dict[str, Any] = PreferencesOut().dump(pref)
        out["available_channels"] = preferences.available(self.channels)
        return out

    @rpc(callers={GATEWAY}, expected_exceptions=EXPECTED)
    @command
    def set_preferences(self, actor: Any, changes: Any) -> dict[str, Any]:
        who, data = actor_of(actor), load(PreferencesIn(), changes)
        available = preferences.available(self.channels)
        with self.db.transaction() as session:
            pref = preferences.set_preferences(session, who, data, available)
            return self._preferences_out(pref)

    def _require_staff(self, actor: Any) -> None:
        if actor_of(actor).audience == COMMUNICATOR:
            raise Forbidden("staff only", "forbidden")

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=EXPECTED)
    def list_parked(self, actor: Any, limit: Any = 100) -> list[dict[str, Any]]:
        self._require_staff(actor)
        with self.db.transaction() as session:
            rows = parked.parked(session, whole(limit, "limit"))
            return ParkedOut(many=True).dump(rows)

    def _parked_action(self, actor: Any, delivery_id: Any, reason: Any) -> Any:
        who = Actor.load(actor)
        who.require(actors.ADMIN)
        text = reason.strip() if isinstance(reason, str) else reason
        data = load(ParkedActionIn(), {"delivery_id": delivery_id, "reason": text})
        return who, data["delivery_id"], data["reason"]

    @rpc(callers={GATEWAY, OPERATOR}, expected_exceptions=EXPECTED)
    @command
    def retry_parked(self, actor: Any, delivery_id: Any, reason: Any) -> dict[str, Any]:
        """Send a parked delivery again (program admins, with a reason; audited in
        `parked_actions`, see `list_parked_actions`)."""
        who, ident, why = self._parked_action(actor, delivery_id, reason)
        return parked.retry_and_send(
            self._courier(), who, ident, why, self.db.after_commit
        )

    @rpc(callers={GATEWAY}, expected_exceptions=EXPECTED)
    @command
    def discard_parked(
        self, actor: Any, delivery_id: Any, reason: Any
    ) -> dict[str, Any]:
        """Give a parked delivery up (program admins, with a reason; audited)."""
        who, ident, why = self._parked_action(actor, delivery_id, reason)
        with self.db.transaction() as session:
            delivery = parked.discard_parked(
                session, who, ident, why, datetime.now(UTC)
            )
            return {"id": delivery.id, "status": delivery.status}
