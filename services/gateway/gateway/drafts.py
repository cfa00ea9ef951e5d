"""An applicant's draft, kept so that only the applicant's browser can read it.

The application form is open to anyone, so a saved draft belongs to no account: it
would otherwise be a stranger's name and email on the server under an anonymous
cookie. Instead:

- The browser holds a handle, in one HttpOnly, SameSite=Strict cookie limited to
  `/apply` (Secure unless COOKIE_SECURE is false): a random 256-bit id and a random
  256-bit key, made here and never stored or logged.
- The server stores, under the SHA-256 of the id, only the draft sealed with AES-GCM
  under that key (svyaz.crypto.encrypt_field, the id's hash as associated data), and
  when it runs out (APPLY_DRAFT_HOURS after the last save). Without the cookie the
  row cannot be read, and the key is not in the database, its backups or the logs.
- The password and the consent are never in a draft.
- Sending the application, *Delete the draft*, or the quick exit of the form
  (`/apply/leave`) deletes the row and the cookie; a row that ran out is deleted by
  the gateway's timer (APPLY_DRAFT_PURGE_INTERVAL) whether or not its browser ever
  comes back.

Plain functions over a session and plain values (no nameko, no environment)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gateway.models import ApplicationDraft
from svyaz.crypto import DecryptionError, decrypt_field, encrypt_field

COOKIE = "apply_draft"
COOKIE_PATH = "/apply"
# the form's fields a draft keeps: never the password, the consent or its version
KEPT = ("pseudonym", "legal_name", "email", "country", "city", "motivation", "referral")
LANGUAGES = "languages"
_PURPOSE = "application_draft"  # the associated data's field name


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Handle:
    """What the applicant's cookie holds: the draft's id and its key."""

    draft_id: bytes
    key: bytes

    @classmethod
    def new(cls) -> Handle:
        return cls(secrets.token_bytes(32), secrets.token_bytes(32))

    @classmethod
    def parse(cls, cookie: str | None) -> Handle | None:
        """The handle in a cookie's value; None when absent or not one."""
        if not cookie or cookie.count(".") != 1:
            return None
        try:
            draft_id, key = (_unb64(part) for part in cookie.split("."))
        except (binascii.Error, ValueError):
            return None
        if len(draft_id) != 32 or len(key) != 32:
            return None
        return cls(draft_id, key)

    @property
    def cookie(self) -> str:
        return f"{_b64(self.draft_id)}.{_b64(self.key)}"

    @property
    def row_key(self) -> str:
        """The row's primary key: the id's SHA-256, so that the database alone
        does not even give the id a cookie would need."""
        return hashlib.sha256(self.draft_id).hexdigest()


def kept(values: dict[str, str], languages: list[str]) -> dict[str, Any]:
    """What of the form a draft keeps (KEPT and the languages ticked)."""
    draft: dict[str, Any] = {name: values.get(name, "") for name in KEPT}
    draft[LANGUAGES] = list(languages)
    return draft


def seal(handle: Handle, draft: dict[str, Any]) -> str:
    """The draft, AES-GCM under the handle's key, bound to its row."""
    plain = json.dumps(draft, ensure_ascii=False, separators=(",", ":"))
    return encrypt_field(handle.key, plain, handle.row_key, _PURPOSE)


def unseal(handle: Handle, sealed: str) -> dict[str, Any]:
    """The draft sealed under this handle; DecryptionError for any other key or
    row, or an altered ciphertext."""
    draft = json.loads(decrypt_field(handle.key, sealed, handle.row_key, _PURPOSE))
    if not isinstance(draft, dict):
        raise DecryptionError("not a draft")
    return kept(
        {name: str(draft.get(name) or "") for name in KEPT},
        [str(code) for code in draft.get(LANGUAGES) or []],
    )


def save(
    session: Session,
    handle: Handle,
    draft: dict[str, Any],
    keep_for: timedelta,
    now: datetime | None = None,
) -> datetime:
    """Store (or replace) the sealed draft; when it runs out."""
    now = now or datetime.now(UTC)
    expires_at = now + keep_for
    sealed = seal(handle, draft)
    statement = insert(ApplicationDraft).values(
        key=handle.row_key, sealed=sealed, expires_at=expires_at
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[ApplicationDraft.key],
            set_={"sealed": sealed, "expires_at": expires_at},
        )
    )
    return expires_at


@dataclass(frozen=True)
class Found:
    draft: dict[str, Any]
    expires_at: datetime


def load(
    session: Session, handle: Handle | None, now: datetime | None = None
) -> Found | None:
    """The draft of this handle while it lasts; None when there is none (never
    saved, sent, deleted, run out) or it cannot be opened with this key."""
    if handle is None:
        return None
    now = now or datetime.now(UTC)
    row = session.get(ApplicationDraft, handle.row_key)
    if row is None or row.expires_at <= now:
        return None
    try:
        return Found(unseal(handle, row.sealed), row.expires_at)
    except (DecryptionError, ValueError):
        return None


def discard(session: Session, handle: Handle | None) -> int:
    """Delete this handle's draft; how many rows (0 or 1)."""
    if handle is None:
        return 0
    result = session.execute(
        delete(ApplicationDraft).where(ApplicationDraft.key == handle.row_key)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def purge(session: Session, now: datetime | None = None) -> int:
    """Delete every draft that ran out; how many (one statement)."""
    now = now or datetime.now(UTC)
    result = session.execute(
        delete(ApplicationDraft).where(ApplicationDraft.expires_at <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
