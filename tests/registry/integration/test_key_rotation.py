"""Rotating the blind-index key with data present, and the access log's HMAC chain:
sign-in, dedup and the Stripe account lookup work before, during and after a
re-keying, and someone who can write the database cannot rewrite the log unseen."""

from collections.abc import Callable
from typing import Any

import pytest
from nameko.testing.services import replace_dependencies
from sqlalchemy.orm import Session

from registry.logic import indexes
from registry.service import RegistryService
from svyaz.crypto import generate_key, keyring
from tests.registry.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    FakeConnect,
    Registry,
    actor_for,
)

PASSWORD = "correct horse battery staple"
IBAN = "GE29NB0000000101904917"
BANK = {"holder": "Irina Petrova", "iban": IBAN, "bic": "NBGEGE22"}


@pytest.fixture
def start(
    database: Any, service_config: Any, container_factory: Any
) -> Callable[..., Registry]:
    """start(**settings): a registry on one database, stopping the one before."""
    url = database("registry")
    connect = FakeConnect()
    running: list[Registry] = []

    def make(**settings: Any) -> Registry:
        if running:
            running[-1].container.stop()
            running[-1].engine.dispose()
        config = service_config("registry", DB_URI=url, **settings)
        container = container_factory(RegistryService, config)
        replace_dependencies(container, stripe=connect)
        container.start()
        running.append(Registry(container, url, connect))
        return running[-1]

    return make


def sign_in(registry: Registry, email: str, code: str | None = None) -> Any:
    return registry.call("sign_in", email, PASSWORD, code, caller="gateway")


def review_items(registry: Registry, kind: str) -> set[frozenset[str]]:
    rows = registry.sql(
        "SELECT communicator_id::text, other_id::text FROM review_items "
        "WHERE kind = :k",
        k=kind,
    )
    return {frozenset(row) for row in rows}


def test_the_blind_index_key_rotates_with_data_present(
    start: Callable[..., Registry],
) -> None:
    old, new = generate_key(), generate_key()
    registry = start(BLIND_INDEX_KEYS=f"i1={old}", BLIND_INDEX_KEY_ID="i1")
    anna = registry.active(
        email="anna@example.org",
        phone="+995 555 12 34 56",
        password=PASSWORD,
        country="GE",
    )
    registry.call("set_bank_details", actor_for(anna), BANK)
    boris = registry.active(country="DE")
    registry.call("start_payout_setup", actor_for(boris))
    stripe_account = registry.connect.accounts[boris]
    staff = registry.call(
        "create_staff_account",
        ADMIN_A,
        {
            "email": "finance.lead@example.org",
            "roles": ["finance"],
            "password": PASSWORD,
        },
    )
    # some indexes from before key ids: bare HMACs, as the data stood at the upgrade
    registry.sql(
        "UPDATE communicators SET email_index = split_part(email_index, '.', 2) "
        "WHERE id = :i",
        i=anna,
    )
    registry.sql(
        "UPDATE accounts SET login_index = split_part(login_index, '.', 2) "
        "WHERE id = :i",
        i=staff["id"],
    )
    fingerprint = registry.sql(
        "SELECT fingerprint FROM payout_accounts WHERE communicator_id = :i", i=anna
    )[0][0]

    def works(registry: Registry, round: int) -> None:
        """Every lookup by blind index, and the dedup it drives."""
        assert sign_in(registry, "Anna@example.org")["status"] == "ok"
        # found: asked to set up the authenticator (an unknown email: "invalid")
        assert sign_in(registry, "finance.lead@example.org")["status"] == "enroll"
        found = registry.call(
            "find_communicators", ADMIN_A, {"email": "anna@example.org"}
        )
        assert anna in [f["id"] for f in found]  # (and the twins of earlier rounds)
        twin = registry.applicant(
            email="ANNA@example.org", phone="+995 555 123 456", country="GE"
        )
        assert frozenset({twin, anna}) in review_items(registry, "email")
        assert frozenset({twin, anna}) in review_items(registry, "phone")
        # the Stripe account's owner, found from Stripe's event
        changed = [
            registry.call(
                "stripe_account_updated", stripe_account, up, caller="gateway"
            )
            for up in (False, True)
        ]
        assert all(c["changed"] for c in changed) or round == 0
        # a second person with Anna's IBAN is found as the same destination
        other = registry.active(country="GE")
        registry.call(
            "set_bank_details",
            actor_for(other),
            {**BANK, "holder": f"Someone {round}"},
        )
        assert frozenset({other, anna}) in review_items(registry, "payout_destination")

    works(registry, 0)
    registry.call("stripe_account_updated", stripe_account, True, caller="gateway")

    # 1. both keys configured, the new one in use; the timer re-keys nothing here
    # (REKEY_BATCH=0) so that the transition can be looked at row by row
    both = f"i1={old},i2={new}"
    registry = start(BLIND_INDEX_KEYS=both, BLIND_INDEX_KEY_ID="i2", REKEY_BATCH=0)
    ring = keyring(registry.container.config)
    works(registry, 1)  # everything old still found; the new rows under i2
    with Session(registry.engine) as session, session.begin():
        before = indexes.stale_counts(session, ring)
        assert before["communicators"] == 4 and before["accounts"] == 2
        assert before["payout_accounts"] >= 2
        assert indexes.rekey(session, ring, batch=1) == 3  # one row of each table
    works(registry, 2)  # half-way: some rows under i1, some under i2
    # 2. the operator's call (and the timer) finish it, a batch at a time
    done = registry.call("rekey_blind_indexes", ADMIN_B)
    assert done["key_id"] == "i2" and done["rekeyed"] >= 6
    assert done["remaining"] == {
        "communicators": 0,
        "accounts": 0,
        "payout_accounts": 0,
    }
    for table, column in (
        ("communicators", "email_index"),
        ("communicators", "phone_index"),
        ("accounts", "login_index"),
        ("payout_accounts", "account_index"),
        ("payout_accounts", "destination_index"),
    ):
        values = [r[0] for r in registry.sql(f"SELECT {column} FROM {table}")]
        assert all(v is None or v.startswith("i2.") for v in values), (table, values)
    reads = registry.sql(
        "SELECT count(*) FROM pii_access_log WHERE purpose = 'blind index re-key'"
    )[0][0]
    assert reads >= 6  # every decryption for it is in the access log

    # 3. the old key is gone: everything still works
    registry = start(BLIND_INDEX_KEYS=f"i2={new}", BLIND_INDEX_KEY_ID="i2")
    works(registry, 3)
    # stipends binds approvals to the fingerprint: the same IBAN keeps it
    registry.call("set_bank_details", actor_for(anna), BANK)
    assert (
        registry.call("get_payout_destination", anna, "run", caller="stipends")[
            "fingerprint"
        ]
        == fingerprint
    )
    assert registry.call("verify_access_log", ADMIN_A)["problems"] == []
