"""Who may call what: every RPC method of every service, with the signers it takes.

The services declare their callers on the method (`@rpc(callers={...})`) and the
platform refuses everyone else before the method runs; this table is the reviewed
copy. A method added, removed or opened to another caller fails here until the table
says so, so a widening of who may act is always a reviewed change.
"""

import importlib

import pytest

from svyaz.keys import FINANCE_CLI, GATEWAY, NOTIFICATIONS, OPERATOR, STIPENDS
from svyaz.rpc import Rpc

SERVICES = {
    "registry": "registry.service:RegistryService",
    "stipends": "stipends.service:StipendsService",
    "notifications": "notifications.service:NotificationsService",
    "gateway": "gateway.service:GatewayService",
    "insights": "insights.service:InsightsService",
}

# (service, method): the signers that may call it. The operator's console (`operator`)
# keeps the staff tasks the web console does not offer yet; it goes with the issue
# that moves every task into the consoles.
CALLERS = {
    ("insights", "get_cycle_impact"): {GATEWAY},
    ("insights", "get_programme_impact"): {GATEWAY},
    ("insights", "list_impact_cycles"): {GATEWAY},
    ("notifications", "discard_parked"): {GATEWAY},
    ("notifications", "get_preferences"): {GATEWAY},
    ("notifications", "list_inbox"): {GATEWAY},
    ("notifications", "list_parked"): {GATEWAY, OPERATOR},
    ("notifications", "mark_read"): {GATEWAY},
    ("notifications", "retry_parked"): {GATEWAY, OPERATOR},
    ("notifications", "set_preferences"): {GATEWAY},
    ("registry", "answer_vouch"): {GATEWAY},
    ("registry", "apply"): {GATEWAY},
    ("registry", "approve"): {GATEWAY, OPERATOR},
    ("registry", "club_members"): {GATEWAY, OPERATOR},
    ("registry", "confirm_second_factor"): {GATEWAY, FINANCE_CLI, OPERATOR},
    ("registry", "create_club"): {GATEWAY, OPERATOR},
    ("registry", "create_staff_account"): {OPERATOR},
    ("registry", "create_training"): {GATEWAY, OPERATOR},
    ("registry", "erase"): {GATEWAY, OPERATOR},
    ("registry", "find_communicators"): {GATEWAY, OPERATOR},
    ("registry", "get_application"): {GATEWAY, OPERATOR},
    ("registry", "get_communicator_activity"): {GATEWAY, OPERATOR},
    ("registry", "get_consent_text"): {GATEWAY},
    ("registry", "get_contact"): {NOTIFICATIONS},
    ("registry", "get_contacts"): {NOTIFICATIONS},
    ("registry", "get_mentors"): {NOTIFICATIONS},
    ("registry", "get_own_status"): {GATEWAY},
    ("registry", "get_payout_destination"): {STIPENDS},
    ("registry", "get_profile"): {GATEWAY, OPERATOR},
    ("registry", "get_staff_contact"): {NOTIFICATIONS},
    ("registry", "issue_password_reset"): {NOTIFICATIONS},
    ("registry", "list_access_log"): {GATEWAY, OPERATOR},
    ("registry", "list_club_members"): {GATEWAY, OPERATOR},
    ("registry", "list_clubs"): {GATEWAY, OPERATOR, STIPENDS},
    ("registry", "list_corridors"): {GATEWAY, STIPENDS, OPERATOR},
    ("registry", "list_review_items"): {GATEWAY, OPERATOR},
    ("registry", "list_staff_ids"): {NOTIFICATIONS},
    ("registry", "list_trainings"): {GATEWAY, OPERATOR},
    ("registry", "list_vouch_requests"): {GATEWAY},
    ("registry", "offboard"): {GATEWAY, OPERATOR},
    ("registry", "offer_second_factor"): {GATEWAY, FINANCE_CLI},
    ("registry", "record_training_completion"): {GATEWAY, OPERATOR},
    ("registry", "record_training_completions"): {GATEWAY, OPERATOR},
    ("registry", "training_completed_by"): {GATEWAY},
    ("registry", "remove_club_coordinator"): {GATEWAY, OPERATOR},
    ("registry", "set_club_coordinator"): {GATEWAY, OPERATOR},
    ("registry", "rename_staff"): {GATEWAY},
    ("registry", "staff_names"): {GATEWAY},
    ("registry", "set_communicator_club"): {GATEWAY, OPERATOR},
    ("registry", "update_club"): {GATEWAY, OPERATOR},
    ("registry", "refresh_payout_setup"): {GATEWAY},
    ("registry", "reinstate"): {GATEWAY, OPERATOR},
    ("registry", "reject"): {GATEWAY, OPERATOR},
    ("registry", "request_password_reset"): {GATEWAY},
    ("registry", "rekey_blind_indexes"): {OPERATOR},
    ("registry", "reset_password"): {GATEWAY},
    ("registry", "resolve_review_item"): {GATEWAY, OPERATOR},
    ("registry", "replay_erasures"): {OPERATOR},
    ("registry", "rewrap_keys"): {OPERATOR},
    ("registry", "set_bank_details"): {GATEWAY},
    ("registry", "set_corridor"): {GATEWAY, OPERATOR},
    ("registry", "set_tier"): {GATEWAY, OPERATOR},
    ("registry", "sign_in"): {GATEWAY, FINANCE_CLI, OPERATOR},
    ("registry", "renew_assertion"): {GATEWAY, FINANCE_CLI, OPERATOR},
    ("registry", "list_staff"): {GATEWAY},
    ("registry", "invite_staff"): {GATEWAY},
    ("registry", "disable_staff"): {GATEWAY},
    ("registry", "enable_staff"): {GATEWAY},
    ("registry", "request_second_factor_reset"): {GATEWAY},
    ("registry", "approve_second_factor_reset"): {GATEWAY},
    ("registry", "start_payout_setup"): {GATEWAY},
    ("registry", "start_review"): {GATEWAY, OPERATOR},
    ("registry", "stripe_account_updated"): {GATEWAY},
    ("registry", "suspend"): {GATEWAY, OPERATOR},
    ("registry", "verify_access_log"): {GATEWAY, OPERATOR},
    ("registry", "verify_second_factor"): {GATEWAY, STIPENDS},
    ("stipends", "count_waiting_work"): {GATEWAY},
    ("stipends", "amend_stipend"): {GATEWAY, OPERATOR},
    ("stipends", "approve_stipend"): {GATEWAY, OPERATOR},
    ("stipends", "approve_stipends"): {GATEWAY},
    ("stipends", "confirm_receipt"): {GATEWAY},
    ("stipends", "get_activity"): {GATEWAY},
    ("stipends", "get_cycle_progress"): {GATEWAY},
    ("stipends", "get_payout"): {GATEWAY},
    ("stipends", "list_receipt_problems"): {GATEWAY},
    ("stipends", "list_link_candidates"): {GATEWAY},
    ("stipends", "preview_close_cycle"): {GATEWAY},
    ("stipends", "resolve_receipt_problem"): {GATEWAY},
    ("stipends", "stipends_page"): {GATEWAY},
    ("stipends", "update_programme"): {GATEWAY},
    ("stipends", "build_payout_run"): {GATEWAY, FINANCE_CLI},
    ("stipends", "cancel_payout_run"): {GATEWAY, FINANCE_CLI},
    ("stipends", "close_cycle"): {GATEWAY, OPERATOR},
    ("stipends", "create_programme"): {GATEWAY, OPERATOR},
    ("stipends", "edit_report"): {GATEWAY},
    ("stipends", "fund_programme"): {GATEWAY, OPERATOR},
    ("stipends", "get_account_statement"): {GATEWAY, FINANCE_CLI, OPERATOR},
    ("stipends", "get_communicator"): {GATEWAY, OPERATOR},
    ("stipends", "get_payout_run"): {GATEWAY, FINANCE_CLI},
    ("stipends", "list_payout_runs"): {GATEWAY, FINANCE_CLI},
    ("stipends", "get_programme"): {GATEWAY, OPERATOR},
    ("stipends", "get_reconciliation"): {GATEWAY, FINANCE_CLI},
    ("stipends", "get_stipend"): {GATEWAY, OPERATOR},
    ("stipends", "get_trial_balance"): {GATEWAY, FINANCE_CLI, OPERATOR},
    ("stipends", "import_bank_statement"): {GATEWAY, FINANCE_CLI},
    ("stipends", "list_cycles"): {GATEWAY, OPERATOR},
    ("stipends", "list_entitlements"): {GATEWAY, OPERATOR},
    ("stipends", "list_payouts"): {GATEWAY, FINANCE_CLI},
    ("stipends", "list_programmes"): {GATEWAY, OPERATOR},
    ("stipends", "list_reconciliation_items"): {GATEWAY, FINANCE_CLI},
    ("stipends", "list_reconciliations"): {GATEWAY, FINANCE_CLI},
    ("stipends", "list_reports"): {GATEWAY, OPERATOR},
    ("stipends", "list_stipends"): {GATEWAY, OPERATOR},
    ("stipends", "lock_cycle"): {GATEWAY, OPERATOR},
    ("stipends", "open_cycle"): {GATEWAY, OPERATOR},
    ("stipends", "own_stipends"): {GATEWAY},
    ("stipends", "payout_action"): {GATEWAY, FINANCE_CLI},
    ("stipends", "payout_bank_file"): {GATEWAY, FINANCE_CLI},
    ("stipends", "reconcile_payout_run"): {GATEWAY, FINANCE_CLI},
    ("stipends", "reconcile_period"): {GATEWAY, FINANCE_CLI},
    ("stipends", "reject_stipend"): {GATEWAY, OPERATOR},
    ("stipends", "release_payout_run"): {GATEWAY, FINANCE_CLI},
    ("stipends", "resolve_reconciliation_items"): {GATEWAY, FINANCE_CLI},
    ("stipends", "reverse_funding"): {GATEWAY, OPERATOR},
    ("stipends", "review_report"): {GATEWAY, OPERATOR},
    ("stipends", "save_report_draft"): {GATEWAY},
    ("stipends", "sign_off_reconciliation"): {GATEWAY, FINANCE_CLI},
    ("stipends", "stripe_event"): {GATEWAY},
    ("stipends", "submit_report"): {GATEWAY},
    ("stipends", "get_strategy"): {GATEWAY},
    ("stipends", "save_strategy"): {GATEWAY},
    ("stipends", "share_strategy"): {GATEWAY},
    ("stipends", "comment_on_strategy"): {GATEWAY},
    ("stipends", "list_strategies_to_mentor"): {GATEWAY},
    ("stipends", "list_report_feedback"): {GATEWAY},
    ("stipends", "give_report_feedback"): {GATEWAY},
}
# every service's parked bus messages (svyaz.parking), for program admins in the
# web console
for _service in ("registry", "stipends", "notifications", "insights"):
    for _method in (
        "list_parked_messages",
        "retry_parked_message",
        "discard_parked_message",
        "list_parked_actions",
    ):
        CALLERS[(_service, _method)] = {GATEWAY}


def declared() -> dict[tuple[str, str], frozenset[str] | None]:
    found: dict[tuple[str, str], frozenset[str] | None] = {}
    for service, path in SERVICES.items():
        module, _, name = path.partition(":")
        cls = getattr(importlib.import_module(module), name)
        for attribute in dir(cls):
            for entrypoint in getattr(
                getattr(cls, attribute), "nameko_entrypoints", ()
            ):
                if isinstance(entrypoint, Rpc):
                    found[(service, attribute)] = entrypoint.callers
    return found


def test_every_rpc_method_is_in_the_table_with_its_callers() -> None:
    found = declared()
    assert sorted(set(found) - set(CALLERS)) == [], "methods missing from the table"
    assert sorted(set(CALLERS) - set(found)) == [], "methods the services lack"
    for key, callers in CALLERS.items():
        assert found[key] == frozenset(callers), key


def test_every_method_declares_its_callers() -> None:
    """Default deny: a method without a declaration is refused by the platform;
    none of the services' methods relies on that."""
    assert [key for key, callers in declared().items() if not callers] == []


@pytest.mark.parametrize(
    ("method", "only"),
    [
        (("registry", "get_contact"), {NOTIFICATIONS}),
        (("registry", "get_contacts"), {NOTIFICATIONS}),
        (("registry", "get_staff_contact"), {NOTIFICATIONS}),
        (("registry", "get_payout_destination"), {STIPENDS}),
        (("registry", "issue_password_reset"), {NOTIFICATIONS}),
        (("registry", "stripe_account_updated"), {GATEWAY}),
        (("stipends", "stripe_event"), {GATEWAY}),
        (("registry", "sign_in"), {GATEWAY, FINANCE_CLI, OPERATOR}),
    ],
)
def test_personal_data_and_provider_events_have_one_reader(
    method: tuple[str, str], only: set[str]
) -> None:
    """The reads of personal data and the relays of Stripe's word: the narrowest."""
    assert declared()[method] == frozenset(only)


def test_the_operator_console_cannot_read_contacts_or_payout_destinations() -> None:
    reads = {
        ("registry", "get_contact"),
        ("registry", "get_contacts"),
        ("registry", "get_staff_contact"),
        ("registry", "get_payout_destination"),
    }
    assert all(OPERATOR not in (declared()[m] or ()) for m in reads)
