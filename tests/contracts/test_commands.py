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
    ("registry", "apply"): "command",
    ("registry", "start_review"): "command",
    ("registry", "approve"): "command",
    ("registry", "reject"): "command",
    ("registry", "suspend"): "command",
    ("registry", "reinstate"): "command",
    ("registry", "offboard"): "command",
    ("registry", "resolve_review_item"): "command",
    ("registry", "answer_vouch"): "command",
    ("registry", "get_application"): READ,
    ("registry", "list_review_items"): READ,
    ("registry", "find_communicators"): READ,
    ("registry", "get_profile"): READ + " (the access log records the read)",
    ("registry", "get_consent_text"): READ,
    ("registry", "get_own_status"): READ,
    ("registry", "list_vouch_requests"): READ + " (the access log records the read)",
    ("registry", "get_contact"): SERVICE_ONLY,
    ("registry", "list_staff_ids"): SERVICE_ONLY,
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
    ("registry", "request_password_reset"): "command",
    ("registry", "issue_password_reset"): SERVICE_ONLY,
    ("registry", "reset_password"): "command",
    ("registry", "create_staff_account"): "command",
    ("registry", "list_staff"): READ,
    ("registry", "invite_staff"): "command",
    ("registry", "disable_staff"): "command",
    ("registry", "enable_staff"): "command",
    ("registry", "request_second_factor_reset"): "command",
    ("registry", "approve_second_factor_reset"): "command",
    # registry: clubs, trainings, tiers
    ("registry", "create_club"): "command",
    ("registry", "update_club"): "command",
    ("registry", "set_club_coordinator"): "command",
    ("registry", "remove_club_coordinator"): "command",
    ("registry", "list_clubs"): READ,
    ("registry", "club_members"): READ,
    ("registry", "list_club_members"): READ,
    ("registry", "create_training"): "command",
    ("registry", "list_trainings"): READ,
    ("registry", "record_training_completion"): "command",
    ("registry", "record_training_completions"): "command",
    ("registry", "set_tier"): "command",
    # registry: payouts
    ("registry", "list_corridors"): READ,
    ("registry", "set_corridor"): "command",
    ("registry", "start_payout_setup"): (
        "converges: the same Stripe account (Stripe's own idempotency key per "
        "person) and a new one-time onboarding link each time, which cannot be "
        "stored and handed out again"
    ),
    ("registry", "refresh_payout_setup"): CONVERGES
    + " (asks Stripe, records its word)",
    ("registry", "set_bank_details"): "command",
    ("registry", "stripe_account_updated"): CONVERGES + " (Stripe's word, relayed)",
    ("registry", "get_payout_destination"): SERVICE_ONLY,
    # registry: erasure, keys, the access log
    ("registry", "erase"): "command",
    ("registry", "replay_erasures"): CONVERGES + " (shreds what is left, if any)",
    ("registry", "rewrap_keys"): CONVERGES + " (committed batches; call until 0)",
    ("registry", "rekey_blind_indexes"): CONVERGES + " (committed batches)",
    ("registry", "verify_access_log"): READ,
    ("registry", "list_access_log"): READ,
    ("registry", "get_communicator_activity"): READ,
    # notifications
    ("notifications", "list_inbox"): READ,
    ("notifications", "mark_read"): "command",
    ("notifications", "get_preferences"): READ,
    ("notifications", "set_preferences"): "command",
    ("notifications", "list_parked"): READ,
    ("notifications", "retry_parked"): "command",
    ("notifications", "discard_parked"): "command",
}
# every service's parked bus messages (svyaz.parking)
for _service in ("registry", "stipends", "notifications"):
    COMMANDS[(_service, "list_parked_messages")] = READ
    COMMANDS[(_service, "list_parked_actions")] = READ
    COMMANDS[(_service, "retry_parked_message")] = PARKED
    COMMANDS[(_service, "discard_parked_message")] = PARKED

# the services whose every method has its row here
COVERED = ("registry", "notifications")


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
