"""Corridors, bank details, Stripe Connect onboarding (Stripe faked here; the sandbox
tests drive the real SDK), and the destination stipends reads at payout time."""

import pytest

from svyaz.errors import Conflict, Forbidden, InvalidInput, NotFound
from tests.registry.integration.conftest import (
    ADMIN_A,
    FINANCE,
    Registry,
    actor_for,
)

IBAN = "GE29NB0000000101904917"
BANK = {"holder": "Irina Petrova", "iban": IBAN, "bic": "NBGEGE22"}


def test_the_corridor_table_routes_each_country_and_admins_change_it(
    registry: Registry,
) -> None:
    table = {c["country"]: c["provider"] for c in registry.call("list_corridors")}
    assert table["DE"] == table["PL"] == table["LT"] == "stripe_connect"
    assert table["KZ"] == table["AM"] == table["RS"] == "stripe_global"
    assert table["GE"] == table["KG"] == "bank_file"
    assert "RU" not in table
    with pytest.raises(Forbidden):
        registry.call("set_corridor", FINANCE, "GE", "stripe_connect")
    with pytest.raises(InvalidInput):
        registry.call("set_corridor", ADMIN_A, "GE", "carrier_pigeon")
    assert registry.call("set_corridor", ADMIN_A, "GE", "stripe_global") == {
        "country": "GE",
        "provider": "stripe_global",
    }


def test_bank_details_are_checked_sealed_and_make_the_communicator_payout_ready(
    registry: Registry,
) -> None:
    ident = registry.active(country="GE")
    me = actor_for(ident)
    assert registry.call("start_payout_setup", me) == {
        "provider": "bank_file",
        "next": "bank_details",
        "status": "none",
    }
    with pytest.raises(InvalidInput) as err:
        registry.call("set_bank_details", me, {**BANK, "iban": IBAN[:-1] + "8"})
    assert err.value.code == "invalid_iban"
    assert registry.call("set_bank_details", me, BANK) == {"status": "ready"}
    # asked again, the step says the set-up is done (the form only changes them)
    assert registry.call("start_payout_setup", me)["status"] == "ready"

    (row,) = registry.sql("SELECT * FROM payout_accounts")
    assert IBAN not in str(tuple(row)) and "Petrova" not in str(tuple(row))
    (ready,) = registry.events("communicator.payout_ready.v1")
    assert ready["data"]["provider"] == "bank_file"
    assert ready["data"]["destination_fingerprint"] == row.fingerprint
    assert IBAN not in str(ready)

    with pytest.raises(Forbidden):
        registry.call("get_payout_destination", ident, "run 1", caller="notifications")
    destination = registry.call(
        "get_payout_destination", ident, "payout run 1", caller="stipends"
    )
    assert destination["iban"] == IBAN and destination["provider"] == "bank_file"
    log = registry.sql(
        "SELECT accessor, field, purpose FROM pii_access_log "
        "WHERE field = 'payout_destination'"
    )
    assert [tuple(r) for r in log] == [
        ("stipends", "payout_destination", "payout run 1")
    ]


# GE + check digits that fit + a BBAN one digit short: mod-97 alone accepts it
SHORT_IBAN = "GE59NB000000010190491"


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"iban": SHORT_IBAN}, "iban", "iban_length"),
        ({"iban": "GE92NBA00000101904917X"}, "iban", "iban_format"),  # a letter
        ({"iban": "XX29NB0000000101904917"}, "iban", "iban_country"),
        ({"bic": "NBGEXX22"}, "bic", "bic_country"),
        ({"bic": "COBADEFFXXX"}, "bic", "bic_not_iban_country"),  # a German bank
        ({"bic": "NBGE-GE22"}, "bic", "invalid_bic"),
        ({"bic": "NBGEGE2"}, "bic", "invalid_bic"),
    ],
)
def test_an_iban_or_bic_its_country_would_refuse_changes_nothing(
    registry: Registry, change: dict[str, str], field: str, code: str
) -> None:
    """The registry checks again whatever the gateway checked (defence in depth)."""
    ident = registry.active(country="GE")
    registry.call("start_payout_setup", actor_for(ident))
    before = registry.sql("SELECT * FROM payout_accounts")
    with pytest.raises(InvalidInput) as err:
        registry.call("set_bank_details", actor_for(ident), {**BANK, **change})
    assert err.value.code == code and list(err.value.fields) == [field]
    assert change[field] not in str(err.value.fields)  # never repeated back
    assert registry.sql("SELECT * FROM payout_accounts") == before
    assert registry.events("communicator.payout_ready.v1") == []


def test_bank_details_cannot_move_a_communicator_off_their_countrys_route(
    registry: Registry,
) -> None:
    """Admins route each country; a communicator in a Stripe country cannot switch
    themself to the bank file by sending bank details."""
    ident = registry.active(country="DE")
    with pytest.raises(Conflict) as err:
        registry.call("set_bank_details", actor_for(ident), BANK)
    assert err.value.code == "not_bank_corridor"
    assert registry.sql("SELECT * FROM payout_accounts") == []
    assert registry.events("communicator.payout_ready.v1") == []


def test_the_bic_is_stored_as_banks_read_it(registry: Registry) -> None:
    ident = registry.active(country="GE")
    registry.call("set_bank_details", actor_for(ident), {**BANK, "bic": " nbge ge22 "})
    destination = registry.call(
        "get_payout_destination", ident, "payout run 1", caller="stipends"
    )
    assert destination["bic"] == "NBGEGE22"


def test_a_destination_shared_by_two_people_opens_a_review_item(
    registry: Registry,
) -> None:
    first, second = registry.active(country="GE"), registry.active(country="GE")
    registry.call("set_bank_details", actor_for(first), BANK)
    registry.call(
        "set_bank_details",
        actor_for(second),
        {**BANK, "iban": "ge29 nb00 0000 0101 9049 17"},
    )
    kinds = [i["kind"] for i in registry.call("list_review_items", ADMIN_A)]
    assert kinds == ["payout_destination"]


def test_connect_onboarding_then_account_updated_makes_the_communicator_ready(
    registry: Registry,
) -> None:
    ident = registry.active(country="DE")
    setup = registry.call("start_payout_setup", actor_for(ident))
    account = registry.connect.accounts[ident]
    assert setup == {
        "provider": "stripe_connect",
        "onboarding_url": f"https://connect.example.invalid/setup/{account}",
        "status": "pending",  # Stripe has not said the account is complete yet
    }
    again = registry.call("start_payout_setup", actor_for(ident))  # link expired
    assert again == setup and len(registry.connect.accounts) == 1
    assert registry.events("communicator.payout_ready.v1") == []

    # only the gateway relays Stripe's events (tests/contracts/test_rpc_callers.py)
    assert registry.call(
        "stripe_account_updated", account, False, caller="gateway"
    ) == {"changed": False}
    assert registry.call("stripe_account_updated", account, True, caller="gateway") == {
        "changed": True
    }
    assert registry.call("stripe_account_updated", account, True, caller="gateway") == {
        "changed": False
    }  # duplicate webhook
    (ready,) = registry.events("communicator.payout_ready.v1")
    assert ready["data"]["provider"] == "stripe_connect"
    assert (
        registry.call("get_payout_destination", ident, "run", caller="stipends")[
            "account"
        ]
        == account
    )
    assert registry.call(
        "stripe_account_updated", "acct_unknown0", True, caller="gateway"
    ) == {"changed": False}


def test_only_an_active_communicator_sets_up_payouts_for_themself(
    registry: Registry,
) -> None:
    applicant = registry.applicant(country="GE")
    with pytest.raises(Conflict):
        registry.call("start_payout_setup", actor_for(applicant))
    with pytest.raises(Forbidden):
        registry.call("set_bank_details", ADMIN_A, BANK)
    with pytest.raises(NotFound):
        registry.call("get_payout_destination", applicant, "run", caller="stipends")
