"""ISO 3166-1's countries, by their two letters. A locale's territories also name
groupings and placeholders with two letters (EU, EZ, UN, QO, ZZ, XA, XB), which are
no country: a club, a corridor or a form's list takes only these."""

from __future__ import annotations

import pycountry
from marshmallow import ValidationError

ISO_COUNTRIES = frozenset(country.alpha_2 for country in pycountry.countries)


def iso_country(value: str) -> None:
    """A marshmallow validator: a country ISO 3166-1 knows."""
    if value not in ISO_COUNTRIES:
        raise ValidationError("an ISO 3166 country code, such as GE")
