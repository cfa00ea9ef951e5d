"""IBAN and BIC checks (svyaz.banking): by country, not by mod-97 alone."""

import pytest

from svyaz import banking
from svyaz.banking import AccountRefused

VALID = [
    "GE29NB0000000101904917",  # Georgia
    "DE89370400440532013000",  # Germany
    "PL61109010140000071219812874",  # Poland
    "LT121000011101001000",  # Lithuania
    "KZ86125KZT5004100100",  # Kazakhstan
    "TR330006100519786457841326",  # Turkey
    "RS35260005601001611379",  # Serbia
    "GB82WEST12345698765432",  # United Kingdom
    "FR1420041010050500013M02606",  # France (a letter inside)
]


def mod97(value: str) -> bool:
    """The check a mod-97 validator does, and nothing more."""
    number = int("".join(str(int(ch, 36)) for ch in value[4:] + value[:4]))
    return number % 97 == 1


def with_check_digits(country: str, bban: str) -> str:
    """An IBAN-shaped string whose check digits fit, whatever its BBAN."""
    number = int("".join(str(int(ch, 36)) for ch in bban + country + "00"))
    return f"{country}{98 - number % 97:02d}{bban}"


@pytest.mark.parametrize("value", VALID)
def test_real_ibans_of_several_countries_pass_compacted(value: str) -> None:
    spaced = " ".join(value[i : i + 4] for i in range(0, len(value), 4)).lower()
    assert banking.iban(value) == value
    assert banking.iban(spaced) == value


@pytest.mark.parametrize(
    ("value", "code"),
    [
        # a digit short for Georgia (22 characters), check digits recomputed
        (with_check_digits("GE", "NB000000010190491"), "iban_length"),
        # a digit too many for Germany (22 characters)
        (with_check_digits("DE", "3704004405320130001"), "iban_length"),
        # Georgia: two letters then 16 digits; a letter among the digits
        (with_check_digits("GE", "NBA00000101904917X"), "iban_format"),
        # Germany: 18 digits; a letter at the end
        (with_check_digits("DE", "37040044053201300A"), "iban_format"),
    ],
)
def test_good_check_digits_with_the_wrong_length_or_structure_are_refused(
    value: str, code: str
) -> None:
    assert mod97(value)  # what a mod-97 check alone would have accepted
    with pytest.raises(AccountRefused) as refused:
        banking.iban(value)
    assert (refused.value.field, refused.value.code) == ("iban", code)
    assert value not in refused.value.message  # never repeats what it refuses


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("GE29NB0000000101904918", "invalid_iban"),  # one digit mistyped
        ("XX29NB0000000101904917", "iban_country"),
        ("US64SVBKUS6S3300958879", "iban_country"),  # the US has no IBANs
        ("29NB0000000101904917", "iban_country"),
        ("", "iban_country"),
        ("ГЕ29NB0000000101904917", "iban_country"),
        ("GE29NB00000001019049170000000000000", "iban_length"),
        ("GE29 NB00 0000 0101 9049 1!", "iban_format"),
    ],
)
def test_bad_ibans_say_what_is_wrong(value: str, code: str) -> None:
    with pytest.raises(AccountRefused) as refused:
        banking.iban(value)
    assert refused.value.code == code
    assert refused.value.message == banking.MESSAGES[code]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("BAGAGE22", "BAGAGE22"),
        ("nbgege22", "NBGEGE22"),
        ("COBA DE FF XXX", "COBADEFFXXX"),
    ],
)
def test_bics_pass_compacted(value: str, expected: str) -> None:
    assert banking.bic(value) == expected


@pytest.mark.parametrize(
    ("value", "code"),
    [
        ("BAGAGE2", "invalid_bic"),  # 7
        ("BAGAGE22XX", "invalid_bic"),  # 10
        ("BAGAGE22XXXX", "invalid_bic"),  # 12
        ("BA-AGE22", "invalid_bic"),
        ("ÄAGAGE22", "invalid_bic"),
        ("", "invalid_bic"),
        ("BAGAXX22", "bic_country"),  # XX is no country
        ("BAGA1122", "invalid_bic"),  # digits where the country goes
    ],
)
def test_bad_bics_say_what_is_wrong(value: str, code: str) -> None:
    with pytest.raises(AccountRefused) as refused:
        banking.bic(value)
    assert (refused.value.field, refused.value.code) == ("bic", code)


def test_the_bic_is_of_the_ibans_country() -> None:
    georgian = "GE29NB0000000101904917"
    assert banking.account(georgian, "nbge ge22") == (georgian, "NBGEGE22")
    with pytest.raises(AccountRefused) as refused:  # a German IBAN, a Georgian bank
        banking.account("DE89370400440532013000", "NBGEGE22")
    assert (refused.value.field, refused.value.code) == ("bic", "bic_not_iban_country")
    # a territory's bank with its country's IBAN: Réunion (RE) under FR
    assert banking.account("FR1420041010050500013M02606", "BNPARERXXXX")[1][4:6] == "RE"
    with pytest.raises(AccountRefused) as each:  # each is still checked on its own
        banking.account("GE29NB0000000101904918", "NBGEGE22")
    assert each.value.code == "invalid_iban"
