"""Dates, moments and months as people read them, in the language of the page or the
message: the one place the consoles and the mail format a date (as svyaz.money
is for amounts).

The services and the API speak ISO 8601. A page or a message writes a date as its
language does ("Dec 8, 2026" / "8 дек. 2026 г.", CLDR's medium form), and a moment
with its time in UTC, the one clock every console and message shows, so that two
people comparing what they read agree: "Dec 8, 2026, 14:05 UTC".
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from babel.dates import format_date, format_time


def day(value: str | date | None, language: str) -> str:
    """A date (or a moment's date, in UTC) as `language` writes it; "—" for none.
    A value that is not a date shows as it is, never an error."""
    parsed = _parsed(value)
    if parsed is None:
        return str(value) if value else "—"
    if isinstance(parsed, datetime):
        parsed = parsed.astimezone(UTC).date()
    return format_date(parsed, "medium", locale=language)


def moment(value: str | date | None, language: str, seconds: bool = False) -> str:
    """A moment as `language` writes its date, with the time in UTC: "Dec 8,
    2026, 14:05 UTC" / "8 дек. 2026 г., 14:05 UTC" (with `seconds`, 14:05:33);
    a bare date as `day` writes it; "—" for none."""
    parsed = _parsed(value)
    if not isinstance(parsed, datetime):
        return day(value, language)
    at = parsed.astimezone(UTC)
    time = format_time(at, "HH:mm:ss" if seconds else "HH:mm", locale=language)
    return f"{format_date(at.date(), 'medium', locale=language)}, {time} UTC"


def month(value: str | None, language: str) -> str:
    """A month ("2026-11", a cycle's period) as `language` names it: "November
    2026" / "ноябрь 2026"; anything else as it is, "—" for none."""
    text = str(value or "")
    if len(text) != 7 or text[4] != "-":
        return text or "—"
    try:
        first = date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        return text
    return format_date(first, "LLLL y", locale=language)


def _parsed(value: str | date | None) -> date | None:
    """A date or an aware moment (a naive one is UTC's) from ISO text, or None."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return value
    if not value:
        return None
    text = str(value)
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        at = datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo else at.replace(tzinfo=UTC)
