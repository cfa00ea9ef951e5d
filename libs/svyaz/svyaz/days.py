"""The days a record may name (a training held, for one): from 2000 to two years
ahead, so that a typo such as 1900 or 2206 is refused. One rule for a service's
schema and the gateway's mirror of it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from marshmallow import ValidationError

EARLIEST = date(2000, 1, 1)
AHEAD = timedelta(days=2 * 365)


def plausible_day(value: date) -> None:
    latest = datetime.now(UTC).date() + AHEAD
    if not EARLIEST <= value <= latest:
        raise ValidationError(f"a day from {EARLIEST} to {latest}")
