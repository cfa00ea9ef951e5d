"""`python -m insights.rebuild` on the real PostgreSQL: a long history takes longer
than a session's statement limit (svyaz.migrations.SESSION_LIMITS), so the rebuild's
transaction alone is not limited, while every other session of the database is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg2
import pytest
from sqlalchemy import text

from insights import rebuild
from insights.logic import facts
from tests.conftest import PG_ADMIN


def test_the_rebuild_is_not_bounded_by_the_statement_limit(
    database: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    url = database("insights")
    name = url.rsplit("/", 1)[1]
    direct = f"{PG_ADMIN}/{name}"  # a new session of the server's own, pooler or not
    with psycopg2.connect(direct) as conn, conn.cursor() as cur:
        cur.execute(f"ALTER DATABASE \"{name}\" SET statement_timeout = '50ms'")
    conn.close()
    seen: list[str] = []
    original = facts.rebuild

    def watched(session: Any) -> int:
        seen.append(session.execute(text("SHOW statement_timeout")).scalar_one())
        return original(session)

    monkeypatch.setattr(facts, "rebuild", watched)
    config = tmp_path / "config.yml"
    config.write_text(f"DB_URI: {url}\n")
    assert rebuild.main(["--config", str(config)]) == 0
    assert seen == ["0"]
    assert "rebuilt the read model from 0 events" in capsys.readouterr().out
    # every other session of the database keeps the limit
    with psycopg2.connect(direct) as conn, conn.cursor() as cur:
        cur.execute("SHOW statement_timeout")
        assert cur.fetchone() == ("50ms",)
    conn.close()
