"""Blind-index key rotation: every blind index is re-computed, from the decrypted
value, under the index key in use (BLIND_INDEX_KEY_ID).

An index names the key that made it (`<kid>.<hmac>`; bare hex: before key ids), and
lookups try every key in BLIND_INDEX_KEYS, so sign-in, dedup and the Stripe account
lookup keep working while old indexes remain. The registry's timer re-keys a batch
at a time (each decryption in the access log); `stale_counts` is the progress: at 0
everywhere, no index needs the old key any more and it can leave BLIND_INDEX_KEYS.

A payout account's `fingerprint` is not re-keyed: it is the token stipends binds
approvals to, not a lookup (duplicates are found by `destination_index`).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from registry.logic.access import Sealed, record_read
from registry.logic.accounts import account_key
from registry.logic.applications import digits
from registry.models import Account, Communicator, PayoutAccount
from svyaz.crypto import KeyRing, decrypt_field

log = logging.getLogger(__name__)

BATCH = 50  # rows per table per transaction: each decryption appends to the log
ACCESSOR = "registry"
PURPOSE = "blind index re-key"

# the blind-index columns of each table
COLUMNS: dict[Any, tuple[Any, ...]] = {
    Communicator: (Communicator.email_index, Communicator.phone_index),
    Account: (Account.login_index,),
    PayoutAccount: (PayoutAccount.account_index, PayoutAccount.destination_index),
}


def _stale(model: Any, keys: KeyRing) -> Any:
    return or_(
        *(
            and_(
                column.is_not(None),
                ~column.startswith(keys.index_prefix, autoescape=True),
            )
            for column in COLUMNS[model]
        )
    )


def stale_counts(session: Session, keys: KeyRing) -> dict[str, int]:
    """Per table, the rows with an index not made under the key in use."""
    return {
        model.__tablename__: session.scalar(
            select(func.count()).select_from(model).where(_stale(model, keys))
        )
        or 0
        for model in COLUMNS
    }


def _opened(sealed: Sealed, name: str) -> str:
    value = sealed.open(name, ACCESSOR, PURPOSE)
    if not isinstance(value, str):
        raise LookupError(f"no {name}")
    return value


def _communicator(session: Session, keys: KeyRing, row: Communicator) -> None:
    sealed = Sealed(session, keys, row)
    if row.email_index is not None:
        row.email_index = keys.blind_index("email", _opened(sealed, "email"))
    if row.phone_index is not None:
        row.phone_index = keys.blind_index("phone", digits(_opened(sealed, "phone")))


def _account(session: Session, keys: KeyRing, row: Account) -> None:
    if row.kind == "staff":
        if row.email_ct is None:
            raise LookupError("no email")
        email = decrypt_field(
            account_key(keys, row), row.email_ct, f"account:{row.id}", "email"
        )
        record_read(session, keys, row.id, ACCESSOR, "staff_email", PURPOSE)
    else:  # a communicator signs in with the email they applied with
        communicator = session.get(Communicator, row.id)
        if communicator is None:
            raise LookupError("no communicator")
        email = _opened(Sealed(session, keys, communicator), "email")
    row.login_index = keys.blind_index("login", email)


def _payout_account(session: Session, keys: KeyRing, row: PayoutAccount) -> None:
    communicator = session.get(Communicator, row.communicator_id)
    if communicator is None or row.destination_ct is None:
        raise LookupError("no destination")
    found = json.loads(
        Sealed(session, keys, communicator).decrypt(
            "payout_destination", row.destination_ct, ACCESSOR, PURPOSE
        )
    )
    account = found.get("account") or found.get("recipient")
    if not account and not found.get("iban"):
        raise LookupError("no destination")
    if row.account_index is not None:
        row.account_index = keys.blind_index("stripe_account", account)
    if row.destination_index is not None:
        paid_to = found.get("iban") or found.get("payout_method") or account
        row.destination_index = keys.blind_index("payout", paid_to)


REKEY = {
    Communicator: _communicator,
    Account: _account,
    PayoutAccount: _payout_account,
}


def rekey(session: Session, keys: KeyRing, batch: int = BATCH) -> int:
    """Re-compute up to `batch` rows' indexes of each table under the key in use;
    how many rows. A row that cannot be opened is left (and logged by id), so the
    count shows it."""
    done = 0
    for model, recompute in REKEY.items():
        rows = session.scalars(
            select(model)
            .where(_stale(model, keys))
            .limit(batch)
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            try:
                with session.begin_nested():
                    recompute(session, keys, row)
            except Exception as exc:  # noqa: BLE001 - one bad row stops nothing
                log.warning(
                    "blind index of %s %s cannot be re-keyed: %s",
                    model.__tablename__,
                    getattr(row, "id", None) or getattr(row, "communicator_id", ""),
                    type(exc).__name__,
                )
                continue
            done += 1
    return done
