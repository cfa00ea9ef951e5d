"""Bank account identifiers checked the one way every service checks them: an IBAN
by its country's length and structure and its check digits, a BIC by its shape and
country (both with schwifty, whose country tables follow SWIFT's IBAN registry).

A mod-97 check alone accepts an IBAN a character short or long for its country, or
with a letter where its country has digits, whenever the check digits happen to fit;
a bank rejects such a transfer days later. Here it is refused at once, with a code
that says what is wrong (the consoles say it in the person's language) and a message
that never repeats the value.
"""

from __future__ import annotations

from schwifty import BIC, IBAN
from schwifty import exceptions as bad

IBAN_MAX = 34  # ISO 13616: no country's IBAN is longer

# code -> what to fix, in English (the gateway's catalogues translate the codes)
MESSAGES = {
    "iban_country": "the IBAN must begin with the two letters of a country that "
    "uses IBANs, such as GE or DE",
    "iban_length": "the IBAN has too many or too few characters for its country; "
    "copy it again from your bank",
    "iban_format": "the IBAN has a character its country does not allow in that "
    "place; copy it again from your bank",
    "invalid_iban": "the IBAN's check digits do not match; a character is mistyped",
    "invalid_bic": "the BIC has 8 or 11 letters and digits, such as BAGAGE22; ask "
    "your bank for its BIC (SWIFT code)",
    "bic_country": "the BIC's fifth and sixth letters must be a country code, such "
    "as GE in BAGAGE22; ask your bank for its BIC (SWIFT code)",
    "bic_not_iban_country": "the BIC is of a bank in another country than the "
    "IBAN's; give the BIC of the bank that holds this account",
}
# territories whose banks' BICs name the territory while their IBANs name the
# country whose IBAN system they use (Réunion's banks: FR IBANs, RE BICs)
BIC_TERRITORIES = {
    "FR": frozenset({"GF", "GP", "MQ", "RE", "YT", "NC", "PF", "PM", "WF", "BL", "MF"}),
    "GB": frozenset({"GG", "JE", "IM"}),
    "FI": frozenset({"AX"}),
}


class AccountRefused(ValueError):
    """An IBAN or BIC that is not one; `field` is "iban" or "bic"."""

    def __init__(self, field: str, code: str) -> None:
        super().__init__(MESSAGES[code])
        self.field, self.code, self.message = field, code, MESSAGES[code]


def compact(text: str) -> str:
    """As people write it (spaces, lower case) to as banks read it."""
    return "".join(text.split()).upper()


def iban(text: str) -> str:
    """The IBAN, compact, or AccountRefused saying what is wrong with it."""
    value = compact(text)
    if len(value) > IBAN_MAX:
        raise AccountRefused("iban", "iban_length")
    if len(value) < 2 or not value[:2].isascii() or not value[:2].isalpha():
        raise AccountRefused("iban", "iban_country")
    try:
        IBAN(value)
    except bad.InvalidCountryCode:
        raise AccountRefused("iban", "iban_country") from None
    except bad.InvalidLength:
        raise AccountRefused("iban", "iban_length") from None
    except (bad.InvalidChecksumDigits, bad.InvalidBBANChecksum):
        raise AccountRefused("iban", "invalid_iban") from None
    except bad.SchwiftyException:  # structure, bank, branch or account code
        raise AccountRefused("iban", "iban_format") from None
    return value


def account(iban_text: str, bic_text: str) -> tuple[str, str]:
    """The IBAN and BIC, each checked, and of one country: the BIC's (its letters
    five and six) is the IBAN's, or one of its territories."""
    found_iban, found_bic = iban(iban_text), bic(bic_text)
    country, bank_country = found_iban[:2], found_bic[4:6]
    if bank_country != country and bank_country not in BIC_TERRITORIES.get(
        country, frozenset()
    ):
        raise AccountRefused("bic", "bic_not_iban_country")
    return found_iban, found_bic


def bic(text: str) -> str:
    """The BIC, compact, or AccountRefused saying what is wrong with it."""
    value = compact(text)
    if len(value) not in (8, 11) or not value.isascii():
        raise AccountRefused("bic", "invalid_bic")
    try:
        BIC(value)
    except bad.InvalidCountryCode:
        raise AccountRefused("bic", "bic_country") from None
    except bad.SchwiftyException:
        raise AccountRefused("bic", "invalid_bic") from None
    return value
