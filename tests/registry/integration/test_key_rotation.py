"""Rotating the blind-index key with data present, and the access log's HMAC chain:
sign-in, dedup and the Stripe account lookup work before, during and after a
re-keying, and someone who can write the database cannot rewrite the log unseen."""

import hashlib
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from nameko.testing.services import replace_dependencies
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from registry.logic import indexes
from registry.service import RegistryService
from svyaz.crypto import generate_key, keyring
from tests.helpers import rewrite_access_log
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
def url(database: Any) -> str:
    return database("registry")


@pytest.fixture
def start(
    url: str, service_config: Any, container_factory: Any
) -> Iterator[Callable[..., Registry]]:
    """start(**settings): a registry on one database, stopping the one before."""
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

    yield make
    for registry in running:
        registry.engine.dispose()


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


# -- the access log's HMAC chain ---------------------------------------------------
def test_a_row_rewritten_with_its_chain_recomputed_is_found(
    start: Callable[..., Registry],
) -> None:
    registry = start()
    ident = registry.active()
    for n in range(3):
        registry.call("get_profile", ADMIN_A, ident, f"support ticket {n}")
    assert registry.call("verify_access_log", ADMIN_A)["problems"] == []
    rows = registry.sql("SELECT id, key_id FROM pii_access_log ORDER BY id")
    assert len(rows) >= 6 and {r.key_id for r in rows} == {"dev-a1"}

    middle = rows[len(rows) // 2].id
    rewrite_access_log(registry.sql, middle)
    report = registry.call("verify_access_log", ADMIN_A)
    assert not report["intact"]
    assert f"row {middle}: its content was changed" in report["problems"]
    assert "the record of the newest row was changed" in report["problems"]


def test_the_older_sha256_chain_is_sealed_at_start_and_rewriting_it_is_found(
    url: str, start: Callable[..., Registry]
) -> None:
    # the log as an older registry left it: five rows chained with plain SHA-256
    engine = create_engine(url)
    prev, at = "0" * 64, datetime.now(UTC) - timedelta(days=3)
    with engine.begin() as conn:
        for n in range(5):
            row = {
                "id": conn.scalar(text("SELECT nextval('pii_access_log_id_seq')")),
                "communicator_id": uuid.uuid4(),
                "accessor": "notifications",
                "field": "email",
                "purpose": f"reminder {n}",
                "at": at + timedelta(minutes=n),
            }
            parts = [prev, *(str(row[k]) for k in list(row)[:5]), row["at"].isoformat()]
            digest = hashlib.sha256("|".join(parts).encode()).hexdigest()
            conn.execute(
                text(
                    "INSERT INTO pii_access_log (id, communicator_id, accessor, "
                    "field, purpose, at, prev_hash, hash) VALUES (:id, "
                    ":communicator_id, :accessor, :field, :purpose, :at, :p, :h)"
                ),
                {**row, "p": prev, "h": digest},
            )
            prev = digest
        conn.execute(
            text("UPDATE access_chain_head SET hash = :h, count = 5"), {"h": prev}
        )
    engine.dispose()

    registry = start()
    deadline = time.monotonic() + 20
    while not registry.sql("SELECT * FROM access_chain_seals"):
        assert time.monotonic() < deadline, "the registry did not seal the log"
        time.sleep(0.2)
    (seal,) = registry.sql("SELECT after_rows, sealed_hash FROM access_chain_seals")
    assert tuple(seal) == (5, prev)
    ident = registry.active()
    registry.call("get_profile", ADMIN_A, ident, "support ticket")
    report = registry.call("verify_access_log", ADMIN_A)
    assert report["problems"] == [] and report["rows"] > 5

    # the old rows are rewritten and their SHA-256 chain recomputed: the seal's
    # HMAC over the old chain's head no longer meets it
    first = registry.sql("SELECT min(id) FROM pii_access_log")[0][0]
    rewrite_access_log(registry.sql, first + 1, last_id=first + 4)
    report = registry.call("verify_access_log", ADMIN_A)
    assert (
        "the seal after row 5: the rows before it were changed or deleted"
        in (report["problems"])
    )
    # and the seal cannot be moved along: it is an HMAC under a key the database
    # does not hold
    registry.sql("ALTER TABLE access_chain_seals DISABLE TRIGGER USER")
    registry.sql(
        "UPDATE access_chain_seals SET sealed_hash = :h",
        h=registry.sql("SELECT hash FROM pii_access_log WHERE id = :i", i=first + 4)[0][
            0
        ],
    )
    report = registry.call("verify_access_log", ADMIN_A)
    assert "the seal after row 5: it was changed" in report["problems"]


def test_the_access_log_key_rotates_and_old_keys_stay_to_verify(
    start: Callable[..., Registry],
) -> None:
    a1, a2 = generate_key(), generate_key()
    registry = start(ACCESS_LOG_KEYS=f"a1={a1}", ACCESS_LOG_KEY_ID="a1")
    ident = registry.active()
    registry = start(ACCESS_LOG_KEYS=f"a1={a1},a2={a2}", ACCESS_LOG_KEY_ID="a2")
    registry.call("get_profile", ADMIN_A, ident, "after the rotation")
    kids = [r[0] for r in registry.sql("SELECT key_id FROM pii_access_log ORDER BY id")]
    assert kids[0] == "a1" and kids[-1] == "a2"
    assert registry.call("verify_access_log", ADMIN_A)["problems"] == []
    # a log checked without its old key says so and what to do
    registry = start(ACCESS_LOG_KEYS=f"a2={a2}", ACCESS_LOG_KEY_ID="a2")
    problems = registry.call("verify_access_log", ADMIN_A)["problems"]
    assert problems and all("add it back to ACCESS_LOG_KEYS" in p for p in problems)


def test_a_row_that_cannot_be_re_keyed_is_left_counted_and_stops_nothing(
    start: Callable[..., Registry],
) -> None:
    old, new = generate_key(), generate_key()
    registry = start(BLIND_INDEX_KEYS=f"i1={old}", BLIND_INDEX_KEY_ID="i1")
    broken, whole = registry.applicant(), registry.applicant()
    registry.sql("UPDATE communicators SET email_ct = NULL WHERE id = :i", i=broken)
    registry = start(
        BLIND_INDEX_KEYS=f"i1={old},i2={new}", BLIND_INDEX_KEY_ID="i2", REKEY_BATCH=0
    )
    done = registry.call("rekey_blind_indexes", ADMIN_A)
    assert done["rekeyed"] == 1 and done["remaining"]["communicators"] == 1
    (left,) = registry.sql(
        "SELECT id::text FROM communicators WHERE email_index NOT LIKE 'i2.%'"
    )
    assert left[0] == broken and whole != broken
