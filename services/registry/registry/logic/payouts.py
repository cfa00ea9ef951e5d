"""Payout onboarding by corridor: which provider serves a country, connected accounts
for Stripe Connect, recipients (with their payout method) for Stripe Global Payouts,
sealed bank details for the bank file, and the destination that stipends reads at
payout time."""

from __future__ import annotations

import json
import uuid
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from registry import events
from registry.exceptions import (
    CommunicatorNotFound,
    InvalidRequest,
    InvalidTransition,
    NotAllowed,
)
from registry.logic.access import Sealed
from registry.logic.actors import Actor
from registry.logic.vetting import ADMIN, get, open_review_items
from registry.models import Communicator, Corridor, PayoutAccount
from svyaz import banking, outbox
from svyaz.crypto import KeyRing

DESTINATION_READERS = frozenset({"stipends"})


class ConnectProvider(Protocol):
    """What the registry needs of Stripe (registry.dependencies.Stripe): Connect's
    connected accounts, and Global Payouts' recipients."""

    currency: str

    def create_account(self, communicator_id: uuid.UUID, country: str) -> str: ...

    def onboarding_link(self, account_id: str) -> str: ...

    def transfers_active(self, account_id: str) -> bool: ...

    def create_recipient(self, communicator_id: uuid.UUID, country: str) -> str: ...

    def recipient_onboarding_link(self, account_id: str) -> str: ...

    def recipient_payout_method(self, account_id: str, currency: str) -> str | None: ...


STRIPE_PROVIDERS = ("stripe_connect", "stripe_global")


def corridors(session: Session) -> list[Corridor]:
    return list(session.scalars(select(Corridor).order_by(Corridor.country)))


def set_corridor(
    session: Session, actor: Actor, country: str, provider: str
) -> Corridor:
    actor.require(ADMIN)
    corridor = session.get(Corridor, country, with_for_update=True)
    if corridor is None:
        corridor = Corridor(country=country, provider=provider)
        session.add(corridor)
    corridor.provider, corridor.updated_by = provider, actor.id
    return corridor


def _own_active(session: Session, actor: Actor) -> Communicator:
    actor.require("communicator")
    communicator = get(session, actor.id, lock=True)
    if communicator.status != "active":
        raise InvalidTransition(
            "payouts are set up once the application is accepted", "not_active"
        )
    return communicator


def _seal_destination(
    session: Session, keys: KeyRing, communicator: Communicator, data: Any
) -> str:
    return Sealed(session, keys, communicator).encrypt(
        "payout_destination", json.dumps(data)
    )


def start_payout_setup(
    session: Session, keys: KeyRing, connect: ConnectProvider, actor: Actor
) -> dict[str, Any]:
    """Where the communicator goes next to be paid: a hosted onboarding link for
    Stripe Connect, or the bank-details form for the bank file."""
    communicator = _own_active(session, actor)
    country = Sealed(session, keys, communicator).open(
        "country", "registry", "payout routing"
    )
    corridor = session.get(Corridor, country)
    if corridor is None:
        raise InvalidTransition(
            "no payout route serves this country yet; the programme will contact you",
            "no_corridor",
        )
    account = session.get(PayoutAccount, communicator.id, with_for_update=True)
    provider = corridor.provider
    if provider not in STRIPE_PROVIDERS:
        return {
            "provider": provider,
            "next": "bank_details" if provider == "bank_file" else "contact_programme",
            # bank details already given: `ready`, the step is only to change them
            "status": _status(account, provider),
        }
    connect_side = provider == "stripe_connect"
    if account is None or account.provider != provider:
        account_id = (
            connect.create_account(communicator.id, country)
            if connect_side
            else connect.create_recipient(communicator.id, country)
        )
        if account is None:
            account = PayoutAccount(communicator_id=communicator.id)
            session.add(account)
        account.provider, account.status = provider, "pending"
        destination: dict[str, Any] = (
            {"account": account_id}
            if connect_side
            else {"recipient": account_id, "payout_method": None}
        )
        account.destination_ct = _seal_destination(
            session, keys, communicator, destination
        )
        account.account_index = keys.blind_index("stripe_account", account_id)
        account.fingerprint = account.destination_index = None
    else:
        found = destination_of(
            session, keys, communicator, account, "registry", "payout onboarding link"
        )
        account_id = found["account"] if connect_side else found["recipient"]
    return {
        "provider": provider,
        "onboarding_url": connect.onboarding_link(account_id)
        if connect_side
        else connect.recipient_onboarding_link(account_id),
        "status": _status(account, provider),
    }


def _status(account: PayoutAccount | None, provider: str) -> str:
    """Where the person's set-up for `provider` stands: none, pending or ready."""
    if account is None or account.provider != provider:
        return "none"
    return str(account.status)


def _pending(
    session: Session, keys: KeyRing, communicator_id: uuid.UUID, provider: str
) -> tuple[PayoutAccount, Communicator, dict[str, Any]] | None:
    """The communicator's set-up with `provider` still pending, locked, with its
    destination opened to be checked with Stripe; None otherwise (none, another
    provider's, ready already, or the person erased)."""
    account = session.get(PayoutAccount, communicator_id, with_for_update=True)
    communicator = session.get(Communicator, communicator_id)
    if (
        account is None
        or communicator is None
        or communicator.erased
        or account.provider != provider
        or account.status != "pending"
    ):
        return None
    found = destination_of(
        session, keys, communicator, account, "registry", "payout onboarding check"
    )
    return account, communicator, found


def check_recipient(
    session: Session,
    keys: KeyRing,
    connect: ConnectProvider,
    communicator_id: uuid.UUID,
) -> bool:
    """A Global Payouts recipient still pending: ready once Stripe holds a payout
    method for the programme's currency (the destination gains it, sealed). True when
    it became ready."""
    pending = _pending(session, keys, communicator_id, "stripe_global")
    if pending is None:
        return False
    account, communicator, found = pending
    method = connect.recipient_payout_method(found["recipient"], connect.currency)
    if method is None:
        return False
    account.destination_ct = _seal_destination(
        session,
        keys,
        communicator,
        {"recipient": found["recipient"], "payout_method": method},
    )
    session.flush()
    _became_ready(session, keys, account, method)
    return True


def check_connected_account(
    session: Session,
    keys: KeyRing,
    connect: ConnectProvider,
    communicator_id: uuid.UUID,
) -> bool:
    """A Stripe Connect account still pending: ready once Stripe says it takes
    transfers, as its webhook will say a moment later (which then changes
    nothing). True when it became ready."""
    pending = _pending(session, keys, communicator_id, "stripe_connect")
    if pending is None:
        return False
    account, _, found = pending
    if not connect.transfers_active(found["account"]):
        return False
    _became_ready(session, keys, account, found["account"])
    return True


def refresh_payout_setup(
    session: Session, keys: KeyRing, connect: ConnectProvider, actor: Actor
) -> str:
    """The communicator's own payout set-up, asked of Stripe now (back from its
    hosted page: a Connect account's webhook may not have come yet, a Global
    Payouts recipient has none): none, pending or ready."""
    actor.require("communicator")
    check_recipient(session, keys, connect, actor.id)
    check_connected_account(session, keys, connect, actor.id)
    return setup_status(session, actor.id)


def setup_status(session: Session, communicator_id: uuid.UUID) -> str:
    """The payout set-up as its owner sees it: none, pending or ready."""
    account = session.get(PayoutAccount, communicator_id)
    return account.status if account else "none"


def pending_recipients(session: Session, limit: int = 100) -> list[uuid.UUID]:
    """Global Payouts recipients whose onboarding has not been seen finished."""
    return list(
        session.scalars(
            select(PayoutAccount.communicator_id)
            .where(
                PayoutAccount.provider == "stripe_global",
                PayoutAccount.status == "pending",
            )
            .order_by(PayoutAccount.communicator_id)
            .limit(limit)
        )
    )


def destination_of(
    session: Session,
    keys: KeyRing,
    communicator: Communicator,
    account: PayoutAccount,
    accessor: str,
    purpose: str,
) -> dict[str, Any]:
    assert account.destination_ct is not None
    return json.loads(
        Sealed(session, keys, communicator).decrypt(
            "payout_destination", account.destination_ct, accessor, purpose
        )
    )


def _became_ready(
    session: Session, keys: KeyRing, account: PayoutAccount, destination: str
) -> None:
    """Ready to be paid at `destination` (an IBAN, a Stripe account or payout
    method). The fingerprint stipends binds approvals to stays what it was while
    the destination is the same (found under any index key), so rotating the index
    key voids no approval; a new destination gets a new one."""
    same = account.destination_index in keys.blind_indexes("payout", destination)
    if not (same and account.fingerprint):
        account.fingerprint = keys.blind_digest("payout", destination)
    account.status = "ready"
    account.destination_index = keys.blind_index("payout", destination)
    fingerprint = account.fingerprint
    others = session.scalars(
        select(PayoutAccount.communicator_id).where(
            PayoutAccount.destination_index.in_(
                keys.blind_indexes("payout", destination)
            ),
            PayoutAccount.communicator_id != account.communicator_id,
        )
    )
    open_review_items(
        session, "payout_destination", account.communicator_id, list(others)
    )
    outbox.add(
        session,
        events.COMMUNICATOR_PAYOUT_READY.build(
            events.aggregate(account.communicator_id),
            communicator_id=account.communicator_id,
            provider=account.provider,
            destination_fingerprint=fingerprint,
        ),
    )


def stripe_account_updated(
    session: Session, keys: KeyRing, account_id: str, transfers_active: bool
) -> bool:
    """Relayed from the gateway's webhook: True when it changed something."""
    account = session.scalar(
        select(PayoutAccount)
        .where(
            PayoutAccount.account_index.in_(
                keys.blind_indexes("stripe_account", account_id)
            )
        )
        .with_for_update()
    )
    if account is None:
        return False  # not ours, or erased since
    if transfers_active and account.status != "ready":
        _became_ready(session, keys, account, account_id)
        return True
    if not transfers_active and account.status == "ready":
        account.status = "pending"
        outbox.add(
            session,
            events.COMMUNICATOR_PAYOUT_SETUP_NEEDED.build(
                events.aggregate(account.communicator_id),
                communicator_id=account.communicator_id,
                provider=account.provider,
            ),
        )
        return True
    return False


def bank_account(details: dict[str, Any]) -> tuple[str, str]:
    """The IBAN and BIC, compact, checked by their country's rules (whatever the
    gateway checked before); a refusal names the field and says what to fix."""
    try:
        return banking.account(details["iban"], details["bic"])
    except banking.AccountRefused as refused:
        raise InvalidRequest(
            refused.message, refused.code, {refused.field: [refused.message]}
        ) from None


def set_bank_details(
    session: Session, keys: KeyRing, actor: Actor, details: dict[str, Any]
) -> None:
    communicator = _own_active(session, actor)
    iban, bic = bank_account(details)
    country = Sealed(session, keys, communicator).open(
        "country", "registry", "payout routing"
    )
    corridor = session.get(Corridor, country)
    if corridor is None or corridor.provider != "bank_file":
        # the routing table is the admins' decision: bank details cannot move a
        # communicator out of the route their country is paid through
        raise InvalidTransition(
            "your country is not paid by bank transfer; set up payments from "
            "your account page",
            "not_bank_corridor",
        )
    account = session.get(PayoutAccount, communicator.id, with_for_update=True)
    if account is None:
        account = PayoutAccount(communicator_id=communicator.id)
        session.add(account)
    account.provider, account.account_index = "bank_file", None
    account.destination_ct = _seal_destination(
        session,
        keys,
        communicator,
        {
            "holder": details["holder"],
            "iban": iban,
            "bic": bic,
            "bank_name": details.get("bank_name"),
        },
    )
    session.flush()
    _became_ready(session, keys, account, iban)


def payout_destination(
    session: Session,
    keys: KeyRing,
    caller: str | None,
    communicator_id: uuid.UUID,
    purpose: str,
) -> dict[str, Any]:
    """The destination for a payout, for the stipends service only; logged."""
    if caller not in DESTINATION_READERS:
        raise NotAllowed(
            "only the stipends service reads payout destinations",
            "destination_not_allowed",
        )
    communicator = session.get(Communicator, communicator_id)
    account = session.get(PayoutAccount, communicator_id)
    if (
        communicator is None
        or communicator.erased
        or account is None
        or account.status != "ready"
    ):
        raise CommunicatorNotFound("no payout destination is ready")
    destination = destination_of(session, keys, communicator, account, caller, purpose)
    return {
        "provider": account.provider,
        "fingerprint": account.fingerprint,
        **destination,
    }
