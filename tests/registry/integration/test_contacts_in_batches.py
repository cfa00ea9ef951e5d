"""`get_contacts`: several people's contacts in one call, for the notifications
service alone, as `get_contact` and `get_staff_contact` give them one at a time:
every read logged, the unknown, erased or disabled left out."""

import uuid

import pytest

from svyaz.errors import Forbidden, InvalidInput
from tests.registry.integration.conftest import ADMIN_A, Registry

PASSWORD = "correct horse battery staple"


def staff(registry: Registry, email: str, roles: list[str]) -> str:
    account = {"email": email, "roles": roles, "password": PASSWORD}
    return registry.call("create_staff_account", ADMIN_A, account)["id"]


def reads() -> str:
    return "SELECT communicator_id::text, accessor, field, purpose FROM pii_access_log"


def test_communicators_contacts_come_together_and_each_read_is_logged(
    registry: Registry,
) -> None:
    irina = registry.applicant(
        email="Irina.Petrova@example.org", language="en", password=PASSWORD
    )
    oleg = registry.applicant(email="oleg.s@example.org", language="ru")
    unknown = str(uuid.uuid4())
    found = registry.call(
        "get_contacts",
        [irina, oleg, unknown],
        "notification:test",
        "communicator",
        caller="notifications",
    )
    # whether each has a password (Irina applied with one): a neutral mail tells
    # only the other how to set one
    assert sorted(found, key=lambda c: c["email"]) == [
        {
            "id": irina,
            "email": "Irina.Petrova@example.org",
            "language": "en",
            "signs_in": True,
        },
        {
            "id": oleg,
            "email": "oleg.s@example.org",
            "language": "ru",
            "signs_in": False,
        },
    ]
    one = registry.call(
        "get_contact", irina, "notification:test", caller="notifications"
    )
    assert one["signs_in"] is True
    log = sorted(tuple(r) for r in registry.sql(reads()))
    assert log == sorted(
        [
            (irina, "notifications", "email", "notification:test"),
            (irina, "notifications", "email", "notification:test"),
            (oleg, "notifications", "email", "notification:test"),
        ]
    )
    assert registry.call("verify_access_log", ADMIN_A)["problems"] == []


def test_an_erased_communicator_is_left_out(registry: Registry) -> None:
    kept = registry.applicant(email="kept@example.org")
    gone = registry.applicant(email="gone@example.org")
    registry.call("erase", ADMIN_A, gone, "asked to be forgotten")
    found = registry.call(
        "get_contacts", [kept, gone], "notification:test", caller="notifications"
    )
    assert [c["id"] for c in found] == [kept]


def test_staff_contacts_come_together_without_the_disabled_or_communicators(
    registry: Registry,
) -> None:
    anna = staff(registry, "anna.admin@example.org", ["program_admin"])
    fedor = staff(registry, "fedor.finance@example.org", ["finance"])
    disabled = staff(registry, "gone@example.org", ["finance"])
    registry.sql("UPDATE accounts SET disabled = true WHERE id = :i", i=disabled)
    communicator = registry.applicant(email="someone@example.org")
    found = registry.call(
        "get_contacts",
        [anna, fedor, disabled, communicator],
        "notification:run_waiting",
        "staff",
        caller="notifications",
    )
    # a staff member's language is a default (the one invited in), not a choice
    assert sorted(found, key=lambda c: c["email"]) == [
        {"id": anna, "email": "anna.admin@example.org", "default_language": None},
        {"id": fedor, "email": "fedor.finance@example.org", "default_language": None},
    ]
    log = sorted(tuple(r) for r in registry.sql(reads()))
    assert log == sorted(
        [
            (anna, "notifications", "staff_email", "notification:run_waiting"),
            (fedor, "notifications", "staff_email", "notification:run_waiting"),
        ]
    )


def test_no_one_else_reads_contacts_in_batches(registry: Registry) -> None:
    ident = registry.applicant(email="Irina.Petrova@example.org")
    admin = staff(registry, "anna.admin@example.org", ["program_admin"])
    for caller in ("gateway", "stipends", "operator", None):
        for ids, audience in (([ident], "communicator"), ([admin], "staff")):
            with pytest.raises(Forbidden):
                registry.call("get_contacts", ids, "curiosity", audience, caller=caller)
    assert registry.sql("SELECT count(*) FROM pii_access_log")[0][0] == 0


@pytest.mark.parametrize(
    ("ids", "audience"),
    [
        ([], "communicator"),  # nobody
        ([str(uuid.uuid4()) for _ in range(101)], "communicator"),  # over 100
        (["not-an-id"], "communicator"),
        ([str(uuid.uuid4())], "everyone"),
    ],
)
def test_a_bad_request_is_refused(
    registry: Registry, ids: list[str], audience: str
) -> None:
    with pytest.raises(InvalidInput):
        registry.call(
            "get_contacts", ids, "notification:test", audience, caller="notifications"
        )
