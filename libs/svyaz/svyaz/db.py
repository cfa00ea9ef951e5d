"""Database plumbing shared by every service: engines, the platform tables' base.

Each service has its own database, its own declarative `Base` for its own tables, and a
copy of the platform tables (`outbox`, `processed_events`) declared on `PlatformBase`
and created by each service's first migration through `svyaz.migrations`.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
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


def copy_in(session: Any, statement: str, lines: Iterable[bytes]) -> None:
    """COPY ... FROM STDIN from `lines` (CSV bytes) on the session's connection.

    psycopg2 cannot COPY under a wait callback (the green one above), so the lines
    are first spooled to a temporary file (their producer may wait on the network and
    let other green threads run), then copied with the callback suspended: reading a
    local file never yields, so no other green thread runs until it is back. Memory
    stays flat: the spool moves to disk past a few megabytes."""
    import psycopg2.extensions

    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        for line in lines:
            spool.write(line)
        spool.seek(0)
        cursor = session.connection().connection.cursor()
        saved = psycopg2.extensions.get_wait_callback()
        psycopg2.extensions.set_wait_callback(None)
        try:
            cursor.copy_expert(statement, spool)
        finally:
            psycopg2.extensions.set_wait_callback(saved)
            cursor.close()
