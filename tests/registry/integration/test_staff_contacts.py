"""Staff for the notifications service alone: who holds a role (ids, no emails), and
one person's email at send time, every read logged."""

import uuid

import pytest

from svyaz.errors import Forbidden, InvalidInput, NotFound
from tests.registry.integration.conftest import ADMIN_A, Registry

PASSWORD = "correct horse battery staple"


def staff(registry: Registry, email: str, roles: list[str]) -> str:
    account = {"email": email, "roles": roles, "password": PASSWORD}
    return registry.call("create_staff_account", ADMIN_A, account)["id"]


def test_notifications_lists_staff_ids_and_reads_one_address_at_a_time(
    registry: Registry,
) -> None:
    admin = staff(registry, "anna.admin@example.org", ["program_admin"])
    both = staff(registry, "boris.both@example.org", ["finance", "program_admin"])
    staff(registry, "fedor.finance@example.org", ["finance"])
    registry.applicant(email="someone@example.org")  # a communicator, never listed
    disabled = staff(registry, "gone@example.org", ["program_admin"])
    registry.sql("UPDATE accounts SET disabled = true WHERE id = :i", i=disabled)

    ids = registry.call("list_staff_ids", "program_admin", caller="notifications")
    assert sorted(ids) == sorted([admin, both])
    assert registry.sql("SELECT count(*) FROM pii_access_log")[0][0] == 0  # no read

    registry.sql("UPDATE accounts SET language = 'en' WHERE id = :i", i=both)
    found = registry.call(
        "get_staff_contact", both, "staff digest", caller="notifications"
    )
    assert found == {
        "account_id": both,
        "email": "boris.both@example.org",
        "default_language": "en",  # invited in: theirs until they choose one
    }
    (listed,) = registry.call(
        "get_contacts", [both], "staff digest", "staff", caller="notifications"
    )
    assert (listed["email"], listed["default_language"]) == (
        "boris.both@example.org",
        "en",
    )
    log = registry.sql(
        "SELECT communicator_id::text, accessor, field, purpose FROM pii_access_log"
    )
    assert [tuple(r) for r in log] == [
        (both, "notifications", "staff_email", "staff digest")
    ] * 2
    assert registry.call("verify_access_log", ADMIN_A)["problems"] == []
    for gone in (disabled, str(uuid.uuid4())):
        with pytest.raises(NotFound):
            registry.call(
                "get_staff_contact", gone, "staff digest", caller="notifications"
            )


def test_no_one_else_reads_staff_contacts_and_bad_roles_are_refused(
    registry: Registry,
) -> None:
    admin = staff(registry, "anna.admin@example.org", ["program_admin"])
    with pytest.raises(Forbidden):
        registry.call("get_staff_contact", admin, "curious", caller="gateway")
    with pytest.raises(Forbidden):
        registry.call("list_staff_ids", "program_admin", caller="stipends")
    with pytest.raises(InvalidInput):
        registry.call("list_staff_ids", "x", caller="notifications")
    assert registry.sql("SELECT count(*) FROM pii_access_log")[0][0] == 0
