"""Every decryption of personal data, logged in an insert-only HMAC chain.

Each row's hash is an HMAC-SHA256, under the access-log key its `key_id` names, of
the previous row's hash and its own content. The key lives in the configuration
(ACCESS_LOG_KEYS), never in the database, so someone who can write the database can
neither edit a row nor recompute the chain without `verify` seeing it. Appends lock
the single `access_chain_head` row, which carries the newest hash, the number of
rows and an HMAC over both. `verify` walks the chain: an edited row no longer matches
its HMAC, a deleted row breaks the link to its successor, and a deleted last row no
longer matches the head.

Rows from before the HMAC chain (no key id) were chained with plain SHA-256, which
anyone can recompute. When the registry first runs with an access-log key, it seals
that chain: one `access_chain_seals` row holds an HMAC over its newest hash and row
count, and the HMAC chain continues from the seal. Rewriting an old row and
recomputing the SHA-256 chain after it no longer meets the seal.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from registry.logic.actors import ROLES, Actor
from registry.models import (
    PERSONAL_FIELDS,
    AccessChainHead,
    AccessChainSeal,
    Communicator,
    PiiAccess,
)
from svyaz.actors import ADMIN
from svyaz.crypto import KeyRing, decrypt_field, encrypt_field

log = logging.getLogger(__name__)

GENESIS = "0" * 64


def _parts(prev: str, row: Any) -> list[str]:
    return [
        prev,
        str(row.id),
        str(row.communicator_id),
        row.accessor,
        row.field,
        row.purpose,
        row.at.isoformat(),
    ]


def legacy_hash(prev: str, row: Any) -> str:
    """The plain SHA-256 of a row written before the seal (no key id)."""
    return hashlib.sha256("|".join(_parts(prev, row)).encode()).hexdigest()


def chain_hash(keys: KeyRing, prev: str, row: Any) -> str:
    """A row's hash: HMAC under its access-log key (KeyError when that key is not
    configured), or plain SHA-256 for a row from before the seal."""
    if row.key_id is None:
        return legacy_hash(prev, row)
    return keys.log_mac(row.key_id, "|".join([*_parts(prev, row), row.key_id]))


def head_mac(keys: KeyRing, head: AccessChainHead) -> str:
    assert head.key_id is not None
    return keys.log_mac(head.key_id, f"head|{head.key_id}|{head.hash}|{head.count}")


def seal_mac(keys: KeyRing, seal: AccessChainSeal) -> str:
    return keys.log_mac(
        seal.key_id,
        f"seal|{seal.key_id}|{seal.after_rows}|{seal.sealed_hash}|"
        f"{seal.at.isoformat()}",
    )


def _locked_head(session: Session) -> AccessChainHead:
    return session.execute(
        select(AccessChainHead).where(AccessChainHead.id == 1).with_for_update()
    ).scalar_one()


def _seal(session: Session, keys: KeyRing, head: AccessChainHead) -> AccessChainSeal:
    seal = AccessChainSeal(
        after_rows=head.count,
        sealed_hash=head.hash,
        key_id=keys.log_current,
        at=datetime.now(UTC),
    )
    seal.mac = seal_mac(keys, seal)
    session.add(seal)
    head.hash, head.key_id = seal.mac, keys.log_current
    head.mac = head_mac(keys, head)
    # said outside the database too: a second sealing would show a rewritten log
    log.warning(
        "access log sealed under access-log key %s after %s rows",
        keys.log_current,
        head.count,
    )
    return seal


def seal(session: Session, keys: KeyRing) -> bool:
    """Seal the plain SHA-256 chain under the access-log key, once (the registry
    does it when it starts); True when it did."""
    if session.scalar(select(AccessChainHead.key_id).where(AccessChainHead.id == 1)):
        return False  # sealed long ago: no lock taken on every tick
    head = _locked_head(session)
    if head.key_id is not None:
        return False
    _seal(session, keys, head)
    return True


def record_read(
    session: Session,
    keys: KeyRing,
    communicator_id: uuid.UUID,
    accessor: str,
    field_name: str,
    purpose: str,
) -> PiiAccess:
    head = _locked_head(session)
    if head.key_id is None:
        _seal(session, keys, head)
    row = PiiAccess(
        id=session.scalar(text("SELECT nextval('pii_access_log_id_seq')")),
        communicator_id=communicator_id,
        accessor=accessor[:100],
        field=field_name,
        purpose=purpose[:200],
        at=datetime.now(UTC),
        prev_hash=head.hash,
        key_id=keys.log_current,
    )
    row.hash = chain_hash(keys, head.hash, row)
    session.add(row)
    head.hash, head.count = row.hash, head.count + 1
    head.key_id = keys.log_current
    head.mac = head_mac(keys, head)
    return row


@dataclass
class ChainReport:
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


NOT_CONFIGURED = (
    "is under access-log key {kid}, which is not configured: "
    "add it back to ACCESS_LOG_KEYS to check"
)


def verify(session: Session, keys: KeyRing) -> ChainReport:
    report = ChainReport()
    prev, sealed = GENESIS, False
    seals = deque(session.scalars(select(AccessChainSeal).order_by(AccessChainSeal.id)))

    def pass_seals() -> None:
        nonlocal prev, sealed
        while seals and seals[0].after_rows <= report.rows:
            seal = seals.popleft()
            where = f"the seal after row {seal.after_rows}"
            if seal.sealed_hash != prev or seal.after_rows != report.rows:
                report.problems.append(
                    f"{where}: the rows before it were changed or deleted"
                )
            try:
                if seal_mac(keys, seal) != seal.mac:
                    report.problems.append(f"{where}: it was changed")
            except KeyError:
                report.problems.append(
                    f"{where} {NOT_CONFIGURED.format(kid=seal.key_id)}"
                )
            prev, sealed = seal.mac, True

    for row in session.execute(select(PiiAccess).order_by(PiiAccess.id)).scalars():
        pass_seals()
        report.rows += 1
        if row.key_id is None and sealed:
            report.problems.append(
                f"row {row.id}: written without the access-log key after the seal"
            )
        if row.prev_hash != prev:
            report.problems.append(
                f"row {row.id}: the row before it is missing or was changed"
            )
        try:
            if chain_hash(keys, row.prev_hash, row) != row.hash:
                report.problems.append(f"row {row.id}: its content was changed")
        except KeyError:
            report.problems.append(
                f"row {row.id} {NOT_CONFIGURED.format(kid=row.key_id)}"
            )
        prev = row.hash
    pass_seals()
    head = session.get(AccessChainHead, 1)
    if seals or head is None or head.hash != prev or head.count != report.rows:
        report.problems.append("the newest rows are missing")
    if not sealed:
        report.problems.append(
            "the log is not sealed under the access-log key: the registry seals it "
            "when it starts, so someone removed the seal or rewrote the log"
        )
    elif head is not None:
        try:
            if head.key_id is None or head_mac(keys, head) != head.mac:
                report.problems.append("the record of the newest row was changed")
        except KeyError:
            report.problems.append(
                f"the newest row {NOT_CONFIGURED.format(kid=head.key_id)}"
            )
    return report


class Sealed:
    """Opens and seals one communicator's personal fields, logging every opening."""

    def __init__(self, session: Session, keys: KeyRing, communicator: Communicator):
        self.session, self.keys, self.communicator = session, keys, communicator
        self._key: bytes | None = None

    @classmethod
    def new(cls, session: Session, keys: KeyRing, communicator: Communicator) -> Sealed:
        sealed = cls(session, keys, communicator)
        sealed._key = keys.new_data_key()
        communicator.wrapped_key = keys.wrap(sealed._key, str(communicator.id))
        return sealed

    def _data_key(self) -> bytes:
        if self._key is None:
            if self.communicator.wrapped_key is None:
                raise LookupError("erased")
            self._key = self.keys.unwrap(
                self.communicator.wrapped_key, str(self.communicator.id)
            )
        return self._key

    def encrypt(self, name: str, plain: str) -> str:
        return encrypt_field(self._data_key(), plain, str(self.communicator.id), name)

    def decrypt(self, name: str, ciphertext: str, accessor: str, purpose: str) -> str:
        """Open a ciphertext of this person's; the read is logged."""
        plain = decrypt_field(
            self._data_key(), ciphertext, str(self.communicator.id), name
        )
        record_read(
            self.session, self.keys, self.communicator.id, accessor, name, purpose
        )
        return plain

    def seal(self, name: str, value: Any) -> None:
        assert name in PERSONAL_FIELDS, name
        ciphertext = None
        if value is not None and value != "" and value != []:
            plain = value if isinstance(value, str) else json.dumps(value)
            ciphertext = self.encrypt(name, plain)
        setattr(self.communicator, f"{name}_ct", ciphertext)

    def open(self, name: str, accessor: str, purpose: str) -> Any:
        """The field's value, or None when empty; the read is logged."""
        ciphertext = getattr(self.communicator, f"{name}_ct")
        if ciphertext is None:
            return None
        plain = self.decrypt(name, ciphertext, accessor, purpose)
        return json.loads(plain) if name == "languages" else plain


# -- reading the log (admins) ---------------------------------------------------------
LOG_PAGE = 200


def _readers(reader_id: uuid.UUID) -> list[str]:
    """The accessor labels a person's reads carry (svyaz.actors.Actor.label)."""
    return [f"{role}:{reader_id}" for role in sorted(ROLES | {"enrolling"})]


def list_log(
    session: Session,
    actor: Actor,
    offset: int,
    limit: int,
    filters: dict[str, Any],
) -> dict[str, Any]:
    """The access log, newest first, a page at a time, for admins.

    Each row names who read (a staff account's id and the role the log recorded, or
    the service that read), whose record (a communicator's pseudonym, or a staff
    account's id for a read of a staff email), which field and the purpose given.
    Never a value: the log holds none, and listing it decrypts nothing."""
    actor.require(ADMIN)
    conditions = []
    if filters.get("communicator_id") is not None:
        conditions.append(PiiAccess.communicator_id == filters["communicator_id"])
    if filters.get("reader_id") is not None:
        conditions.append(PiiAccess.accessor.in_(_readers(filters["reader_id"])))
    if filters.get("since") is not None:
        conditions.append(PiiAccess.at >= filters["since"])
    if filters.get("until") is not None:
        conditions.append(PiiAccess.at < filters["until"])
    total = session.scalar(
        select(func.count()).select_from(PiiAccess).where(*conditions)
    )
    rows = list(
        session.scalars(
            select(PiiAccess)
            .where(*conditions)
            .order_by(PiiAccess.id.desc())
            .offset(offset)
            .limit(min(limit, LOG_PAGE))
        )
    )
    pseudonyms: dict[uuid.UUID, str] = dict(
        session.execute(
            select(Communicator.id, Communicator.pseudonym).where(
                Communicator.id.in_({row.communicator_id for row in rows})
            )
        ).all()
    )
    return {"items": [_log_item(row, pseudonyms) for row in rows], "total": total or 0}


def _log_item(row: PiiAccess, pseudonyms: dict[uuid.UUID, str]) -> dict[str, Any]:
    role, _, reader = row.accessor.partition(":")
    person = bool(reader) and role in ROLES | {"enrolling"}
    pseudonym = pseudonyms.get(row.communicator_id)
    staff = pseudonym is None and row.field.startswith("staff_")
    return {
        "id": row.id,
        "at": row.at,
        "reader_id": reader if person else None,
        "reader_roles": [role] if person else None,
        "reader_service": None if person else row.accessor,
        "subject": "staff" if staff else "communicator",
        "communicator_id": None if staff else row.communicator_id,
        "pseudonym": pseudonym,
        "staff_account_id": row.communicator_id if staff else None,
        "field": row.field,
        "purpose": row.purpose,
    }
