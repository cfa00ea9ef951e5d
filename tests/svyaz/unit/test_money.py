"""svyaz.money: a currency's ISO 4217 exponent, text parsed to minor units (too many
decimals refused with a sentence that says how many), files' and people's writing of
an amount; a case per exponent (0, 2, 3)."""

from decimal import Decimal

import pytest
from babel.numbers import get_currency_precision

from svyaz import money

# ISO 4217's minor units (the published list, current currencies that are not 2)
ISO_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
ISO_THREE = "BHD IQD JOD KWD LYD OMR TND"


@pytest.mark.parametrize(
    ("currency", "places"),
    [(c, 0) for c in ISO_ZERO.split()]
    + [(c, 3) for c in ISO_THREE.split()]
    + [(c, 2) for c in "EUR USD GBP PLN KZT AMD GEL KGS UZS TRY RSD MGA ALL".split()],
)
def test_the_exponent_is_iso_4217s(currency: str, places: int) -> None:
    assert money.exponent(currency) == places
    assert money.exponent(currency.lower()) == places


def test_only_where_cldr_drops_iso_decimals_is_babel_corrected() -> None:
    for iso, places in money.ISO_4217_NOT_CLDR.items():
        assert get_currency_precision(iso) != places, iso  # a needless correction
    # the Serbian dinar has paras: 1000.50 RSD is 100050, not a rounded 1001
    assert money.parse("1000.50", "RSD") == 100050
    assert money.not_two()["JPY"] == 0 and money.not_two()["KWD"] == 3
    assert "EUR" not in money.not_two() and "RSD" not in money.not_two()


CASES = [
    # currency, typed, minor, plain, en, ru
    ("JPY", "25000", 25000, "25000", "¥25,000", "25 000 ¥"),
    ("XOF", "1 500", 1500, "1500", "F\u202fCFA1,500", "1 500 F CFA"),
    ("EUR", "250,5", 25050, "250.50", "€250.50", "250,50 €"),
    ("KWD", "25.125", 25125, "25.125", "KWD\xa025.125", "25,125 KWD"),
    ("TND", "0.001", 1, "0.001", "TND\xa00.001", "0,001 TND"),
]


@pytest.mark.parametrize(("currency", "typed", "minor", "plain", "en", "ru"), CASES)
def test_parse_plain_and_display_per_exponent(
    currency: str, typed: str, minor: int, plain: str, en: str, ru: str
) -> None:
    assert money.parse(typed, currency) == minor
    assert money.plain(minor, currency) == plain
    assert money.major(minor, currency) == Decimal(plain)
    assert money.parse(money.plain(minor, currency), currency) == minor
    # the spaces Babel puts vary with CLDR's version; digits and decimals may not
    norm = str.maketrans({" ": None, "\xa0": None, "\u202f": None})
    assert money.display(minor, currency, "en").translate(norm) == en.translate(norm)
    assert money.display(minor, currency, "ru").translate(norm) == ru.translate(norm)


@pytest.mark.parametrize(
    ("typed", "currency", "says"),
    [
        ("500.5", "JPY", "JPY has no decimals"),
        ("12.345", "EUR", "EUR has 2 decimals"),
        ("1.2345", "KWD", "KWD has 3 decimals"),
    ],
)
def test_more_decimals_than_the_currency_has_are_refused(
    typed: str, currency: str, says: str
) -> None:
    with pytest.raises(money.InvalidAmount, match=says) as refused:
        money.parse(typed, currency)
    assert refused.value.reason == "decimals"


def test_trailing_zeros_are_not_decimals_and_other_text_is_refused() -> None:
    assert money.parse("500.00", "JPY") == 500
    assert money.parse("1.2500", "EUR") == 125
    assert money.parse("-1.5", "EUR", signed=True) == -150
    for text, reason in [
        ("-1", "negative"),
        ("abc", "number"),
        ("", "number"),
        ("1.2.3", "number"),
        ("1e3", "number"),
    ]:
        with pytest.raises(money.InvalidAmount) as refused:
            money.parse(text, "EUR")
        assert refused.value.reason == reason
    with pytest.raises(money.InvalidAmount) as refused:
        money.parse("1", "EURO")
    assert refused.value.reason == "currency"


def test_files_write_signs_and_terminals_group() -> None:
    assert money.plain(-150, "EUR") == "-1.50"
    assert money.plain(5, "KWD") == "0.005"
    assert money.plain(123456789, "JPY", grouped=True) == "123,456,789"
    assert money.plain(123456789, "KWD", grouped=True) == "123,456.789"
    assert money.sum_major([(150, "EUR"), (500, "JPY"), (1, "KWD")]) == Decimal(
        "501.501"
    )
    assert money.step("JPY") == "1" and money.step("EUR") == "0.01"
    assert money.step("BHD") == "0.001"
    assert money.display(None, "EUR") == "—"
