"""Money: the one place that knows how many decimals a currency has.

Amounts are stored and sent as integers of minor units (`amount_minor`); the exponent
(how many decimals one major unit has) comes from the currency's ISO 4217 minor unit:
JPY, KRW, XOF 0 (500 JPY is 500), EUR, RSD, KZT 2 (250.00 EUR is 25000), BHD, KWD, TND 3
(1.234 KWD is 1234). Babel's `get_currency_precision` gives it, except where CLDR (which
Babel follows) writes fewer decimals than ISO 4217 for everyday use; those few are
corrected here (`ISO_4217_NOT_CLDR`), since Stripe and the banks count minor units by
ISO 4217: a Serbian dinar stipend of 1000.50 is 100050, not 1001.

- `exponent(currency)`: the decimals; refuses a code that is not three letters.
- `parse(text, currency)`: what a person or a file typed ("250", "250.5", "1 250,50")
  as minor units, refusing more decimals than the currency has with a sentence that
  says how many it has (`InvalidAmount`, a ValueError).
- `plain(minor, currency)`: major units with exactly the currency's decimals, no
  grouping ("12.345", "500", "-1.00"): bank files, CSV exports, CLIs.
- `major(minor, currency)`: the same as a Decimal (XLSX numbers, control sums).
- `display(minor, currency, locale)`: as the language writes it, with Babel's
  `format_currency` and the currency's decimals ("€250.00", "250,00 €", "¥500").
"""

from __future__ import annotations

import copy
import re
from decimal import Decimal
from functools import cache

from babel import Locale
from babel.numbers import get_currency_precision, list_currencies, parse_pattern

# Current currencies whose ISO 4217 minor unit differs from CLDR's `digits` (CLDR
# drops the decimals people do not use in cash; ISO 4217 and the payment networks
# keep them). Checked against Babel's data by tests/svyaz/unit/test_money.py.
ISO_4217_NOT_CLDR: dict[str, int] = {
    "AFN": 2,
    "ALL": 2,
    "IQD": 3,
    "IRR": 2,
    "KPW": 2,
    "LAK": 2,
    "LBP": 2,
    "MGA": 2,
    "MMK": 2,
    "RSD": 2,
    "SLL": 2,
    "SOS": 2,
    "SYP": 2,
    "YER": 2,
}

_CODE = re.compile(r"[A-Z]{3}")
_NUMBER = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


class InvalidAmount(ValueError):
    """Text that is not an amount in the currency; the message says why and what
    would be one, `reason` which: "currency", "number", "negative" or "decimals"
    (more decimals than the currency has)."""

    def __init__(self, message: str, reason: str = "number"):
        super().__init__(message)
        self.reason = reason


def code(currency: str | None) -> str:
    text = (currency or "").strip().upper()
    if not _CODE.fullmatch(text):
        raise InvalidAmount(
            f"{currency!r} is not a currency: use its ISO 4217 code", "currency"
        )
    return text


def exponent(currency: str | None) -> int:
    """The currency's ISO 4217 minor unit: 0 for JPY, 2 for EUR, 3 for KWD."""
    iso = code(currency)
    if iso in ISO_4217_NOT_CLDR:
        return ISO_4217_NOT_CLDR[iso]
    return int(get_currency_precision(iso))


@cache
def not_two() -> dict[str, int]:
    """Every ISO 4217 code Babel knows whose exponent is not 2, with its exponent
    (for a database that converts amounts in SQL: two is the rest)."""
    found = {iso: exponent(iso) for iso in list_currencies() if _CODE.fullmatch(iso)}
    return {iso: places for iso, places in sorted(found.items()) if places != 2}


@cache
def known() -> tuple[str, ...]:
    """Every ISO 4217 code Babel knows, and those it lacks (for a database that
    checks codes in SQL: a known one is checked by one hashed look-up)."""
    codes = {iso for iso in list_currencies() if _CODE.fullmatch(iso)}
    return tuple(sorted(codes | set(ISO_4217_NOT_CLDR)))


def step(currency: str | None) -> str:
    """The smallest amount as text: "1" for JPY, "0.01" for EUR, "0.001" for KWD
    (a money input's `step`)."""
    places = exponent(currency)
    return "1" if places == 0 else "0." + "0" * (places - 1) + "1"


def describe(currency: str | None) -> str:
    places = exponent(currency)
    if places == 0:
        return f"{code(currency)} has no decimals"
    return f"{code(currency)} has {places} decimal{'s' if places > 1 else ''}"


def parse(text: str | None, currency: str | None, *, signed: bool = False) -> int:
    """Major units as typed ("250", "250.5", "250,50", "1 250.50") as minor units.
    Refuses more decimals than the currency has (12.345 EUR, 500.5 JPY) rather than
    round, a negative amount unless `signed`, and anything that is not a number."""
    places = exponent(currency)
    raw = (text or "").strip()
    compact = re.sub(r"[\s\u00a0\u202f_']", "", raw).replace(",", ".")
    if compact.startswith("+"):
        compact = compact[1:]
    match = _NUMBER.fullmatch(compact)
    if not match:
        raise InvalidAmount(
            f"{raw!r} is not an amount: write digits, with a point or a comma "
            f"before the decimals ({describe(currency)})"
        )
    sign, whole, fraction = match.groups()
    fraction = fraction or ""
    if len(fraction.rstrip("0")) > places:
        raise InvalidAmount(
            f"{raw!r} has more decimals than the currency: {describe(currency)}",
            "decimals",
        )
    minor = int(whole) * 10**places + int((fraction[:places] or "0").ljust(places, "0"))
    if sign and minor:
        if not signed:
            raise InvalidAmount(
                f"{raw!r} is negative: write the amount without a sign", "negative"
            )
        minor = -minor
    return minor


def major(minor: int, currency: str | None) -> Decimal:
    """Minor units as a Decimal of major units with the currency's decimals."""
    places = exponent(currency)
    return Decimal(int(minor)).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def plain(minor: int, currency: str | None, *, grouped: bool = False) -> str:
    """Major units with exactly the currency's decimals and no grouping, as files
    want them: "12.345" KWD, "500" JPY, "-1.00" EUR; `grouped` puts commas between
    thousands for a terminal ("1,234.56")."""
    return f"{major(minor, currency):{',' if grouped else ''}f}"


def display(minor: int | None, currency: str | None, locale: str = "en") -> str:
    """Minor units as the language writes money: "€250.00" (en), "250,00 €" (ru),
    "¥500", "KWD 1.234"; always the currency's ISO 4217 decimals, so no cent is
    hidden by rounding. None is "—"; a currency that is no ISO code (a damaged
    row) shows its number with two decimals rather than break the page."""
    if minor is None:
        return "—"
    iso = (currency or "").strip().upper()
    places = exponent(iso) if _CODE.fullmatch(iso) else 2
    try:
        where = Locale.parse(locale.replace("-", "_"))
    except (ValueError, TypeError):
        where = Locale.parse("en")
    pattern = copy.copy(parse_pattern(where.currency_formats["standard"]))
    pattern.frac_prec = (places, places)
    amount = Decimal(int(minor)).scaleb(-places)
    return str(pattern.apply(amount, where, currency=iso, currency_digits=False))


def sum_major(amounts: list[tuple[int, str]]) -> Decimal:
    """The sum of amounts in several currencies as major units (a pain.001 control
    sum, which adds numbers whatever their currency)."""
    total = Decimal(0)
    for minor, currency in amounts:
        total += major(minor, currency)
    return total


__all__ = [
    "ISO_4217_NOT_CLDR",
    "InvalidAmount",
    "code",
    "describe",
    "display",
    "exponent",
    "known",
    "not_two",
    "major",
    "parse",
    "plain",
    "step",
    "sum_major",
]
