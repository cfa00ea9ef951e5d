"""Every code the finance pages show (ledger accounts and entries, a payout's trail,
receipt problems, a statement's unmatched lines) has a label in both languages, so
no page shows a code."""

import pytest

from gateway import i18n, schemas, web
from stipends.logic import ledger
from stipends.logic.payouts import trail
from stipends.payouts import models as payout_models

STEPS = (
    *trail.LEDGER_STEPS.values(),
    *(f"run_{action}" for action in trail.RUN_ACTIONS),
    "retry",
    "cancel",
    "mark_paid_offline",
    "mark_failed",
    "receipt_confirmed",
    "receipt_not_received",
    "receipt_problem_resolved",
    "reconciliation_link",
    "reconciliation_write_off",
    "reconciliation_repay",
    "provider_event",
)
ENUMS = {
    "account_kind": ledger.KINDS + schemas.ACCOUNT_KINDS,
    "entry_kind": schemas.ENTRY_KINDS,
    "payout_event": STEPS,
    "receipt_resolution": payout_models.RECEIPT_RESOLUTIONS
    + schemas.RECEIPT_RESOLUTIONS,
    "receipt_problem_status": payout_models.RECEIPT_PROBLEM_STATUSES
    + schemas.RECEIPT_PROBLEM_STATUSES,
    "statement_problem": schemas.STATEMENT_PROBLEMS,
}


@pytest.mark.parametrize("kind", sorted(ENUMS))
def test_every_finance_code_has_a_label_in_both_languages(kind: str) -> None:
    for code in ENUMS[kind]:
        assert code in i18n.LABELS[kind], f"{kind}: {code} has no label"
        english = web.label("en", kind, code)
        assert web.label("ru", kind, code) != english != code


def test_every_ledger_entry_kind_is_named() -> None:
    kinds = {
        "funding",
        "reservation",
        "commitment",
        "payout_sent",
        "payout_settled",
        "write_off",
        "provider_fee",
    }
    assert set(schemas.ENTRY_KINDS) == kinds | {f"{k}_reversal" for k in kinds} | {
        "account_moved"
    }


@pytest.mark.parametrize(
    "code",
    ["invalid_statement", "note_required", "problem_resolved", "account_not_found"],
)
def test_finance_refusals_say_what_to_do(code: str) -> None:
    assert web.refusal("en", code, "x") != "x"
    assert web.refusal("ru", code, "x") != "x"
