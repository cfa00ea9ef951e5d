"""The bank corridor's use cases: writing a run's bank file (CSV or pain.001; the
file is what sends its payouts) and importing the bank's statement, which settles
them. The file formats themselves are `stipends.payouts.bankfiles`."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest, InvalidTransition
from stipends.logic.actors import FINANCE, Actor
from stipends.logic.payouts.outcomes import mark_failed, mark_paid
from stipends.logic.payouts.phases import Destinations, DestinationUnavailable
from stipends.logic.payouts.runs import get_run
from stipends.payouts.bankfiles import FileLine, bank_csv, pain001, parse_statement
from stipends.payouts.models import Payout, PayoutAudit
from stipends.payouts.providers import BankFile
from svyaz import banking


def bank_file(
    session: Session,
    actor: Actor,
    run_id: uuid.UUID,
    destinations: Destinations,
    fmt: str,
    debtor: dict[str, str],
    now: datetime,
) -> str:
    """The bank file of a run's bank payouts that are sent (the file is what sends
    them). Account details are read from the registry now and never stored. A run
    with none waiting for the bank is refused (`no_bank_transfers`): an empty file
    is not one a bank takes, and would say nothing of why."""
    actor.require(FINANCE)
    if fmt not in ("csv", "pain.001"):
        raise InvalidRequest("format is csv or pain.001", "invalid_format")
    if fmt == "pain.001":
        debtor = checked_debtor(debtor)
    run = get_run(session, run_id)
    if run.status == "draft":
        raise InvalidTransition(
            "the run is not released yet: release it first; its bank transfers go in "
            "the file once they are sent",
            "run_not_released",
        )
    payouts = session.scalars(
        select(Payout)
        .where(
            Payout.run_id == run.id,
            Payout.provider == BankFile.name,
            Payout.status == "sent",
        )
        .order_by(Payout.id)
    ).all()
    if not payouts:
        raise InvalidTransition(
            "no bank transfer of this run waits for the bank: its payouts go through "
            "another provider, or are paid or failed already; there is no file to make",
            "no_bank_transfers",
        )
    lines = []
    for payout in payouts:
        try:
            destination = destinations(payout.communicator_id)
        except DestinationUnavailable:
            continue
        lines.append(
            FileLine(
                payout.reference, payout.amount_minor, payout.currency, destination
            )
        )
    session.add(
        PayoutAudit(
            run_id=run.id,
            actor_id=actor.id,
            action="bank_file",
            reason=f"{fmt} with {len(lines)} payments",
        )
    )
    if fmt == "csv":
        return bank_csv(lines)
    return pain001(lines, f"run-{run.id.hex[:24]}", now, debtor, now.date().isoformat())


def checked_debtor(debtor: dict[str, str]) -> dict[str, str]:
    """The programme's own account as the pain.001 file names it, or a refusal
    that tells finance whom to ask (no file a bank would reject is written)."""
    try:
        checked = {
            "name": debtor.get("name", "").strip(),
            "iban": banking.iban(debtor.get("iban", "")),
            "bic": banking.bic(debtor.get("bic", "")),
        }
    except banking.AccountRefused:
        checked = {}
    if not checked.get("name"):
        raise InvalidRequest(
            "the programme's own bank account (BANK_DEBTOR_NAME, BANK_DEBTOR_IBAN, "
            "BANK_DEBTOR_BIC) is missing or not valid; an operator must correct it "
            "before a pain.001 file can be written (the CSV file needs none)",
            "bank_debtor_invalid",
        )
    return checked


def import_statement(session: Session, actor: Actor, text: str) -> dict[str, Any]:
    """Settle bank payouts from the bank's statement: booked lines are paid (with the
    bank's fee), returned ones failed. A line that matches nothing, or whose amount or
    currency differs, changes nothing and is listed."""
    actor.require(FINANCE)
    try:
        lines = parse_statement(text)
    except ValueError as exc:
        raise InvalidRequest(str(exc), "invalid_statement") from None
    result: dict[str, Any] = {"paid": 0, "returned": 0, "unchanged": 0, "problems": []}
    for line in lines:
        try:
            payout_id = uuid.UUID(line.reference.removeprefix("payout:"))
        except ValueError:
            payout_id = None
        payout = (
            session.get(Payout, payout_id, with_for_update=True) if payout_id else None
        )
        problem = None
        if payout is None or payout.provider != BankFile.name:
            problem = "unknown_reference"
        elif payout.currency != line.currency:
            problem = "currency_mismatch"
        elif payout.amount_minor != line.amount_minor:
            problem = "amount_mismatch"
        if problem:
            result["problems"].append({"reference": line.reference, "problem": problem})
            continue
        assert payout is not None
        if payout.status != "sent":
            result["unchanged"] += 1
        elif line.status == "booked":
            mark_paid(session, payout, line.fee_minor)
            result["paid"] += 1
        else:
            mark_failed(session, payout, "returned", "returned by the bank")
            result["returned"] += 1
    session.add(
        PayoutAudit(
            actor_id=actor.id,
            action="import_statement",
            reason=f"{len(lines)} lines: {result['paid']} paid, "
            f"{result['returned']} returned, {len(result['problems'])} problems",
        )
    )
    session.flush()
    return result
