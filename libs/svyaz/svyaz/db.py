"""Database plumbing shared by every service: engines, the platform tables' base.

Each service has its own database, its own declarative `Base` for its own tables, and a
copy of the platform tables (`outbox`, `processed_events`) declared on `PlatformBase`
and created by each service's first migration through `svyaz.migrations`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import DeclarativeBase

_patched = False


def make_cooperative() -> None:
    """Let psycopg2 yield to other green threads while it waits on the server."""
    global _patched
    if not _patched:
        from psycogreen.eventlet import patch_psycopg

        patch_psycopg()
        _patched = True


def make_engine(url: str, **options: Any) -> Engine:
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_size", 10)
    options.setdefault("max_overflow", 5)
    options.setdefault("pool_recycle", 1800)
    return create_engine(url, **options)


class PlatformBase(DeclarativeBase):
    """Declarative base of the platform tables that live in every service database."""
