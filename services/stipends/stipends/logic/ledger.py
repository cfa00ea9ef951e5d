"""The double-entry ledger. Amounts are integers of minor units; a positive posting is
a debit, a negative one a credit, and the postings of every entry sum to zero (checked
here and again by a deferred trigger at commit). Entries are never changed: a
correction is a reversal, an entry with every leg negated that names the one it undoes.

Accounts, per programme P, communicator C and payout provider X:

- `programme_funds:P` (debit): money held for the programme;
- `programme_budget:P` (credit): budget not yet reserved;
- `reservations:P` (credit): approved stipends not yet released for payment;
- `stipends_payable:C:CUR` (credit): owed to a communicator, payment pending;
- `provider_clearing:X:CUR` (debit): sent to a provider, not yet confirmed;
- `fees:P` (debit): what the providers charged;
- `bank_fees:X:CUR` (debit, never credit): differences a reconciliation wrote off as
  the bank's fees, an expense (logic/payouts/adjustments.py: `write_off_legs`);
- `fx_differences:X:CUR`, `unexplained_differences:X:CUR`: differences a
  reconciliation wrote off, debit when the provider moved more than our sends,
  credit when less.

An account keeps one currency. A programme has one, so its accounts are named by
the programme alone; a communicator may be paid by programmes in several currencies
and a provider pays in many, so theirs carry the ISO 4217 code (CUR). Before
migration 0013 these two had no currency in their code; it moved their balances to
the per-currency accounts with one entry each (`account_moved`).

Business steps: funding (Dr funds, Cr budget), reservation on approval (Dr budget, Cr
reservations), release of a reservation (its reversal), commitment for payment (Dr
reservations, Cr payable), sending (Dr clearing, Cr funds), settlement (Dr payable, Cr
clearing; a fee: Dr fees, Cr funds; a provider's conversion that debited more
than our amount: Dr fx_differences, Cr funds), a failed send (its reversal). So the
budget's
credit balance is funded - reserved - committed, and it never goes below zero:
reserved + paid never exceeds the budget.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from stipends.exceptions import InvalidRequest, InvalidTransition
from stipends.models import Account, JournalEntry, Posting
from svyaz.vocabulary import LEDGER_ACCOUNT_KINDS, LEDGER_DIFFERENCE_KINDS

# where a reconciliation's write-off goes, per provider and currency
DIFFERENCE_KINDS = LEDGER_DIFFERENCE_KINDS  # svyaz.vocabulary: the gateway shows them
KINDS = LEDGER_ACCOUNT_KINDS
# accounts of a provider (their owner is the provider's code)
PROVIDER_KINDS = ("provider_clearing", *DIFFERENCE_KINDS)


def funds(programme_id: uuid.UUID) -> str:
    return f"programme_funds:{programme_id}"


def budget(programme_id: uuid.UUID) -> str:
    return f"programme_budget:{programme_id}"


def reservations(programme_id: uuid.UUID) -> str:
    return f"reservations:{programme_id}"


def payable(communicator_id: uuid.UUID, currency: str) -> str:
    return f"stipends_payable:{communicator_id}:{currency.upper()}"


def clearing(provider: str, currency: str) -> str:
    return f"provider_clearing:{provider}:{currency.upper()}"


def fees(programme_id: uuid.UUID) -> str:
    return f"fees:{programme_id}"


def difference(kind: str, provider: str, currency: str) -> str:
    """A write-off account: `unexplained_differences:stripe_connect:EUR`."""
    if kind not in DIFFERENCE_KINDS:
        raise InvalidRequest(f"no difference account {kind}", "invalid_account")
    return f"{kind}:{provider}:{currency.upper()}"


def clearings(session: Session, provider: str) -> list[str]:
    """The provider's clearing accounts in every currency it has paid in (and the
    one without a currency of before migration 0013)."""
    legacy = f"provider_clearing:{provider}"
    return list(
        session.scalars(
            select(Account.code).where(
                Account.kind == "provider_clearing",
                (Account.code == legacy) | Account.code.startswith(f"{legacy}:"),
            )
        )
    )


@dataclass(frozen=True)
class Leg:
    account: str
    amount_minor: int  # + debit, - credit


def account(session: Session, code: str, currency: str) -> Account:
    """The account, opened on first use; an account keeps one currency."""
    kind = code.split(":", 1)[0]
    if kind not in KINDS:
        raise InvalidRequest(f"no account kind {kind}", "invalid_account")
    found = session.get(Account, code)
    if found is None:
        found = Account(code=code, kind=kind, currency=currency)
        session.add(found)
        session.flush()
    elif found.currency != currency:
        raise InvalidRequest(
            f"account {code} is kept in {found.currency}, not {currency}",
            "currency_mismatch",
        )
    return found


def post(
    session: Session,
    kind: str,
    memo: str,
    currency: str,
    legs: Sequence[Leg],
    *,
    programme_id: uuid.UUID | None = None,
    stipend_id: uuid.UUID | None = None,
    actor_id: uuid.UUID | None = None,
    reverses: int | None = None,
) -> JournalEntry:
    """Record one balanced entry."""
    if len(legs) < 2 or any(leg.amount_minor == 0 for leg in legs):
        raise InvalidRequest(
            "an entry needs at least two non-zero legs", "unbalanced_entry"
        )
    if sum(leg.amount_minor for leg in legs) != 0:
        raise InvalidRequest("the entry does not balance", "unbalanced_entry")
    for leg in legs:
        account(session, leg.account, currency)
    entry = JournalEntry(
        kind=kind,
        memo=memo,
        programme_id=programme_id,
        stipend_id=stipend_id,
        actor_id=actor_id,
        reverses=reverses,
    )
    session.add(entry)
    session.flush()
    for leg in legs:
        session.add(
            Posting(
                entry_id=entry.id,
                account=leg.account,
                amount_minor=leg.amount_minor,
                currency=currency,
            )
        )
    session.flush()
    return entry


def legs_of(session: Session, entry_id: int) -> list[Posting]:
    return list(
        session.scalars(
            select(Posting).where(Posting.entry_id == entry_id).order_by(Posting.id)
        )
    )


def current(code: str, currency: str) -> str:
    """The account an entry of before migration 0013 posts to now: a clearing or
    payable account without a currency is its per-currency one (its balance moved
    there), so a reversal lands where the balance is."""
    kind, _, owner = code.partition(":")
    if kind in ("provider_clearing", "stipends_payable") and ":" not in owner:
        return f"{code}:{currency.upper()}"
    return code


def reverse(
    session: Session, entry_id: int, memo: str, actor_id: uuid.UUID | None = None
) -> JournalEntry:
    """Undo an entry with a new one: every leg negated, `reverses` set."""
    original = session.get(JournalEntry, entry_id)
    if original is None:
        raise InvalidRequest(f"no journal entry {entry_id}", "entry_not_found")
    if original.reverses is not None:
        raise InvalidTransition(
            "a reversal is not reversed; post a new entry", "reversal_of_reversal"
        )
    if session.scalar(select(JournalEntry.id).where(JournalEntry.reverses == entry_id)):
        raise InvalidTransition(
            f"journal entry {entry_id} is reversed already", "reversed_already"
        )
    legs = legs_of(session, entry_id)
    return post(
        session,
        f"{original.kind}_reversal",
        memo,
        legs[0].currency,
        [Leg(current(p.account, p.currency), -p.amount_minor) for p in legs],
        programme_id=original.programme_id,
        stipend_id=original.stipend_id,
        actor_id=actor_id,
        reverses=entry_id,
    )


def open_entry(session: Session, stipend_id: uuid.UUID, kind: str) -> int | None:
    """The newest entry of this kind for the stipend that nothing has reversed."""
    reversed_ids = select(JournalEntry.reverses).where(
        JournalEntry.reverses.is_not(None)
    )
    return session.scalar(
        select(JournalEntry.id)
        .where(
            JournalEntry.stipend_id == stipend_id,
            JournalEntry.kind == kind,
            JournalEntry.id.not_in(reversed_ids),
        )
        .order_by(JournalEntry.id.desc())
        .limit(1)
    )


def balance(session: Session, code: str) -> int:
    """Debits minus credits (a credit-normal account shows a negative number)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Posting.amount_minor), 0)).where(
                Posting.account == code
            )
        )
        or 0
    )


def available(session: Session, programme_id: uuid.UUID) -> int:
    """Budget not yet reserved or committed."""
    return -balance(session, budget(programme_id))


def paid(session: Session, programme_id: uuid.UUID) -> int:
    """What the programme has paid: its settlements less their reversals (the debit
    to the communicators' payable accounts of `payout_settled` entries)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Posting.amount_minor), 0))
            .join(JournalEntry, JournalEntry.id == Posting.entry_id)
            .where(
                JournalEntry.programme_id == programme_id,
                JournalEntry.kind.in_(("payout_settled", "payout_settled_reversal")),
                Posting.account.startswith("stipends_payable:"),
            )
        )
        or 0
    )


# -- business steps ------------------------------------------------------------------
def fund(
    session: Session,
    programme_id: uuid.UUID,
    currency: str,
    amount_minor: int,
    actor_id: uuid.UUID | None,
    memo: str = "programme funded",
) -> JournalEntry:
    return post(
        session,
        "funding",
        memo,
        currency,
        [
            Leg(funds(programme_id), amount_minor),
            Leg(budget(programme_id), -amount_minor),
        ],
        programme_id=programme_id,
        actor_id=actor_id,
    )


def reserve(
    session: Session,
    programme_id: uuid.UUID,
    stipend_id: uuid.UUID,
    currency: str,
    amount_minor: int,
    actor_id: uuid.UUID | None,
) -> JournalEntry:
    return post(
        session,
        "reservation",
        "stipend approved: budget reserved",
        currency,
        [
            Leg(budget(programme_id), amount_minor),
            Leg(reservations(programme_id), -amount_minor),
        ],
        programme_id=programme_id,
        stipend_id=stipend_id,
        actor_id=actor_id,
    )


def release(
    session: Session, stipend_id: uuid.UUID, memo: str, actor_id: uuid.UUID | None
) -> JournalEntry | None:
    """Reverse the stipend's standing reservation, if it has one."""
    entry_id = open_entry(session, stipend_id, "reservation")
    if entry_id is None:
        return None
    return reverse(session, entry_id, memo, actor_id)


def commit_for_payment(
    session: Session,
    programme_id: uuid.UUID,
    stipend_id: uuid.UUID,
    communicator_id: uuid.UUID,
    currency: str,
    amount_minor: int,
) -> JournalEntry:
    return post(
        session,
        "commitment",
        "stipend released for payment",
        currency,
        [
            Leg(reservations(programme_id), amount_minor),
            Leg(payable(communicator_id, currency), -amount_minor),
        ],
        programme_id=programme_id,
        stipend_id=stipend_id,
    )


def send(
    session: Session,
    programme_id: uuid.UUID,
    stipend_id: uuid.UUID,
    provider: str,
    currency: str,
    amount_minor: int,
) -> JournalEntry:
    return post(
        session,
        "payout_sent",
        f"payout sent through {provider}",
        currency,
        [
            Leg(clearing(provider, currency), amount_minor),
            Leg(funds(programme_id), -amount_minor),
        ],
        programme_id=programme_id,
        stipend_id=stipend_id,
    )


def settle(
    session: Session,
    programme_id: uuid.UUID,
    stipend_id: uuid.UUID,
    communicator_id: uuid.UUID,
    provider: str,
    currency: str,
    amount_minor: int,
    fee_minor: int = 0,
    fx_minor: int = 0,
) -> JournalEntry:
    """The provider confirmed the payment: the debt is paid out of clearing. Its
    fee (Dr fees, Cr funds), and what it debited beyond our amount in converting
    the payment (`fx_minor`: Dr FX differences, Cr funds; less: the reverse), are
    legs of the same entry: neither touches the stipend's amount."""
    legs = [
        Leg(payable(communicator_id, currency), amount_minor),
        Leg(clearing(provider, currency), -amount_minor),
    ]
    if fee_minor:
        legs += [
            Leg(fees(programme_id), fee_minor),
            Leg(funds(programme_id), -fee_minor),
        ]
    if fx_minor:
        legs += [
            Leg(difference("fx_differences", provider, currency), fx_minor),
            Leg(funds(programme_id), -fx_minor),
        ]
    return post(
        session,
        "payout_settled",
        f"payout confirmed by {provider}",
        currency,
        legs,
        programme_id=programme_id,
        stipend_id=stipend_id,
    )


def provider_fee(
    session: Session,
    programme_id: uuid.UUID,
    stipend_id: uuid.UUID,
    currency: str,
    fee_minor: int,
) -> JournalEntry:
    """A provider's fee for a payment settled before its fee was known."""
    return post(
        session,
        "provider_fee",
        "provider's fee for the payment, from its data",
        currency,
        [Leg(fees(programme_id), fee_minor), Leg(funds(programme_id), -fee_minor)],
        programme_id=programme_id,
        stipend_id=stipend_id,
    )


@dataclass(frozen=True)
class Send:
    """One `send` of a batch: the stipend's money to the provider's clearing."""

    programme_id: uuid.UUID
    stipend_id: uuid.UUID
    provider: str
    currency: str
    amount_minor: int


@dataclass(frozen=True)
class Commit:
    """One `commit_for_payment` of a batch: the reservation becomes a debt."""

    programme_id: uuid.UUID
    stipend_id: uuid.UUID
    communicator_id: uuid.UUID
    currency: str
    amount_minor: int


@dataclass(frozen=True)
class Batched:
    """One entry of a batch posted together (`post_all`)."""

    programme_id: uuid.UUID
    stipend_id: uuid.UUID
    memo: str
    currency: str
    legs: tuple[Leg, ...]


BATCH_ENTRIES = text(
    "INSERT INTO journal_entries (kind, memo, programme_id, stipend_id) "
    "SELECT :kind, v.memo, v.programme, v.stipend "
    "FROM unnest(CAST(:memos AS text[]), CAST(:programmes AS uuid[]), "
    "CAST(:stipends AS uuid[])) WITH ORDINALITY "
    "AS v (memo, programme, stipend, n) ORDER BY v.n RETURNING id, stipend_id"
)
BATCH_POSTINGS = text(
    "INSERT INTO postings (entry_id, account, amount_minor, currency) "
    "SELECT * FROM unnest(CAST(:entries AS bigint[]), CAST(:accounts AS text[]), "
    "CAST(:amounts AS bigint[]), CAST(:currencies AS text[]))"
)


def accounts_in(session: Session, wanted: dict[str, str]) -> set[str]:
    """Open the accounts (code -> currency) that do not exist yet, in one statement;
    the codes kept in another currency, which no entry may use."""
    rows = session.execute(
        select(Account.code, Account.currency).where(Account.code.in_(list(wanted)))
    ).all()
    found = {code: currency for code, currency in rows}
    missing = [code for code in wanted if code not in found]
    if missing:
        session.execute(
            insert(Account)
            .values(
                [
                    {
                        "code": code,
                        "kind": code.split(":", 1)[0],
                        "currency": wanted[code],
                    }
                    for code in missing
                ]
            )
            .on_conflict_do_nothing(index_elements=["code"])
        )
    return {code for code, currency in found.items() if currency != wanted[code]}


def post_all(
    session: Session, kind: str, batch: Sequence[Batched]
) -> dict[uuid.UUID, int]:
    """`post` for a batch of entries of one kind, one per stipend, in three
    statements whatever its size (the accounts, the entries, their legs); the entry
    id of each stipend. Each entry must balance as `post`'s do, and the deferred
    trigger checks it again at commit."""
    if not batch:
        return {}
    wanted: dict[str, str] = {}
    for one in batch:
        if len(one.legs) < 2 or sum(leg.amount_minor for leg in one.legs) != 0:
            raise InvalidRequest("the entry does not balance", "unbalanced_entry")
        for leg in one.legs:
            wanted[leg.account] = one.currency
    if accounts_in(session, wanted):  # a currency clash: `account` says which
        for one in batch:
            for leg in one.legs:
                account(session, leg.account, one.currency)
    rows = session.execute(
        BATCH_ENTRIES,
        {
            "kind": kind,
            "memos": [one.memo for one in batch],
            "programmes": [str(one.programme_id) for one in batch],
            "stipends": [str(one.stipend_id) for one in batch],
        },
    )
    entries = {stipend_id: entry_id for entry_id, stipend_id in rows}
    legs: dict[str, list[Any]] = {
        "entries": [],
        "accounts": [],
        "amounts": [],
        "currencies": [],
    }
    for one in batch:
        for leg in one.legs:
            legs["entries"].append(entries[one.stipend_id])
            legs["accounts"].append(leg.account)
            legs["amounts"].append(leg.amount_minor)
            legs["currencies"].append(one.currency)
    session.execute(BATCH_POSTINGS, legs)
    return entries


def send_all(session: Session, sends: Sequence[Send]) -> dict[uuid.UUID, int]:
    """`send` for a batch of stipends (`post_all`)."""
    return post_all(
        session,
        "payout_sent",
        [
            Batched(
                one.programme_id,
                one.stipend_id,
                f"payout sent through {one.provider}",
                one.currency,
                (
                    Leg(clearing(one.provider, one.currency), one.amount_minor),
                    Leg(funds(one.programme_id), -one.amount_minor),
                ),
            )
            for one in sends
        ],
    )


def commit_all(session: Session, commits: Sequence[Commit]) -> dict[uuid.UUID, int]:
    """`commit_for_payment` for a batch of stipends (`post_all`)."""
    return post_all(
        session,
        "commitment",
        [
            Batched(
                one.programme_id,
                one.stipend_id,
                "stipend released for payment",
                one.currency,
                (
                    Leg(reservations(one.programme_id), one.amount_minor),
                    Leg(payable(one.communicator_id, one.currency), -one.amount_minor),
                ),
            )
            for one in commits
        ],
    )


def send_failed(
    session: Session, stipend_id: uuid.UUID, memo: str = "payout failed"
) -> JournalEntry | None:
    entry_id = open_entry(session, stipend_id, "payout_sent")
    if entry_id is None:
        return None
    return reverse(session, entry_id, memo)
