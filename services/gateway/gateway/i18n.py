"""The consoles' words in Russian and English: one Babel catalogue per language
(locale/<lang>/LC_MESSAGES/messages.po), the same way the notifications service
speaks. Russian unless the person chose otherwise. Neutral wording everywhere a
screen could be seen over a shoulder.

The .po files are the only source: they are compiled in memory the first time a
language is used (read_po → write_mo), so a clean clone needs no build step and a
compiled file can never go stale.

Where words come from:
- templates: `{{ _("Plain English") }}` or `{% trans %}…{% endtrans %}`
  (jinja2.ext.i18n);
- money: the `money` filter, `{{ amount_minor|money(currency) }}` (`money` below);
- internal codes (statuses, kinds, roles, …): the `label` filter,
  `{{ s.status|label("stipend_status") }}`, from LABELS below;
- a service's refusal: `refusal(language, code, message)`, from REFUSALS below;
- the few sentences handlers pick by key: `texts(language)[key]`, from TEXTS below.

After adding or changing an English text, from services/gateway:

    pybabel extract -F babel.cfg --no-location --omit-header -o /tmp/gateway.pot gateway
    pybabel update -i /tmp/gateway.pot -d gateway/locale --no-fuzzy-matching

then write its Russian (and English) msgstr. tests/gateway/unit/test_i18n.py fails
while a text has no Russian translation or a catalogue keeps a text nobody uses.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, get_currency_precision
from babel.support import Translations

HERE = Path(__file__).parent
LOCALES = HERE / "locale"
LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"


def N_(msgid: str) -> str:
    """Marks a text for extraction; it is translated where it is shown."""
    return msgid


def language_of(value: str | None) -> str:
    """A supported language: `en-GB` → `en`; anything unknown → Russian."""
    if value:
        short = value.replace("_", "-").split("-")[0].lower()
        if short in LANGUAGES:
            return short
    return DEFAULT_LANGUAGE


def catalogue_path(language: str) -> Path:
    return LOCALES / language / "LC_MESSAGES" / "messages.po"


@cache
def translations(language: str) -> Translations:
    """The language's catalogue, compiled in memory once per process."""
    language = language_of(language)
    with open(catalogue_path(language), "rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(language: str, msgid: str) -> str:
    return str(translations(language).gettext(msgid))


# -- sentences the handlers pick by key: web.texts(lang)["forbidden"] -------------
TEXTS: dict[str, str] = {
    "forbidden": N_("This page is not open to your role."),
    "not_found": N_("This page does not exist, or what it showed was removed."),
    "error": N_(
        "Something went wrong and nothing was changed. Go back, reload the page "
        "and try again."
    ),
    "unavailable": N_(
        "The service is busy and nothing was changed. Try again in a minute."
    ),
    "received": N_("Thank you. Your application was received; we will write to you."),
    "link_sent": N_("If this email has an account, a link is on its way."),
    "password_set": N_("Your new password is set. Sign in with it."),
    "failed_sign_in": N_("The email, password or code is not right."),
    "erased": N_("Your data was erased and your account closed."),
    "invite_invalid": N_("Give a valid email and at least one role."),
    "invited": N_("The invitation is on its way. It is valid for 72 hours."),
}


@cache
def texts(language: str) -> Mapping[str, str]:
    """The handlers' sentences in `language`, by key (a KeyError for an unknown key,
    as before). New code translates with `gettext` or in the template instead."""
    return {key: gettext(language, msgid) for key, msgid in TEXTS.items()}


# -- money -------------------------------------------------------------------------
def money(language: str, amount_minor: int | None, currency: str | None) -> str:
    """An amount in minor units as the language writes it, with the currency's ISO
    4217 exponent: 25000 EUR → "€250.00" / "250,00 €"; 500 JPY → "¥500"; 1234 KWD
    → "KWD 1.234". The one place the consoles format money."""
    if amount_minor is None:
        return "—"
    code = (currency or "").upper()
    exponent = get_currency_precision(code)
    amount = Decimal(int(amount_minor)).scaleb(-exponent)
    return str(format_currency(amount, code, locale=language_of(language)))


def to_minor(amount: str, currency: str) -> int:
    """An amount typed in major units ("250", "250.5", "250,50") as minor units of
    the currency (ISO 4217 exponent); InvalidOperation/ValueError if it is not one."""
    exponent = get_currency_precision((currency or "").upper())
    value = Decimal(amount.strip().replace(" ", "").replace(",", "."))
    minor = value.scaleb(exponent)
    if minor != minor.to_integral_value() or minor < 0:
        raise ValueError(f"{amount!r} is not an amount in {currency}")
    return int(minor)


def currency_step(currency: str) -> str:
    """The smallest step of a money input: 1 for JPY, 0.01 for EUR, 0.001 for KWD."""
    exponent = get_currency_precision((currency or "").upper())
    return "1" if exponent == 0 else "0." + "0" * (exponent - 1) + "1"


def countries(language: str) -> list[tuple[str, str]]:
    """ISO 3166 countries (two letters) by name in the reader's language."""
    names = Locale.parse(language_of(language)).territories
    found = [(code, name) for code, name in names.items() if len(code) == 2]
    return sorted(found, key=lambda pair: pair[1])


# the languages a communicator may say they speak (ISO 639-1), named in the reader's
SPOKEN = (
    "ru",
    "en",
    "uk",
    "be",
    "ka",
    "hy",
    "kk",
    "ky",
    "uz",
    "tt",
    "de",
    "fr",
    "es",
    "it",
    "pl",
    "lt",
    "lv",
    "et",
    "fi",
    "sr",
    "he",
    "tr",
    "pt",
    "cs",
)


def spoken_languages(language: str) -> list[tuple[str, str]]:
    names = Locale.parse(language_of(language)).languages
    return [(code, names.get(code, code)) for code in SPOKEN]


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
    },
    "review_outcome": {
        "same_person": N_("Same person"),
        "distinct": N_("Different people"),
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
    "contact_channel": {
        "email": N_("Email"),
        "inbox": N_("Messages on this site"),
        "telegram": N_("Telegram"),
    },  # a report's or a stipend's trail (stipends' get_activity)
    "activity_action": {
        "drafted": N_("Report drafted"),
        "submitted": N_("Report sent"),
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


def label(language: str, kind: str, code: str | None) -> str:
    """The label of an internal code; an unknown code shows as words ("new_state"
    → "New state"), never an error, so a new code in a service does not break a
    page before it gets its label."""
    if code is None or code == "":
        return "—"
    msgid = LABELS.get(kind, {}).get(str(code))
    if msgid is None:
        words = str(code).replace("_", " ").strip()
        return words[:1].upper() + words[1:]
    return gettext(language, msgid)


# -- refusals ----------------------------------------------------------------------
# A service refuses with a stable code and an English message (svyaz.errors). The
# consoles say the refusals they can meet in the person's language, each with what
# to do next; any other code shows the service's message.
REFUSALS: dict[str, str] = {
    # signing in, sessions, forms
    "csrf": N_("This form has expired. Reload the page and send it again."),
    "sign_in_failed": N_(
        "The email, password or code is not right, or the account is locked for a "
        "while. Check them and try again later."
    ),
    "sign_in_expired": N_("Your sign-in is too old. Sign in again, then repeat."),
    "not_signed_in": N_("Sign in first."),
    "second_factor_required": N_("Sign in again with the code from your app."),
    "second_factor_failed": N_(
        "The code is not right; nothing was released. Enter the current code "
        "from your app."
    ),
    "second_factor_on": N_("The code at sign-in is already on."),
    "no_enrollment": N_("Start by signing in."),
    "no_second_factor": N_("No authenticator is set up for this account."),
    "code_required": N_("Enter the code from your authenticator app."),
    "access_ended": N_(
        "This account can no longer act. Ask a programme admin if this is a mistake."
    ),
    "reset_invalid": N_(
        "This link is not valid or has expired. Ask for a new one on the sign-in page."
    ),
    "weak_password": N_(
        "This password is too weak. Choose a longer one that is not easy to guess."
    ),
    # not found, not allowed
    "not_found": N_("This was not found. Reload the page to see what is there now."),
    "forbidden": N_("This is not open to your role."),
    "role_required": N_("This is not open to your role."),
    "not_allowed": N_("This is not open to your role."),
    "not_coordinator": N_("Only this club's coordinator sees its members."),
    "cycle_not_found": N_("This cycle was not found. Reload the page."),
    "run_not_found": N_("This payout run was not found. Reload the page."),
    "payout_not_found": N_("This payout was not found. Reload the page."),
    "reconciliation_not_found": N_(
        "This reconciliation was not found. Reload the page."
    ),
    "staff_not_found": N_("This staff member was not found. Reload the page."),
    "reset_not_found": N_(
        "This authenticator reset is no longer waiting. Reload the page."
    ),
    "message_not_found": N_("This message was not found. Reload your messages."),
    # segregation of duties: a second person
    "segregation": N_(
        "A second finance person signs off: not the one who ran this reconciliation "
        "or resolved its differences. Ask a colleague to sign off."
    ),
    "own_application": N_(
        "Nobody approves their own application. Another admin decides on it."
    ),
    "own_proposal": N_("You proposed this stipend, so another admin approves it."),
    "own_stipend": N_("Nobody approves their own stipend. Another admin decides."),
    "own_report": N_("Nobody reviews their own report. Another admin reviews it."),
    "own_account": N_(
        "You cannot do this to your own account. Ask another admin to do it."
    ),
    "same_admin": N_(
        "You asked for this reset, so a second admin approves it. Ask a colleague."
    ),
    "second_slot": N_(
        "You have already approved this. Another admin gives the next approval."
    ),
    "releaser_approved": N_(
        "You approved a stipend in this run, so another finance person releases it."
    ),
    # stale pages and concurrent changes
    "payee_changed": N_(
        "The payee, payout account or amount changed since you opened this page. "
        "Reload the page, check the stipend again and decide."
    ),
    "concurrent_change": N_(
        "Someone else changed this at the same moment. Reload the page and decide "
        "again."
    ),
    "totals_mismatch": N_(
        "The control totals changed since you opened this page. Reload the run, "
        "check the totals again and release."
    ),
    "stipend_changed": N_(
        "A stipend in this run changed since it was built. Build the run again."
    ),
    # budget and payments
    "over_budget": N_(
        "The programme's budget does not cover this. Lower the amount or ask for "
        "more budget first."
    ),
    "provider_unavailable": N_(
        "The payment provider did not answer; nothing was recorded. Try again in a "
        "few minutes."
    ),
    "provider_unknown": N_(
        "The provider could not be asked whether it holds this payment, so nothing "
        "was paid again. Try again later."
    ),
    "provider_has_payment": N_(
        "The provider already holds a payment for this payout. Link the difference "
        "to the payout instead of paying again."
    ),
    "stripe_error": N_(
        "The payment provider refused; nothing was recorded. Try again later or "
        "contact the programme."
    ),
    "no_corridor": N_(
        "No payout route serves your country yet. The programme will contact you."
    ),
    "payee_not_ready": N_(
        "The payee has not set up a payout account yet. Wait until they have."
    ),
    "payee_not_active": N_(
        "The payee is not active. Reject the stipend or wait until they are reinstated."
    ),
    "empty_run": N_("No approved stipend is ready to be paid, so there is no run."),
    # cycles, reports and stipends in a state that does not allow the step
    "cycle_open": N_("Close the cycle before paying it."),
    "cycle_closed": N_("This cycle is closed: reports and stipends no longer change."),
    "cycle_locked": N_("This cycle is locked: its stipends no longer change."),
    "deadline_not_passed": N_(
        "The cycle takes reports until its deadline. Close it after the deadline."
    ),
    "deadline_passed": N_(
        "The deadline has passed: a submitted report can no longer be edited."
    ),
    "reports_awaiting_review": N_(
        "Some submitted reports of this cycle are not reviewed yet. Review them "
        "first, then close the cycle."
    ),
    "stipends_pending": N_(
        "Some stipends of this cycle still await a decision. Decide on them first."
    ),
    "report_reviewed": N_("This report has been reviewed and can no longer be edited."),
    "comment_required": N_(
        "Say why: a rejection or a request for changes needs a comment."
    ),
    "reason_required": N_("Say why in the reason field."),
    "not_in_review": N_(
        "Only an application under review can be approved. Start the review first."
    ),
    "open_review_items": N_(
        "Possible duplicates of this applicant are still open. Resolve them first."
    ),
    "training_required": N_(
        "The professional tier needs a completed training. Record the training first."
    ),
    "not_active": N_(
        "This needs an active account: the application is not accepted yet."
    ),
    "invalid_transition": N_(
        "The application is not in a state that allows this step. Reload the page."
    ),
    "resolved": N_("This review item is already resolved. Reload the page."),
    "erased": N_("This communicator's data was erased; nothing more can be done."),
    "reset_waiting": N_(
        "An authenticator reset of this account already waits for a second admin."
    ),
    # reconciliation
    "items_open": N_(
        "Some differences are still open. Resolve them before signing off."
    ),
    "item_resolved": N_(
        "A ticked difference is already resolved. Reload the page and tick again."
    ),
    "reconciliation_signed_off": N_(
        "This period is signed off and stays as signed. Nothing can change here."
    ),
    "reconciliation_superseded": N_(
        "A newer reconciliation of this period replaced this one. Open the newer one."
    ),
    "action_not_for_kind": N_(
        "This action does not fit a ticked difference. Choose another action."
    ),
    "link_mismatch": N_(
        "The difference and the payout do not match. Check the payout id."
    ),
    "no_payout": N_("This difference names no payout. Write it off or link it."),
    "payout_required": N_("Give the id of the payout to link to."),
    "invalid_payout": N_("No payout of this provider has that id. Check the id."),
    "invalid_period": N_("The period must end after it starts."),
    "invalid_source": N_("This provider has no such source. Choose another source."),
    "invalid_file": N_(
        "The file is not in the expected format. Export it again from the provider."
    ),
    "content_required": N_("Choose a file or paste its content."),
    "content_too_large": N_(
        "The file is too large for one import. Split the period into shorter ones."
    ),
    # forms
    "invalid_input": N_("Some fields are not right. Correct them and send again."),
    "too_long": N_("A field is too long. Shorten it and send again."),
    "invalid_id": N_("This link is broken. Go back and open the page again."),
    "unknown_action": N_("Choose an action."),
    "unconfirmed": N_("Tick the box to confirm the erasure."),
    "invalid_iban": N_("The IBAN's check digits do not match. Check the IBAN."),
    "invalid_roles": N_("Choose at least one known role."),
    "empty_search": N_("Search by pseudonym, email or status."),
    "club_name_taken": N_("A club with this name exists. Choose another name."),
    "unknown_coordinator": N_(
        "No active communicator has this pseudonym. Check the coordinator's pseudonym."
    ),
    "invalid_preferences": N_("Some preferences are not valid. Correct them."),
    "upstream_timeout": N_(
        "A service did not answer in time; nothing was changed. Try again."
    ),
    "upstream_unavailable": N_(
        "A service is not available; nothing was changed. Try again in a minute."
    ),  # programmes, cycles and stipends
    "invalid_amount": N_(
        "An amount is not a number in the programme's currency. Write it like 250 "
        "or 250.50."
    ),
    "invalid_currency": N_("Choose the programme's currency from the list."),
    "name_taken": N_("A programme with this name exists. Choose another name."),
    "invalid_bands": N_(
        "The approval rows do not fit together: leave “up to” empty in exactly one "
        "row, and never ask fewer admins for a larger amount. Correct them."
    ),
    "programme_changed": N_(
        "Someone else changed this programme since you opened it. The page now "
        "shows its current values: make your change again."
    ),
    "field_not_editable": N_(
        "The currency of a programme never changes, and its budget changes only "
        "by funding. Change the other fields."
    ),
    "idempotency_key_reused": N_(
        "This funding form was already used for another amount. Reload the page "
        "and fund again."
    ),
    "cycle_exists": N_(
        "This programme already has a cycle for that month. Choose another month."
    ),
    "invalid_deadline": N_("Give the deadline as a date and a time."),
    "invalid_request": N_(
        "Some values are not accepted. Check the numbers and dates and send again."
    ),
    "invalid_amendment": N_("Give a new amount above zero and say why it changes."),
    "nothing_chosen": N_("Tick at least one stipend, then approve."),
    "committed": N_(
        "This stipend is already in a payout run. Finance can cancel its payout."
    ),
    # applying, and the communicator's answer about a payment
    "pseudonym_mixed_scripts": N_(
        "Use one alphabet: this pseudonym mixes Latin and Cyrillic letters, which "
        "can look like someone else's. Type it again in Latin letters only or in "
        "Cyrillic letters only."
    ),
    "pseudonym_taken": N_("This pseudonym is taken. Choose another one."),
    "unknown_country": N_("Choose your country from the list."),
    "consent_outdated": N_(
        "The consent text has changed. Reload the page, read it and agree again."
    ),
    "payout_not_paid": N_(
        "This payment is not paid yet. You can answer once it shows as paid."
    ),
    "receipt_resolved": N_(
        "Finance has already looked into this payment. If something is still "
        "wrong, write to the programme."
    ),
    # finance: bank files, statements, receipt problems
    "invalid_statement": N_(
        "The statement is not in the expected format: CSV with the columns "
        "reference, amount, currency and status. Export it again from the bank."
    ),
    "invalid_format": N_("Choose the bank file's format: pain.001 or CSV."),
    "resolution_required": N_("Choose what you found, then resolve the report."),
    "note_required": N_("Say in the note what you found and did."),
    "problem_not_found": N_("This report was not found. Reload the page."),
    "problem_resolved": N_(
        "This report is already resolved. Reload the page to see the open ones."
    ),
    "problem_withdrawn": N_(
        "The payee withdrew this report: the money arrived. Reload the page."
    ),
    "account_not_found": N_(
        "This ledger account does not exist. Open it from the trial balance."
    ),
}

# Codes made of a record and its state ("run_released", "report_accepted"): the
# record is in a state that does not allow the step.
STATE_CODE = re.compile(r"^(cycle|report|stipend|run|payout|reconciliation)_(\w+)$")
STATE_REFUSAL = N_(
    "This is not possible while the %(thing)s is “%(state)s”. Reload the page to "
    "see where it stands."
)
THINGS: dict[str, tuple[str, str]] = {
    "cycle": (N_("cycle"), "cycle_status"),
    "report": (N_("report"), "report_status"),
    "stipend": (N_("stipend"), "stipend_status"),
    "run": (N_("payout run"), "run_status"),
    "payout": (N_("payout"), "payout_status"),
    "reconciliation": (N_("reconciliation"), "reconciliation_status"),
}


def refusal(language: str, code: str | None, message: str) -> str:
    """What the console says when a service refuses: the translated text for a
    known code (saying what to do next), otherwise the service's own message."""
    code = code or ""
    if code in REFUSALS:
        return gettext(language, REFUSALS[code])
    state = STATE_CODE.match(code)
    if state:
        thing, kind = THINGS[state.group(1)]
        if state.group(2) in LABELS[kind]:
            return gettext(language, STATE_REFUSAL) % {
                "thing": gettext(language, thing),
                "state": label(language, kind, state.group(2)),
            }
    return message


# -- clubs, trainings, staff and oversight (console-oversight) ---------------------
LABELS.update(
    {
        "activity_action": {
            "applied": N_("Applied"),
            "activation_approved": N_("Approved the application"),
            "review_item_opened": N_("A possible duplicate was found"),
            "review_item_resolved": N_("Resolved a possible duplicate"),
            "status_changed": N_("Changed the status"),
            "tier_changed": N_("Changed the tier"),
            "erased": N_("The data was erased"),
            "training_completed": N_("Recorded a completed training"),
            "payout_setup_state": N_("Payout set-up"),
        },
        "completion_refusal": {
            "invalid_id": N_("not a valid entry: reload the page and tick again"),
            "unknown_communicator": N_("not found: reload the page and tick again"),
            "not_member": N_(
                "not a member of your club: ask a programme admin to record it"
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
        },
    }
)

REFUSALS.update(
    {
        "club_not_found": N_("This club was not found. Reload the page."),
        "training_not_found": N_(
            "This training seminar was not found. Reload the clubs page."
        ),
        "communicator_not_found": N_(
            "This communicator was not found. Reload the page."
        ),
        "coordinator_not_staff": N_(
            "Only a staff account can coordinate a club. Invite the person as staff "
            "with the club coordinator role, then choose them."
        ),
        "coordinator_disabled": N_(
            "This staff account is disabled. Enable it on the Staff page or choose "
            "someone else."
        ),
        "coordinator_not_active": N_(
            "This person has not accepted their invitation yet. Choose them once they "
            "have set their password."
        ),
        "coordinator_role_missing": N_(
            "This account does not hold the club coordinator role. Choose one that "
            "does, or invite the person with that role."
        ),
        "coordinator_required": N_("Choose a coordinator from the list first."),
        "nobody_ticked": N_("Tick at least one person, then record."),
        "invalid_id_count": N_("Tick between 1 and 500 people at a time."),
        "not_member": N_(
            "Only members of your club can be recorded here. A programme admin can "
            "record the others."
        ),
        "email_taken": N_(
            "This email already has an account. Find it in the list below."
        ),
        "parked_message_not_found": N_(
            "This message is no longer parked: someone may have retried or removed "
            "it. Reload the page."
        ),
        "delivery_not_found": N_(
            "This notification is no longer parked: someone may have retried or "
            "removed it. Reload the page."
        ),
        "not_retryable": N_(
            "This message cannot be handled again. Remove it, with a reason."
        ),
        "unknown_service": N_("This link is broken. Reload the page."),
        "invalid_log_filter": N_(
            "A filter is not right: a pseudonym has 2 to 30 characters and dates "
            "are days. Correct it and search again."
        ),
    }
)
