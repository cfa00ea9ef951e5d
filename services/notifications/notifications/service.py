"""The notifications service: entrypoints only.

An event handler claims the event (a redelivery finds its claim and does nothing),
and in that one transaction writes the inbox rows and tries each mail due now,
recording its outcome in the delivery row (unique per event, recipient and channel).
The `send_due` timer sends what waited (quiet hours) or failed (retries with backoff),
and `send_digests` tells program admins what is waiting for them.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import eventlet
from marshmallow import Schema, ValidationError
from nameko.dependency_providers import Config
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from notifications import logic
from notifications import metrics as notifications_metrics
from notifications.dependencies import Channels
from notifications.exceptions import DeliveryFailed, InvalidPreferences, RecipientGone
from notifications.models import COMMUNICATOR, STAFF_ROLES, staff_audience
from notifications.schemas import (
    CommunicatorAppliedIn,
    CommunicatorIdIn,
    CommunicatorPayoutSetupNeededIn,
    ContactIn,
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
    ReconciliationCompletedIn,
    ReportFeedbackGivenIn,
    ReportReviewedIn,
    ReportSubmittedIn,
    ResetLinkIn,
    RunBuiltIn,
    RunReleasedIn,
    StaffContactIn,
    StipendIn,
    StipendRejectedIn,
    VouchRequestedIn,
)
from notifications.templates import render
from svyaz import actors, inbox
from svyaz import batch as batching
from svyaz.dependencies import Database, OutboxRelay
from svyaz.envelope import ReceivedEvent
from svyaz.errors import Forbidden, NotFound
from svyaz.keys import GATEWAY, OPERATOR
from svyaz.messaging import BATCH, RpcProxy, Unprocessable, event_handler, rpc
from svyaz.metrics import Observed
from svyaz.parking import ParkedMessagesEntrypoints
from svyaz.timers import timer

log = logging.getLogger(__name__)

Recipient = logic.Recipient
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
        StipendIn,
        StipendRejectedIn,
        CycleClosedIn,
        CycleOpenedIn,
        PasswordResetRequestedIn,
        ResetLinkIn,
        RunBuiltIn,
        RunReleasedIn,
        ReconciliationCompletedIn,
        PayoutIn,
        PayoutFailedIn,
        VouchRequestedIn,
    )
}
CONTACT, STAFF_CONTACT = ContactIn(), StaffContactIn()
STAFF_DIGEST_ROLE = actors.ADMIN
FINANCE_ROLE = "finance"


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
            "the request is invalid", "invalid_request", exc.messages_dict
        ) from None


def whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPreferences(
            f"{name} must be an integer", "invalid_request", {name: ["not an integer"]}
        )
    return value


def actor_of(data: Any) -> Recipient:
    """The signed-in person as a recipient: staff when they hold a staff role."""
    who = Actor.load(data)
    roles = sorted(who.roles & set(STAFF_ROLES))
    return Recipient(who.id, staff_audience(roles[0]) if roles else COMMUNICATOR)


class Actor(actors.Actor):
    """Who is acting, with this service's errors (see svyaz.actors)."""

    invalid = InvalidPreferences
    not_allowed = Forbidden


class RegistryContacts:
    """The contact book: asks the registry at send time, keeps nothing."""

    def __init__(self, registry: Any, timeout: float):
        self.registry, self.timeout = registry, timeout

    def contact(self, recipient: Recipient, purpose: str) -> logic.Contact:
        try:
            with eventlet.Timeout(self.timeout):
                if recipient.audience == COMMUNICATOR:
                    data = CONTACT.load(
                        self.registry.get_contact(str(recipient.id), purpose)
                    )
                    return logic.Contact(email=data["email"], language=data["language"])
                staff = STAFF_CONTACT.load(
                    self.registry.get_staff_contact(str(recipient.id), purpose)
                )  # this one person's address, not the whole role's
                return logic.Contact(email=staff["email"])
        except NotFound:
            raise RecipientGone("the registry no longer knows the recipient") from None
        except (Exception, eventlet.Timeout) as exc:  # noqa: BLE001 - retried later
            raise DeliveryFailed(f"registry: {type(exc).__name__}") from None


EXPECTED = (InvalidPreferences, NotFound, Forbidden)


class NotificationsService(ParkedMessagesEntrypoints):
    name = "notifications"

    db = Database()
    outbox = OutboxRelay()
    observed = Observed(sample=notifications_metrics.sample)
    channels = Channels()
    registry = RpcProxy("registry")
    config = Config()

    # -- plumbing ------------------------------------------------------------------
    def _policy(self) -> logic.RetryPolicy:
        config = self.config
        return logic.RetryPolicy(
            max_attempts=int(config.get("NOTIFY_MAX_ATTEMPTS", 6)),
            base_seconds=float(config.get("NOTIFY_RETRY_BASE", 30)),
            max_seconds=float(config.get("NOTIFY_RETRY_MAX", 3600)),
        )

    def _contacts(self) -> RegistryContacts:
        return RegistryContacts(
            self.registry, float(self.config.get("REGISTRY_TIMEOUT", 10))
        )

    def _deliver(self, delivery_ids: list[int]) -> None:
        """Send deliveries whose rows have committed: each taken (leased) in a short
        transaction, sent with none open, its outcome recorded in another."""
        for delivery_id in delivery_ids:
            with self.db.transaction() as session:
                job = logic.take(session, delivery_id, datetime.now(UTC))
            if job is not None:
                self._send([job])

    def _send(self, jobs: list[logic.Job]) -> None:
        """Send deliveries already leased by a committed transaction, none open,
        each outcome recorded in a transaction of its own."""
        if jobs and batching.current() is not None:
            # a batch commits after its last handler: a mail sent before that, then
            # rolled back with the batch, would be sent again
            raise RuntimeError("a batched handler does not mail")
        if not jobs:
            return
        contacts, policy = self._contacts(), self._policy()
        for job in jobs:
            tried = logic.send(job, contacts, self.channels)
            outcome = self._record(job, tried, policy)
            if outcome not in (None, "sent"):
                log.info("delivery %s: %s", job.delivery_id, outcome)

    def _record(
        self, job: logic.Job, tried: logic.Attempt, policy: logic.RetryPolicy
    ) -> str | None:
        """Record a send's outcome; a connection lost on the way is retried on a new
        one (the mail has gone: recording it must not wait for the lease)."""
        for attempt in range(1, 4):
            try:
                with self.db.transaction() as session:
                    return logic.record(session, job, tried, datetime.now(UTC), policy)
            except OperationalError:
                if attempt == 3:
                    raise
                eventlet.sleep(0.2 * attempt)
        return None

    def _handle(
        self,
        event: ReceivedEvent,
        schema: Schema,
        act: Callable[[Session, dict[str, Any], datetime], list[int] | None],
    ) -> None:
        """Load the payload, claim the event, act and lease what is due in one
        transaction, then send."""
        try:
            data = schema.load(event.data)
        except ValidationError as exc:
            raise Unprocessable(f"bad payload: {exc.messages}") from None
        with self.db.transaction() as session:
            if not inbox.claim(session, event):
                return  # handled already: a redelivery changes nothing
            now = datetime.now(UTC)
            due = act(session, data, now) or []
            # leased in the same transaction: committed before anything is sent,
            # so a connection lost before the commit sends nothing, and one lost
            # after it leaves the lease to expire (SEND_LEASE) for the timer
            jobs = [job for job in (logic.take(session, d, now) for d in due) if job]
        self._send(jobs)

    def _tell(
        self, event: ReceivedEvent, template: str, params: dict[str, Any]
    ) -> Callable[[Session, dict[str, Any], datetime], list[int]]:
        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            return logic.notify(
                session,
                event.event_id,
                [Recipient(data["communicator_id"])],
                template,
                params,
                self.channels,
                now,
            )

        return act

    # -- registry's events -----------------------------------------------------------
    @event_handler("registry", "communicator.applied.v1")
    def on_communicator_applied(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            who = data["communicator_id"]
            logic.work_arrived(session, "application", who, who, event.occurred_at)
            return self._tell(event, "application_received", {})(session, data, now)

        self._handle(event, SCHEMAS[CommunicatorAppliedIn], act)

    @event_handler("registry", "communicator.activated.v1")
    def on_communicator_activated(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            who = data["communicator_id"]
            logic.work_done(session, "application", who, who, event.occurred_at)
            logic.set_active(session, data["communicator_id"], True)
            return self._tell(event, "application_accepted", {})(session, data, now)

        self._handle(event, SCHEMAS[CommunicatorIdIn], act)

    @event_handler("registry", "communicator.rejected.v1")
    def on_communicator_rejected(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            who = data["communicator_id"]
            logic.work_done(session, "application", who, who, event.occurred_at)
            return self._tell(event, "application_rejected", {})(session, data, now)

        self._handle(event, SCHEMAS[CommunicatorIdIn], act)

    @event_handler("registry", "communicator.payout_setup_needed.v1")
    def on_communicator_payout_setup_needed(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            params = {"provider": data["provider"]}
            return self._tell(event, "payout_setup_needed", params)(session, data, now)

        self._handle(event, SCHEMAS[CommunicatorPayoutSetupNeededIn], act)

    @event_handler("registry", "communicator.erased.v1", batch=BATCH)
    def on_communicator_erased(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> None:
            logic.erase(session, data["communicator_id"])

        self._handle(event, SCHEMAS[CommunicatorIdIn], act)

    @event_handler("registry", "communicator.suspended.v1", batch=BATCH)
    def on_communicator_suspended(self, event: ReceivedEvent) -> None:
        self._set_active(event, False)

    @event_handler("registry", "communicator.offboarded.v1", batch=BATCH)
    def on_communicator_offboarded(self, event: ReceivedEvent) -> None:
        self._set_active(event, False)

    @event_handler("registry", "communicator.reinstated.v1", batch=BATCH)
    def on_communicator_reinstated(self, event: ReceivedEvent) -> None:
        self._set_active(event, True)

    def _set_active(self, event: ReceivedEvent, active: bool) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> None:
            logic.set_active(session, data["communicator_id"], active)

        self._handle(event, SCHEMAS[CommunicatorIdIn], act)

    @event_handler("registry", "vouch.requested.v1")
    def on_vouch_requested(self, event: ReceivedEvent) -> None:
        """The member an applicant named is asked to answer in their console; the
        message names nobody (the console shows whom)."""

        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            return logic.notify(
                session,
                event.event_id,
                [Recipient(data["voucher_id"])],
                "vouch_requested",
                {},
                self.channels,
                now,
            )

        self._handle(event, SCHEMAS[VouchRequestedIn], act)

    @event_handler("stipends", "cycle.opened.v1")
    def on_cycle_opened(self, event: ReceivedEvent) -> None:
        lead = timedelta(hours=float(self.config.get("REMINDER_LEAD_HOURS", 72)))

        def act(session: Session, data: dict[str, Any], now: datetime) -> None:
            logic.cycle_opened(
                session, data["cycle_id"], data["period"], data["deadline"], lead
            )

        self._handle(event, SCHEMAS[CycleOpenedIn], act)

    @timer("REMINDER_INTERVAL", 300.0)
    def send_reminders(self) -> None:
        """'A report is due soon' to each active communicator who has not reported
        in a cycle whose deadline is near: once per cycle."""
        now = datetime.now(UTC)
        due: list[int] = []
        with self.db.transaction() as session:
            for reminder in logic.due_reminders(session, now):
                due += logic.notify(
                    session,
                    reminder.event_id,
                    [Recipient(ident) for ident in reminder.recipients],
                    "report_due",
                    {
                        "period": reminder.cycle.period,
                        "deadline": reminder.cycle.deadline.date().isoformat(),
                    },
                    self.channels,
                    now,
                )
                reminder.cycle.reminded_at = now
        self._deliver(due)

    # -- stipends' events --------------------------------------------------------------
    @event_handler("stipends", "report.submitted.v1")
    def on_report_submitted(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> None:
            logic.work_arrived(
                session,
                "report",
                data["report_id"],
                data["communicator_id"],
                event.occurred_at,
            )
            logic.reported(session, data["cycle_id"], data["communicator_id"])

        self._handle(event, SCHEMAS[ReportSubmittedIn], act)

    @event_handler("stipends", "report.reviewed.v1")
    def on_report_reviewed(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            logic.work_done(
                session,
                "report",
                data["report_id"],
                data["communicator_id"],
                event.occurred_at,
            )
            template = f"report_{data['decision']}"
            return self._tell(event, template, {})(session, data, now)

        self._handle(event, SCHEMAS[ReportReviewedIn], act)

    @event_handler("stipends", "report.feedback_given.v1")
    def on_report_feedback_given(self, event: ReceivedEvent) -> None:
        """A mentor left feedback on a report: its author is told to read it on
        their page (nothing of the text travels)."""
        self._handle(
            event,
            SCHEMAS[ReportFeedbackGivenIn],
            self._tell(event, "report_feedback", {}),
        )

    @event_handler("stipends", "stipend.proposed.v1")
    def on_stipend_proposed(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> None:
            logic.work_arrived(
                session,
                "approval",
                data["stipend_id"],
                data["communicator_id"],
                event.occurred_at,
            )

        self._handle(event, SCHEMAS[StipendIn], act)

    @event_handler("stipends", "stipend.approved.v1")
    def on_stipend_approved(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            logic.work_done(
                session,
                "approval",
                data["stipend_id"],
                data["communicator_id"],
                event.occurred_at,
            )
            params = {
                "amount_minor": data["amount_minor"],
                "currency": data["currency"],
            }
            return self._tell(event, "stipend_approved", params)(session, data, now)

        self._handle(event, SCHEMAS[StipendIn], act)

    @event_handler("stipends", "stipend.rejected.v1")
    def on_stipend_rejected(self, event: ReceivedEvent) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> None:
            logic.work_done(
                session,
                "approval",
                data["stipend_id"],
                data["communicator_id"],
                event.occurred_at,
            )

        self._handle(event, SCHEMAS[StipendRejectedIn], act)

    # -- payouts -------------------------------------------------------------------
    def _payout(self, event: ReceivedEvent, schema: Schema, template: str) -> None:
        def act(session: Session, data: dict[str, Any], now: datetime) -> list[int]:
            params = {
                "amount_minor": data["amount_minor"],
                "currency": data["currency"],
            }
            if "reason" in data:  # a svyaz.vocabulary code: the template words it
                params["reason"] = data["reason"]
            return self._tell(event, template, params)(session, data, now)

        self._handle(event, schema, act)

    @event_handler("stipends", "payout.paid.v1")
    def on_payout_paid(self, event: ReceivedEvent) -> None:
        self._payout(event, SCHEMAS[PayoutIn], "payout_paid")

    @event_handler("stipends", "payout.failed.v1")
    def on_payout_failed(self, event: ReceivedEvent) -> None:
        """Tells the communicator what to fix (the failure code picks the advice)."""
        self._payout(event, SCHEMAS[PayoutFailedIn], "payout_failed")

    # -- scheduled ---------------------------------------------------------------
    @timer("SENDER_INTERVAL", 5.0)
    def send_due(self) -> None:
        """Send what fell due: after quiet hours, and retries after backoff."""
        while True:
            with self.db.transaction() as session:
                ids = logic.due(session, datetime.now(UTC), limit=100)
            if not ids:
                return
            self._deliver(ids)
            if len(ids) < 100:
                return

    @timer("FINISHED_WORK_PURGE_INTERVAL", 3600.0)
    def purge_finished_work(self) -> None:
        """Staff work done more than FINISHED_WORK_KEEP_DAYS ago (90) is forgotten."""
        keep = timedelta(days=float(self.config.get("FINISHED_WORK_KEEP_DAYS", 90)))
        with self.db.transaction() as session:
            logic.purge_finished_work(session, datetime.now(UTC), keep)

    @timer("DIGEST_INTERVAL", 3600.0)
    def send_digests(self) -> None:
        """Tell program admins what waits for them, once per period."""
        interval = float(self.config.get("DIGEST_INTERVAL", 3600.0))
        self._digest(
            logic.digest_event_id(STAFF_DIGEST_ROLE, int(time.time() // interval))
        )

    @event_handler("stipends", "cycle.closed.v1")
    def on_cycle_closed(self, event: ReceivedEvent) -> None:
        """A closed cycle leaves proposals to approve: the digest goes out now, not
        at the end of the period, once per cycle however often the event comes."""
        try:
            data = SCHEMAS[CycleClosedIn].load(event.data)
        except ValidationError as exc:
            raise Unprocessable(f"bad payload: {exc.messages}") from None
        # the digest's own id makes it once per cycle; the claim comes after it, so
        # a crash in between sends it on the redelivery rather than never
        self._digest(logic.digest_event_id("cycle-closed", data["cycle_id"].int))
        with self.db.transaction() as session:
            logic.cycle_ended(session, data["cycle_id"])
            inbox.claim(session, event)

    @event_handler("registry", "account.password_reset_requested.v1")
    def on_password_reset_requested(self, event: ReceivedEvent) -> None:
        """The one-time link, by email only and at once (no inbox, no quiet hours:
        it lives 30 minutes). The token is asked of the registry now, used in this
        mail and kept nowhere here; a redelivery before the claim sends a new link,
        which replaces the first."""
        try:
            data = SCHEMAS[PasswordResetRequestedIn].load(event.data)
        except ValidationError as exc:
            raise Unprocessable(f"bad payload: {exc.messages}") from None
        with self.db.transaction() as session:
            if inbox.seen(session, event):
                return
        try:
            issued = SCHEMAS[ResetLinkIn].load(
                self.registry.issue_password_reset(str(data["reset_id"]))
            )
        except NotFound:  # used, expired or erased meanwhile: nothing to send
            issued = None
        except ValidationError as exc:  # parked with the reason, not retried
            raise Unprocessable(f"bad reset link: {list(exc.messages)}") from None
        if issued is not None:
            link = f"{self.config.get('PUBLIC_URL', '').rstrip('/')}/reset-password"
            link = f"{link}?token={issued['token']}"
            if issued["purpose"] == "invitation":  # a staff member's first password
                message = render(
                    "staff_invitation", issued["language"], hours=72, link=link
                )
            else:
                message = render(
                    "password_reset", issued["language"], minutes=30, link=link
                )
            try:
                self.channels["email"].send(
                    issued["email"],
                    message,
                    discreet=True,  # the neutral sender, like every mail to them
                    message_id=str(event.event_id),
                )
            except DeliveryFailed as exc:  # retried by the bus, then parked
                raise RuntimeError(f"reset mail not sent: {exc}") from None
        with self.db.transaction() as session:
            inbox.claim(session, event)

    # -- finance ---------------------------------------------------------------------
    def _tell_finance(
        self,
        event: ReceivedEvent | None,
        event_id: uuid.UUID,
        template: str,
        params: Any,
    ) -> None:
        """A message to every finance staff member, once per (event, person,
        channel); the claim comes after the rows are written."""
        staff = self.registry.list_staff_ids(FINANCE_ROLE)
        recipients = [
            Recipient(uuid.UUID(ident), staff_audience(FINANCE_ROLE)) for ident in staff
        ]
        with self.db.transaction() as session:
            due = logic.notify(
                session,
                event_id,
                recipients,
                template,
                params,
                self.channels,
                datetime.now(UTC),
            )
            if event is not None:
                inbox.claim(session, event)
        self._deliver(due)

    @event_handler("stipends", "payout_run.built.v1")
    def on_run_built(self, event: ReceivedEvent) -> None:
        """A run waits for release: finance hears at once."""
        data = payload_of(event, RunBuiltIn)
        self._tell_finance(
            event, event.event_id, "run_waiting", {"payouts": data["payouts"]}
        )

    @event_handler("stipends", "payout_run.released.v1")
    def on_run_released(self, event: ReceivedEvent) -> None:
        lead = timedelta(hours=float(self.config.get("RECONCILE_DUE_HOURS", 168)))

        def act(session: Session, data: dict[str, Any], now: datetime) -> None:
            logic.run_released(session, data["run_id"], data["released_at"] + lead)

        self._handle(event, SCHEMAS[RunReleasedIn], act)

    @event_handler("stipends", "reconciliation.completed.v1")
    def on_reconciliation_completed(self, event: ReceivedEvent) -> None:
        """The run is reconciled; differences found go to finance at once."""
        data = payload_of(event, ReconciliationCompletedIn)
        with self.db.transaction() as session:
            logic.run_reconciled(session, data["run_id"], datetime.now(UTC))
        if data["discrepancies"]:
            self._tell_finance(
                event,
                event.event_id,
                "reconciliation_discrepancies",
                {"count": data["discrepancies"]},
            )
        else:
            with self.db.transaction() as session:
                inbox.claim(session, event)

    @timer("RECONCILE_CHECK_INTERVAL", 3600.0)
    def check_reconciliation(self) -> None:
        """Released runs not reconciled in time: finance hears once per run."""
        now = datetime.now(UTC)
        late = []
        with self.db.transaction() as session:
            for run in logic.overdue_runs(session, now):
                run.alerted_at = now  # once, even if the message below is retried
                late.append(run.run_id)
        for run_id in late:
            self._tell_finance(
                None,
                uuid.uuid5(uuid.NAMESPACE_URL, f"svyaz:reconcile-overdue:{run_id}"),
                "reconciliation_overdue",
                {},
            )

    def _digest(self, event_id: uuid.UUID) -> None:
        with self.db.transaction() as session:
            counts = logic.waiting(session)
        if not any(counts.values()):
            return
        staff = self.registry.list_staff_ids(STAFF_DIGEST_ROLE)  # ids, no emails
        recipients = [
            Recipient(uuid.UUID(ident), staff_audience(STAFF_DIGEST_ROLE))
            for ident in staff
        ]
        params = {
            "applications": counts.get("application", 0),
            "reports": counts.get("report", 0),
            "approvals": counts.get("approval", 0),
        }
        with self.db.transaction() as session:
            due = logic.notify(
                session,
                event_id,
                recipients,
                "staff_digest",
                params,
                self.channels,
                datetime.now(UTC),
            )
        self._deliver(due)

    # -- RPC: the inbox, preferences, parked deliveries ---------------------------
    @rpc(
        callers={GATEWAY}, expected_exceptions=(InvalidPreferences, NotFound, Forbidden)
    )
    def list_inbox(self, actor: Any, query: Any = None) -> list[dict[str, Any]]:
        who, ask = actor_of(actor), load(InboxQueryIn(), query)
        with self.db.transaction() as session:
            language = logic.language_for(session, who.id, ask.get("language"))
            rows = logic.inbox(session, who.id, ask["unread_only"], ask["limit"])
            out = []
            for row in rows:
                message = render(row.template, language, **row.params)
                out.append(
                    {
                        "id": row.id,
                        "subject": message.subject,
                        "body": message.body,
                        "created_at": row.created_at,
                        "read": row.read_at is not None,
                    }
                )
        return InboxMessageOut(many=True).dump(out)

    @rpc(
        callers={GATEWAY}, expected_exceptions=(InvalidPreferences, NotFound, Forbidden)
    )
    def mark_read(self, actor: Any, message_id: Any) -> dict[str, Any]:
        who, ident = actor_of(actor), whole(message_id, "message_id")
        with self.db.transaction() as session:
            logic.mark_read(session, who.id, ident, datetime.now(UTC))
        return {"id": message_id, "read": True}

    @rpc(
        callers={GATEWAY}, expected_exceptions=(InvalidPreferences, NotFound, Forbidden)
    )
    def get_preferences(self, actor: Any) -> dict[str, Any]:
        who = actor_of(actor)
        with self.db.transaction() as session:
            return PreferencesOut().dump(logic.preferences(session, who))

    @rpc(
        callers={GATEWAY}, expected_exceptions=(InvalidPreferences, NotFound, Forbidden)
    )
    def set_preferences(self, actor: Any, changes: Any) -> dict[str, Any]:
        who, data = actor_of(actor), load(PreferencesIn(), changes)
        available = [name for name, c in self.channels.items() if c.enabled]
        with self.db.transaction() as session:
            pref = logic.set_preferences(session, who, data, available)
            return PreferencesOut().dump(pref)

    def _require_staff(self, actor: Any) -> None:
        if actor_of(actor).audience == COMMUNICATOR:
            raise Forbidden("staff only", "forbidden")

    @rpc(
        callers={GATEWAY, OPERATOR},
        expected_exceptions=(InvalidPreferences, NotFound, Forbidden),
    )
    def list_parked(self, actor: Any, limit: Any = 100) -> list[dict[str, Any]]:
        self._require_staff(actor)
        with self.db.transaction() as session:
            rows = logic.parked(session, max(1, min(whole(limit, "limit"), 500)))
            return ParkedOut(many=True).dump(rows)

    def _parked_action(self, actor: Any, delivery_id: Any, reason: Any) -> Any:
        who = Actor.load(actor)
        who.require(actors.ADMIN)
        text = reason.strip() if isinstance(reason, str) else reason
        data = load(ParkedActionIn(), {"delivery_id": delivery_id, "reason": text})
        return who, data["delivery_id"], data["reason"]

    @rpc(
        callers={GATEWAY, OPERATOR},
        expected_exceptions=(InvalidPreferences, NotFound, Forbidden),
    )
    def retry_parked(self, actor: Any, delivery_id: Any, reason: Any) -> dict[str, Any]:
        """Send a parked delivery again (program admins, with a reason; audited in
        `parked_actions`, see `list_parked_actions`)."""
        who, ident, why = self._parked_action(actor, delivery_id, reason)
        with self.db.transaction() as session:
            delivery = logic.retry_parked(session, who, ident, why, datetime.now(UTC))
            result = {"id": delivery.id, "status": delivery.status}
        self._deliver([result["id"]])
        return result

    @rpc(
        callers={GATEWAY}, expected_exceptions=(InvalidPreferences, NotFound, Forbidden)
    )
    def discard_parked(
        self, actor: Any, delivery_id: Any, reason: Any
    ) -> dict[str, Any]:
        """Give a parked delivery up (program admins, with a reason; audited)."""
        who, ident, why = self._parked_action(actor, delivery_id, reason)
        with self.db.transaction() as session:
            delivery = logic.discard_parked(session, who, ident, why, datetime.now(UTC))
            return {"id": delivery.id, "status": delivery.status}
