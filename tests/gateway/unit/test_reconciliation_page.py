"""The reconciliation page's sign-off section: the form only for a reconciliation run
once its period had ended; otherwise why not and what to do (wait, or run the period
again, by a button for a run from the provider's API)."""

import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from gateway import web

TEMPLATES = Path(web.__file__).parent / "templates"


def page(in_progress: bool, language: str = "en", **rec: Any) -> str:
    shown = {
        "id": "r1",
        "provider": "stripe_connect",
        "period_start": "2026-06-01",
        "period_end": "2026-07-01",
        "source": "api",
        "status": "open",
        "provider_rows": 1,
        "matched": 1,
        "discrepancies": 0,
        "open_items": 0,
        "by_kind": {},
        "created_by": "a",
        "created_at": "2026-06-30T12:00:00+00:00",
        "whole_period": False,
        "signed_off_by": None,
        "signed_off_at": None,
        "sign_off_note": None,
        "figures": [],
        **rec,
    }
    return (
        web.environment(language)
        .get_template("finance_reconciliation.html")
        .render(
            rec=shown,
            items=[],
            candidates=[],
            me="b",
            names={},
            state="open",
            next_after=None,
            error=None,
            in_progress=in_progress,
            last_day=date(2026, 6, 30),
            csrf="token",
        )
    )


def test_a_run_after_its_period_is_offered_the_sign_off() -> None:
    shown = page(False, whole_period=True)
    assert 'id="sign-off"' in shown and 'id="not-signable"' not in shown


def test_a_period_still_running_says_to_wait_and_run_it_again() -> None:
    shown = page(True, period_end="2026-12-08")
    assert 'id="not-signable" data-code="period_not_over"' in shown
    assert "its last day is Jun 30, 2026" in shown and "run the period again" in shown
    assert 'id="sign-off"' not in shown and 'id="rerun"' not in shown


def test_an_api_run_made_too_early_is_run_again_by_a_button() -> None:
    shown = page(False)
    assert 'id="not-signable" data-code="run_before_period_end"' in shown
    assert 'id="sign-off"' not in shown
    rerun = re.search(r'<form[^>]*id="rerun">(.*?)</form>', shown, re.S)
    assert rerun is not None and 'action="/finance/reconciliations"' in shown
    fields = dict(re.findall(r'name="([a-z_]+)" value="([^"]*)"', rerun.group(1)))
    assert {k: fields[k] for k in ("provider", "period_start", "period_end")} == {
        "provider": "stripe_connect",
        "period_start": "2026-06-01",
        "period_end": "2026-07-01",
    }
    assert fields["source"] == "api" and fields["csrf"] == "token"
    assert len(fields["idempotency_key"]) == 32
    # the same fields the reconcile form of the reconciliations page sends
    listing = (TEMPLATES / "finance_reconciliations.html").read_text()
    for name in ("provider", "period_start", "period_end", "source"):
        assert f'name="{name}"' in listing


@pytest.mark.parametrize("source", ["bank_statement", "itemized_csv"])
def test_a_file_run_made_too_early_points_to_the_reconcile_form(source: str) -> None:
    shown = page(False, source=source)
    assert 'id="not-signable" data-code="run_before_period_end"' in shown
    assert 'id="rerun"' not in shown
    assert '<a href="/finance/reconciliations">' in shown


def test_a_signed_off_reconciliation_has_no_sign_off_section() -> None:
    shown = page(False, status="signed_off", whole_period=True)
    assert 'id="sign-off"' not in shown and 'id="not-signable"' not in shown


def test_the_one_who_ran_it_is_told_a_colleague_signs_off() -> None:
    shown = page(False, whole_period=True, created_by="b")  # b: the reader
    assert 'id="not-signable" data-code="segregation"' in shown
    assert 'id="sign-off"' not in shown and "Ask a colleague" in shown


def test_a_payment_booked_again_is_explained_while_open() -> None:
    """An open `already_reconciled` difference says what finance does with it; once
    none is open, the page says nothing of it."""
    kind = "already_reconciled"
    shown = page(False, whole_period=True, by_kind={kind: {"open": 2}})
    assert 'id="already-reconciled-help"' in shown
    assert "write the line off to unexplained differences" in shown
    assert "Already reconciled in a signed-off period" in shown  # the kind, in words
    done = page(False, whole_period=True, by_kind={kind: {"written_off": 2}})
    assert 'id="already-reconciled-help"' not in done
    russian = page(False, "ru", whole_period=True, by_kind={kind: {"open": 1}})
    assert "Уже сверено в подписанном периоде" in russian
    assert "загрузите выписку заново без неё" in russian
