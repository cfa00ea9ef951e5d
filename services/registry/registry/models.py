"""Registry tables. Personal fields hold ciphertext only (svyaz.crypto); the rules that
need no I/O live here as methods."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, validates

from registry import pseudonyms
from registry.exceptions import InvalidTransition

# Personal fields: each stored as <name>_ct, encrypted under the person's data key.
PERSONAL_FIELDS = (
    "legal_name",
    "email",
    "phone",
    "messenger",
    "country",
    "city",
    "languages",
    "motivation",
)

# status -> the statuses an admin may move it to
TRANSITIONS: dict[str, frozenset[str]] = {
    "applied": frozenset({"in_review", "rejected"}),
    "in_review": frozenset({"active", "rejected"}),
    "active": frozenset({"suspended", "offboarded"}),
    "suspended": frozenset({"active", "offboarded"}),
    "rejected": frozenset(),
    "offboarded": frozenset(),
}


class Base(DeclarativeBase):
    pass


class Communicator(Base):
    __tablename__ = "communicators"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    # what uniqueness compares (registry.pseudonyms.key), kept with the pseudonym
    pseudonym_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="applied")
    tier: Mapped[str] = mapped_column(String(20), default="volunteer")
    language: Mapped[str] = mapped_column(String(2))
    club_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("clubs.id")
    )
    voucher_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    consent_version: Mapped[str | None] = mapped_column(String(20))
    # NULL data key = erased: every *_ct below is then unreadable (and cleared)
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    legal_name_ct: Mapped[str | None] = mapped_column(Text)
    email_ct: Mapped[str | None] = mapped_column(Text)
    phone_ct: Mapped[str | None] = mapped_column(Text)
    messenger_ct: Mapped[str | None] = mapped_column(Text)
    country_ct: Mapped[str | None] = mapped_column(Text)
    city_ct: Mapped[str | None] = mapped_column(Text)
    languages_ct: Mapped[str | None] = mapped_column(Text)
    motivation_ct: Mapped[str | None] = mapped_column(Text)
    email_index: Mapped[str | None] = mapped_column(String(64), index=True)
    phone_index: Mapped[str | None] = mapped_column(String(64), index=True)
    applied_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    erased_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @validates("pseudonym")
    def _keep_key(self, _: str, value: str) -> str:
        self.pseudonym_key = pseudonyms.key(value)
        return value

    @property
    def erased(self) -> bool:
        return self.erased_at is not None

    def move_to(self, status: str) -> None:
        """Change status along the vetting graph, or raise InvalidTransition."""
        if self.erased:
            raise InvalidTransition("this communicator was erased", "erased")
        if status not in TRANSITIONS.get(self.status, frozenset()):
            raise InvalidTransition(
                f"a communicator cannot go from {self.status} to {status}",
                "invalid_transition",
            )
        self.status = status

    def approvals_needed(self) -> int:
        """A vouched applicant needs one admin's approval; any other needs two."""
        return 1 if self.voucher_id is not None else 2

    def shred(self, at: datetime) -> None:
        """Crypto-shred: destroy the data key and every trace of personal data."""
        self.wrapped_key = None
        for name in PERSONAL_FIELDS:
            setattr(self, f"{name}_ct", None)
        self.email_index = None
        self.phone_index = None
        self.pseudonym = f"erased-{self.id.hex[:12]}"
        self.erased_at = at


class VettingDecision(Base):
    """Every status change: who, from what, to what, and why. Insert-only."""

    __tablename__ = "vetting_decisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id")
    )
    actor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ActivationApproval(Base):
    """An admin's approval of an applicant; distinct admins fill the slots."""

    __tablename__ = "activation_approvals"

    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id"), primary_key=True
    )
    admin_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class ReviewItem(Base):
    """A dedup signal an admin resolves: never a silent block."""

    __tablename__ = "review_items"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))  # email | phone | payout_destination
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id")
    )
    other_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id")
    )
    status: Mapped[str] = mapped_column(String(20), default="open")
    resolved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    note: Mapped[str | None] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    def resolve(self, outcome: str, by: uuid.UUID, note: str, at: datetime) -> None:
        if self.status != "open":
            raise InvalidTransition("this review item is already resolved", "resolved")
        if outcome not in ("same_person", "distinct"):
            raise InvalidTransition(f"unknown outcome {outcome}", "invalid_outcome")
        self.status, self.resolved_by, self.note, self.resolved_at = (
            outcome,
            by,
            note,
            at,
        )


class Club(Base):
    __tablename__ = "clubs"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    city: Mapped[str | None] = mapped_column(String(80))
    mode: Mapped[str] = mapped_column(String(10))  # online | offline
    coordinator_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))


class Training(Base):
    __tablename__ = "trainings"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    held_on: Mapped[date] = mapped_column(Date)
    club_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("clubs.id")
    )


class TrainingCompletion(Base):
    __tablename__ = "training_completions"

    training_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("trainings.id"), primary_key=True
    )
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id"), primary_key=True
    )
    recorded_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class Corridor(Base):
    """Which payout provider serves a country of residence. Admins edit it."""

    __tablename__ = "corridors"

    country: Mapped[str] = mapped_column(String(2), primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class PayoutAccount(Base):
    """Where a communicator's money goes. The destination is personal data."""

    __tablename__ = "payout_accounts"

    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id"), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20), default="pending")
    destination_ct: Mapped[str | None] = mapped_column(Text)
    # keyed hashes: find the owner of a Stripe account, spot a shared destination
    account_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class PiiAccess(Base):
    """Every read of decrypted personal data: who, which field, why.

    Insert-only (a trigger refuses UPDATE and DELETE) and hash-chained: each row's
    `hash` covers its content and the previous row's hash, so `verify` finds any row
    edited or deleted behind the trigger's back.
    """

    __tablename__ = "pii_access_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    accessor: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AccessChainHead(Base):
    """One row: the newest hash of the access log; its lock orders appends."""

    __tablename__ = "access_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)


class ConsentText(Base):
    __tablename__ = "consent_texts"

    version: Mapped[str] = mapped_column(String(20), primary_key=True)
    current: Mapped[bool] = mapped_column(Boolean, default=False)
    body_en: Mapped[str] = mapped_column(Text)
    body_ru: Mapped[str] = mapped_column(Text)


class Account(Base):
    """A way to sign in: a communicator's (same id) or a staff member's.

    The login email is kept only as a keyed hash (to find the account) and, for staff,
    encrypted under the account's own data key (to write to them). The TOTP secret is
    encrypted the same way.
    """

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # communicator | staff
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated
    login_index: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str | None] = mapped_column(Text)
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    email_ct: Mapped[str | None] = mapped_column(Text)
    totp_ct: Mapped[str | None] = mapped_column(Text)
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # the last time step whose code was accepted: a code is good once
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)

    def needs_second_factor(self) -> bool:
        """Admins and finance always; communicators once they turned it on."""
        return bool(self.role_set & {"program_admin", "finance"}) or self.totp_confirmed

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and self.locked_until > now

    def passes_lock(self, code: str | None) -> bool:
        """A lock (or the gateway's full bucket for this account) is not a wall:
        it refuses a password alone, but lets through an attempt that comes with a
        code of a confirmed authenticator (the password and the code are then both
        checked), so a stranger's guesses cannot keep the owner out."""
        return self.totp_confirmed and bool(code)


class PasswordReset(Base):
    """A request to set a new password. The one-time token is made when the mail
    is sent (notifications asks for it) and only its hash is kept; a new request or
    a re-send replaces it; using it or its expiry ends it."""

    __tablename__ = "password_resets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # "reset", or "invitation" (a staff member sets their first password)
    purpose: Mapped[str] = mapped_column(String(20), default="reset")


class SecondFactorReset(Base):
    """A lost authenticator, reset by two different admins: one asks, another
    approves; then the person enrolls a new one themselves at their next sign-in."""

    __tablename__ = "second_factor_resets"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    requested_by: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    reason: Mapped[str] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
