"""Programmes: budget, currency, tier amounts, eligibility rules, approval bands, and
their fundings. Their monthly cycles are `cycles`."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from stipends import events
from stipends.base import Base
from stipends.exceptions import (
    ConcurrentChange,
    CycleNotFound,
    FundingNotFound,
    InvalidRequest,
    InvalidTransition,
    KeyReused,
    OverBudget,
    ProgrammeNotFound,
)
from stipends.logic import ledger
from stipends.logic.actors import ADMIN, Actor
from stipends.models import (
    Cycle,
    JournalEntry,
    Posting,
    Programme,
    ProgrammeFunding,
)
from svyaz import money as svyaz_money
from svyaz import outbox
from svyaz.errors import NotFound


def money(amount_minor: int, currency: str) -> str:
    """An amount for a reason or a refusal: "250.00 EUR", "500 JPY", "1.234 KWD"."""
    return f"{svyaz_money.plain(amount_minor, currency)} {currency}"


DEFAULT_BANDS: list[dict[str, Any]] = [
    {"up_to_minor": 30000, "approvers": 1},  # up to 300.00 in a two-decimal currency
    {"up_to_minor": None, "approvers": 2},
]


def default_bands(currency: str) -> list[dict[str, Any]]:
    """One approver up to 300 of the programme's currency (its ISO 4217 exponent:
    30000 EUR cents, 300 JPY, 300000 KWD fils), two above."""
    return [
        {"up_to_minor": 300 * 10 ** svyaz_money.exponent(currency), "approvers": 1},
        {"up_to_minor": None, "approvers": 2},
    ]


Row = TypeVar("Row", bound=Base)


def by_id(
    session: Session,
    model: type[Row],
    ident: uuid.UUID,
    lock: bool,
    missing: type[NotFound],
    what: str,
) -> Row:
    """The row of `model` with id `ident` (locked for update if `lock`), or
    `missing` ("no such `what`")."""
    query = select(model).filter_by(id=ident)
    found: Row | None = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise missing(f"no such {what}")
    return found


def get_programme(
    session: Session, programme_id: uuid.UUID, lock: bool = False
) -> Programme:
    return by_id(session, Programme, programme_id, lock, ProgrammeNotFound, "programme")


def get_cycle(session: Session, cycle_id: uuid.UUID, lock: bool = False) -> Cycle:
    return by_id(session, Cycle, cycle_id, lock, CycleNotFound, "cycle")


def check_bands(bands: list[dict[str, Any]]) -> None:
    """Bands must cover every amount, and a larger amount never needs fewer people."""
    if not bands or sum(1 for b in bands if b["up_to_minor"] is None) != 1:
        said = "approval bands need exactly one open-ended band (up_to_minor: null)"
        raise InvalidRequest(said, "invalid_bands", {"approval_bands": [said]})
    ordered = sorted(
        bands, key=lambda b: (b["up_to_minor"] is None, b["up_to_minor"] or 0)
    )
    needed = [int(b["approvers"]) for b in ordered]
    if needed != sorted(needed) or needed[0] < 1:
        said = "a larger amount cannot need fewer approvers, and every band needs one"
        raise InvalidRequest(said, "invalid_bands", {"approval_bands": [said]})


def create_programme(session: Session, actor: Actor, data: dict[str, Any]) -> Programme:
    actor.require(ADMIN)
    bands = data.get("approval_bands") or default_bands(data["currency"])
    check_bands(bands)
    if session.scalar(select(Programme.id).where(Programme.name == data["name"])):
        raise InvalidRequest(
            "a programme of that name exists", "name_taken", {"name": ["taken"]}
        )
    programme = Programme(
        id=uuid.uuid4(),
        name=data["name"],
        currency=data["currency"],
        budget_minor=0,
        tier_amounts=data["tier_amounts"],
        min_accepted_reports=data["min_accepted_reports"],
        min_conversations=data["min_conversations"],
        training_required=data["training_required"],
        approval_bands=bands,
        created_by=actor.id,
    )
    session.add(programme)
    session.flush()
    if data["budget_minor"]:
        _fund(session, actor, programme, data["budget_minor"])
    return programme


def _fund(
    session: Session, actor: Actor, programme: Programme, amount_minor: int
) -> int:
    """Add to the budget: one funding entry in the ledger. Returns the entry's id."""
    if amount_minor <= 0:
        raise InvalidRequest(
            "the amount must be positive", "invalid_amount", {"amount_minor": [">0"]}
        )
    entry = ledger.fund(
        session, programme.id, programme.currency, amount_minor, actor.id
    )
    _move_budget(session, programme, amount_minor)
    _announce_budget(session, programme)
    return entry.id


def _move_budget(session: Session, programme: Programme, delta_minor: int) -> None:
    """The budget's total moves by `delta_minor`, without touching the programme's
    `version`: that is the version of its rules an admin edits (a funding
    between opening the rules and saving them is no reason to refuse the edit).
    The callers hold the programme's row lock, so two fundings cannot lose one."""
    total = session.execute(
        update(Programme)
        .where(Programme.id == programme.id)
        .values(budget_minor=Programme.budget_minor + delta_minor)
        .returning(Programme.budget_minor),
        execution_options={"synchronize_session": False},
    ).scalar_one()
    set_committed_value(programme, "budget_minor", total)


def _announce_budget(session: Session, programme: Programme) -> None:
    """The budget's new total, for the insights read model."""
    outbox.add(
        session,
        events.PROGRAMME_BUDGET_CHANGED.build(
            f"programme:{programme.id}",
            programme_id=programme.id,
            currency=programme.currency,
            budget_minor=programme.budget_minor,
        ),
    )


def fund_programme(
    session: Session,
    actor: Actor,
    programme_id: uuid.UUID,
    amount_minor: int,
    idempotency_key: str,
) -> Programme:
    """Add to the budget once per person's idempotency key: the same key again from
    them (an answer lost, a form sent twice) funds nothing; their same key for
    another programme or amount is refused. Another person's same key is theirs."""
    actor.require(ADMIN, "finance")
    if not 8 <= len(idempotency_key) <= 64:
        raise InvalidRequest(
            "the idempotency key is 8 to 64 characters",
            "invalid_idempotency_key",
            {"idempotency_key": ["8 to 64 characters"]},
        )
    programme = get_programme(session, programme_id, lock=True)
    earlier = session.get(
        ProgrammeFunding, (actor.id, idempotency_key), with_for_update=True
    )
    if earlier is not None:
        if (earlier.programme_id, earlier.amount_minor) != (programme.id, amount_minor):
            raise KeyReused(
                "this idempotency key was used for another funding "
                f"({money(earlier.amount_minor, programme.currency)} to programme "
                f"{earlier.programme_id}); use a new key for a new funding",
                "idempotency_key_reused",
                {"idempotency_key": ["used for another funding"]},
            )
        return programme
    entry_id = _fund(session, actor, programme, amount_minor)
    session.add(
        ProgrammeFunding(
            idempotency_key=idempotency_key,
            programme_id=programme.id,
            amount_minor=amount_minor,
            entry_id=entry_id,
            actor_id=actor.id,
        )
    )
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError:  # the same key, funding another programme at this moment
        raise KeyReused(
            "this idempotency key is being used for another funding; use a new key "
            "for a new funding",
            "idempotency_key_reused",
            {"idempotency_key": ["used for another funding"]},
        ) from None
    return programme


EDITABLE = (
    "name",
    "tier_amounts",
    "min_accepted_reports",
    "min_conversations",
    "training_required",
    "approval_bands",
)


def update_programme(
    session: Session,
    actor: Actor,
    programme_id: uuid.UUID,
    version: int,
    changes: dict[str, Any],
) -> Programme:
    """Change a programme's name, tier amounts (those named; a tier left out keeps
    its amount), eligibility rules or approval bands, as of the version the admin
    saw. Its currency never changes, and its budget moves
    only by funding. Stipends already proposed keep their amount and approvers; the
    new rules apply from the next cycle close."""
    actor.require(ADMIN)
    programme = get_programme(session, programme_id, lock=True)
    if programme.version != version:
        raise ConcurrentChange(
            "someone changed this programme since you opened it; reload it and make "
            "your change again",
            "programme_changed",
            {"version": [f"now {programme.version}"]},
        )
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise InvalidRequest(
            f"{', '.join(unknown)} cannot be changed here: the currency is fixed, and "
            "the budget changes only by funding or reversing a funding",
            "field_not_editable",
            {name: ["not editable"] for name in unknown},
        )
    if "approval_bands" in changes:
        check_bands(changes["approval_bands"])
    if "name" in changes and changes["name"] != programme.name:
        if session.scalar(
            select(Programme.id).where(
                Programme.name == changes["name"], Programme.id != programme.id
            )
        ):
            raise InvalidRequest(
                "a programme of that name exists", "name_taken", {"name": ["taken"]}
            )
    if "tier_amounts" in changes:  # the tiers named change; the others stay
        changes = {
            **changes,
            "tier_amounts": {**programme.tier_amounts, **changes["tier_amounts"]},
        }
    for name in EDITABLE:
        if name in changes:
            setattr(programme, name, changes[name])
    try:
        session.flush()
    except StaleDataError:
        raise ConcurrentChange(
            "someone changed this programme at the same moment; reload it and make "
            "your change again",
            "programme_changed",
        ) from None
    return programme


def programme_view(
    session: Session, actor: Actor, programme_id: uuid.UUID
) -> dict[str, Any]:
    """The programme with its money in minor units: `budget_minor` funded so far,
    `reserved_minor` approved and not yet paid (reserved, or released for payment
    and not confirmed), `spent_minor` paid (confirmed by the provider), and
    `available_minor` free for new approvals (budget - reserved - spent)."""
    actor.require(ADMIN, "finance")
    programme = get_programme(session, programme_id)
    available = ledger.available(session, programme.id)
    spent = ledger.paid(session, programme.id)
    return {
        "id": programme.id,
        "name": programme.name,
        "currency": programme.currency,
        "budget_minor": programme.budget_minor,
        "reserved_minor": programme.budget_minor - available - spent,
        "spent_minor": spent,
        "available_minor": available,
        "tier_amounts": programme.tier_amounts,
        "min_accepted_reports": programme.min_accepted_reports,
        "min_conversations": programme.min_conversations,
        "training_required": programme.training_required,
        "approval_bands": programme.approval_bands,
        "version": programme.version,
        "fundings": fundings(session, programme.id, available),
    }


FUNDINGS_SHOWN = 200  # the newest ones; a programme is funded a few times a year


def reversal_blocker(
    amount_minor: int, available_minor: int, reversed_: bool
) -> str | None:
    """Why a funding cannot be reversed now, as a refusal code, or None: it is
    reversed already, or part of what it added is reserved or paid (only what is
    free can leave the budget)."""
    if reversed_:
        return "reversed_already"
    if amount_minor > available_minor:
        return "funding_in_use"
    return None


def fundings(
    session: Session, programme_id: uuid.UUID, available_minor: int
) -> list[dict[str, Any]]:
    """The programme's funding entries in the ledger, newest first: the amount, when
    and by whom; whether it was reversed (when, by whom, why); and what would stand
    in the way of reversing it now (`blocked_by`, a refusal code, or None)."""
    reversal = aliased(JournalEntry)
    added = (
        select(func.coalesce(func.sum(Posting.amount_minor), 0))
        .where(Posting.entry_id == JournalEntry.id, Posting.amount_minor > 0)
        .scalar_subquery()
    )
    rows = session.execute(
        select(JournalEntry, added, reversal)
        .outerjoin(reversal, reversal.reverses == JournalEntry.id)
        .where(
            JournalEntry.programme_id == programme_id,
            JournalEntry.kind == "funding",
        )
        .order_by(JournalEntry.id.desc())
        .limit(FUNDINGS_SHOWN)
    )
    return [
        {
            "entry_id": entry.id,
            "amount_minor": int(amount),
            "posted_at": entry.posted_at,
            "actor_id": entry.actor_id,
            "reversed": undone is not None,
            "reversed_at": undone.posted_at if undone else None,
            "reversed_by": undone.actor_id if undone else None,
            "reversal_reason": undone.memo if undone else None,
            "blocked_by": reversal_blocker(
                int(amount), available_minor, undone is not None
            ),
        }
        for entry, amount, undone in rows
    ]


def list_programmes(session: Session, actor: Actor) -> list[Programme]:
    actor.require(ADMIN, "finance")
    return list(session.scalars(select(Programme).order_by(Programme.name)))


def reverse_funding(
    session: Session,
    actor: Actor,
    entry_id: int,
    reason: str,
    programme_id: uuid.UUID | None = None,
) -> Programme:
    """Correct a funding entry booked by mistake: its reversal, never an edit. Refused
    when it is reversed already, or when the budget it added is already reserved or
    paid (`reversal_blocker`). With `programme_id`, the entry must be that
    programme's."""
    actor.require(ADMIN, "finance")
    if len(reason.strip()) < 3:
        raise InvalidRequest(
            "say why the funding is reversed, in at least 3 characters",
            "reason_required",
            {"reason": ["at least 3 characters"]},
        )
    entry = session.get(JournalEntry, entry_id)
    if (
        entry is None
        or entry.kind != "funding"
        or entry.programme_id is None
        or (programme_id is not None and entry.programme_id != programme_id)
    ):
        raise FundingNotFound("no such funding of this programme", "funding_not_found")
    programme = get_programme(session, entry.programme_id, lock=True)
    reversed_ = session.scalar(
        select(JournalEntry.id).where(JournalEntry.reverses == entry.id)
    )
    amount = sum(
        p.amount_minor for p in ledger.legs_of(session, entry.id) if p.amount_minor > 0
    )
    remaining = ledger.available(session, programme.id)
    blocker = reversal_blocker(amount, remaining, reversed_ is not None)
    if blocker == "reversed_already":
        raise InvalidTransition(
            f"journal entry {entry.id} is reversed already", "reversed_already"
        )
    if blocker == "funding_in_use":
        raise OverBudget(
            f"only {money(remaining, programme.currency)} of the budget is free; "
            f"the funding of {money(amount, programme.currency)} is partly reserved "
            "or paid",
            "funding_in_use",
            {"remaining_minor": [str(remaining)]},
        )
    ledger.reverse(session, entry.id, reason.strip(), actor.id)
    _move_budget(session, programme, -amount)
    _announce_budget(session, programme)
    return programme
