"""Stipends tables."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Communicator(Base):
    """What stipends knows of a communicator, from the registry's events: the id, the
    pseudonym, and what decides eligibility and payouts. No personal data."""

    __tablename__ = "communicators"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    pseudonym: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="applied")
    tier: Mapped[str] = mapped_column(String(20), default="volunteer")
    training_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    club_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    payout_provider: Mapped[str | None] = mapped_column(String(20))
    payout_ready: Mapped[bool] = mapped_column(Boolean, default=False)
    destination_fingerprint: Mapped[str | None] = mapped_column(String(64))
    erased: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}
