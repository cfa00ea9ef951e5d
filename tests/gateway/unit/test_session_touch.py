"""A session's last_seen is written at most once a TOUCH_EVERY (every API call reads
its session; a write on each made every call wait on a commit), and an idle session
still ends no later than IDLE after the last request."""

from datetime import UTC, datetime, timedelta
from typing import Any

from gateway import logic
from gateway.models import WebSession

START = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


class Rows:
    """The two calls `logic.current` makes on a session."""

    def __init__(self, row: WebSession) -> None:
        self.row: WebSession | None = row

    def get(self, _model: Any, _key: str) -> WebSession | None:
        return self.row

    def delete(self, row: WebSession) -> None:
        assert row is self.row
        self.row = None


def session_row() -> WebSession:
    return WebSession(
        token_hash="x",
        actor_id=None,
        roles="communicator",
        stage="full",
        last_seen=START,
        expires_at=START + logic.ABSOLUTE,
    )


def test_last_seen_is_written_once_a_minute_not_on_every_request() -> None:
    rows = Rows(session_row())
    seen = []
    for seconds in (1, 30, 59, 60, 61, 100, 125):
        row = logic.current(rows, "token", START + timedelta(seconds=seconds))  # type: ignore[arg-type]
        assert row is not None
        seen.append((seconds, row.last_seen))
    written = [s for s, last in seen if last == START + timedelta(seconds=s)]
    assert written == [60, 125]  # 60 s after START, then 60 s after 60


def test_an_idle_session_ends_no_later_than_idle_after_the_last_request() -> None:
    rows = Rows(session_row())
    last_request = START + logic.TOUCH_EVERY - timedelta(seconds=1)  # not written
    assert logic.current(rows, "token", last_request) is not None  # type: ignore[arg-type]
    assert rows.row is not None and rows.row.last_seen == START
    assert logic.current(rows, "token", last_request + logic.IDLE) is None  # type: ignore[arg-type]
    assert rows.row is None  # ended, and deleted
