"""Every registry command (tests/contracts/test_commands.py), sent over the real bus
and sent again with the same idempotency key as if its answer had been lost: the
second answer is the first, and the database is as the first left it. A key used
again for another request is refused and changes nothing; two copies at once take
effect once."""

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import eventlet
import pytest
from nameko.testing.services import replace_dependencies

from registry.service import RegistryService
from svyaz import commands, idempotency, signing
from svyaz.errors import Conflict
from svyaz.keys import GATEWAY, OPERATOR
from svyaz.rpc_proxy import ClusterRpcProxy
from tests.contracts.test_commands import commands_of
from tests.registry.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    FakeConnect,
    Registry,
    actor_for,
    application,
)

PASSWORD = "a long enough passphrase 42"
# the timers that write on their own, quiet during the test; no relay (the outbox's
# rows stay as the commands wrote them)
QUIET = {
    "OUTBOX_RELAY_ENABLED": "false",
    "KEY_UPKEEP_INTERVAL": "3600",
    "ERASURE_JOURNAL_INTERVAL": "3600",
    "RECIPIENT_CHECK_SECONDS": "3600",
    "INBOX_PURGE_INTERVAL": "3600",
    "COMMAND_PURGE_INTERVAL": "3600",
}
CHANGING = {"bus_nonces"}  # every request's nonce: not an effect of the command


@pytest.fixture
def registry(
    database: Any, service_config: Any, container_factory: Any
) -> Iterator[Registry]:
    url = database("registry")
    config = service_config("registry", DB_URI=url, **QUIET)
    container = container_factory(RegistryService, config)
    replace_dependencies(container, stripe=FakeConnect())
    container.start()
    wrapper = Registry(container, url, None)
    wrapper.config = config  # type: ignore[attr-defined]
    yield wrapper
    wrapper.engine.dispose()


def snapshot(registry: Registry) -> dict[str, list[str]]:
    """Every row of every table (but the nonces), as text."""
    tables = [
        row[0]
        for row in registry.sql(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
        )
        if row[0] not in CHANGING
    ]
    return {
        table: sorted(r[0] for r in registry.sql(f'SELECT t::text FROM "{table}" t'))
        for table in tables
    }


def send(registry: Registry, caller: str, key: str, method: str, *args: Any) -> Any:
    """One request over the bus, signed by `caller`, carrying `key` as a console
    form or an API request does."""
    config = dict(registry.config, BUS_IDENTITY=caller)  # type: ignore[attr-defined]
    with idempotency.keyed(key), ClusterRpcProxy(config, timeout=30) as rpc:
        return getattr(rpc.registry, method)(*args)


# -- what each command needs, made through the registry's own RPCs -----------------
def in_review(reg: Registry) -> str:
    ident = reg.applicant()
    reg.call("start_review", ADMIN_A, ident, "complete application")
    return ident


def staff_account(reg: Registry, roles: list[str]) -> str:
    account = reg.call(
        "create_staff_account",
        ADMIN_A,
        {
            "email": f"staff.{uuid.uuid4().hex[:8]}@example.org",
            "roles": roles,
            "password": PASSWORD,
        },
        caller=OPERATOR,
    )
    return str(account["id"])


def invited(reg: Registry) -> tuple[str, str, str]:
    """(account id, email, the invitation's one-time token)."""
    email = f"invited.{uuid.uuid4().hex[:8]}@example.org"
    account = reg.call("invite_staff", ADMIN_A, {"email": email, "roles": ["finance"]})
    reset_id = reg.events("account.password_reset_requested.v1")[-1]["data"]["reset_id"]
    issued = reg.call("issue_password_reset", reset_id, caller="notifications")
    return account["id"], email, issued["token"]


def enrolled_staff(reg: Registry) -> str:
    import pyotp

    ident, email, token = invited(reg)
    reg.call("reset_password", token, PASSWORD, caller=GATEWAY)
    first = reg.call("sign_in", email, PASSWORD, None, caller=GATEWAY)
    totp = pyotp.parse_uri(first["enrollment_uri"])
    reg.call("confirm_second_factor", first["actor"], totp.now(), caller=GATEWAY)
    return ident


def club(reg: Registry) -> str:
    made = reg.call(
        "create_club",
        ADMIN_A,
        {"name": f"Club {uuid.uuid4().hex[:6]}", "country": "GE", "mode": "online"},
    )
    return str(made["id"])


def training(reg: Registry) -> str:
    made = reg.call(
        "create_training", ADMIN_A, {"title": "Basics", "held_on": "2026-10-01"}
    )
    return str(made["id"])


def duplicate_item(reg: Registry) -> str:
    email = f"same.{uuid.uuid4().hex[:6]}@example.org"
    reg.applicant(email=email)
    reg.applicant(email=email.capitalize())
    (item,) = reg.call("list_review_items", ADMIN_A)
    return str(item["id"])


def vouch(reg: Registry) -> tuple[str, str]:
    voucher = reg.active()
    (row,) = reg.sql("SELECT pseudonym FROM communicators WHERE id = :i", i=voucher)
    reg.applicant(referral=row[0], city="Batumi")
    (request,) = reg.call("list_vouch_requests", actor_for(voucher))
    return voucher, str(request["id"])


def _suspended(reg: Registry) -> str:
    ident = reg.active()
    reg.call("suspend", ADMIN_A, ident, "paused at their request")
    return ident


def _coordinated_club(reg: Registry) -> str:
    made = club(reg)
    reg.call(
        "set_club_coordinator", ADMIN_A, made, staff_account(reg, ["club_coordinator"])
    )
    return made


def _trained(reg: Registry) -> str:
    ident = reg.active()
    reg.call("record_training_completion", ADMIN_A, training(reg), ident)
    return ident


def _reset_requested(reg: Registry) -> str:
    ident = enrolled_staff(reg)
    reset = reg.call("request_second_factor_reset", ADMIN_A, ident, "phone lost")
    return str(reset["id"])


def _reset_token(reg: Registry) -> str:
    return invited(reg)[2]


def _disabled(reg: Registry) -> str:
    ident = staff_account(reg, ["finance"])
    reg.call("disable_staff", ADMIN_A, ident)
    return ident


def _bank_details_of(reg: Registry) -> dict[str, Any]:
    reg.call("set_corridor", ADMIN_A, "GE", "bank_file")
    return actor_for(reg.active(country="GE"))


Scenario = Callable[[Registry], tuple[str, tuple[Any, ...]]]

# each command: (the signer, the arguments), made ready in the registry first
SCENARIOS: dict[str, Scenario] = {
    "apply": lambda r: (GATEWAY, (application(),)),
    "start_review": lambda r: (GATEWAY, (ADMIN_A, r.applicant(), "complete")),
    "approve": lambda r: (GATEWAY, (ADMIN_A, in_review(r), "known to the club")),
    "reject": lambda r: (GATEWAY, (ADMIN_A, in_review(r), "nobody knows them")),
    "suspend": lambda r: (GATEWAY, (ADMIN_A, r.active(), "paused at their request")),
    "reinstate": lambda r: (GATEWAY, (ADMIN_A, _suspended(r), "back from a break")),
    "offboard": lambda r: (GATEWAY, (ADMIN_A, r.active(), "left the programme")),
    "resolve_review_item": lambda r: (
        GATEWAY,
        (ADMIN_A, duplicate_item(r), "distinct", "two sisters"),
    ),
    "answer_vouch": lambda r: (GATEWAY, _answer_vouch(r)),
    "request_password_reset": lambda r: (GATEWAY, (_staff_email(r),)),
    "reset_password": lambda r: (GATEWAY, (_reset_token(r), PASSWORD)),
    "create_staff_account": lambda r: (
        OPERATOR,
        (
            ADMIN_A,
            {
                "email": f"ops.{uuid.uuid4().hex[:8]}@example.org",
                "roles": ["finance"],
                "password": PASSWORD,
            },
        ),
    ),
    "invite_staff": lambda r: (
        GATEWAY,
        (
            ADMIN_A,
            {"email": f"new.{uuid.uuid4().hex[:8]}@example.org", "roles": ["finance"]},
        ),
    ),
    "rename_staff": lambda r: (
        GATEWAY,
        (ADMIN_A, staff_account(r, ["finance"]), "Vera"),
    ),
    "disable_staff": lambda r: (GATEWAY, (ADMIN_A, staff_account(r, ["finance"]))),
    "enable_staff": lambda r: (GATEWAY, (ADMIN_A, _disabled(r))),
    "request_second_factor_reset": lambda r: (
        GATEWAY,
        (ADMIN_A, enrolled_staff(r), "phone lost"),
    ),
    "approve_second_factor_reset": lambda r: (
        GATEWAY,
        (ADMIN_B, _reset_requested(r)),
    ),
    "create_club": lambda r: (
        GATEWAY,
        (ADMIN_A, {"name": "Tbilisi Tuesdays", "country": "GE", "mode": "online"}),
    ),
    "update_club": lambda r: (GATEWAY, (ADMIN_A, club(r), {"mode": "offline"})),
    "set_club_coordinator": lambda r: (
        GATEWAY,
        (ADMIN_A, club(r), staff_account(r, ["club_coordinator"])),
    ),
    "remove_club_coordinator": lambda r: (GATEWAY, (ADMIN_A, _coordinated_club(r))),
    "set_communicator_club": lambda r: (GATEWAY, (ADMIN_A, r.active(), club(r))),
    "create_training": lambda r: (
        GATEWAY,
        (ADMIN_A, {"title": "Talking to relatives", "held_on": "2026-11-01"}),
    ),
    "record_training_completion": lambda r: (
        GATEWAY,
        (ADMIN_A, training(r), r.active()),
    ),
    "record_training_completions": lambda r: (
        GATEWAY,
        (ADMIN_A, training(r), [r.active(), r.active()]),
    ),
    "set_tier": lambda r: (
        GATEWAY,
        (ADMIN_A, _trained(r), "professional", "great work"),
    ),
    "set_corridor": lambda r: (GATEWAY, (ADMIN_A, "GE", "bank_file")),
    "set_bank_details": lambda r: (
        GATEWAY,
        (
            _bank_details_of(r),
            {
                "holder": "Zinaida K",
                "iban": "DE89370400440532013000",
                "bic": "COBADEFF",
            },
        ),
    ),
    "erase": lambda r: (GATEWAY, (ADMIN_A, r.active(), "asked to be forgotten")),
}


def _staff_email(reg: Registry) -> str:
    email = f"forgot.{uuid.uuid4().hex[:8]}@example.org"
    reg.call(
        "create_staff_account",
        ADMIN_A,
        {"email": email, "roles": ["finance"], "password": PASSWORD},
        caller=OPERATOR,
    )
    return email


def _answer_vouch(reg: Registry) -> tuple[Any, ...]:
    voucher, ident = vouch(reg)
    return (actor_for(voucher), ident, "confirm")


def test_every_registry_command_has_a_scenario() -> None:
    assert set(SCENARIOS) == commands_of("registry")


@pytest.mark.parametrize("method", sorted(SCENARIOS))
def test_a_command_sent_again_after_its_answer_was_lost_takes_effect_once(
    registry: Registry, method: str
) -> None:
    caller, args = SCENARIOS[method](registry)
    key = uuid.uuid4().hex
    before = snapshot(registry)
    first = send(registry, caller, key, method, *args)
    after_first = snapshot(registry)
    assert after_first != before, "the command changed nothing: not a scenario"
    again = send(registry, caller, key, method, *args)
    assert again == first
    assert snapshot(registry) == after_first
    (row,) = registry.sql(
        "SELECT signer, method, result FROM command_results WHERE key LIKE :k",
        k=f"{key}.%",
    )
    assert tuple(row[:2]) == (caller, method)
    # what is kept for a day holds no contact data nor secret (ids, states)
    kept = row[2] or ""
    assert "@" not in kept and PASSWORD not in kept


def test_a_key_used_again_for_another_request_is_refused_and_changes_nothing(
    registry: Registry,
) -> None:
    key = uuid.uuid4().hex
    send(registry, GATEWAY, key, "set_corridor", ADMIN_A, "GE", "bank_file")
    before = snapshot(registry)
    with pytest.raises(Conflict) as refused:
        send(registry, GATEWAY, key, "set_corridor", ADMIN_A, "GE", "stripe_connect")
    assert refused.value.code == "idempotency_key_reused"
    assert "reload the page" in refused.value.message
    assert snapshot(registry) == before
    # another person's same key is theirs: no collision
    other = send(registry, GATEWAY, key, "set_corridor", ADMIN_B, "AM", "bank_file")
    assert other == {"country": "AM", "provider": "bank_file"}


def test_a_refusal_is_not_remembered_and_leaves_nothing(registry: Registry) -> None:
    """Refused (the reason is too short), nothing is kept: the same form corrected
    and sent again with its key is carried out."""
    ident = in_review(registry)
    key = uuid.uuid4().hex
    before = snapshot(registry)
    with pytest.raises(Exception):  # noqa: B017 - the registry's own refusal
        send(registry, GATEWAY, key, "approve", ADMIN_A, ident, "")
    assert snapshot(registry) == before
    done = send(registry, GATEWAY, key, "approve", ADMIN_A, ident, "known to us")
    assert done["id"] == ident


def test_two_copies_at_once_take_effect_once(registry: Registry) -> None:
    key = uuid.uuid4().hex
    data = application()
    copies = [
        eventlet.spawn(send, registry, GATEWAY, key, "apply", data) for _ in range(4)
    ]
    answers = [copy.wait() for copy in copies]
    assert all(answer == answers[0] for answer in answers)
    rows = registry.sql(
        "SELECT count(*) FROM communicators WHERE pseudonym = :p", p=data["pseudonym"]
    )
    assert rows[0][0] == 1


def test_past_the_window_a_key_is_a_new_request_and_its_row_is_purged(
    registry: Registry,
) -> None:
    key = uuid.uuid4().hex
    send(registry, GATEWAY, key, "set_corridor", ADMIN_A, "GE", "bank_file")
    registry.sql(
        "UPDATE command_results SET created_at = now() - interval '25 hours' "
        "WHERE key LIKE :k",
        k=f"{key}.%",
    )
    # a day later the same key is a new request: carried out again, not refused
    again = send(registry, GATEWAY, key, "set_corridor", ADMIN_A, "GE", "stripe_global")
    assert again == {"country": "GE", "provider": "stripe_global"}
    fresh = registry.sql(
        "SELECT request_hash FROM command_results WHERE key LIKE :k", k=f"{key}.%"
    )
    assert len(fresh) == 1
    old = uuid.uuid4().hex
    send(registry, GATEWAY, old, "set_corridor", ADMIN_A, "AM", "bank_file")
    registry.sql(
        "UPDATE command_results SET created_at = now() - interval '25 hours' "
        "WHERE key LIKE :k",
        k=f"{old}.%",
    )
    registry.call("purge_command_results")
    assert (
        registry.sql("SELECT key FROM command_results WHERE key LIKE :k", k=f"{old}.%")
        == []
    )
    assert (
        len(
            registry.sql(
                "SELECT key FROM command_results WHERE key LIKE :k", k=f"{key}.%"
            )
        )
        == 1
    )


def test_what_a_command_keeps_cannot_be_checked_against_a_guessed_email(
    registry: Registry,
) -> None:
    """The kept digest of a password-reset request is keyed: the plain hash of the
    email (what anyone holding a list of addresses could compute) is not in the
    table, nor the email itself."""
    email = _staff_email(registry)
    key = uuid.uuid4().hex
    send(registry, GATEWAY, key, "request_password_reset", email)
    (row,) = registry.sql(
        "SELECT t::text, request_hash FROM command_results t WHERE key LIKE :k",
        k=f"{key}.%",
    )
    text, digest = row
    asked = json.dumps(["request_password_reset", {"email": email}], sort_keys=True)
    assert digest != hashlib.sha256(asked.encode()).hexdigest()
    assert email not in text and email.split("@")[0] not in text
    # and the digest is the service's own: the same request under another
    # service's key does not match it
    assert digest == commands.request_hash(
        "request_password_reset", {"email": email}, signing.digest_key("registry")
    )
    assert digest != commands.request_hash(
        "request_password_reset", {"email": email}, signing.digest_key("stipends")
    )
