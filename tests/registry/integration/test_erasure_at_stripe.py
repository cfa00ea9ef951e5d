"""What erasure leaves at Stripe and in backups, against the Stripe sandbox (a real
subprocess reached through the stripe SDK), real RabbitMQ and PostgreSQL:

- the Connect account is deleted and the Global Payouts recipient closed, driven
  by the registry's own handler of communicator.erased.v1;
- a sandbox that fails is retried; one that keeps failing parks the event where
  program admins see it (the oversight console's parked work), and their retry
  closes the account;
- a restore drill: the database dumped before the erasure and restored after it
  has the person back; `replay_erasures` reads the journal outside the database
  and shreds them again, and the Stripe account already gone counts as done."""

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stripe

from registry.service import RegistryService
from tests.helpers import wait_until
from tests.registry.integration.conftest import ADMIN_A, Registry, actor_for
from tests.stripe_harness import Sandbox, running_sandbox

PERSON = {
    "legal_name": "Olga Nikolaevna Zaitseva",
    "email": "olga.zaitseva@example.org",
    "city": "Berlin",
    "motivation": "My aunt in Omsk trusts only the first channel.",
}
VALUES = ("Zaitseva", "olga.zaitseva", "Omsk")
QUEUE = "registry.on_communicator_erased"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    with running_sandbox(tmp_path / "sandbox.state") as sandbox:
        yield sandbox


@pytest.fixture
def registry(
    database: Any, service_config: Any, container_factory: Any, sandbox: Sandbox
) -> Iterator[Registry]:
    url = database("registry")
    container = container_factory(
        RegistryService,
        service_config("registry", DB_URI=url, STRIPE_API_BASE=sandbox.url),
    )
    container.start()
    wrapper = Registry(container, url, None)
    yield wrapper
    wrapper.engine.dispose()


def connect_account(registry: Registry, sandbox: Sandbox, **person: Any) -> Any:
    ident = registry.active(country="DE", **person)
    registry.call("start_payout_setup", actor_for(ident))
    (account,) = [
        a
        for a in sandbox.client().v1.accounts.list().data
        if a.metadata.to_dict() == {"communicator_id": ident}
    ]
    sandbox.onboard(account.id)  # KYC collected by Stripe
    return ident, account.id


def gone(sandbox: Sandbox, account_id: str) -> bool:
    try:
        sandbox.client().v1.accounts.retrieve(account_id)
    except stripe.InvalidRequestError as exc:
        return exc.http_status == 404
    return False


def closure(registry: Registry, ident: str) -> Any:
    rows = registry.sql(
        "SELECT provider, wrapped_key, account_ct, closed_at FROM stripe_closures "
        "WHERE communicator_id = :i",
        i=ident,
    )
    return rows[0] if rows else None


def parked(registry: Registry) -> list[dict[str, Any]]:
    listed = registry.call("list_parked_messages", ADMIN_A)
    return [m for m in listed["messages"] if m["queue"] == QUEUE]


def test_erasure_deletes_the_connect_account_at_stripe(
    registry: Registry, sandbox: Sandbox
) -> None:
    ident, account_id = connect_account(registry, sandbox)
    keep, kept_id = connect_account(registry, sandbox)

    registry.call("erase", actor_for(ident), ident, "please forget me")

    wait_until(lambda: gone(sandbox, account_id), "the account deleted at Stripe")
    done = wait_until(
        lambda: (row := closure(registry, ident)) and row.closed_at and row,
        "the closure recorded",
    )
    # the sealed id went with Stripe's confirmation
    assert done.provider == "stripe_connect"
    assert done.wrapped_key is None and done.account_ct is None
    # nobody else's account was touched
    assert sandbox.client().v1.accounts.retrieve(kept_id).id == kept_id
    assert closure(registry, keep) is None
    assert parked(registry) == []


def test_erasure_closes_the_global_payouts_recipient(
    registry: Registry, sandbox: Sandbox
) -> None:
    ident = registry.active(country="AM")  # Armenia: Global Payouts
    registry.call("start_payout_setup", actor_for(ident))
    (account_id,) = sandbox.control("GET", "/_sandbox/v2/accounts")["accounts"]
    sandbox.control(
        "POST", f"/_sandbox/v2/accounts/{account_id}/complete_onboarding", {}
    )

    registry.call("erase", ADMIN_A, ident, "asked by letter")

    client = sandbox.client()
    closed = wait_until(
        lambda: (a := client.v2.core.accounts.retrieve(account_id)).closed and a,
        "the recipient closed at Stripe",
    )
    assert closed.defaults.payout_methods.to_dict() == {}
    wait_until(lambda: closure(registry, ident).closed_at, "the closure recorded")


def test_a_failing_stripe_is_retried(registry: Registry, sandbox: Sandbox) -> None:
    ident, account_id = connect_account(registry, sandbox)
    # the SDK's own retries (two) fail too: the first handling fails as a whole
    sandbox.control(
        "POST", "/_sandbox/faults", {"fail_nth": 1, "status": 500, "times": 3}
    )

    registry.call("erase", actor_for(ident), ident, "please forget me")

    # (asking the sandbox meanwhile would take a fault of the three)
    wait_until(lambda: closure(registry, ident).closed_at, "closed on a later try", 30)
    assert sandbox.control("GET", "/_sandbox/faults")["fired"] == {"500": 3}
    assert gone(sandbox, account_id)
    assert parked(registry) == []


def test_a_stripe_that_keeps_failing_is_shown_to_staff_who_retry(
    registry: Registry, sandbox: Sandbox
) -> None:
    ident, account_id = connect_account(registry, sandbox)
    sandbox.control(
        "POST", "/_sandbox/faults", {"fail_nth": 1, "status": 503, "times": 10_000}
    )

    registry.call("erase", actor_for(ident), ident, "please forget me")

    (message,) = wait_until(lambda: parked(registry), "the erasure event parked", 60)
    assert message["route"] == "communicator.erased.v1"
    assert message["retryable"] is True
    assert "StripeClosureFailed" in message["reason"]
    assert account_id not in str(message)
    sandbox.control("DELETE", "/_sandbox/faults")
    # never skipped: the account is still there, the sealed id still held
    assert not gone(sandbox, account_id)
    pending = closure(registry, ident)
    assert pending.closed_at is None and pending.account_ct is not None

    registry.call(
        "retry_parked_message", ADMIN_A, message["id"], "Stripe is answering again"
    )

    wait_until(lambda: gone(sandbox, account_id), "deleted after the retry")
    wait_until(lambda: closure(registry, ident).closed_at, "the closure recorded")
    assert parked(registry) == []
    (action,) = registry.call("list_parked_actions", ADMIN_A)
    assert action["action"] == "retry" and action["outcome"] == "retried"


# -- the restore drill -----------------------------------------------------------------
def _dsn(registry: Registry) -> str:
    return str(registry.container.config["DB_URI"]).replace(
        "postgresql+psycopg2://", "postgresql://"
    )


def table_dump(registry: Registry, table: str) -> str:
    return subprocess.run(
        ["psql", _dsn(registry), "-c", f"COPY {table} TO STDOUT"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def personal_rows(registry: Registry) -> list[str]:
    return [
        f"{table}: {value}"
        for table in ("communicators", "payout_accounts", "vetting_decisions")
        for value in VALUES
        if value in table_dump(registry, table)
    ]


def test_a_restored_backup_is_shredded_again_by_the_replay(
    registry: Registry, sandbox: Sandbox, tmp_path: Path
) -> None:
    ident, account_id = connect_account(registry, sandbox, **PERSON)
    other = registry.active()
    registry.call("suspend", ADMIN_A, ident, "Zaitseva missed the Omsk meeting")
    registry.call("reinstate", ADMIN_A, ident, "back")
    backup = tmp_path / "registry.dump"
    subprocess.run(
        ["pg_dump", "--format=custom", f"--file={backup}", _dsn(registry)],
        check=True,
    )
    assert personal_rows(registry)

    registry.call("erase", actor_for(ident), ident, "please forget me")
    wait_until(lambda: gone(sandbox, account_id), "the account deleted at Stripe")
    assert personal_rows(registry) == []
    journal = Path(registry.container.config["ERASURE_JOURNAL"])
    wait_until(lambda: journal.exists() and ident in journal.read_text(), "journal")

    # the database is lost and restored from the backup made before the erasure
    subprocess.run(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--single-transaction",
            f"--dbname={_dsn(registry)}",
            str(backup),
        ],
        check=True,
    )
    assert personal_rows(registry), "the restore brought the person back"
    assert registry.sql("SELECT * FROM erasures") == []

    report = registry.call("replay_erasures", ADMIN_A)

    assert report == {"listed": 1, "shredded": [ident], "absent": 0, "closing": []}
    assert personal_rows(registry) == []
    (row,) = registry.sql(
        "SELECT wrapped_key, email_index, erased_at FROM communicators WHERE id = :i",
        i=ident,
    )
    assert row.wrapped_key is None and row.email_index is None and row.erased_at
    (listed,) = registry.sql("SELECT communicator_id FROM erasures")
    assert str(listed.communicator_id) == ident
    # the account Stripe deleted before: already gone is done, nothing parked
    wait_until(lambda: closure(registry, ident).closed_at, "the closure recorded")
    assert parked(registry) == []
    # someone not erased keeps their data
    assert registry.call("get_profile", ADMIN_A, other, "check")["city"]
    # a second replay finds nothing to do
    again = registry.call("replay_erasures", ADMIN_A)
    assert again == {"listed": 1, "shredded": [], "absent": 0, "closing": []}


def test_the_replay_asks_stripe_again_for_a_closing_the_backup_left_pending(
    registry: Registry, sandbox: Sandbox
) -> None:
    """A backup taken after the erasure's event went out but before Stripe answered
    holds a pending closing that nothing else drives (no outbox row, nothing parked
    after the restore): the replay asks for it again."""
    ident, account_id = connect_account(registry, sandbox)
    sandbox.control(
        "POST", "/_sandbox/faults", {"fail_nth": 1, "status": 503, "times": 10_000}
    )
    registry.call("erase", actor_for(ident), ident, "please forget me")
    wait_until(lambda: parked(registry), "the erasure event parked", 60)
    sandbox.control("DELETE", "/_sandbox/faults")
    assert closure(registry, ident).closed_at is None  # as the backup holds it

    report = registry.call("replay_erasures", ADMIN_A)

    assert report["closing"] == [ident] and report["shredded"] == []
    wait_until(lambda: closure(registry, ident).closed_at, "closed by the replay", 30)
    assert gone(sandbox, account_id)
    assert registry.call("replay_erasures", ADMIN_A)["closing"] == []
