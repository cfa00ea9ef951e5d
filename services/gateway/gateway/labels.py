"""The labels of the internal codes a page shows (statuses, kinds, roles, …), by
kind, in English; gateway.i18n.label says them in the reader's language, and pages
use them through the `label` filter: `{{ s.status|label("stipend_status") }}`.

Also `N_`, which marks a text for extraction (babel.cfg reads this module,
gateway/refusals.py and gateway/i18n.py)."""

from __future__ import annotations


def N_(msgid: str) -> str:
    """Marks a text for extraction; it is translated where it is shown."""
    return msgid


# -- labels of internal codes -------------------------------------------------------
# Every code a page shows, by kind, with its English label. The unit test checks that
# each enum the gateway and the services declare is covered, in both languages.
LABELS: dict[str, dict[str, str]] = {
    "communicator_status": {
        "applied": N_("Application received"),
        "in_review": N_("Under review"),
        "active": N_("Active"),
        "rejected": N_("Not accepted"),
        "suspended": N_("Suspended"),
        "offboarded": N_("Left the programme"),
    },
    "vetting_step": {
        "start_review": N_("Start the review"),
        "approve": N_("Approve the application"),
        "reject": N_("Reject the application"),
        "suspend": N_("Suspend"),
        "reinstate": N_("Reinstate"),
        "offboard": N_("Offboard"),
    },
    "tier": {
        "volunteer": N_("Volunteer"),
        "professional": N_("Professional"),
    },
    "role": {
        "program_admin": N_("Programme admin"),
        "finance": N_("Finance"),
        "club_coordinator": N_("Club coordinator"),
        "communicator": N_("Communicator"),
    },
    "staff_state": {
        "invited": N_("Invited: has not chosen a password yet"),
        "enrolling": N_("Setting up the authenticator"),
        "active": N_("Active"),
        "disabled": N_("Disabled"),
    },
    "review_item_kind": {
        "email": N_("Same email"),
        "phone": N_("Same phone number"),
        "payout_destination": N_("Same payout account"),
        "erased": N_("A match with a person since erased"),
    },
    "vouch_state": {
        "pending": N_("Waiting for your answer"),
        "confirmed": N_("You vouched"),
        "declined": N_("You declined"),
        "expired": N_("Expired: not answered in time"),
    },
    "review_outcome": {
        "same_person": N_("Same person"),
        "distinct": N_("Different people"),
        "withdrawn": N_("Closed: one of the two was erased"),
    },
    "provider": {
        "stripe_connect": N_("Stripe Connect"),
        "stripe_global": N_("Stripe Global Payouts"),
        "bank_file": N_("Bank transfer file"),
    },
    "payout_setup": {
        "none": N_("Not started"),
        "pending": N_("Started: finish it on the provider's page"),
        "ready": N_("Ready: payments can reach you"),
    },
    # the same states as staff read them about someone
    "payout_setup_of": {
        "none": N_("Not started"),
        "pending": N_("Started, not finished on the provider's page"),
        "ready": N_("Ready: payments can reach them"),
    },
    "club_mode": {
        "online": N_("Online"),
        "offline": N_("In person"),
    },
    "cycle_status": {
        "open": N_("Open for reports"),
        "closed": N_("Closed"),
        "locked": N_("Locked"),
    },
    "report_status": {
        "draft": N_("Draft"),
        "submitted": N_("Submitted"),
        "accepted": N_("Accepted"),
        "rejected": N_("Rejected"),
        "changes_requested": N_("Changes requested"),
    },
    "report_decision": {
        "accepted": N_("Accept the report"),
        "changes_requested": N_("Ask for changes"),
        "rejected": N_("Reject the report"),
    },
    "audience": {
        "family": N_("Family"),
        "friends": N_("Friends"),
        "colleagues": N_("Colleagues"),
        "online_community": N_("Online community"),
    },
    "report_channel": {
        "in_person": N_("In person"),
        "phone": N_("Phone"),
        "video": N_("Video call"),
        "messenger": N_("Messenger"),
        "social_media": N_("Social media"),
        "email": N_("Email"),
        "letter": N_("Letter"),
        "other": N_("Other"),
    },
    "observed_change": {
        "none": N_("None"),
        "some": N_("Some"),
        "clear": N_("Clear"),
    },
    "strategy_approach": {
        "listening": N_("Listening and asking questions"),
        "personal_story": N_("My own story"),
        "facts": N_("Verified facts and sources"),
        "shared_values": N_("Shared values (family, safety, children)"),
        "everyday_life": N_("Everyday life (prices, mobilisation)"),
        "humour": N_("Humour"),
        "other": N_("Other"),
    },
    "strategy_progress": {
        "on_track": N_("On track"),
        "partly": N_("Partly"),
        "off_track": N_("Off track"),
        "strategy_changed": N_("The strategy changed"),
    },
    "strategy_state": {
        "draft": N_("Draft"),
        "shared": N_("Shared with the mentor"),
    },
    "stipend_status": {
        "proposed": N_("Awaiting approval"),
        "approved": N_("Approved"),
        "rejected": N_("Not approved"),
    },
    "run_status": {
        "draft": N_("Draft: not released"),
        "released": N_("Released"),
        "cancelled": N_("Cancelled: nothing will be paid"),
    },
    "payout_status": {
        "planned": N_("Planned"),
        "queued": N_("Queued"),
        "calling": N_("Being sent"),
        "sent": N_("Sent"),
        "paid": N_("Paid"),
        "failed": N_("Failed"),
        "cancelled": N_("Cancelled"),
    },
    "payout_action": {
        "retry": N_("Try again"),
        "cancel": N_("Cancel the payout"),
        "mark_paid_offline": N_("Mark as paid outside the system"),
        "mark_failed": N_("Mark as failed"),
    },
    "failure_reason": {
        "destination_not_ready": N_("The payout account is not set up"),
        "destination_changed": N_("The payout account changed"),
        "destination_rejected": N_("The provider refused the payout account"),
        "provider_refused": N_("The provider refused the payment"),
        "returned": N_("The money came back"),
        "marked_failed": N_("Marked as failed by finance"),
    },
    "reconciliation_status": {
        "open": N_("In progress"),
        "signed_off": N_("Signed off"),
        "superseded": N_("Replaced by a newer reconciliation"),
        "not_reconciled": N_("Not reconciled yet"),
    },
    "reconciliation_source": {
        "api": N_("The provider's API"),
        "itemized_csv": N_("Stripe's itemised balance report (CSV)"),
        "bank_statement": N_("The bank's statement (CSV)"),
    },
    "difference_kind": {
        "missing_at_provider": N_("Missing at the provider"),
        "unexpected_at_provider": N_("Unexpected at the provider"),
        "amount_mismatch": N_("Amounts differ"),
        "currency_mismatch": N_("Currencies differ"),
        "duplicate": N_("Paid twice"),
        "status_mismatch": N_("States differ"),
        "reversed": N_("Reversed by the provider"),
        "balance_mismatch": N_("Balances differ"),
        "already_reconciled": N_("Already reconciled in a signed-off period"),
    },
    "impact_table": {
        "reports": N_("Reports by outcome"),
        "observed_change": N_("Change the communicators observed"),
        "communicators": N_("Communicators who reported: retained and new"),
        "trainings": N_("Trainings completed in the cycle's month"),
        "payouts": N_("Payouts: paid and failed by reason"),
        "differences": N_("Reconciliation differences by kind"),
        "reports_over_time": N_("Reports per cycle: accepted and other"),
        "communicators_over_time": N_("Communicators per cycle: retained and new"),
    },
    "impact_column": {
        "accepted": N_("Accepted"),
        "rejected": N_("Rejected"),
        "changes_requested": N_("Changes requested"),
        "submitted": N_("Waiting for review"),
        "none": N_("No change"),
        "some": N_("Some change"),
        "clear": N_("Clear change"),
        "retained": N_("Also reported the cycle before"),
        "new": N_("First report in the programme or after a gap"),
        "completed": N_("Completed"),
        "payouts": N_("Payouts"),
        "differences": N_("Differences"),
        "other": N_("Other outcomes"),
        "paid": N_("Paid"),
        "unknown": N_("Not known"),
        "resolved": N_("Resolved"),
        "open": N_("Still open"),
    },
    "impact_money": {
        "budget_minor": N_("Budget"),
        "approved_minor": N_("Stipends approved this cycle"),
        "reserved_minor": N_("Approved, not yet paid"),
        "paid_minor": N_("Paid"),
    },
    "impact_dimension": {
        "country": N_("Country of the club"),
        "club": N_("Club"),
        "tier": N_("Tier"),
    },
    "difference_state": {
        "open": N_("Open"),
        "linked": N_("Linked to a payout"),
        "written_off": N_("Written off"),
        "repaid": N_("Paid again"),
        "all": N_("All"),
    },
    "difference_action": {
        "write_off": N_("Write off (accept as it is)"),
        "link": N_("Link to a payout"),
        "repay": N_("Pay again"),
    },
    # what was removed from a report's or a strategy's text (stipends' redaction)
    "redaction_kind": {
        "email": N_("email address"),
        "link": N_("web link"),
        "handle": N_("@handle"),
        "phone": N_("phone number"),
        "number": N_("card or account number"),
    },
    "contact_channel": {
        "email": N_("Email"),
        "inbox": N_("Messages on this site"),
        "telegram": N_("Telegram"),
    },  # a report's or a stipend's trail (stipends' get_activity)
    "activity_action": {
        "drafted": N_("Report drafted"),
        "submitted": N_("Report sent"),
        "changed": N_("Report changed after sending"),
        "accepted": N_("Report accepted"),
        "rejected": N_("Rejected"),
        "changes_requested": N_("Changes asked for"),
        "proposed": N_("Stipend proposed"),
        "amended": N_("Amount changed"),
        "approved": N_("Approved"),
        "approval_voided": N_("Approval voided"),
        "ledger:reservation": N_("Budget reserved"),
        "ledger:reservation_reversal": N_("Reservation released"),
        "ledger:commitment": N_("Committed for payment"),
        "ledger:commitment_reversal": N_("Payment commitment released"),
        "ledger:payout_sent": N_("Payment sent"),
        "ledger:payout_sent_reversal": N_("Payment came back"),
        "ledger:payout_settled": N_("Payment confirmed"),
        "ledger:payout_settled_reversal": N_("Payment confirmation reversed"),
        "ledger:provider_fee": N_("Provider's fee booked"),
    },
    # what finance found about a payout its payee said did not arrive
    # -- finance: the ledger, payouts' trails, receipts, bank statements ----------
    "account_kind": {
        "programme_funds": N_("Programme's money held"),
        "programme_budget": N_("Budget not yet reserved"),
        "reservations": N_("Reserved for approved stipends"),
        "stipends_payable": N_("Owed to a communicator"),
        "provider_clearing": N_("Sent to a provider, not yet confirmed"),
        "fees": N_("Providers' fees"),
        "bank_fees": N_("Bank fees written off in reconciliation"),
        "fx_differences": N_("Currency conversion differences"),
        "unexplained_differences": N_("Unexplained differences written off"),
    },
    "entry_kind": {
        "funding": N_("Programme funded"),
        "reservation": N_("Stipend approved: budget reserved"),
        "commitment": N_("Stipend released for payment"),
        "payout_sent": N_("Payment sent"),
        "payout_settled": N_("Payment confirmed"),
        "funding_reversal": N_("Funding corrected"),
        "reservation_reversal": N_("Reservation released"),
        "commitment_reversal": N_("Release for payment undone"),
        "payout_sent_reversal": N_("Payment failed: sending undone"),
        "payout_settled_reversal": N_("Payment came back after it was confirmed"),
        "write_off": N_("Reconciliation difference written off"),
        "write_off_reversal": N_(
            "Write-off withdrawn: the reconciliation was run again"
        ),
        "account_moved": N_("Balance moved to the account in its currency"),
        "provider_fee": N_("Provider's fee for a payment, from its data"),
        "provider_fee_reversal": N_("Provider's fee corrected"),
    },
    "payout_event": {
        "retry": N_("Finance tried again"),
        "cancel": N_("Finance cancelled the payout"),
        "mark_paid_offline": N_("Finance marked it paid outside the system"),
        "mark_failed": N_("Finance marked it failed"),
        "run_build": N_("Payout run built"),
        "run_release": N_("Payout run released"),
        "run_cancel": N_("Payout run cancelled"),
        "run_bank_file": N_("Bank file downloaded"),
        "released_for_payment": N_("Released for payment"),
        "payment_release_undone": N_("Release for payment undone"),
        "sent": N_("Sent to the provider"),
        "send_reversed": N_("Sending undone: the payment failed"),
        "paid": N_("Paid"),
        "payment_returned": N_("The money came back"),
        "provider_event": N_("Message from the payment provider"),
        "receipt_confirmed": N_("The payee confirmed the money arrived"),
        "receipt_not_received": N_("The payee reported the money did not arrive"),
        "receipt_problem_resolved": N_("Finance resolved the payee's report"),
        "reconciliation_link": N_("Reconciliation: linked to this payout"),
        "reconciliation_write_off": N_("Reconciliation: difference written off"),
        "reconciliation_repay": N_("Reconciliation: paid again"),
    },
    "receipt_resolution": {
        "received_after_all": N_("The payee received it after all"),
        "paid_confirmed_by_provider": N_("The provider confirms it was paid"),
        "payout_returned": N_("The payment came back: it will be paid again"),
        "other": N_("Something else (say what in the note)"),
    },
    "receipt_problem_status": {
        "open": N_("Waiting for finance"),
        "resolved": N_("Resolved by finance"),
        "withdrawn": N_("Withdrawn by the payee"),
    },
    "statement_problem": {
        "unknown_reference": N_("No bank transfer of ours has this reference"),
        "currency_mismatch": N_("The currency differs from the payout's"),
        "amount_mismatch": N_("The amount differs from the payout's"),
    },
}


# a communicator record's trail (registry), beside the stipend and report trails
LABELS["activity_action"].update(
    {
        "applied": N_("Applied"),
        "activation_approved": N_("Approved the application"),
        "review_item_opened": N_("A possible duplicate was found"),
        "review_item_resolved": N_("Resolved a possible duplicate"),
        "status_changed": N_("Changed the status"),
        "tier_changed": N_("Changed the tier"),
        "erased": N_("The data was erased"),
        "training_completed": N_("Recorded a completed training"),
        "club_changed": N_("Changed the club"),
        "payout_setup_state": N_("Payout set-up"),
    }
)

# -- clubs, trainings, staff and oversight (console-oversight) ---------------------
LABELS.update(
    {
        "completion_refusal": {
            "invalid_id": N_("not a valid entry: reload the page and tick again"),
            "unknown_communicator": N_("not found: reload the page and tick again"),
            "not_member": N_(
                "not a member of your club: ask a programme admin to record it"
            ),
            "not_active": N_(
                "not taking part (still applying, turned down or gone): record it "
                "once they are accepted"
            ),
        },
        "personal_field": {
            "legal_name": N_("Full legal name"),
            "email": N_("Email"),
            "phone": N_("Phone number"),
            "messenger": N_("Messenger"),
            "country": N_("Country of residence"),
            "city": N_("City"),
            "languages": N_("Languages"),
            "motivation": N_("Why they want to take part"),
            "payout_destination": N_("Payout account"),
            "staff_email": N_("Staff member's email"),
        },
        "delivery_error": {
            "no_address": N_("No address for this person on this channel"),
            "recipient_refused": N_("The recipient's server refused it"),
            "channel_not_configured": N_("This channel is not set up here"),
            "registry_unavailable": N_("The address could not be looked up"),
            "channel_failed": N_("The mail or Telegram service failed"),
            "other": N_("Another error"),
        },
        "parked_service": {
            "registry": N_("People, clubs and staff"),
            "stipends": N_("Reports, stipends and payouts"),
            "notifications": N_("Notifications"),
            "insights": N_("What the programme achieves"),
        },
        "parked_kind": {
            "event": N_("News from another service"),
            "rpc_request": N_("A request from another service"),
            "unknown": N_("An unreadable message"),
        },
        "parked_reason": {
            "replayed_copy": N_(
                "A second copy of a request that was already carried out: harmless"
            ),
            "refused": N_("Refused: not signed as the service it claims to come from"),
            "malformed": N_("Malformed, or of a version this service cannot read"),
            "failed": N_("Handling it failed every time it was tried"),
            "broker_expired": N_("Nobody took it in time"),
            "broker_delivery_limit": N_("Handling it failed too many times"),
            "broker_rejected": N_("Turned away by the service"),
            "broker_maxlen": N_("The queue was full"),
            "broker_other": N_("Set aside by the message broker"),
            "unknown": N_("No reason was recorded"),
        },
        "parked_why_not": {
            "replayed_copy": N_(
                "its first copy was already carried out and answered. Remove it."
            ),
            "rpc_request": N_(
                "the person who asked gave up waiting long ago. Remove it; they can "
                "do it again."
            ),
            "unsigned": N_("it would be refused again. Remove it."),
            "other": N_("the service says it would not work. Remove it."),
        },
        "parked_subject": {
            "bus_message": N_("Message between services"),
            "delivery": N_("Notification"),
        },
        "parked_action": {
            "retry": N_("Retried"),
            "discard": N_("Discarded"),
        },
        "parked_outcome": {
            "started": N_("Started, not finished"),
            "retried": N_("Sent again"),
            "discarded": N_("Removed"),
            "not_found": N_("Already gone"),
            "refused": N_("Refused"),
            "failed": N_("Failed"),
        },
        # why a service read a person's data (the access log), as the services
        # say it; a purpose a person typed is shown as they wrote it
        "read_purpose": {
            "payout routing": N_("choosing how to pay them (their country)"),
            "payout routing at activation": N_(
                "choosing how to pay them, when they were accepted"
            ),
            "payout onboarding check": N_("checking their payout set-up"),
            "payout": N_("paying them"),
            "vetting": N_("vetting the application"),
            "listing staff": N_("listing the staff to write to"),
            "password reset": N_("sending a password reset link"),
            "own profile": N_("their own profile"),
            "invitation": N_("a staff invitation"),
        },
        # a Stripe event about a payout's transfer (stipends' webhooks)
        "provider_event_type": {
            "transfer.created": N_("the transfer was made"),
            "transfer.updated": N_("the transfer changed"),
            "transfer.reversed": N_("the transfer was reversed"),
        },
        "service": {
            "registry": N_("people and accounts"),
            "stipends": N_("stipends and payouts"),
            "notifications": N_("messages to people"),
            "gateway": N_("the consoles"),
            "insights": N_("impact figures"),
        },
        "notification": {
            "application_accepted": N_("Application accepted"),
            "application_received": N_("Application received"),
            "application_rejected": N_("Application not accepted"),
            "discreet": N_("A neutral “you have a new message”"),
            "password_reset": N_("Password reset link"),
            "payout_failed": N_("Payout failed"),
            "payout_paid": N_("Payout paid"),
            "payout_sent": N_("Payout sent"),
            "payout_setup_needed": N_("Set up payouts"),
            "receipt_resolved": N_("A payment said not to have arrived, looked into"),
            "reconciliation_discrepancies": N_("Reconciliation found differences"),
            "reconciliation_overdue": N_("Reconciliation overdue"),
            "report_accepted": N_("Report accepted"),
            "report_changes_requested": N_("Report: changes requested"),
            "report_due": N_("Report due"),
            "report_rejected": N_("Report not accepted"),
            "run_waiting": N_("A payout run waits for release"),
            "staff_digest": N_("Staff digest"),
            "staff_invitation": N_("Staff invitation"),
            "stipend_approved": N_("Stipend approved"),
            "stipend_on_hold": N_("Stipend to be approved again"),
            "stipend_withdrawn": N_("Stipend withdrawn"),
            "report_feedback": N_("A mentor's feedback on a report"),
            "strategy_comment": N_("A mentor's comment on a strategy"),
            "strategy_shared": N_("A strategy waiting for its mentor"),
            "strategy_answer": N_("A member's answer on their strategy"),
            "report_answer": N_("A member's answer to feedback on a report"),
            "vouch_requested": N_("Asked to vouch"),
        },
    }
)


# Why a stipend is (or is not) due, as stipends writes it (stipends.logic.entitlement
# .assess): each sentence's pattern, and its words in the reader's language. A
# sentence no pattern matches is shown as it is.
NOT_ELIGIBLE = "not eligible: "
# an admin's change of a stipend's amount, with their reason (stipends.logic
# .approvals.amend_stipend): among the reasons and in the trail alike
AMOUNT_CHANGED = (
    r"amount changed from (?P<before>.+?) to (?P<after>.+?): (?P<why>.+)",
    N_("amount changed from %(before)s to %(after)s: %(why)s"),
)
ENTITLEMENT_REASONS: tuple[tuple[str, str], ...] = (
    (r"status active", N_("the status is active")),
    (
        r"status is (?P<status>\w+), not active",
        N_("the status is “%(status)s”, not active"),
    ),
    (r"payout destination set up", N_("a payout destination is set up")),
    (r"no payout destination set up yet", N_("no payout destination is set up yet")),
    (r"tier (?P<tier>\w+): (?P<amount>.+)", N_("tier “%(tier)s”: %(amount)s")),
    (
        r"the tier (?P<tier>\w+) carries no stipend",
        N_("the tier “%(tier)s” carries no stipend"),
    ),
    (r"training completed", N_("a training is completed")),
    (r"training not completed", N_("no training completed")),
    (  # a programme that asks for no least number of conversations
        r"(?P<reports>\d+) accepted report\(s\) with at least 0 "
        r"conversation\(s\); (?P<needed>\d+) needed",
        N_("accepted reports: %(reports)s, %(needed)s needed"),
    ),
    (
        r"(?P<reports>\d+) accepted report\(s\) with at least (?P<conversations>\d+) "
        r"conversation\(s\); (?P<needed>\d+) needed",
        N_(
            "accepted reports with %(conversations)s or more conversations: "
            "%(reports)s, %(needed)s needed"
        ),
    ),
    (r"(?P<late>\d+) of them submitted late", N_("of them sent late: %(late)s")),
    AMOUNT_CHANGED,
)
NOT_ELIGIBLE_WORDS = N_("not eligible: %(why)s")

# What a stipend's, a report's or a payout's trail says of a step, as stipends
# writes it (stipends.logic.activity and the ledger's memos); free text an admin
# wrote (a reason) is carried over as it is.
JOURNAL_ENTRY = r"(?P<memo>.+) \(journal entry (?P<entry>\d+)\)"
TRAIL_DETAILS: tuple[tuple[str, str], ...] = (
    (r"proposed when the cycle was closed", N_("proposed when the cycle was closed")),
    (r"latest submission", N_("the latest submission")),
    (
        r"changed after it was sent",
        N_("changed after it was sent, before the deadline"),
    ),
    (
        r"latest submission \(after the deadline\)",
        N_("the latest submission (after the deadline)"),
    ),
    (r"latest review", N_("the latest review")),
    (r"slot (?P<slot>\d+)", N_("approval %(slot)s")),
    (r"slot (?P<slot>\d+): (?P<why>.+)", N_("approval %(slot)s: %(why)s")),
    (r"stipend approved: budget reserved", N_("stipend approved: budget reserved")),
    (r"stipend released for payment", N_("stipend released for payment")),
    (r"payout sent through (?P<provider>\w+)", N_("payout sent through %(provider)s")),
    (
        r"payout confirmed by (?P<provider>\w+)",
        N_("payout confirmed by %(provider)s"),
    ),
    (
        r"provider's fee for the payment, from its data",
        N_("the provider's fee for the payment, from its data"),
    ),
    (r"stipend rejected after approval", N_("stipend rejected after approval")),
    (r"payout returned after settlement", N_("payout returned after settlement")),
    (r"payout failed", N_("payout failed")),
    (r"approval void: (?P<why>.+)", N_("approval voided: %(why)s")),
    (r"programme funded", N_("programme funded")),
    AMOUNT_CHANGED,
)
JOURNAL_ENTRY_WORDS = N_("%(memo)s (journal entry %(entry)s)")

# What stands where contacts and links were removed from a person's text
# (stipends.logic.redaction.MARKERS), in the reader's language
REDACTION_MARKERS = {
    "[email removed]": N_("[email removed]"),
    "[link removed]": N_("[link removed]"),
    "[handle removed]": N_("[handle removed]"),
    "[phone removed]": N_("[phone removed]"),
    "[number removed]": N_("[number removed]"),
}
