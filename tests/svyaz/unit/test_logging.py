import logging

import pytest

from svyaz.logging import JsonFormatter, PersonalDataFilter, redact


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("contact anna.k@example.org now", "email"),
        ("call +7 912 345-67-89 please", "phone"),
        ("call 89123456789", "phone"),
        ("iban DE89370400440532013000", "iban"),
        ("iban DE89 3704 0044 0532 0130 00", "iban"),
        ("write to @anna_kuz in telegram", "handle"),
    ],
)
def test_personal_values_are_redacted(text: str, kind: str) -> None:
    clean, found = redact(text)
    assert found == [kind]
    assert f"[{kind} redacted]" in clean


def test_ids_and_ordinary_numbers_survive() -> None:
    text = "event 0b7f3c1e-9d2a-4b8e-8f00-123456789abc amount 30000 attempt 3"
    assert redact(text) == (text, [])


def test_the_filter_rewrites_the_record_and_keeps_it() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "mail to %s failed", ("a.b@example.org",), None
    )
    assert PersonalDataFilter().filter(record) is True
    line = JsonFormatter().format(record)
    assert "example.org" not in line
    assert '"redacted": ["email"]' in line


def test_tracebacks_are_redacted_too() -> None:
    try:
        raise ValueError("duplicate key (email)=(a.b@example.org)")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info()
        )
    PersonalDataFilter().filter(record)
    assert "example.org" not in JsonFormatter().format(record)
