"""What svyaz-finance prints, in words finance staff read: a run's totals and
progress, an imported statement's outcome, a reconciliation and its differences.
Pure functions of the services' answers (stipends.cli calls them)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from stipends.payouts.statements import said_of
from svyaz import money

OPEN = ("planned", "queued", "calling", "sent")  # payouts not settled yet


def progress(counts: dict[str, int], width: int = 30) -> str:
    """`[#########.....] 9/15  paid 8 · sent 1 · queued 6` from payouts by state."""
    total = sum(counts.values())
    settled = total - sum(counts.get(s, 0) for s in OPEN)
    filled = width * settled // total if total else width
    states = " · ".join(f"{k} {v}" for k, v in sorted(counts.items()) if v)
    return f"[{'#' * filled}{'.' * (width - filled)}] {settled}/{total}  {states}"


def totals_table(run: dict[str, Any]) -> str:
    lines = [f"run {run['id']}  {run['status']}", "currency provider        count  sum"]
    for line in run["totals"]:
        lines.append(
            f"{line['currency']:<8} {line['provider']:<15} {line['count']:>5}  "
            f"{money.plain(line['sum_minor'], line['currency'], grouped=True)}"
        )
    lines.append(f"totals digest: {run['totals_digest']}")
    return "\n".join(lines)


# why a statement's line changed nothing, and what to check
STATEMENT_PROBLEMS = {
    "unknown_reference": "matches no payout sent by bank transfer (the exported "
    "file gave each payment the reference payout:<id>)",
    "currency_mismatch": "its currency is not the payout's",
    "amount_mismatch": "its amount is not the payout's",
}


def statement_summary(result: dict[str, Any]) -> str:
    """What an imported statement settled, in words; a line per line it left as
    it was, with why."""
    lines = [
        f"{result['paid']} paid; {result['returned']} returned by the bank (those "
        f"stipends stay owed: retry or cancel the payouts); {result['unchanged']} "
        "settled before"
    ]
    problems = result["problems"]
    if problems:
        lines.append(
            f"{len(problems)} line(s) changed nothing; check each against the run "
            "(`svyaz-finance payouts <run>`) and ask the bank:"
        )
        lines += [
            f"  {p['reference']}: "
            f"{STATEMENT_PROBLEMS.get(p['problem'], p['problem'].replace('_', ' '))}"
            for p in problems
        ]
    return "\n".join(lines)


# a difference's kind and state as finance reads them (the consoles' words)
DIFFERENCE_KINDS = {
    "missing_at_provider": "missing at the provider",
    "unexpected_at_provider": "unexpected at the provider",
    "amount_mismatch": "amounts differ",
    "currency_mismatch": "currencies differ",
    "duplicate": "paid twice",
    "status_mismatch": "states differ",
    "reversed": "reversed by the provider",
    "balance_mismatch": "balances differ",
    "already_reconciled": "already reconciled in a signed-off period",
}
DIFFERENCE_STATES = {
    "open": "open",
    "linked": "linked",
    "written_off": "written off",
    "repaid": "paid again",
}


RECONCILIATION_STATES = {"signed_off": "signed off", "superseded": "replaced"}


def words(code: str, table: dict[str, str]) -> str:
    return table.get(code, code.replace("_", " "))


def reconciliation_summary(rec: dict[str, Any]) -> str:
    kinds = ", ".join(
        f"{words(kind, DIFFERENCE_KINDS)} {sum(states.values())}"
        for kind, states in sorted(rec["by_kind"].items())
    )
    last = date.fromisoformat(rec["period_end"]) - timedelta(days=1)
    return (
        f"reconciliation {rec['id']}  {rec['provider']} {rec['period_start']} – "
        f"{last}  {words(rec['status'], RECONCILIATION_STATES)}\n"
        f"provider rows {rec['provider_rows']} · matched {rec['matched']} · "
        f"differences {rec['discrepancies']} ({kinds or 'none'}) · "
        f"open {rec['open_items']}" + _not_signable(rec)
    )


def _not_signable(rec: dict[str, Any]) -> str:
    """For an open reconciliation run before its period ended: why it cannot be
    signed off, and what to do."""
    if rec["status"] != "open" or rec.get("whole_period", True):
        return ""
    last = date.fromisoformat(rec["period_end"]) - timedelta(days=1)
    return (
        f"\nnot to be signed off: run before its period ended (its last day is "
        f"{last}); run the period again after that day and sign that off"
    )


def item_line(item: dict[str, Any]) -> str:
    def amount(minor: Any, currency: Any) -> str:
        return (
            "-"
            if minor is None
            else f"{money.plain(minor, currency, grouped=True)} {currency}"
        )

    return (
        f"{item['id']:>8}  {words(item['kind'], DIFFERENCE_KINDS):<26} "
        f"{words(item['state'], DIFFERENCE_STATES):<11} "
        f"ours {amount(item['ours_minor'], item['ours_currency']):>14}  "
        f"theirs {amount(item['theirs_minor'], item['theirs_currency']):>14}  "
        f"{item['payout_id'] or _reference(item['provider_ref'])}"
    )


def _reference(provider_ref: str | None) -> str:
    """The provider's id, or a bank statement's line as the statement numbers it."""
    return said_of(provider_ref or "")
