"""The ledger page's clearing table, drawn from what stipends answers: a provider
whose latest period had nothing on either side is a row of its own that says so."""

from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from gateway import web

ROW = {
    "reconciliation_id": "6f1c3c1e-5b7e-4a53-9d0e-2f6a8c1b9e10",
    "period_start": "2026-11-01",
    "period_end": "2026-12-01",
    "status": "open",
}


def test_an_empty_period_is_a_row_that_says_nothing_was_paid() -> None:
    balance = {
        "balanced": True,
        "totals": [],
        "accounts": [],
        "clearing": [
            {
                **ROW,
                "provider": "bank_file",
                "currency": "EUR",
                "provider_minor": 1250,
                "clearing_minor": 1250,
                "difference_minor": 0,
            },
            {
                **ROW,
                "provider": "stripe_connect",
                "currency": None,
                "provider_minor": 0,
                "clearing_minor": 0,
                "difference_minor": 0,
            },
            {
                "provider": "stripe_global",
                "reconciliation_id": None,
                "period_start": None,
                "period_end": None,
                "status": "not_reconciled",
                "currency": "EUR",
                "provider_minor": None,
                "clearing_minor": 10000,
                "difference_minor": None,
            },
        ],
    }
    request = Request(EnvironBuilder(path="/finance/ledger?lang=en").get_environ())
    page = web.render(request, "finance_ledger.html", balance=balance, csrf="c")
    body = page.get_data(as_text=True)
    assert 'data-code="bank_file" data-currency="EUR"' in body
    assert "12.50" in body
    empty = body.split('data-code="stripe_connect"', 1)[1].split("</tr>", 1)[0]
    assert "No payments of ours and no rows of the provider" in empty
    assert 'colspan="4"' in empty
    assert "None" not in empty
    never = body.split('data-code="stripe_global"', 1)[1].split("</tr>", 1)[0]
    assert "Not reconciled yet" in never and "100.00" in never
    assert "/finance/reconciliations/" not in never and "None" not in never
