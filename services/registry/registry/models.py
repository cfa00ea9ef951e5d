"""Registry tables. Personal fields hold ciphertext only (svyaz.crypto); the rules that
need no I/O live here as methods."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta

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
from svyaz.actors import STAFF_ROLES

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

# what an erased person's free text becomes (vetting reasons, approvals, review notes)
ERASED_MARKER = "[erased]"
TIER_PREFIX = "tier "  # a tier change's reason: "tier <tier>: <free text>"


def erased_reason(reason: str) -> str:
    """A decision's reason once its subject is erased: the neutral marker, keeping
    only the tier a tier change names (a code, not free text). The database allows
    exactly this change (migration 0011_erasure)."""
    if reason.startswith(TIER_PREFIX):
        return f"{reason.split(':', 1)[0]}: {ERASED_MARKER}"
    return ERASED_MARKER


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
    # no longer written or read (revision 0010 cleared it): a vouch is a Vouch row,
    # confirmed by the member; the column goes in a later revision
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
    # blind indexes (svyaz.crypto.KeyRing.blind_index): `<kid>.<hmac>`
    email_index: Mapped[str | None] = mapped_column(String(100), index=True)
    phone_index: Mapped[str | None] = mapped_column(String(100), index=True)
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

    def approvals_needed(self, vouched: bool) -> int:
        """An applicant with a confirmed vouch (Vouch.counts) needs one admin's
        approval; any other needs two."""
        return 1 if vouched else 2

    def shred(self, at: datetime) -> None:
        """Crypto-shred: destroy the data key and every trace of personal data."""
        self.wrapped_key = None
        for name in PERSONAL_FIELDS:
            setattr(self, f"{name}_ct", None)
        self.email_index = None
        self.phone_index = None
        self.voucher_id = None  # who vouched for them: a tie between two people
        self.club_id = None  # a club names a city and its coordinator
        self.pseudonym = f"erased-{self.id.hex[:12]}"
        self.erased_at = at


# A vouch request's states; "expired" is never stored: a pending request past its
# deadline reads as expired (Vouch.state).
VOUCH_STATES = ("pending", "confirmed", "declined", "expired")
VOUCH_DAYS = 14


class Vouch(Base):
    """An applicant names an active member who knows them; the member confirms or
    declines in their own console. Only a confirmed vouch counts; pending, declined
    or expired it counts as none. One per application; the decision is final."""

    __tablename__ = "vouches"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    applicant_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id"), unique=True
    )
    voucher_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id"), index=True
    )
    status: Mapped[str] = mapped_column(String(20), default="pending")
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    @classmethod
    def request(
        cls, applicant_id: uuid.UUID, voucher_id: uuid.UUID, at: datetime
    ) -> Vouch:
        return cls(
            id=uuid.uuid4(),
            applicant_id=applicant_id,
            voucher_id=voucher_id,
            status="pending",
            requested_at=at,
            expires_at=at + timedelta(days=VOUCH_DAYS),
        )

    def state(self, now: datetime) -> str:
        if self.status == "pending" and now >= self.expires_at:
            return "expired"
        return self.status

    def counts(self, now: datetime) -> bool:
        """Whether it lowers the approvals the applicant needs (with the voucher
        still active, which the caller checks)."""
        return self.state(now) == "confirmed"

    def decide(self, confirm: bool, now: datetime) -> None:
        """The voucher's answer, once, before the deadline."""
        state = self.state(now)
        if state != "pending":
            raise InvalidTransition(
                f"this vouch request is {state} and can no longer be answered",
                "vouch_not_pending",
            )
        self.status = "confirmed" if confirm else "declined"
        self.decided_at = now


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

    @classmethod
    def noted(
        cls, communicator: Communicator, actor_id: uuid.UUID, reason: str
    ) -> VettingDecision:
        """A line in the trail that leaves the status as it is (a tier, an erasure)."""
        return cls(
            communicator_id=communicator.id,
            actor_id=actor_id,
            from_status=communicator.status,
            to_status=communicator.status,
            reason=reason,
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

    def forget(self, at: datetime) -> None:
        """One of the two was erased: what they shared (the kind names an email, a
        phone or a payout account the other still has) and the note go; an open item
        is closed as withdrawn, nobody has to resolve it."""
        if self.status == "open":
            self.status, self.resolved_at = "withdrawn", at
        self.kind = "erased"
        if self.note is not None:
            self.note = ERASED_MARKER

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


class ClubChange(Base):
    """An admin put a communicator into a club, moved them or took them out
    (`club_id` None), or an applicant asked for a club in their application (the
    actor: themselves). Insert-only: the trail of who did it and when; no free
    text."""

    __tablename__ = "club_changes"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id"), index=True
    )
    club_id: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("clubs.id")
    )
    actor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
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
    # blind indexes: find the owner of a Stripe account, spot a shared destination
    account_index: Mapped[str | None] = mapped_column(String(100), unique=True)
    destination_index: Mapped[str | None] = mapped_column(String(100), index=True)
    # the destination's token that stipends binds approvals to: fixed when the
    # destination is set, never re-keyed (a new token would void approvals)
    fingerprint: Mapped[str | None] = mapped_column(String(64), index=True)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class Erasure(Base):
    """The list of erased ids and when: no personal data. It is also written to the
    erasure journal outside the database (registry.journal) so that a restored
    backup can be shredded again (`replay_erasures`)."""

    __tablename__ = "erasures"

    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )
    erased_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # when the journal got it; NULL: the next journal sync writes it
    journaled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class StripeClosure(Base):
    """A Stripe connected account (Connect) or recipient (Global Payouts) of an
    erased person, to be deleted or closed at Stripe so that Stripe drops what it
    collected. The account id is sealed under a data key of its own until then;
    once Stripe confirmed, key and ciphertext go and `closed_at` stays."""

    __tablename__ = "stripe_closures"

    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True
    )
    provider: Mapped[str] = mapped_column(String(20))
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    account_ct: Mapped[str | None] = mapped_column(Text)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def record_id(self) -> str:
        return f"stripe-closure:{self.communicator_id}"

    def closed(self, at: datetime) -> None:
        self.wrapped_key = self.account_ct = None
        self.closed_at = at


class PiiAccess(Base):
    """Every read of decrypted personal data: who, which field, why.

    Insert-only (a trigger refuses UPDATE and DELETE) and chained: each row's `hash`
    is an HMAC, under the access-log key `key_id` that only the configuration holds,
    of its content and the previous row's hash, so `verify` finds any row edited or
    deleted behind the trigger's back, even by someone who can write the database.
    Rows without a key id were chained with plain SHA-256 before the seal.
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
    key_id: Mapped[str | None] = mapped_column(String(20))


class AccessChainHead(Base):
    """One row: the newest hash of the access log and the number of rows, with an
    HMAC over both (`mac`, under access-log key `key_id`); its lock orders appends.
    No key id: the chain is not sealed yet."""

    __tablename__ = "access_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer)
    key_id: Mapped[str | None] = mapped_column(String(20))
    mac: Mapped[str | None] = mapped_column(String(64))


class AccessChainSeal(Base):
    """The cut-over from the plain SHA-256 chain: an HMAC over its head (the hash
    after `after_rows` rows), made by the registry when it first starts with an
    access-log key. The rows after it continue from `mac`. Insert-only."""

    __tablename__ = "access_chain_seals"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    after_rows: Mapped[int] = mapped_column(Integer)
    sealed_hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    mac: Mapped[str] = mapped_column(String(64))


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
    login_index: Mapped[str] = mapped_column(String(100), unique=True)
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
    # staff only: the name colleagues know them by (a first name or a nickname),
    # shown to admins in place of the account's id; not sealed, so never a legal name
    handle: Mapped[str | None] = mapped_column(String(40))
    # staff: the language of their invitation and reset mails (None: Russian)
    language: Mapped[str | None] = mapped_column(String(8))
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
        """Admins, finance and club coordinators (who read their members'
        strategies and reports) always; communicators once they turned it on."""
        return bool(self.role_set & set(STAFF_ROLES)) or self.totp_confirmed

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
