"""The ledger read back (see `ledger` for its accounts and steps): the trial balance
and an account's statement with its running balance, each account named by whom it
is about (a programme's name, a pseudonym, a provider's code; no personal data).
For finance and programme admins."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stipends.exceptions import AccountNotFound
from stipends.logic.ledger import PROVIDER_KINDS
from stipends.logic.payouts import adjustments
from stipends.models import Account, Communicator, JournalEntry, Posting, Programme
from stipends.payouts.models import Reconciliation
from svyaz.actors import ADMIN, FINANCE


def trial_balance(session: Session) -> dict[str, Any]:
    rows = session.execute(
        select(
            Account.code,
            Account.kind,
            Account.currency,
            func.coalesce(
                func.sum(Posting.amount_minor).filter(Posting.amount_minor > 0), 0
            ),
            func.coalesce(
                -func.sum(Posting.amount_minor).filter(Posting.amount_minor < 0), 0
            ),
        )
        .outerjoin(Posting, Posting.account == Account.code)
        .group_by(Account.code, Account.kind, Account.currency)
        .order_by(Account.code)
    ).all()
    accounts = [
        {
            "account": code,
            "kind": kind,
            "currency": currency,
            "debit_minor": int(debit),
            "credit_minor": int(credit),
            "balance_minor": int(debit) - int(credit),
        }
        for code, kind, currency, debit, credit in rows
    ]
    totals: dict[str, dict[str, int]] = {}
    for row in accounts:
        total = totals.setdefault(
            row["currency"], {"debit_minor": 0, "credit_minor": 0}
        )
        total["debit_minor"] += row["debit_minor"]
        total["credit_minor"] += row["credit_minor"]
    names = owners(session, [row["account"] for row in accounts])
    for row in accounts:
        row["owner"] = names.get(row["account"])
    return {
        "accounts": accounts,
        "totals": [{"currency": c, **t} for c, t in sorted(totals.items())],
        "balanced": all(t["debit_minor"] == t["credit_minor"] for t in totals.values()),
        "clearing": clearing_against_providers(session, accounts),
    }


def clearing_against_providers(
    session: Session, accounts: Sequence[dict[str, Any]] = ()
) -> list[dict[str, Any]]:
    """Per provider, its latest reconciliation's period (a re-run's, not the one it
    superseded) and, per currency, the provider's figure for it against the ledger's
    clearing figure (`adjustments.figures`): what sign-off checks, beside the
    balances. A provider never reconciled whose clearing account (of `accounts`,
    the trial balance's rows) holds money is listed too, as not reconciled yet,
    with that balance: money sent that no reconciliation has confirmed."""
    latest = session.scalars(
        select(Reconciliation)
        .where(Reconciliation.status != "superseded")
        .distinct(Reconciliation.provider)
        .order_by(
            Reconciliation.provider,
            Reconciliation.period_end.desc(),
            Reconciliation.created_at.desc(),
        )
    )
    found = []
    for rec in latest:
        # a period with no payment of ours and no row of theirs is still the
        # provider's latest: shown with no currency and nothing on either side,
        # not left out as if the provider had never been reconciled
        nothing: dict[str, Any] = {
            "currency": None,
            "provider_minor": 0,
            "clearing_minor": 0,
            "difference_minor": 0,
        }
        for figure in adjustments.figures(session, rec) or [nothing]:
            found.append(
                {
                    "provider": rec.provider,
                    "reconciliation_id": str(rec.id),
                    "period_start": rec.period_start.isoformat(),
                    "period_end": rec.period_end.isoformat(),
                    "status": rec.status,
                    **figure,
                }
            )
    reconciled = {row["provider"] for row in found}
    for account in accounts:
        provider = account.get("owner")
        if (
            account["kind"] == "provider_clearing"
            and account["balance_minor"]
            and provider not in reconciled
        ):
            found.append(
                {
                    "provider": provider,
                    "reconciliation_id": None,
                    "period_start": None,
                    "period_end": None,
                    "status": "not_reconciled",
                    "currency": account["currency"],
                    "provider_minor": None,
                    "clearing_minor": account["balance_minor"],
                    "difference_minor": None,
                }
            )
    return found


def owners(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """Whom each account is about, for people to read: the programme's name, the
    communicator's pseudonym, or the provider's code (no personal data)."""
    ids: dict[str, set[uuid.UUID]] = {"programme": set(), "communicator": set()}
    parsed: dict[str, tuple[str, str]] = {}
    for code in codes:
        kind, _, suffix = code.partition(":")
        suffix = suffix.split(":")[0]  # without a per-currency account's currency
        parsed[code] = (kind, suffix)
        whose = "communicator" if kind == "stipends_payable" else "programme"
        if kind not in PROVIDER_KINDS:
            try:
                ids[whose].add(uuid.UUID(suffix))
            except ValueError:
                continue
    programmes: dict[uuid.UUID, str | None] = {
        ident: name
        for ident, name in session.execute(
            select(Programme.id, Programme.name).where(
                Programme.id.in_(ids["programme"])
            )
        )
    }
    pseudonyms: dict[uuid.UUID, str | None] = {
        ident: name
        for ident, name in session.execute(
            select(Communicator.id, Communicator.pseudonym).where(
                Communicator.id.in_(ids["communicator"])
            )
        )
    }
    found: dict[str, str] = {}
    for code, (kind, suffix) in parsed.items():
        if kind in PROVIDER_KINDS:
            found[code] = suffix
            continue
        try:
            ident = uuid.UUID(suffix)
        except ValueError:
            continue
        name = (pseudonyms if kind == "stipends_payable" else programmes).get(ident)
        if name:
            found[code] = name
    return found


def statement(
    session: Session, code: str, offset: int = 0, limit: int | None = None
) -> dict[str, Any]:
    """An account's lines in posting order with the running balance, `limit` lines
    from `offset` (all of them without a limit); `total_lines` counts them all."""
    found = session.get(Account, code)
    if found is None:
        raise AccountNotFound(f"no ledger account {code}", "account_not_found")
    ordered = (
        select(
            JournalEntry.id.label("entry_id"),
            JournalEntry.kind,
            JournalEntry.memo,
            JournalEntry.posted_at,
            JournalEntry.reverses,
            JournalEntry.stipend_id,
            Posting.amount_minor,
            Posting.id.label("posting_id"),
            func.sum(Posting.amount_minor)
            .over(order_by=(JournalEntry.id, Posting.id))
            .label("running"),
        )
        .join(Posting, Posting.entry_id == JournalEntry.id)
        .where(Posting.account == code)
        .subquery()
    )
    page = select(
        ordered.c.entry_id,
        ordered.c.kind,
        ordered.c.memo,
        ordered.c.posted_at,
        ordered.c.reverses,
        ordered.c.stipend_id,
        ordered.c.amount_minor,
        ordered.c.running,
    ).order_by(ordered.c.entry_id, ordered.c.posting_id)
    if offset:
        page = page.offset(offset)
    if limit is not None:
        page = page.limit(limit)
    rows = session.execute(page).all()
    total, balance = session.execute(
        select(func.count(), func.coalesce(func.sum(Posting.amount_minor), 0)).where(
            Posting.account == code
        )
    ).one()
    lines = [
        {
            "entry_id": row.entry_id,
            "kind": row.kind,
            "memo": row.memo,
            "posted_at": row.posted_at,
            "reverses": row.reverses,
            "stipend_id": row.stipend_id,
            "amount_minor": int(row.amount_minor),
            "balance_minor": int(row.running),
        }
        for row in rows
    ]
    return {
        "account": code,
        "kind": found.kind,
        "currency": found.currency,
        "owner": owners(session, [code]).get(code),
        "lines": lines,
        "balance_minor": int(balance),
        "offset": offset,
        "total_lines": int(total),
    }


def require_reader(actor: Any) -> None:
    """Trial balances and statements are for finance and programme admins."""
    actor.require(ADMIN, FINANCE)
