"""Which RPC methods are idempotent commands (svyaz.commands), and why the others are
not: every RPC method of every service has a row, so a new state-changing method
fails here until it is marked `@command` (and driven by its service's retry test,
tests/*/integration/test_idempotency.py) or said, with a reason, not to need it.
"""

import importlib

from svyaz.commands import is_command
from tests.contracts.test_rpc_callers import SERVICES, declared

COMMAND = "command"
READ = "reads only"
CONVERGES = "converges: the same call again sets the same state, nothing adds up"
CREDENTIAL = (
    "a sign-in step: its answer is a credential, never stored; each attempt counts "
    "as one (a retry is a new attempt)"
)
PARKED = (
    "acts on the broker, not the database: the message leaves the dead-letter "
    "queue as it is acted on, so a repeat finds it gone (not found) and does nothing"
)
SERVICE_ONLY = "called by another service's handler, which its inbox makes once"

# (service, method): "command", or why it is not one
COMMANDS: dict[tuple[str, str], str] = {
    # registry: applying, vetting, vouching
    ("registry", "apply"): COMMAND,
    ("registry", "start_review"): COMMAND,
    ("registry", "approve"): COMMAND,
    ("registry", "reject"): COMMAND,
    ("registry", "suspend"): COMMAND,
    ("registry", "reinstate"): COMMAND,
    ("registry", "offboard"): COMMAND,
    ("registry", "resolve_review_item"): COMMAND,
    ("registry", "answer_vouch"): COMMAND,
    ("registry", "get_application"): READ,
    ("registry", "list_review_items"): READ,
    ("registry", "find_communicators"): READ,
    ("registry", "get_profile"): READ + " (the access log records the read)",
    ("registry", "get_consent_text"): READ,
    ("registry", "get_own_status"): READ,
    ("registry", "list_vouch_requests"): READ + " (the access log records the read)",
    ("registry", "get_contact"): SERVICE_ONLY,
    ("registry", "get_contacts"): SERVICE_ONLY,
    ("registry", "list_staff_ids"): SERVICE_ONLY,
    ("registry", "get_mentors"): SERVICE_ONLY,
    ("registry", "get_staff_contact"): SERVICE_ONLY,
    # registry: accounts
    ("registry", "sign_in"): CREDENTIAL,
    ("registry", "confirm_second_factor"): CREDENTIAL,
    ("registry", "renew_assertion"): CREDENTIAL,
    ("registry", "offer_second_factor"): (
        "its answer is a new authenticator secret, never stored elsewhere; a "
        "repeat offers a new one in place of the first, nothing adds up"
    ),
    ("registry", "verify_second_factor"): (
        "a check: a code is good once (the step used is kept), a repeat is refused"
    ),
    ("registry", "request_password_reset"): COMMAND,
    ("registry", "issue_password_reset"): SERVICE_ONLY,
    ("registry", "reset_password"): COMMAND,
    ("registry", "create_staff_account"): COMMAND,
    ("registry", "list_staff"): READ,
    ("registry", "invite_staff"): COMMAND,
    ("registry", "disable_staff"): COMMAND,
    ("registry", "enable_staff"): COMMAND,
    ("registry", "request_second_factor_reset"): COMMAND,
    ("registry", "approve_second_factor_reset"): COMMAND,
    # registry: clubs, trainings, tiers
    ("registry", "create_club"): COMMAND,
    ("registry", "update_club"): COMMAND,
    ("registry", "set_club_coordinator"): COMMAND,
    ("registry", "rename_staff"): COMMAND,
    ("registry", "staff_names"): READ,
    ("registry", "set_communicator_club"): COMMAND,
    ("registry", "remove_club_coordinator"): COMMAND,
    ("registry", "list_clubs"): READ,
    ("registry", "club_members"): READ,
    ("registry", "list_club_members"): READ,
    ("registry", "create_training"): COMMAND,
    ("registry", "list_trainings"): READ,
    ("registry", "record_training_completion"): COMMAND,
    ("registry", "record_training_completions"): COMMAND,
    ("registry", "training_completed_by"): READ,
    ("registry", "set_tier"): COMMAND,
    # registry: payouts
    ("registry", "list_corridors"): READ,
    ("registry", "set_corridor"): COMMAND,
    ("registry", "start_payout_setup"): (
        "converges: the same Stripe account (Stripe's own idempotency key per "
        "person) and a new one-time onboarding link each time, which cannot be "
        "stored and handed out again"
    ),
    ("registry", "refresh_payout_setup"): CONVERGES
    + " (asks Stripe, records its word)",
    ("registry", "set_bank_details"): COMMAND,
    ("registry", "stripe_account_updated"): CONVERGES + " (Stripe's word, relayed)",
    ("registry", "get_payout_destination"): SERVICE_ONLY,
    # registry: erasure, keys, the access log
    ("registry", "erase"): COMMAND,
    ("registry", "replay_erasures"): CONVERGES + " (shreds what is left, if any)",
    ("registry", "rewrap_keys"): CONVERGES + " (committed batches; call until 0)",
    ("registry", "rekey_blind_indexes"): CONVERGES + " (committed batches)",
    ("registry", "verify_access_log"): READ,
    ("registry", "list_access_log"): READ,
    ("registry", "get_communicator_activity"): READ,
    # stipends: programmes, cycles, reports, strategies, stipends, payouts
    ("stipends", "create_programme"): COMMAND,
    ("stipends", "fund_programme"): COMMAND,
    ("stipends", "update_programme"): COMMAND,
    ("stipends", "reverse_funding"): COMMAND,
    ("stipends", "open_cycle"): COMMAND,
    ("stipends", "close_cycle"): COMMAND,
    ("stipends", "lock_cycle"): COMMAND,
    ("stipends", "save_report_draft"): COMMAND,
    ("stipends", "edit_report"): COMMAND,
    ("stipends", "submit_report"): COMMAND,
    ("stipends", "review_report"): COMMAND,
    ("stipends", "save_strategy"): COMMAND,
    ("stipends", "share_strategy"): COMMAND,
    ("stipends", "comment_on_strategy"): COMMAND,
    ("stipends", "give_report_feedback"): COMMAND,
    ("stipends", "approve_stipends"): COMMAND,
    ("stipends", "approve_stipend"): COMMAND,
    ("stipends", "reject_stipend"): COMMAND,
    ("stipends", "amend_stipend"): COMMAND,
    ("stipends", "build_payout_run"): COMMAND,
    ("stipends", "release_payout_run"): COMMAND,
    ("stipends", "cancel_payout_run"): COMMAND,
    ("stipends", "confirm_receipt"): COMMAND,
    ("stipends", "resolve_receipt_problem"): COMMAND,
    ("stipends", "payout_action"): COMMAND,
    ("stipends", "import_bank_statement"): COMMAND,
    ("stipends", "reconcile_payout_run"): COMMAND,
    ("stipends", "reconcile_period"): COMMAND,
    ("stipends", "resolve_reconciliation_items"): COMMAND,
    ("stipends", "sign_off_reconciliation"): COMMAND,
    ("stipends", "get_communicator"): READ,
    ("stipends", "get_programme"): READ,
    ("stipends", "list_programmes"): READ,
    ("stipends", "list_cycles"): READ,
    ("stipends", "get_cycle_progress"): READ,
    ("stipends", "preview_close_cycle"): READ,
    ("stipends", "list_entitlements"): READ,
    ("stipends", "list_reports"): READ,
    ("stipends", "count_waiting_work"): READ,
    ("stipends", "get_strategy"): READ,
    ("stipends", "list_strategies_to_mentor"): READ,
    ("stipends", "list_report_feedback"): READ,
    ("stipends", "get_stipend"): READ,
    ("stipends", "list_stipends"): READ,
    ("stipends", "stipends_page"): READ,
    ("stipends", "get_activity"): READ,
    ("stipends", "own_stipends"): READ,
    ("stipends", "get_trial_balance"): READ,
    ("stipends", "get_account_statement"): READ,
    ("stipends", "get_payout_run"): READ,
    ("stipends", "list_payout_runs"): READ,
    ("stipends", "list_payouts"): READ,
    ("stipends", "get_payout"): READ,
    ("stipends", "list_receipt_problems"): READ,
    ("stipends", "list_reconciliations"): READ,
    ("stipends", "get_reconciliation"): READ,
    ("stipends", "list_reconciliation_items"): READ,
    ("stipends", "list_link_candidates"): READ,
    ("stipends", "payout_bank_file"): (
        "a download: its answer holds the payees' bank details, read from the "
        "registry and never stored; each download is audited as one"
    ),
    ("stipends", "stripe_event"): (
        "Stripe's word, relayed from its signed webhook: applied once per Stripe "
        "event id (Stripe delivers at least once)"
    ),
    # notifications
    ("notifications", "list_inbox"): READ,
    ("notifications", "mark_read"): COMMAND,
    ("notifications", "get_preferences"): READ,
    ("notifications", "set_preferences"): COMMAND,
    ("notifications", "list_parked"): READ,
    ("notifications", "retry_parked"): COMMAND,
    ("notifications", "discard_parked"): COMMAND,
}
# every service's parked bus messages (svyaz.parking)
for _service in ("registry", "stipends", "notifications"):
    COMMANDS[(_service, "list_parked_messages")] = READ
    COMMANDS[(_service, "list_parked_actions")] = READ
    COMMANDS[(_service, "retry_parked_message")] = PARKED
    COMMANDS[(_service, "discard_parked_message")] = PARKED

# the services whose every method has its row here
COVERED = ("registry", "notifications", "stipends")


def commands_of(service: str) -> set[str]:
    return {
        m for (s, m), kind in COMMANDS.items() if s == service and kind == "command"
    }


def method_of(service: str, name: str) -> object:
    module, _, cls = SERVICES[service].partition(":")
    return getattr(getattr(importlib.import_module(module), cls), name)


def test_every_rpc_method_has_a_row() -> None:
    found = {key for key in declared() if key[0] in COVERED}
    mine = {key for key in COMMANDS if key[0] in COVERED}
    assert sorted(found - mine) == [], "methods with no row: command or why not"
    assert sorted(mine - found) == [], "rows of methods the services lack"


def test_the_commands_are_marked_and_nothing_else_is() -> None:
    for (service, name), kind in COMMANDS.items():
        if service not in COVERED:
            continue
        marked = is_command(method_of(service, name))
        assert marked == (kind == COMMAND), (service, name, kind)


def test_every_reason_says_something() -> None:
    assert all(len(kind) > 6 for kind in COMMANDS.values())
