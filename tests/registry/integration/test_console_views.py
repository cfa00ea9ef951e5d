"""What the admin console reads about the registry's own records: the access log
(who read whose personal data, never the data) and a communicator record's trail."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from svyaz.errors import Forbidden, InvalidInput, NotFound
from tests.registry.integration.conftest import (
    ADMIN_A,
    ADMIN_B,
    FINANCE,
    Registry,
    actor_for,
)

PASSWORD = "a passphrase of the test's own"
SECRETS = (
    "Zinaida",
    "Kovalenko",
    "zina.k@example.org",
    "Kutaisi",
    "Brother in Samara",
    "GE29NB0000000101904917",
    "lives with her mother",
)
PERSONAL = {
    "legal_name": "Zinaida Kovalenko",
    "email": "zina.k@example.org",
    "city": "Kutaisi",
    "motivation": "Brother in Samara",
}


def assert_no_personal_data(value: Any) -> None:
    dumped = json.dumps(value, ensure_ascii=False)
    for secret in SECRETS:
        assert secret not in dumped


def log_count(registry: Registry) -> int:
    return int(registry.sql("SELECT count(*) FROM pii_access_log")[0][0])


def test_admins_read_the_access_log_without_the_data_it_guards(
    registry: Registry,
) -> None:
    zina = registry.applicant(pseudonym="Зина_К", **PERSONAL)
    other = registry.applicant()
    registry.call("get_profile", ADMIN_A, zina, "support ticket 7")
    read_by_a = log_count(registry)
    registry.call("get_application", ADMIN_B, other)
    registry.call("get_contact", zina, "stipend paid", caller="notifications")
    staff = registry.call(
        "create_staff_account",
        ADMIN_A,
        {"email": "f@example.org", "roles": ["finance"], "password": PASSWORD},
    )["id"]
    registry.call("get_staff_contact", staff, "payout run", caller="notifications")
    total = log_count(registry)

    page = registry.call("list_access_log", ADMIN_A, 0, 200, {})
    assert page["total"] == total == len(page["items"])
    assert [i["id"] for i in page["items"]] == sorted(
        (i["id"] for i in page["items"]), reverse=True
    )
    assert_no_personal_data(page)
    assert log_count(registry) == total  # reading the log decrypts nothing

    newest = page["items"][0]
    assert newest["subject"] == "staff" and newest["staff_account_id"] == staff
    assert (newest["communicator_id"], newest["pseudonym"]) == (None, None)
    assert (newest["reader_service"], newest["reader_id"]) == ("notifications", None)
    assert newest["field"] == "staff_email" and newest["purpose"] == "payout run"

    by_a = registry.call(
        "list_access_log", ADMIN_A, 0, 200, {"reader_id": ADMIN_A["id"]}
    )
    assert by_a["total"] == read_by_a
    assert {i["field"] for i in by_a["items"]} == set(PERSONAL) | {"country"} | {
        "languages"
    }
    for item in by_a["items"]:
        assert item["reader_id"] == ADMIN_A["id"]
        assert item["reader_roles"] == ["program_admin"]
        assert item["reader_service"] is None
        assert (item["communicator_id"], item["pseudonym"]) == (zina, "Зина_К")
        assert item["purpose"] == "support ticket 7"
        datetime.fromisoformat(item["at"])

    about_zina = registry.call(
        "list_access_log", ADMIN_B, 0, 200, {"communicator_id": zina}
    )
    assert about_zina["total"] == read_by_a + 1  # and the notifications' read
    assert {i["communicator_id"] for i in about_zina["items"]} == {zina}

    paged = registry.call("list_access_log", ADMIN_A, 1, 2, {})
    assert [i["id"] for i in paged["items"]] == [i["id"] for i in page["items"][1:3]]
    assert paged["total"] == total

    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    assert registry.call("list_access_log", ADMIN_A, 0, 10, {"since": later}) == {
        "items": [],
        "total": 0,
    }
    assert (
        registry.call("list_access_log", ADMIN_A, 0, 10, {"until": later})["total"]
        == total
    )

    with pytest.raises(InvalidInput) as err:
        registry.call("list_access_log", ADMIN_A, 0, 201, {})
    assert "limit" in err.value.fields
    with pytest.raises(InvalidInput) as err:
        registry.call("list_access_log", ADMIN_A, 0, 10, {"reader_id": "me"})
    assert "filters" in err.value.fields
    with pytest.raises(InvalidInput):  # a time without a zone is ambiguous
        registry.call("list_access_log", ADMIN_A, 0, 10, {"since": "2026-12-01T10:00"})
    for someone in (FINANCE, actor_for(zina)):
        with pytest.raises(Forbidden):
            registry.call("list_access_log", someone, 0, 10, {})
        with pytest.raises(Forbidden):
            registry.call("verify_access_log", someone)
    assert registry.call("verify_access_log", ADMIN_A)["intact"] is True


def actions(trail: list[dict[str, Any]]) -> list[str]:
    return [entry["action"] for entry in trail]


def test_a_communicator_record_has_a_trail_without_personal_values(
    registry: Registry,
) -> None:
    zina = registry.applicant(country="GE", password=PASSWORD, **PERSONAL)
    twin = registry.applicant(email=PERSONAL["email"])  # a dedup review item
    (item,) = registry.call("list_review_items", ADMIN_A)
    registry.call(
        "resolve_review_item", ADMIN_A, item["id"], "distinct", "lives with her mother"
    )
    registry.call("start_review", ADMIN_A, zina, "Brother in Samara checked")
    registry.call("approve", ADMIN_A, zina, "Zinaida is known to us")
    registry.call("approve", ADMIN_B, zina, "interviewed Zinaida")
    training = registry.call(
        "create_training", ADMIN_A, {"title": "First steps", "held_on": "2026-11-01"}
    )
    registry.call("record_training_completions", ADMIN_B, training["id"], [zina])
    registry.call("set_tier", ADMIN_A, zina, "professional", "Zinaida did well")
    registry.call(
        "set_bank_details",
        actor_for(zina),
        {"holder": "Zinaida Kovalenko", "iban": SECRETS[5], "bic": "NBGEGE22"},
    )

    trail = registry.call("get_communicator_activity", ADMIN_A, zina)
    assert actions(trail) == [
        "applied",
        "review_item_opened",
        "review_item_resolved",
        "status_changed",
        "activation_approved",
        "activation_approved",
        "status_changed",
        "training_completed",
        "tier_changed",
        "payout_setup_state",
    ]
    assert [e["at"] for e in trail] == sorted(e["at"] for e in trail)
    assert_no_personal_data(trail)
    by_action: dict[str, list[dict[str, Any]]] = {}
    for entry in trail:
        by_action.setdefault(entry["action"], []).append(entry)
    assert by_action["applied"][0]["actor_id"] == zina
    assert by_action["review_item_opened"][0]["detail"] == {
        "item_id": item["id"],
        "kind": "email",
        "other_communicator_id": twin,
    }
    assert by_action["review_item_resolved"][0]["actor_id"] == ADMIN_A["id"]
    assert by_action["review_item_resolved"][0]["detail"]["outcome"] == "distinct"
    assert [e["detail"] for e in by_action["status_changed"]] == [
        {"from": "applied", "to": "in_review"},
        {"from": "in_review", "to": "active"},
    ]
    assert {e["actor_id"] for e in by_action["activation_approved"]} == {
        ADMIN_A["id"],
        ADMIN_B["id"],
    }
    assert by_action["training_completed"][0]["actor_id"] == ADMIN_B["id"]
    assert by_action["training_completed"][0]["detail"] == {
        "training_id": training["id"],
        "title": "First steps",
    }
    assert by_action["tier_changed"][0]["detail"] == {"tier": "professional"}
    assert by_action["payout_setup_state"][0]["detail"] == {
        "provider": "bank_file",
        "status": "ready",
    }
    # the twin's trail shows the same review item from its side
    assert "review_item_resolved" in actions(
        registry.call("get_communicator_activity", ADMIN_A, twin)
    )

    registry.call("erase", ADMIN_A, zina, "asked by Zinaida")
    after = registry.call("get_communicator_activity", ADMIN_B, zina)
    assert actions(after)[-1] == "erased"
    assert after[-1]["detail"] == {"by": "admin"}
    assert "payout_setup_state" not in actions(after)  # erasure removed it
    assert_no_personal_data(after)

    with pytest.raises(Forbidden):
        registry.call("get_communicator_activity", FINANCE, twin)
    with pytest.raises(Forbidden):
        registry.call("get_communicator_activity", actor_for(twin), twin)
    with pytest.raises(NotFound) as err:
        registry.call("get_communicator_activity", ADMIN_A, str(uuid.uuid4()))
    assert err.value.code == "communicator_not_found"
    with pytest.raises(InvalidInput):
        registry.call("get_communicator_activity", ADMIN_A, "not-an-id")
