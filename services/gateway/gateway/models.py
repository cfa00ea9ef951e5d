"""Gateway tables: web sessions, throttling buckets and applicants' drafts. No
personal data it can read: a session knows the actor's id, roles and the registry's
signed assertion of them, never their name or email; a bucket knows only a keyed
hash; a draft is ciphertext under a key only the applicant's cookie holds."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class WebSession(Base):
    """A signed-in browser. Only the token's hash is stored; `stage` is `full`, or
    `enroll` while a staff member who gave their password sets up TOTP."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    actor_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), index=True)
    roles: Mapped[str] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(20))
    csrf_token: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(2), default="ru")
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # who is signed in, as the registry signed it (svyaz.assertions): passed with
    # every call, renewed before it runs out
    assertion: Mapped[str | None] = mapped_column(Text)
    assertion_expires_at: Mapped[datetime | None] = mapped_column(
        DateTime(timezone=True)
    )

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)


class Throttle(Base):
    """One throttling bucket: how many attempts it has seen in the window that ends
    at `expires_at`. `key` is an HMAC under the gateway's THROTTLE_KEY of the bucket
    (route family, scope, client address / account), never the address or email
    itself; the row is deleted when its window ends (gateway.throttles.purge)."""

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    hits: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class ApplicationDraft(Base):
    """An applicant's saved draft (gateway.drafts): AES-GCM ciphertext under a key
    that only the applicant's cookie holds, stored under the SHA-256 of the random
    id in the same cookie; deleted when sent, discarded or run out."""

    __tablename__ = "application_drafts"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sealed: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
