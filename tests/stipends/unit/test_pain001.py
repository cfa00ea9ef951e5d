"""The pain.001 bank file held to the ISO 20022 XSD (tests/iso20022.py): payees'
names in any script, amounts with two decimals and the control sums, many payments
in several currencies. And what joins the file: only accounts valid for their
country."""

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stipends.payouts.bankfiles import (
    NAME_MAX,
    FileLine,
    pain001,
    parse_statement,
    sepa_text,
)
from stipends.payouts.providers import BankFile, Order
from stipends.payouts.statements import PROVIDER_REF, said_of, statement_rows
from tests.iso20022 import NS, assert_valid_pain001, pain001_errors

DEBTOR = {
    "name": "Программа «Связь» & Co",
    "iban": "DE89370400440532013000",
    "bic": "COBADEFFXXX",
}
WHEN = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)
ACCOUNTS = [
    ("GE29NB0000000101904917", "NBGEGE22"),
    ("DE02120300000000202051", "BYLADEM1001"),
    ("PL61109010140000071219812874", "WBKPPLPP"),
]


def line(holder: str, amount_minor: int, currency: str = "EUR", n: int = 0) -> FileLine:
    iban, bic = ACCOUNTS[n % len(ACCOUNTS)]
    return FileLine(
        f"payout:{uuid.uuid4()}",
        amount_minor,
        currency,
        {"holder": holder, "iban": iban, "bic": bic},
    )


def write(lines: list[FileLine]) -> str:
    return pain001(lines, f"run-{uuid.uuid4().hex[:24]}", WHEN, DEBTOR, "2026-11-25")


def test_names_in_cyrillic_and_with_markup_are_written_in_the_sepa_character_set() -> (
    None
):
    names = {
        "Ирина Петрова": "Irina Petrova",
        "Anna, B & Co": "Anna, B + Co",
        "Łukasz Żółć-Ćwik": "Lukasz Zolc-Cwik",
        'Ёжик <b>"Тирекс"</b>': "Iozhik b Tireks /b",
        "Ґанна О'Коннор": "G'anna O'Konnor",
        "🙂🙂": "NOTPROVIDED",
        "Я" * 200: "Ia" * 35,
    }
    document = assert_valid_pain001(write([line(n, 1_000) for n in names]))
    written = [n.text for n in document.findall(".//p:Cdtr/p:Nm", NS)]
    assert written == list(names.values())
    assert document.findtext(".//p:InitgPty/p:Nm", namespaces=NS) == (
        "Programma Sviaz' + Co"
    )


def test_amounts_have_two_decimals_and_the_control_sums_add_up() -> None:
    amounts = [1, 10, 100, 1_005, 30_000, 123_456_789]
    lines = [line("Jan Kowalski", a) for a in amounts]
    lines.append(line("Jan Kowalski", 2_50, "GEL"))
    document = assert_valid_pain001(write(lines))
    written = [a.text for a in document.findall(".//p:InstdAmt", NS)]
    assert written == [
        "0.01",
        "0.10",
        "1.00",
        "10.05",
        "300.00",
        "1234567.89",
        "2.50",
    ]
    blocks = document.findall(".//p:PmtInf", NS)
    assert [b.find(".//p:InstdAmt", NS).get("Ccy") for b in blocks] == ["EUR", "GEL"]
    assert document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS) == "1234881.55"


def test_a_file_of_many_payments_in_several_currencies_is_valid() -> None:
    currencies = ("EUR", "GEL", "PLN")
    lines = [
        line(f"Получатель {n}", 1 + n * 37, currencies[n % 3], n) for n in range(1_000)
    ]
    document = assert_valid_pain001(write(lines))
    assert document.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=NS) == "1000"
    assert len(document.findall(".//p:PmtInf", NS)) == 3
    total = sum(Decimal(1 + n * 37) / 100 for n in range(1_000))
    assert Decimal(document.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=NS)) == total


def test_each_payment_is_named_by_its_payout_in_35_characters() -> None:
    one = line("Irina Petrova", 5_000)
    document = assert_valid_pain001(write([one]))
    payout_id = uuid.UUID(one.reference.removeprefix("payout:"))
    assert document.findtext(".//p:EndToEndId", namespaces=NS) == payout_id.hex
    assert document.findtext(".//p:Ustrd", namespaces=NS) == one.reference


@settings(max_examples=60, deadline=None)
@given(
    names=st.lists(st.text(min_size=1, max_size=120), min_size=1, max_size=5),
    amounts=st.lists(st.integers(1, 10**12), min_size=5, max_size=5),
)
def test_any_names_and_amounts_make_a_valid_file(
    names: list[str], amounts: list[int]
) -> None:
    lines = [
        line(name, amount, n=n)
        for n, (name, amount) in enumerate(zip(names, amounts, strict=False))
    ]
    assert_valid_pain001(write(lines))
    for name in names:
        assert len(sepa_text(name)) <= NAME_MAX


def test_the_xsd_check_is_real() -> None:
    """The validator refuses what the bank would: a 43-character EndToEndId."""
    text = write([line("Irina Petrova", 100)])
    broken = text.replace("<EndToEndId>", "<EndToEndId>payout:", 1)
    assert any("EndToEndId" in e for e in pain001_errors(broken))


def order() -> Order:
    return Order(
        payout_id=uuid.uuid4(),
        run_id=uuid.uuid4(),
        stipend_id=uuid.uuid4(),
        communicator_id=uuid.uuid4(),
        amount_minor=1_000,
        currency="EUR",
        provider="bank_file",
        attempt=1,
        idempotency_key="k",
    )


def test_only_an_account_valid_for_its_country_joins_the_file() -> None:
    """Details saved before the registry checked them by country: a Georgian IBAN
    a digit short whose check digits still fit (mod-97 alone passes it) fails the
    payout as not set up, for the communicator to correct, instead of a file the
    bank returns days later."""
    good = {"holder": "Irina P.", "iban": "GE29NB0000000101904917", "bic": "NBGEGE22"}
    assert BankFile().send(order(), good).status == "sent"
    for change in ({"iban": "GE59NB000000010190491"}, {"bic": "NBGEXX22"}):
        outcome = BankFile().send(order(), {**good, **change})
        assert (outcome.status, outcome.reason) == ("failed", "destination_not_ready")


def test_a_statement_naming_the_files_end_to_end_id_reads_as_our_reference() -> None:
    """Banks report the EndToEndId or the remittance text: the statement import and
    the reconciliation read both as `payout:<id>`."""
    one = line("Irina Petrova", 25_000)
    document = assert_valid_pain001(write([one]))
    end_to_end = document.findtext(".//p:EndToEndId", namespaces=NS)
    text = (
        "\ufeffreference,amount,currency,status\n"  # as a spreadsheet saves it
        f"{end_to_end.upper()},250.00,EUR,booked\n"
        f"{one.reference},250.00,EUR,booked\n"
        f"{one.reference.removeprefix('payout:')},250.00,EUR,booked\n"  # the id
        "not-ours,1.00,EUR,booked\n"
    )
    assert [x.reference for x in parse_statement(text)] == [
        one.reference,
        one.reference,
        one.reference,
        "not-ours",
    ]
    rows = list(statement_rows(text.splitlines(keepends=True)))
    assert [r.reference for r in rows][:3] == [one.reference] * 3


def test_a_statement_line_keeps_the_banks_reference_cut_to_fit() -> None:
    """A line that names none of our payouts is found again in the bank's own
    statement by its number and the reference the bank wrote on it."""
    text = (
        "reference,amount,currency,status\n"
        "  RENT   DEC ,1.00,EUR,booked\n"
        ",2.00,EUR,booked\n"
        f"{'X' * 120},3.00,EUR,returned\n"
    )
    rows = list(statement_rows(text.splitlines(keepends=True)))
    assert [r.provider_ref for r in rows[:2]] == ["line:2 RENT DEC", "line:3"]
    assert len(rows[2].provider_ref) == PROVIDER_REF
    assert (
        rows[2].provider_ref.startswith("line:4 XXX")
        and rows[2].provider_ref[-1] == "…"
    )
    assert said_of(rows[0].provider_ref) == "statement line 2 (RENT DEC)"
    assert said_of(rows[1].provider_ref) == "statement line 3"
    assert said_of("tr_1") == "tr_1"


def test_a_negative_statement_line_refuses_a_reconciliation_naming_it() -> None:
    """A reconciliation reads the payouts' lines: money out for anything else
    (rent) is refused with its line and what to do, not met later as a raw
    "negative amount" of a row (an outside reading)."""
    text = (
        "reference,amount,currency,status\n"
        "payout:x,1.00,EUR,booked\n"
        "RENT DEC,-900.00,EUR,booked\n"
    )
    with pytest.raises(ValueError, match=r"^statement line 3: amount -900\.00: neg"):
        list(statement_rows(text.splitlines(keepends=True)))
