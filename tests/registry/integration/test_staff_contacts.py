"""Staff contacts by role, for the notifications service alone; every read logged."""

import pytest

from svyaz.errors import Forbidden, InvalidInput
from tests.registry.integration.conftest import ADMIN_A, Registry

PASSWORD = "correct horse battery staple"


def staff(registry: Registry, email: str, roles: list[str]) -> str:
    account = {"email": email, "roles": roles, "password": PASSWORD}
    return registry.call("create_staff_account", ADMIN_A, account)["id"]


def test_notifications_lists_the_staff_holding_a_role(registry: Registry) -> None:
    admin = staff(registry, "anna.admin@example.org", ["program_admin"])
    both = staff(registry, "boris.both@example.org", ["finance", "program_admin"])
    staff(registry, "fedor.finance@example.org", ["finance"])
    registry.applicant(email="someone@example.org")  # a communicator, never listed
    disabled = staff(registry, "gone@example.org", ["program_admin"])
    registry.sql("UPDATE accounts SET disabled = true WHERE id = :i", i=disabled)

    found = registry.call(
        "list_staff_contacts", "program_admin", "staff digest", caller="notifications"
    )

    assert sorted((r["account_id"], r["email"]) for r in found) == sorted(
        [(admin, "anna.admin@example.org"), (both, "boris.both@example.org")]
    )
    log = registry.sql(
        "SELECT communicator_id::text, accessor, field, purpose FROM pii_access_log"
        " WHERE field = 'staff_email' ORDER BY id"
    )
    assert sorted(tuple(r) for r in log) == sorted(
        [
            (admin, "notifications", "staff_email", "staff digest"),
            (both, "notifications", "staff_email", "staff digest"),
        ]
    )
    assert registry.call("verify_access_log", ADMIN_A)["problems"] == []


def test_no_one_else_reads_staff_contacts_and_bad_roles_are_refused(
    registry: Registry,
) -> None:
    staff(registry, "anna.admin@example.org", ["program_admin"])
    with pytest.raises(Forbidden):
        registry.call(
            "list_staff_contacts", "program_admin", "curious", caller="gateway"
        )
    with pytest.raises(InvalidInput):
        registry.call(
            "list_staff_contacts", "communicator", "digest", caller="notifications"
        )
    assert registry.sql("SELECT count(*) FROM pii_access_log")[0][0] == 0
