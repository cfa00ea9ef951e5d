"""Registry tables. Personal fields hold ciphertext only (svyaz.crypto)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Communicator(Base):
    __tablename__ = "communicators"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    pseudonym: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20), default="applied")
    language: Mapped[str] = mapped_column(String(2))
    # personal data: ciphertext under the communicator's data key, which is wrapped
    # by a master key; NULL data key = erased
    wrapped_key: Mapped[str | None] = mapped_column(Text)
    email_ct: Mapped[str | None] = mapped_column(Text)
    email_index: Mapped[str | None] = mapped_column(String(64), unique=True)
    country_ct: Mapped[str | None] = mapped_column(Text)
    applied_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class PiiAccess(Base):
    """Every read of decrypted personal data: who, which field, why. Insert-only."""

    __tablename__ = "pii_access_log"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    communicator_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("communicators.id")
    )
    accessor: Mapped[str] = mapped_column(String(100))
    field: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
