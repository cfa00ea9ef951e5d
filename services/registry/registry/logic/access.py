"""Every decryption of personal data, logged in an insert-only hash chain.

Each row's hash covers the previous row's hash and its own content. Appends lock the
single `access_chain_head` row, so concurrent readers extend the chain one at a time.
`verify` walks the chain: an edited row no longer matches its hash, a deleted row
breaks the link to its successor, and a deleted last row no longer matches the head.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from registry.logic.actors import ROLES, Actor
from registry.models import PERSONAL_FIELDS, AccessChainHead, Communicator, PiiAccess
from svyaz.actors import ADMIN
from svyaz.crypto import KeyRing, decrypt_field, encrypt_field

GENESIS = "0" * 64


def chain_hash(prev: str, row: Any) -> str:
    parts = [
        prev,
        str(row.id),
        str(row.communicator_id),
        row.accessor,
        row.field,
        row.purpose,
        row.at.isoformat(),
    ]
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def record_read(
    session: Session,
    communicator_id: uuid.UUID,
    accessor: str,
    field_name: str,
    purpose: str,
) -> PiiAccess:
    head = session.execute(
        select(AccessChainHead).where(AccessChainHead.id == 1).with_for_update()
    ).scalar_one()
    row = PiiAccess(
        id=session.scalar(text("SELECT nextval('pii_access_log_id_seq')")),
        communicator_id=communicator_id,
        accessor=accessor[:100],
        field=field_name,
        purpose=purpose[:200],
        at=datetime.now(UTC),
        prev_hash=head.hash,
    )
    row.hash = chain_hash(head.hash, row)
    session.add(row)
    head.hash, head.count = row.hash, head.count + 1
    return row


@dataclass
class ChainReport:
    rows: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def verify(session: Session) -> ChainReport:
    report = ChainReport()
    prev = GENESIS
    for row in session.execute(select(PiiAccess).order_by(PiiAccess.id)).scalars():
        report.rows += 1
        if row.prev_hash != prev:
            report.problems.append(
                f"row {row.id}: the row before it is missing or was changed"
            )
        if chain_hash(row.prev_hash, row) != row.hash:
            report.problems.append(f"row {row.id}: its content was changed")
        prev = row.hash
    head = session.get(AccessChainHead, 1)
    if head is None or head.hash != prev or head.count != report.rows:
        report.problems.append("the newest rows are missing")
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
        record_read(self.session, self.communicator.id, accessor, name, purpose)
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
