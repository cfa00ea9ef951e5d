"""Dates as people read them (svyaz.dates): the consoles' and the mail's one way."""

from __future__ import annotations

from datetime import UTC, date, datetime

from svyaz import dates

NNBSP = "\u202f"  # CLDR's narrow no-break space before «г.»


def test_a_date_reads_as_its_language_writes_it() -> None:
    assert dates.day("2026-12-08", "en") == "Dec 8, 2026"
    assert dates.day("2026-12-08", "ru") == f"8 дек. 2026{NNBSP}г."
    assert dates.day(date(2026, 5, 1), "ru") == f"1 мая 2026{NNBSP}г."  # genitive
    # a moment's date is UTC's
    assert dates.day("2026-12-08T23:30:00-02:00", "en") == "Dec 9, 2026"


def test_a_moment_says_its_time_in_utc() -> None:
    at = "2026-12-08T14:05:33.123456+00:00"
    assert dates.moment(at, "en") == "Dec 8, 2026, 14:05 UTC"
    assert dates.moment(at, "ru") == f"8 дек. 2026{NNBSP}г., 14:05 UTC"
    assert dates.moment(at, "en", seconds=True) == "Dec 8, 2026, 14:05:33 UTC"
    assert dates.moment("2026-12-08T23:30:00+03:00", "en") == "Dec 8, 2026, 20:30 UTC"
    naive = datetime(2026, 12, 8, 14, 5)  # a naive moment is UTC's
    assert dates.moment(naive, "en") == "Dec 8, 2026, 14:05 UTC"
    aware = datetime(2026, 12, 8, 14, 5, tzinfo=UTC)
    assert dates.moment(aware.isoformat(), "en") == dates.moment(aware, "en")
    assert dates.moment("2026-12-08", "en") == "Dec 8, 2026"  # a date: no time


def test_nothing_or_not_a_date_never_breaks_a_page() -> None:
    assert dates.day(None, "en") == dates.moment("", "ru") == "—"
    assert dates.day("soon", "en") == dates.moment("soon", "en") == "soon"


def test_a_month_is_named_as_its_language_names_it() -> None:
    """A cycle's period, "2026-11": the month's own name (nominative, as a
    heading or after «за» reads)."""
    assert dates.month("2026-11", "en") == "November 2026"
    assert dates.month("2026-11", "ru") == "ноябрь 2026"
    assert dates.month("2027-05", "ru") == "май 2027"
    # what is not a month is shown as it is (a form's bad input, echoed back)
    assert dates.month("2026-13", "en") == "2026-13"
    assert dates.month("soon", "en") == "soon"
    assert dates.month(None, "en") == "—"
