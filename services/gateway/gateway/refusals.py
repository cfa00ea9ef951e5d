"""What the consoles say when a service refuses, and the few sentences handlers
pick by key, in English; gateway.i18n.refusal and gateway.i18n.texts say them in
the reader's language."""

from __future__ import annotations

import re

from gateway.labels import N_

# -- sentences the handlers pick by key: web.texts(lang)["forbidden"] -------------
TEXTS: dict[str, str] = {
    # a saved report's `notice` through the API (the console says it in the page)
    "redaction_notice": N_(
        "Contacts and links were removed from your report before it was stored "
        "(%(kinds)s). Describe outcomes, never who people are or how to reach them."
    ),
    "forbidden": N_("This page is not open to your role."),
    "not_found": N_("This page does not exist, or what it showed was removed."),
    "method_not_allowed": N_(
        "This page cannot be used that way. Go back to it and use its buttons."
    ),
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
    "invited": N_("The invitation is on its way. It is valid for 72 hours."),
    "funded": N_("The funding is booked: the budget below includes it."),
}


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
        "The code is not right; nothing was released. A code lasts about a "
        "minute: enter the current code from your app and release again."
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
    "vouch_not_found": N_(
        "This request to vouch was not found among yours. Open Vouching to see "
        "the requests that name you."
    ),
    "vouch_not_pending": N_(
        "This request to vouch was already answered or has expired; nothing was "
        "changed. Open Vouching to see where it stands."
    ),
    "application_decided": N_(
        "This application is already decided, so a vouch no longer changes it. "
        "Nothing was changed."
    ),
    "voucher_not_active": N_(
        "Only an active member can vouch. Ask a programme admin if this is a mistake."
    ),
    "not_a_member": N_(
        "Only a member of the programme answers requests to vouch. Ask a programme "
        "admin if this is a mistake."
    ),
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
    "run_not_released": N_(
        "This run is not released yet. Release it first: its bank transfers go in "
        "the file once they are sent."
    ),
    "no_bank_transfers": N_(
        "No bank transfer of this run is waiting for the bank: its payments go "
        "through another provider, or are paid or failed already. There is no file "
        "to make."
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
    "funding_in_use": N_(
        "Part of what this funding added is already reserved for approved stipends "
        "or paid, so it cannot leave the budget; nothing was changed. Add the right "
        "amount as a new funding first, then reverse this one. If the budget still "
        "does not cover it, an admin first rejects the approvals that should not "
        "stand."
    ),
    "reversed_already": N_(
        "This funding was already reversed; nothing was changed. Reload the page to "
        "see the budget now."
    ),
    "funding_not_found": N_(
        "This funding was not found in this programme. Reload the programme's page."
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
    "not_bank_corridor": N_(
        "Your country is not paid by bank transfer. Use Set up payments on your "
        "account page instead."
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
    # strategies and feedback
    "strategy_professional_only": N_(
        "A communication strategy is for professional communicators. Ask your "
        "club's coordinator about the professional programme."
    ),
    "strategy_no_draft": N_(
        "There is no draft to share. Write or revise your strategy, then share it."
    ),
    "strategy_version_shared": N_(
        "A shared version never changes. Save your changes as a new version."
    ),
    "strategy_not_shared": N_(
        "Nothing is shared yet. A strategy is discussed once its author shares it."
    ),
    "text_required": N_("Write your message, then send it."),
    "feedback_not_opened": N_(
        "You can answer once your mentor has left feedback on this report."
    ),
    "no_shared_strategy": N_(
        "You have no shared strategy, so the report does not say how the cycle went "
        "against one. Leave those fields empty (a professional communicator shares "
        "a strategy first)."
    ),
    "strategy_progress_required": N_(
        "Say how the cycle went against your strategy, then submit the report."
    ),
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
    "training_not_held": N_(
        "This training has not been held yet. Record who completed it on its day or "
        "after."
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
    "content_not_expected": N_(
        "A file is read only when the rows come from a file (Stripe's itemized "
        "report or the bank's statement). Choose that source, or remove the file."
    ),
    "booked_before_made": N_(
        "The statement books a payout that was made after this period ended, so "
        "the line cannot be this period's. Reconcile the statement for the period "
        "its lines were booked in."
    ),
    "dated_before_made": N_(
        "A line of the report books a payout on a date before that payout was made, "
        "so the line is another payout's or the report is wrong. Check the report's "
        "lines and dates, then import it again."
    ),
    "row_outside_period": N_(
        "A line of the report is dated outside this period. Export the report for "
        "this period (its first to its last day) and import that one."
    ),
    "period_not_over": N_(
        "This period is not over yet, and payments may still be booked in it. Once "
        "its last day is past, run the period again and sign that reconciliation off."
    ),
    "run_before_period_end": N_(
        "This reconciliation was run before its period ended, so payments booked "
        "after it are not in it. Run the period again and sign that reconciliation "
        "off."
    ),
    "reconciliation_signed_off": N_(
        "This period is signed off and stays as signed. Nothing can change here."
    ),
    "reconciliation_overlaps": N_(
        "This period overlaps another reconciliation of this provider. Choose dates "
        "outside the periods already signed off, or re-run an open period as it is."
    ),
    "deadline_before_period": N_(
        "The deadline is before the month of the cycle begins. Give a later one."
    ),
    "deadline_too_late": N_(
        "The deadline is more than a year away (from the month of the cycle, or "
        "from today): a cycle closes only after its deadline. Give an earlier one."
    ),
    "amount_not_positive": N_("Give an amount greater than zero."),
    "invalid_date": N_("Give the first day and the day after the last as dates."),
    "period_not_begun": N_("This period has not begun. Reconcile it once it has."),
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
    "payout_required": N_("Choose the payout to link it to from the list."),
    "invalid_payout": N_("No payout of this provider has that id. Check the id."),
    "invalid_period": N_("The period must end after it starts."),
    "invalid_source": N_("This provider has no such source. Choose another source."),
    "invalid_file": N_(
        "The file could not be read, and nothing was recorded: correct it, or "
        "export it again from the provider."
    ),
    "content_required": N_("Choose a file or paste its content."),
    "content_too_large": N_(
        "The file is too large for one import. Split the period into shorter ones."
    ),
    # forms
    # a field's rule (the gateway's or a service's): every refused field is named
    "invalid_input": N_(
        "Some values are not accepted: correct those marked next to their fields and "
        "send again."
    ),
    "too_long": N_("A field is too long. Shorten it and send again."),
    "invalid_id": N_("This link is broken. Go back and open the page again."),
    "unknown_action": N_("Choose an action."),
    "unconfirmed": N_("Tick the box to confirm the erasure."),
    "no_answer": N_("Choose whether you vouch for this person, then send."),
    "invalid_iban": N_(
        "The IBAN's check digits do not match: a character is mistyped. Copy the "
        "IBAN again from your bank."
    ),
    "iban_country": N_(
        "An IBAN begins with the two letters of its country, such as GE or DE. "
        "Copy the IBAN again from your bank."
    ),
    "iban_length": N_(
        "This IBAN has too many or too few characters for its country. Copy it "
        "again from your bank."
    ),
    "iban_format": N_(
        "This IBAN has a letter or sign where its country has a digit, or the "
        "other way round. Copy it again from your bank."
    ),
    "invalid_bic": N_(
        "A BIC has 8 or 11 letters and digits, such as BAGAGE22. Ask your bank for "
        "its BIC (SWIFT code)."
    ),
    "bic_country": N_(
        "The BIC's fifth and sixth letters must be its country, such as GE in "
        "BAGAGE22. Ask your bank for its BIC (SWIFT code)."
    ),
    "bic_not_iban_country": N_(
        "This BIC is of a bank in another country than the IBAN's. Give the BIC of "
        "the bank that holds this account."
    ),
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
    "clearing_differs": N_(
        "The ledger's clearing figure for this period differs from the provider's "
        "(the table on this page shows by how much). Resolve the differences that "
        "explain it, or run the reconciliation again, then sign off."
    ),
    "invalid_write_off_account": N_(
        "Choose the ledger account the write-off goes to from the list."
    ),
    "invalid_amount": N_(
        "An amount is not a number in the programme's currency. Write it like 250 "
        "or 250.50."
    ),
    "amount_no_decimals": N_(
        "The programme's currency has no decimals (like the yen). Write a whole "
        "amount, like 2500."
    ),
    "amount_two_decimals": N_(
        "The programme's currency has two decimals. Write at most two after the "
        "point, like 250.50."
    ),
    "amount_three_decimals": N_(
        "The programme's currency has three decimals (like the Kuwaiti dinar). "
        "Write at most three after the point, like 25.125."
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
        "This form was already sent with other values (or the same request id was "
        "used for another request). Reload the page and send it again."
    ),
    "invalid_idempotency_key": N_(
        "The request id (Idempotency-Key) is 8 to 64 letters, digits, - or _. Send a "
        "new one for each request, the same one when you send it again."
    ),
    "cycle_exists": N_(
        "This programme already has a cycle for that month. Choose another month."
    ),
    "invalid_deadline": N_("Give the deadline as a date and a time."),
    "invalid_amendment": N_("Give a new amount above zero and say why it changes."),
    "nothing_chosen": N_("Tick at least one stipend, then approve."),
    "nothing_ticked": N_(
        "Tick at least one difference, then choose what to do with the ticked ones."
    ),
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
    "unknown_country": N_(
        "We cannot pay anyone living in this country yet. Choose the country you "
        "live in; if it is this one, ask the programme when it will be served."
    ),
    "consent_outdated": N_(
        "The consent text has changed. Reload the page, read it and agree again."
    ),
    "unknown_club": N_(
        "There is no club with this id. Ask the club's coordinator for it again, or "
        "leave it out: an admin can put you in a club later."
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
        "The statement could not be read, and nothing was changed: a column is "
        "missing, or a line holds a value the import does not take (status booked "
        "or returned, the amount with a point before the decimals, a three-letter "
        "currency). Correct that line or export the statement again from the bank."
    ),
    "invalid_format": N_("Choose the bank file's format: pain.001 or CSV."),
    "bank_debtor_invalid": N_(
        "The programme's own bank account is not set up for pain.001 files. "
        "Download the CSV file instead, and ask an operator to set the "
        "programme's own IBAN and BIC."
    ),
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


# -- clubs, trainings, staff and oversight (console-oversight) ---------------------
REFUSALS.update(
    {
        "club_not_found": N_("This club was not found. Reload the page."),
        "handle_taken": N_(
            "Another staff member has this name. Add an initial or their team, so "
            "that admins can tell them apart."
        ),
        "not_in_programme": N_(
            "Only applicants and current members can be in a club: this person was "
            "turned down or has left the programme. Nothing was changed."
        ),
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
        "reversed_dates": N_(
            "The last day comes before the first: swap them and search again."
        ),
    }
)


# -- a field's fault, as the schemas (marshmallow) word it: what the form shows next
# to the field (gateway.forms), saying what to give instead. The first pattern that
# matches the service's English message wins; the numbers it names are kept.
NUMBER = r"-?\d+(?:\.\d+)?"  # a bound as marshmallow writes it (not its full stop)
FIELD_FAULTS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"^(Missing data for required field|Field may not be null|"
            r"Shorter than minimum length 1\b|Length must be between 1 and)"
        ),
        N_("Fill in this field."),
    ),
    (re.compile(r"^Not a valid (integer|number)"), N_("Give a whole number.")),
    (  # both bounds (marshmallow's Range with a min and a max): say both
        re.compile(
            rf"^Must be greater than or equal to (?P<least>{NUMBER}) and less than or "
            rf"equal to (?P<most>{NUMBER})"
        ),
        N_("Give a number from %(least)s to %(most)s."),
    ),
    (
        re.compile(r"^Must be greater than or equal to (?P<n>-?\d+(?:\.\d+)?)"),
        N_("Give a number of at least %(n)s."),
    ),
    (
        re.compile(r"^Must be less than or equal to (?P<n>-?\d+(?:\.\d+)?)"),
        N_("Give a number of at most %(n)s."),
    ),
    (
        re.compile(r"^Must be greater than (?P<n>-?\d+(?:\.\d+)?)"),
        N_("Give a number greater than %(n)s."),
    ),
    (
        re.compile(r"^(Shorter than minimum length|Length must be between) (?P<n>\d+)"),
        N_("Give at least %(n)s characters."),
    ),
    # how we contact someone (notifications' preferences)
    (
        re.compile(r"^use an IANA time zone"),
        N_("Choose a time zone by its place, such as Europe/Berlin."),
    ),
    (
        re.compile(r"^the in-app inbox cannot be turned off"),
        N_("Messages on this site stay on: tick them again."),
    ),
    (
        re.compile(r"^give both the start and the end of quiet hours"),
        N_("Give both when quiet hours start and when they end, or neither."),
    ),
    (
        re.compile(r"^on or after (?P<day>\d{4}-\d{2}-\d{2})$"),  # a cycle's deadline
        N_("Give a day on or after %(day)s."),
    ),
    (
        re.compile(r"^on or before (?P<day>\d{4}-\d{2}-\d{2})$"),  # a cycle's deadline
        N_("Give a day on or before %(day)s."),
    ),
    (
        re.compile(r"^(?P<least>\d+) to (?P<most>\d+) characters$"),  # a password
        N_("Give %(least)s to %(most)s characters."),
    ),
    (
        re.compile(r"^Longer than maximum length (?P<n>\d+)"),
        N_("Give at most %(n)s characters."),
    ),
    (
        re.compile(r"^Not a valid email"),
        N_("Give an email address such as name@example.org."),
    ),
    (re.compile(r"^Not a valid UUID"), N_("Choose an item from the list.")),
    (re.compile(r"^Not a valid date"), N_("Give a date as YYYY-MM-DD.")),
    (re.compile(r"^Must be one of"), N_("Choose one of the values offered.")),
    # a programme's form (gateway.console.programmes, and stipends' own checks)
    (re.compile(r"^not an amount$"), N_("Write an amount, like 250 or 250.50.")),
    (
        re.compile(r"^no decimals$"),
        N_("This currency has no decimals: write a whole amount, like 2500."),
    ),
    (
        re.compile(r"^at most (?P<n>\d) decimals$"),
        N_("Write at most %(n)s digits after the point."),
    ),
    (re.compile(r"^taken$"), N_("This is taken already: choose another.")),
    (  # a staff invitation (registry)
        re.compile(r"^this email already has an account$"),
        N_("This email already has an account: invite another address."),
    ),
    (
        re.compile(r"^another staff member has this name$"),
        N_("Another staff member has this name: add an initial or their team."),
    ),
    (
        re.compile(r"^2 to 40 letters, digits, spaces or punctuation; no email"),
        N_("Give a name of 2 to 40 characters that is not an email address."),
    ),
    (
        re.compile(r"^approval bands need exactly one open-ended band"),
        N_("Leave “up to” empty in exactly one row: the row for every larger amount."),
    ),
    (
        re.compile(r"^a larger amount cannot need fewer approvers"),
        N_(
            "A larger amount cannot need fewer admins, and every row needs at "
            "least one."
        ),
    ),
]
FIELD_FAULT = N_("Correct this field and send again.")
# after a file's refusal, the line it stopped at (gateway.i18n.refusal)
LINE_AT = N_("The first line it could not read is line %(line)s of the file.")
LINE_OF = N_("It is line %(line)s of the file.")
# what is wrong with a file's line (or its header), as stipends writes it after
# "report line N: " or "statement line N: " (its first fault, when there are
# several), in the reader's words (gateway.i18n.refusal)
FILE_FAULTS: tuple[tuple[str, str], ...] = (
    (
        r"amount (?P<value>\S+): more decimals than (?P<currency>[A-Z]{3}) has",
        N_("Its amount %(value)s has more decimals than %(currency)s has."),
    ),
    (
        r"amount (?P<value>\S+): a transfer is money out.*",
        N_(
            "Its amount %(value)s is positive, but a transfer is money out of the "
            "balance: negative in Stripe's report."
        ),
    ),
    (
        r"amount (?P<value>\S+): a transfer_reversal is money back.*",
        N_(
            "Its amount %(value)s is negative, but a reversal is money back into "
            "the balance: positive in Stripe's report."
        ),
    ),
    (r"amount (?P<value>\S+): out of range", N_("Its amount %(value)s is too large.")),
    (
        r"amount '(?P<value>.*)' is not an amount: .*",
        N_(
            "Its amount “%(value)s” is not an amount: write digits, with a point "
            "before the decimals."
        ),
    ),
    (
        r"amount '(?P<value>.*)' has more decimals than the currency: "
        r"(?P<currency>[A-Z]{3}) has .*",
        N_("Its amount %(value)s has more decimals than %(currency)s has."),
    ),
    (
        r"amount (?P<value>\S+): negative, not a payout's line.*",
        N_(
            "Its amount %(value)s is negative: it is not a payout's line. "
            "Reconcile the statement's payout lines (positive amounts) only: "
            "remove the others from the file."
        ),
    ),
    (r"no amount", N_("It has no amount.")),
    (
        r"amount (?P<value>.+)",
        N_("Its amount %(value)s is not a number with a point before the decimals."),
    ),
    (
        r"currency '?(?P<value>[^']*)'?(?: is not a three-letter code)?",
        N_("Its currency “%(value)s” is not a three-letter code."),
    ),
    (
        r"created_utc (?P<value>.+)",
        N_(
            "Its time %(value)s is not written YYYY-MM-DD HH:MM:SS (UTC), or no "
            "calendar has it."
        ),
    ),
    (r"source_id", N_("Its source_id is missing or longer than 80 characters.")),
    (
        r"payout reference",
        N_("Its payout reference is not “payout:” followed by a payout's id."),
    ),
    (
        r"status '(?P<value>[^']*)' is not booked or returned",
        N_("Its status “%(value)s” is neither booked nor returned."),
    ),
    (
        r"fee: .*|amount: .*",
        N_("Its amount or fee is not a number with a point before the decimals."),
    ),
    (
        r"the statement has no column (?P<columns>[^:]+):.*",
        N_(
            "Its first line must name the columns reference, amount, currency and "
            "status (and fee), separated by commas; it lacks: %(columns)s. A "
            "spreadsheet program can save it as CSV with commas."
        ),
    ),
    (
        r"the report lacks the columns (?P<columns>.+)",
        N_(
            "Its first line must name the columns of Stripe's itemized balance "
            "change report; it lacks: %(columns)s."
        ),
    ),
)
# the refusals of a file whose fault is said (FILE_FAULTS)
FILE_FAULTED = frozenset({"invalid_file", "invalid_statement"})
# which refusals of a file name its line, and how
LINE_NAMED = {
    "invalid_file": LINE_AT,
    "invalid_statement": LINE_AT,
    "booked_before_made": LINE_OF,
    "dated_before_made": LINE_OF,
    "row_outside_period": LINE_OF,
}
