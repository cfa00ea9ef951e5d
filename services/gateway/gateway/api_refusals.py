"""The refusals each API operation may answer with besides the common ones
(`COMMON`, and the `<thing>_<state>` family): the problem's `code` and its HTTP
status. First read from the services' code (on 2026-12-07, by a one-off static
reading of what each operation's RPC calls can raise, and of what the tests and an
outside reading met), kept by hand since: the gateway's integration tests fail on a
refusal an operation answers with that is not listed here (tests/gateway/conftest.py,
`refusals_declared`), so a new code is added here with the code that raises it. The
OpenAPI document lists them per operation (gateway.openapi)."""

from __future__ import annotations

import re

# codes any operation may answer with, each with its status and when
COMMON: dict[str, tuple[int, str]] = {
    "invalid_input": (400, "a field is missing or not valid: `errors` names each"),
    "invalid_json": (400, "the body is not JSON"),
    "invalid_id": (400, "an id in the path or the body is not a valid id"),
    "invalid_idempotency_key": (
        400,
        "the Idempotency-Key header is not 8 to 64 letters, digits, - or _",
    ),
    "not_signed_in": (401, "no live session: sign in with POST /api/v1/session"),
    "role_required": (403, "the operation is not open to your role"),
    "csrf": (403, "a write without the session's X-CSRF-Token header"),
    "no_such_operation": (404, "no operation at this path"),
    "method_not_allowed": (405, "the path takes other methods (`Allow`)"),
    "idempotency_key_reused": (
        409,
        "the Idempotency-Key was sent before with another request",
    ),
    "too_large": (413, "the body is longer than `x-max-body-bytes`"),
    "unsupported_media_type": (415, "a body not sent as application/json"),
    "too_many_attempts": (429, "a throttled operation's bucket is full"),
    "upstream_unavailable": (503, "a service did not answer in time; try again"),
}

# `<thing>_<state>` (409), any operation on the thing: it is in a state that does
# not allow this (`cycle_locked`, `run_released`, `payout_paid`); its states are the
# enums of its `status` in the document
STATE_CODE = re.compile(
    r"^(cycle|report|stipend|run|payout|reconciliation|problem)_\w+$"
)
STATE_CODE_SAID = (
    "`<thing>_<state>` (409), where the thing is a cycle, report, stipend, run, "
    "payout, reconciliation or (receipt) problem: it is in that state, which does "
    "not allow this (`cycle_locked`, `run_released`, `payout_paid`): read it "
    "again to see where it stands"
)

# what a code means for an API client, where the consoles' sentence (gateway.refusals)
# is missing or speaks of a screen
SAID: dict[str, str] = {
    "bad_row": "A provider's row is not a payment or a reversal, or its amount is "
    "negative; the error names the row.",
    "duplicate_provider_row": "The rows name one provider id twice; the error names "
    "it. Send each row once.",
    "idempotency_key_required": "This write needs an Idempotency-Key header (or "
    "`idempotency_key` in the body).",
    "idempotency_keys_differ": "The Idempotency-Key header and `idempotency_key` in "
    "the body differ: send one, or the same in both.",
    "invalid_action": "The action is not one this operation takes; the document "
    "lists them.",
    "invalid_dimension": "The dimension is not one this operation takes; the "
    "document lists them.",
    "invalid_fee": "A fee cannot be negative.",
    "invalid_items": "The items are missing, repeated or more than an operation "
    "takes at once.",
    "invalid_kind": "The kind is not one this operation takes; the document lists "
    "them.",
    "invalid_outcome": "The outcome is not one this operation takes.",
    "invalid_page": "The page number is past the last page.",
    "invalid_provider": "No such payout provider; the document lists them.",
    "invalid_state": "The state is not one this operation takes; the document lists "
    "them.",
    "no_provider": "This payout provider is not configured in this deployment.",
    "not_active_yet": "Your application is not accepted yet: this opens once it is.",
    "not_in_flight": "Only a payout that is sent and not settled can fail.",
    "not_sent": "The stipend has not been sent for payment.",
    "not_suspended": "Only a suspended communicator can be reinstated.",
    "programme_not_found": "No such programme.",
    "report_not_found": "No such report, or not one you may see.",
    "review_item_not_found": "No such review item.",
    "second_factor_failed": "The code from the authenticator app is not right: "
    "send the current one (a code lasts about a minute).",
    "sent": "The payment was sent already.",
    "settled": "The stipend is settled already.",
    "stipend_not_found": "No such stipend, or not one you may see.",
    "uncommitted": "Commit the stipend for payment first.",
}

# "METHOD /path" (as the route declares it): {code: status}
REFUSES: dict[str, dict[str, int]] = {
    "DELETE /api/v1/clubs/<club_id>/coordinator": {"club_not_found": 404},
    "DELETE /api/v1/session": {},
    "GET /api/v1/access-log": {},
    "GET /api/v1/access-log/verification": {},
    "GET /api/v1/application-form": {},
    "GET /api/v1/clubs": {"communicator_not_found": 404, "not_active_yet": 403},
    "GET /api/v1/clubs/<club_id>/members": {
        "club_not_found": 404,
        "not_coordinator": 403,
    },
    "GET /api/v1/communicators": {"empty_search": 400},
    "GET /api/v1/communicators/<communicator_id>": {"communicator_not_found": 404},
    "GET /api/v1/communicators/<communicator_id>/activity": {
        "communicator_not_found": 404
    },
    "GET /api/v1/communicators/<communicator_id>/report-feedback": {
        "communicator_not_found": 404
    },
    "GET /api/v1/communicators/<communicator_id>/strategy": {
        "communicator_not_found": 404
    },
    "GET /api/v1/corridors": {},
    "GET /api/v1/cycles": {},
    "GET /api/v1/cycles/<cycle_id>/close-preview": {
        "cycle_not_found": 404,
        "deadline_not_passed": 409,
        "reports_awaiting_review": 409,
    },
    "GET /api/v1/cycles/<cycle_id>/payout-runs": {"cycle_not_found": 404},
    "GET /api/v1/cycles/<cycle_id>/progress": {"cycle_not_found": 404},
    "GET /api/v1/cycles/<cycle_id>/reports": {},
    "GET /api/v1/cycles/<cycle_id>/stipends": {
        "cycle_not_found": 404,
        "invalid_page": 400,
    },
    "GET /api/v1/deliveries/parked": {},
    "GET /api/v1/impact/cycles": {},
    "GET /api/v1/impact/cycles/<cycle_id>": {
        "cycle_not_found": 404,
        "invalid_dimension": 400,
    },
    "GET /api/v1/impact/programmes/<programme_id>": {"not_found": 404},
    "GET /api/v1/ledger/accounts/<account>": {"account_not_found": 404},
    "GET /api/v1/ledger/trial-balance": {},
    "GET /api/v1/me": {"communicator_not_found": 404},
    "GET /api/v1/me/inbox": {},
    "GET /api/v1/me/preferences": {},
    "GET /api/v1/me/stipends": {},
    "GET /api/v1/me/strategy": {"communicator_not_found": 404},
    "GET /api/v1/me/vouches": {"not_a_member": 403},
    "GET /api/v1/openapi.json": {},
    "GET /api/v1/parked-actions": {},
    "GET /api/v1/parked-messages": {},
    "GET /api/v1/payout-runs/<run_id>": {"run_not_found": 404},
    "GET /api/v1/payout-runs/<run_id>/bank-file": {
        "bank_debtor_invalid": 400,
        "invalid_format": 400,
        "no_bank_transfers": 409,
        "run_not_found": 404,
        "run_not_released": 409,
    },
    "GET /api/v1/payout-runs/<run_id>/payouts": {},
    "GET /api/v1/payouts/<payout_id>": {"payout_not_found": 404},
    "GET /api/v1/programmes": {},
    "GET /api/v1/programmes/<programme_id>": {"programme_not_found": 404},
    "GET /api/v1/programmes/<programme_id>/cycles": {},
    "GET /api/v1/receipt-problems": {},
    "GET /api/v1/reconciliations": {},
    "GET /api/v1/reconciliations/<reconciliation_id>": {
        "reconciliation_not_found": 404,
    },
    "GET /api/v1/reconciliations/<reconciliation_id>/items": {
        "invalid_kind": 400,
        "invalid_state": 400,
        "reconciliation_not_found": 404,
    },
    "GET /api/v1/reconciliations/<reconciliation_id>/link-candidates": {
        "reconciliation_not_found": 404,
    },
    "GET /api/v1/reports/<report_id>/activity": {
        "invalid_kind": 400,
        "payout_not_found": 404,
        "report_not_found": 404,
        "stipend_not_found": 404,
    },
    "GET /api/v1/review-items": {},
    "GET /api/v1/staff": {},
    "GET /api/v1/stipends/<stipend_id>": {
        "communicator_not_found": 404,
        "stipend_not_found": 404,
    },
    "GET /api/v1/stipends/<stipend_id>/activity": {
        "invalid_kind": 400,
        "payout_not_found": 404,
        "report_not_found": 404,
        "stipend_not_found": 404,
    },
    "GET /api/v1/strategies": {},
    "GET /api/v1/trainings": {},
    "PATCH /api/v1/clubs/<club_id>": {"club_name_taken": 400, "club_not_found": 404},
    # the request schema refuses other fields (`currency`, `budget_minor`) first,
    # as `invalid_input` saying why: the service's `field_not_editable` is not met
    "PATCH /api/v1/programmes/<programme_id>": {
        "invalid_bands": 400,
        "name_taken": 400,
        "programme_changed": 409,
        "programme_not_found": 404,
    },
    "POST /api/v1/applications": {
        "consent_outdated": 400,
        "unknown_club": 400,
        "unknown_country": 400,
        "weak_password": 400,
    },
    "POST /api/v1/bank-statements": {
        "invalid_fee": 409,
        "invalid_statement": 400,
        "not_in_flight": 409,
        "not_sent": 409,
        "sent": 409,
        "settled": 409,
        "stipend_not_found": 404,
        "uncommitted": 409,
    },
    "POST /api/v1/clubs": {"club_name_taken": 400},
    "POST /api/v1/communicators/<communicator_id>/decisions": {
        "communicator_not_found": 404,
        "erased": 409,
        "invalid_transition": 409,
        "not_in_review": 409,
        "not_suspended": 409,
        "open_review_items": 409,
        "own_application": 403,
        "second_slot": 403,
    },
    "POST /api/v1/communicators/<communicator_id>/strategy/comments": {
        "communicator_not_found": 404,
        "strategy_not_shared": 409,
        "text_required": 400,
    },
    "POST /api/v1/communicators/search": {"empty_search": 400},
    "POST /api/v1/cycles/<cycle_id>/closure": {
        "cycle_not_found": 404,
        "deadline_not_passed": 409,
        "reports_awaiting_review": 409,
    },
    "POST /api/v1/cycles/<cycle_id>/lock": {
        "cycle_not_found": 404,
        "stipends_pending": 409,
    },
    "POST /api/v1/cycles/<cycle_id>/payout-runs": {
        "cycle_not_found": 404,
        "empty_run": 409,
    },
    "POST /api/v1/cycles/<cycle_id>/reports": {
        "communicator_not_found": 404,
        "cycle_not_found": 404,
        "no_shared_strategy": 400,
        "not_active": 403,
    },
    "POST /api/v1/deliveries/parked/<delivery_id>/discard": {"delivery_not_found": 404},
    "POST /api/v1/deliveries/parked/<delivery_id>/retry": {"delivery_not_found": 404},
    "POST /api/v1/me/bank-details": {
        "communicator_not_found": 404,
        "not_active": 409,
        "not_bank_corridor": 409,
    },
    "POST /api/v1/me/erasure": {},
    "POST /api/v1/me/inbox/<int:message_id>/read": {"message_not_found": 404},
    "POST /api/v1/me/payout-setup": {
        "communicator_not_found": 404,
        "no_corridor": 409,
        "not_active": 409,
    },
    "POST /api/v1/me/payout-setup/check": {},
    "POST /api/v1/me/payouts/<payout_id>/receipt": {
        "concurrent_change": 409,
        "payout_not_found": 404,
        "payout_not_paid": 409,
        "receipt_resolved": 409,
    },
    "POST /api/v1/me/strategy/sharing": {
        "communicator_not_found": 404,
        "not_active": 403,
        "strategy_no_draft": 409,
        "strategy_professional_only": 403,
        "strategy_version_shared": 409,
    },
    "POST /api/v1/me/vouches/<vouch_id>": {
        "application_decided": 409,
        "not_a_member": 403,
        "vouch_not_found": 404,
        "vouch_not_pending": 409,
        "voucher_not_active": 403,
    },
    "POST /api/v1/parked-messages/<service>/<message_id>/discard": {
        "parked_message_not_found": 404
    },
    "POST /api/v1/parked-messages/<service>/<message_id>/retry": {
        "parked_message_not_found": 404
    },
    "POST /api/v1/password-resets": {},
    "POST /api/v1/password-resets/new-password": {"reset_invalid": 400},
    "POST /api/v1/payout-runs/<run_id>/release": {
        "committed": 409,
        "releaser_approved": 403,
        "run_not_found": 404,
        "second_factor_failed": 403,
        "second_factor_required": 403,
        "stipend_changed": 409,
        "stipend_not_found": 404,
        "totals_mismatch": 409,
    },
    "POST /api/v1/payouts/<payout_id>/actions": {
        "invalid_fee": 409,
        "not_in_flight": 409,
        "not_sent": 409,
        "payout_not_found": 404,
        "reason_required": 400,
        "sent": 409,
        "settled": 409,
        "stipend_not_found": 404,
        "uncommitted": 409,
    },
    "POST /api/v1/programmes": {
        "invalid_amount": 400,
        "invalid_bands": 400,
        "name_taken": 400,
    },
    "POST /api/v1/programmes/<programme_id>/cycles": {
        "cycle_exists": 400,
        "deadline_before_period": 400,
        "deadline_too_late": 400,
        "programme_not_found": 404,
    },
    "POST /api/v1/programmes/<programme_id>/funding": {
        "idempotency_key_required": 400,
        "idempotency_keys_differ": 400,
        "invalid_amount": 400,
        "programme_not_found": 404,
    },
    "POST /api/v1/programmes/<programme_id>/fundings/<int:entry_id>/reversal": {
        "funding_in_use": 409,
        "funding_not_found": 404,
        "reason_required": 400,
        "reversed_already": 409,
    },
    "POST /api/v1/receipt-problems/<problem_id>/resolution": {
        "concurrent_change": 409,
        "note_required": 400,
        "problem_not_found": 404,
    },
    "POST /api/v1/reconciliations": {
        "bad_row": 400,
        "booked_before_made": 400,
        "content_not_expected": 400,
        "content_required": 400,
        "content_too_large": 400,
        "dated_before_made": 400,
        "duplicate_provider_row": 400,
        "invalid_date": 400,
        "invalid_file": 400,
        "invalid_period": 400,
        "invalid_provider": 400,
        "invalid_source": 400,
        "no_provider": 400,
        "period_not_begun": 400,
        "provider_unavailable": 409,
        "reconciliation_overlaps": 409,
        "row_outside_period": 400,
    },
    "POST /api/v1/reconciliations/<reconciliation_id>/items/resolve": {
        "action_not_for_kind": 409,
        "invalid_action": 400,
        "invalid_fee": 409,
        "invalid_items": 400,
        "invalid_payout": 400,
        "invalid_write_off_account": 400,
        "item_resolved": 409,
        "link_mismatch": 409,
        "no_payout": 409,
        "not_in_flight": 409,
        "not_sent": 409,
        "payout_required": 400,
        "provider_has_payment": 409,
        "provider_unknown": 403,
        "reconciliation_not_found": 404,
        "sent": 409,
        "settled": 409,
        "stipend_not_found": 404,
        "uncommitted": 409,
    },
    "POST /api/v1/reconciliations/<reconciliation_id>/sign-off": {
        "clearing_differs": 409,
        "invalid_period": 400,
        "items_open": 409,
        "period_not_over": 409,
        "reconciliation_not_found": 404,
        "run_before_period_end": 409,
        "segregation": 403,
    },
    "POST /api/v1/reports/<report_id>/feedback": {
        "communicator_not_found": 404,
        "feedback_not_opened": 409,
        "report_not_found": 404,
        "text_required": 400,
    },
    "POST /api/v1/reports/<report_id>/review": {
        "comment_required": 400,
        "own_report": 403,
        "report_not_found": 404,
    },
    "POST /api/v1/reports/<report_id>/submission": {
        "communicator_not_found": 404,
        "not_active": 403,
        "report_not_found": 404,
        "strategy_progress_required": 400,
    },
    "POST /api/v1/review-items/<item_id>/resolution": {
        "invalid_outcome": 409,
        "resolved": 409,
        "review_item_not_found": 404,
    },
    "POST /api/v1/second-factor-resets/<reset_id>/approval": {
        "own_account": 403,
        "reset_not_found": 404,
        "same_admin": 403,
        "staff_not_found": 404,
    },
    "POST /api/v1/session": {"sign_in_failed": 401},
    "POST /api/v1/session/second-factor": {
        "no_enrollment": 403,
        "second_factor_failed": 400,
    },
    "POST /api/v1/staff": {
        "email_taken": 400,
        "handle_taken": 400,
    },
    "POST /api/v1/staff/<account_id>/disabling": {
        "own_account": 403,
        "staff_not_found": 404,
    },
    "POST /api/v1/staff/<account_id>/enabling": {
        "own_account": 403,
        "staff_not_found": 404,
    },
    "POST /api/v1/staff/<account_id>/second-factor-resets": {
        "own_account": 403,
        "reason_required": 400,
        "reset_waiting": 400,
        "staff_not_found": 404,
    },
    "POST /api/v1/stipends/<stipend_id>/amendment": {
        "concurrent_change": 409,
        "invalid_amendment": 400,
        "own_stipend": 403,
        "stipend_not_found": 404,
    },
    "POST /api/v1/stipends/<stipend_id>/approvals": {
        "communicator_not_found": 404,
        "concurrent_change": 409,
        "over_budget": 409,
        "own_proposal": 403,
        "own_stipend": 403,
        "payee_changed": 409,
        "payee_not_active": 409,
        "payee_not_ready": 409,
        "second_slot": 403,
        "stipend_not_found": 404,
    },
    "POST /api/v1/stipends/<stipend_id>/rejection": {
        "committed": 409,
        "concurrent_change": 409,
        "own_stipend": 403,
        "reason_required": 400,
        "stipend_not_found": 404,
    },
    "POST /api/v1/stipends/approvals": {
        "communicator_not_found": 404,
        "concurrent_change": 409,
        "over_budget": 409,
        "own_proposal": 403,
        "own_stipend": 403,
        "payee_changed": 409,
        "payee_not_active": 409,
        "payee_not_ready": 409,
        "second_slot": 403,
        "stipend_not_found": 404,
    },
    "POST /api/v1/trainings": {"club_not_found": 404},
    # an empty or too long list is the request schema's `invalid_input` (1 to 500
    # ids): the registry's own `invalid_id_count` is never reached from here
    "POST /api/v1/trainings/<training_id>/completions": {
        "not_coordinator": 403,
        "training_not_found": 404,
        "training_not_held": 409,
    },
    "PUT /api/v1/clubs/<club_id>/coordinator": {
        "club_not_found": 404,
        "coordinator_disabled": 400,
        "coordinator_role_missing": 400,
        "staff_not_found": 404,
    },
    "PUT /api/v1/communicators/<communicator_id>/club": {
        "club_not_found": 404,
        "communicator_not_found": 404,
        "not_in_programme": 409,
    },
    "PUT /api/v1/communicators/<communicator_id>/tier": {
        "communicator_not_found": 404,
        "not_active": 409,
        "training_required": 409,
    },
    "PUT /api/v1/corridors/<country>": {},
    "PUT /api/v1/me/preferences": {"invalid_preferences": 400},
    "PUT /api/v1/me/strategy": {
        "communicator_not_found": 404,
        "not_active": 403,
        "strategy_professional_only": 403,
    },
    "PUT /api/v1/reports/<report_id>": {
        "communicator_not_found": 404,
        "deadline_passed": 409,
        "no_shared_strategy": 400,
        "not_active": 403,
        "report_not_found": 404,
        "report_reviewed": 409,
        "strategy_progress_required": 400,
    },
    "PUT /api/v1/staff/<account_id>/handle": {
        "handle_taken": 400,
        "staff_not_found": 404,
    },
}
