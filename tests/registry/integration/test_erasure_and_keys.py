"""Erasure destroys the person's key and every trace of their data while the
pseudonymous id stays; master key rotation re-wraps without re-encrypting; the access
log finds any edited or deleted row."""

import json
import subprocess
import uuid
from pathlib import Path
from typing import Any

import kombu
import pyotp
import pytest
import sqlalchemy.exc
from nameko.testing.services import replace_dependencies
from sqlalchemy.orm import Session

from registry.logic import keys
from registry.logic.actors import Actor
from registry.service import RegistryService
from svyaz import signing
from svyaz.crypto import generate_key, keyring
from svyaz.errors import Forbidden, NotFound
from tests.helpers import next_code, queue_depth, wait_until
from tests.registry.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    FakeConnect,
    Registry,
    actor_for,
)

PASSWORD = "correct horse battery staple"

PERSON = {
    "legal_name": "Anna Sergeevna Volkova",
    "email": "anna.volkova@example.org",
    "phone": "+7 912 345-67-89",
    "city": "Batumi",
    "messenger": "@anna_volk",
    "motivation": "My brother in Perm believes the television.",
}
VALUES = (
    "Volkova",
    "anna.volkova",
    "912 345",
    "Batumi",
    "anna_volk",
    "Perm",
    "GE29NB0000000101904917",
)


@pytest.fixture
def witness(rabbit_config: dict[str, Any]) -> str:
    with kombu.Connection(rabbit_config["AMQP_URI"]) as conn:
        kombu.Queue(
            "all-registry-events",
            kombu.Exchange("registry.events", type="topic"),
            routing_key="#",
        )(conn.channel()).declare()
    return "all-registry-events"


def table_dump(url: str, table: str) -> str:
    dsn = url.replace("postgresql+psycopg2://", "postgresql://")
    return subprocess.run(
        ["psql", dsn, "-c", f"COPY {table} TO STDOUT"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def test_after_erasure_nothing_yields_the_persons_data(
    registry: Registry, witness: str, rabbit_config: dict[str, Any]
) -> None:
    ident = registry.active(country="GE", **PERSON)
    me = actor_for(ident)
    registry.call(
        "set_bank_details",
        me,
        {"holder": PERSON["legal_name"], "iban": VALUES[-1], "bic": "NBGEGE22"},
    )
    assert registry.call("get_profile", me, ident, "own")["city"] == "Batumi"

    assert registry.call("erase", me, ident, "my own request") == {"status": "erased"}

    with pytest.raises(NotFound):
        registry.call("get_contact", ident, "a reminder", caller="notifications")
    with pytest.raises(NotFound):
        registry.call("get_profile", ADMIN_A, ident, "curious")
    assert (
        registry.call("find_communicators", ADMIN_A, {"email": PERSON["email"]}) == []
    )
    with pytest.raises(NotFound):
        registry.call("get_payout_destination", ident, "run", caller="stipends")
    for table in (
        "communicators",
        "payout_accounts",
        "outbox",
        "pii_access_log",
        "vetting_decisions",
        "review_items",
    ):
        dump = table_dump(registry.container.config["DB_URI"], table)
        for value in VALUES:
            assert value not in dump, (table, value)
    # the pseudonymous id stays, so the financial record that names it resolves
    (row,) = registry.sql(
        "SELECT id, wrapped_key, email_index, erased_at, applied_at "
        "FROM communicators WHERE id = :i",
        i=ident,
    )
    assert str(row.id) == ident and row.wrapped_key is None
    assert row.email_index is None and row.erased_at and row.applied_at
    (erased,) = registry.events("communicator.erased.v1")
    assert erased["data"] == {"communicator_id": ident}

    # nothing that crossed the bus carried the person's data
    amqp_uri = rabbit_config["AMQP_URI"]
    bodies = []
    with kombu.Connection(amqp_uri) as conn:
        channel = conn.default_channel
        for _ in range(queue_depth(amqp_uri, witness)):
            message = channel.basic_get(witness, no_ack=True)
            body = message.body
            raw = body if isinstance(body, str) else body.decode()
            # sealed on the wire; what any holder of the bus keys reads, too
            opened = json.dumps(signing.decode(raw), ensure_ascii=False)
            bodies += [raw, opened]
    assert len(bodies) >= 10
    for body in bodies:
        for value in VALUES:
            assert value not in body


def test_only_the_person_or_an_admin_erases(registry: Registry) -> None:
    ident, other = registry.active(), registry.active()
    with pytest.raises(Forbidden):
        registry.call("erase", actor_for(other), ident, "mischief")
    registry.call("erase", ADMIN_A, ident, "requested by letter")
    with pytest.raises(NotFound):
        registry.call("erase", ADMIN_A, ident, "twice")


def test_every_read_is_chained_and_tampering_is_found(registry: Registry) -> None:
    ident = registry.active(**PERSON)
    registry.call("get_profile", ADMIN_A, ident, "support ticket 12")
    for _ in range(3):
        registry.call("get_contact", ident, "reminder", caller="notifications")
    report = registry.call("verify_access_log", ADMIN_A)
    assert report["intact"] and report["rows"] >= 12

    with pytest.raises(sqlalchemy.exc.InternalError, match="insert-only"):
        registry.sql("UPDATE pii_access_log SET purpose = 'nothing to see'")

    # someone with the database's owner rights goes behind the trigger's back
    registry.sql(
        "ALTER TABLE pii_access_log DISABLE TRIGGER pii_access_log_insert_only"
    )
    middle, accessor = registry.sql(
        "SELECT id, accessor FROM pii_access_log ORDER BY id"
    )[5]
    registry.sql(
        "UPDATE pii_access_log SET accessor = 'nobody' WHERE id = :i", i=middle
    )
    report = registry.call("verify_access_log", ADMIN_A)
    assert not report["intact"]
    assert f"row {middle}: its content was changed" in report["problems"]

    registry.sql(
        "UPDATE pii_access_log SET accessor = :a WHERE id = :i", a=accessor, i=middle
    )  # undone: the chain is whole again
    assert registry.call("verify_access_log", ADMIN_A)["intact"]
    registry.sql("DELETE FROM pii_access_log WHERE id = :i", i=middle)
    report = registry.call("verify_access_log", ADMIN_A)
    assert any("missing or was changed" in p for p in report["problems"])

    last = registry.sql("SELECT max(id) FROM pii_access_log")[0][0]
    registry.sql("DELETE FROM pii_access_log WHERE id = :i", i=last)
    assert (
        "the newest rows are missing"
        in registry.call("verify_access_log", ADMIN_A)["problems"]
    )


def test_rotation_rewraps_every_data_key_and_fields_still_open(
    database: Any, service_config: Any, container_factory: Any
) -> None:
    url = database("registry")
    old, new = generate_key(), generate_key()

    def start(keys: str, current: str, connect: FakeConnect) -> Registry:
        config = service_config(
            "registry", DB_URI=url, MASTER_KEYS=keys, MASTER_KEY_ID=current
        )
        container = container_factory(RegistryService, config)
        replace_dependencies(container, stripe=connect)
        container.start()
        return Registry(container, url, connect)

    away = FakeConnect()
    away.closing_fails = True
    before = start(f"k1={old}", "k1", away)
    people = [
        before.active(**{**PERSON, "email": f"p{i}@example.org", "phone": None})
        for i in range(3)
    ]
    # an erased person whose Stripe account is still to be closed: its id is
    # sealed under a data key of its own, which rotation re-wraps too
    leaving = before.active(country="DE")
    before.call("start_payout_setup", actor_for(leaving))
    before.call("erase", actor_for(leaving), leaving, "please forget me")
    parked = wait_until(
        lambda: before.call("list_parked_messages", ADMIN_A)["messages"], "parked"
    )
    before.container.stop()

    after = start(f"k1={old},k2={new}", "k2", away)
    with pytest.raises(Forbidden):
        after.call("rewrap_keys", actor_for(people[0]))
    assert after.call("rewrap_keys", ADMIN_B) == {"rewrapped": 4, "remaining": 0}
    keys = [r[0] for r in after.sql("SELECT wrapped_key FROM communicators")]
    keys += [r[0] for r in after.sql("SELECT wrapped_key FROM stripe_closures")]
    assert len(keys) == 5 and all(k is None or k.startswith("k2.") for k in keys)
    after.container.stop()

    back = FakeConnect()
    retired = start(f"k2={new}", "k2", back)  # the old master key is gone
    for ident in people:
        assert retired.call("get_profile", ADMIN_A, ident, "audit")["city"] == "Batumi"
    retired.call("retry_parked_message", ADMIN_A, parked[0]["id"], "Stripe is back")
    wait_until(lambda: back.closed, "the account closed")
    assert back.closed == [away.accounts[leaving]]


def test_erasure_leaves_no_free_text_and_no_dedup_match_about_the_person(
    registry: Registry,
) -> None:
    email, phone = "olga.z@example.org", "+995 555 12 34 56"
    ident = registry.active(email=email, phone=phone)
    twin = registry.applicant(email=email)  # the same email: a review item
    namesake = registry.applicant(phone=phone)  # the same phone: another
    items = {i["kind"]: i for i in registry.call("list_review_items", ADMIN_A)}
    assert set(items) == {"email", "phone"}
    registry.call(
        "resolve_review_item",
        ADMIN_A,
        items["email"]["id"],
        "distinct",
        f"sisters; both wrote from {email}",
    )
    training = registry.call(
        "create_training",
        ADMIN_A,
        {"title": "Talking to parents", "held_on": "2026-11-01"},
    )
    registry.call("record_training_completion", ADMIN_A, training["id"], ident)
    registry.call("set_tier", ADMIN_A, ident, "professional", "Olga ran the Omsk call")
    registry.call("suspend", ADMIN_A, ident, "Olga Z. missed three calls in Omsk")
    registry.call("reinstate", ADMIN_A, ident, "Olga is back from Omsk")

    registry.call("erase", ADMIN_A, ident, "letter from Olga Zaitseva, Omsk")

    # the review items that named them keep neither what matched nor the note
    rows = registry.sql(
        "SELECT kind, status, note, communicator_id, other_id FROM review_items"
    )
    assert len(rows) == 2
    assert {row.kind for row in rows} == {"erased"}
    assert {row.status for row in rows} == {"distinct", "withdrawn"}
    assert {row.note for row in rows} == {"[erased]", None}
    assert registry.call("list_review_items", ADMIN_A) == []
    dump = table_dump(registry.container.config["DB_URI"], "review_items")
    assert "olga" not in dump and "sisters" not in dump
    # every reason given about them is the marker; a tier change keeps its tier
    reasons = registry.sql(
        "SELECT reason FROM vetting_decisions WHERE communicator_id = :i ORDER BY id",
        i=ident,
    )
    assert {r.reason for r in reasons} == {"[erased]", "tier professional: [erased]"}
    approvals = registry.sql(
        "SELECT reason FROM activation_approvals WHERE communicator_id = :i", i=ident
    )
    assert [a.reason for a in approvals] == ["[erased]", "[erased]"]
    for table in ("vetting_decisions", "activation_approvals"):
        dump = table_dump(registry.container.config["DB_URI"], table)
        assert "Olga" not in dump and "Omsk" not in dump, table
    trail = registry.call("get_communicator_activity", ADMIN_A, ident)
    assert {"tier": "professional"} in [e["detail"] for e in trail]
    # the others' records are theirs: untouched
    assert registry.call("get_application", ADMIN_A, twin)["status"] == "applied"
    assert registry.call("get_application", ADMIN_A, namesake)["status"] == "applied"

    # vetting_decisions stays insert-only: the marker is the one change allowed,
    # and only for a person erased
    with pytest.raises(sqlalchemy.exc.InternalError, match="insert-only"):
        registry.sql(
            "UPDATE vetting_decisions SET reason = 'rewritten' WHERE communicator_id"
            " = :i",
            i=ident,
        )
    with pytest.raises(sqlalchemy.exc.InternalError, match="insert-only"):
        registry.sql(
            "UPDATE vetting_decisions SET reason = '[erased]' WHERE communicator_id"
            " = :i",
            i=registry.active(),
        )


def test_erasure_drops_who_vouched_for_the_person_and_their_club(
    registry: Registry,
) -> None:
    sponsor_name = f"sponsor_{uuid.uuid4().hex[:6]}"
    sponsor = registry.active(pseudonym=sponsor_name)
    club = registry.call(
        "create_club",
        ADMIN_A,
        {"name": f"Club {sponsor_name}", "country": "GE", "mode": "offline"},
    )
    ident = registry.applicant(referral=sponsor_name, club_id=club["id"])
    query = "SELECT club_id FROM communicators WHERE id = :i"
    (before,) = registry.sql(query, i=ident)
    assert before.club_id == uuid.UUID(club["id"])
    ties = "SELECT count(*) FROM vouches WHERE applicant_id = :i OR voucher_id = :i"
    assert registry.sql(ties, i=ident)[0][0] == 1  # the request to the sponsor

    registry.call("erase", ADMIN_A, ident, "asked by phone")

    (row,) = registry.sql(query, i=ident)
    assert row.club_id is None
    assert registry.sql(ties, i=ident)[0][0] == 0
    assert registry.call("list_vouch_requests", actor_for(sponsor)) == []


def test_an_erasure_the_journal_missed_is_written_by_the_next_sync(
    database: Any, service_config: Any, container_factory: Any, tmp_path: Path
) -> None:
    url = database("registry")
    blocker = tmp_path / "not-yet-mounted"
    blocker.write_text("a file where the journal's directory should be")
    journal = blocker / "erasures.journal"
    container = container_factory(
        RegistryService,
        service_config(
            "registry",
            DB_URI=url,
            ERASURE_JOURNAL=journal,
            ERASURE_JOURNAL_INTERVAL=0.5,
        ),
    )
    replace_dependencies(container, stripe=FakeConnect())
    container.start()
    registry = Registry(container, url, None)
    ident = registry.active()

    # the journal cannot be written: the erasure still happens, and is owed to it
    assert registry.call("erase", actor_for(ident), ident, "forget me") == {
        "status": "erased"
    }
    (owed,) = registry.sql("SELECT communicator_id, journaled_at FROM erasures")
    assert str(owed.communicator_id) == ident and owed.journaled_at is None

    blocker.unlink()  # the volume is back
    # the line is written first, then `journaled_at` committed: wait for both
    wait_until(lambda: journal.exists() and ident in journal.read_text(), "synced")
    wait_until(
        lambda: registry.sql("SELECT journaled_at FROM erasures")[0].journaled_at,
        "the erasure marked journaled",
    )
    (line,) = journal.read_text().splitlines()
    assert line.split()[0] == ident


def test_rotation_rewraps_account_keys_too_and_counts_them_until_none_is_left(
    database: Any, service_config: Any, container_factory: Any
) -> None:
    """Staff emails and TOTP secrets sit under an account's own data key, wrapped
    like a communicator's: rotation covers them, and "remaining" counts them."""
    url = database("registry")
    old, new = generate_key(), generate_key()

    def start(master: str, current: str) -> Registry:
        config = service_config(
            "registry", DB_URI=url, MASTER_KEYS=master, MASTER_KEY_ID=current
        )
        container = container_factory(RegistryService, config)
        replace_dependencies(container, stripe=FakeConnect())
        container.start()
        return Registry(container, url, None)

    before = start(f"k1={old}", "k1")
    people = [before.active(email=f"c{i}@example.org") for i in range(3)]
    secrets = {}
    for name in ("finance.lead", "second.admin"):
        email = f"{name}@example.org"
        before.call(
            "create_staff_account",
            ADMIN_A,
            {"email": email, "roles": ["finance"], "password": PASSWORD},
        )
        first = before.call("sign_in", email, PASSWORD, None, caller="gateway")
        secrets[email] = pyotp.parse_uri(first["enrollment_uri"]).secret
        confirmed = before.call(
            "confirm_second_factor",
            first["actor"],
            pyotp.TOTP(secrets[email]).now(),
            caller="gateway",
        )
        assert confirmed["confirmed"]
    before.container.stop()

    after = start(f"k1={old},k2={new}", "k2")
    ring = keyring(after.container.config)
    with Session(after.engine) as session, session.begin():
        assert keys.stale_count(session, ring) == 5  # 3 communicators, 2 accounts
        assert keys.rewrap(session, ring, Actor.load(ADMIN_B), batch=4) == 4
        assert keys.stale_count(session, ring) == 1
        session.rollback()
    assert after.call("rewrap_keys", ADMIN_B) == {"rewrapped": 5, "remaining": 0}
    wrapped = after.sql(
        "SELECT wrapped_key FROM communicators UNION ALL "
        "SELECT wrapped_key FROM accounts WHERE wrapped_key IS NOT NULL"
    )
    assert len(wrapped) == 5 and all(w[0].startswith("k2.") for w in wrapped)
    after.container.stop()

    retired = start(f"k2={new}", "k2")  # the old master key is gone
    for ident in people:
        assert retired.call("get_profile", ADMIN_A, ident, "audit")["city"]
    for email, secret in secrets.items():
        signed = retired.call(
            "sign_in", email, PASSWORD, next_code(pyotp.TOTP(secret)), caller="gateway"
        )
        assert signed["status"] == "ok"  # the TOTP secret still opens
        found = retired.call(
            "get_staff_contact", signed["actor"]["id"], "digest", caller="notifications"
        )
        assert found["email"] == email  # and the staff email
