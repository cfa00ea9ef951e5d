"""The erasure journal: the erased ids and when, in a file outside the database.

A backup of the registry's database taken before an erasure brings the person's data
back when it is restored, and the `erasures` table with it loses the ids erased
since. The journal is what a restore does not roll back: an append-only text file
(ERASURE_JOURNAL) on storage that is kept apart from the database and its backups.
`replay_erasures` shreds again every id it lists that the restored database holds
with data.

One line per erasure, `<communicator id> <erased at, UTC ISO-8601>`: random ids and
dates, no personal data. Lines are appended whole and fsync'd; a reader skips a line
it cannot parse (a torn last line after a crash) and a repeated id counts once, so
copies can be concatenated and the newest copy of the file is always enough.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)


class Journal:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def append(self, entries: Iterable[tuple[uuid.UUID, datetime]]) -> int:
        """Write the entries, durably, before answering; how many were written."""
        lines = [f"{ident} {at.isoformat()}\n" for ident, at in entries]
        if not lines:
            return 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        created = not self.path.exists()
        fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            data = "".join(lines).encode()
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                # a torn last line (a crash mid-write): end it, so that the first
                # entry written now is a line of its own and not lost with it
                data = b"\n" + data
            while data:  # a short write goes on where it stopped
                data = data[os.write(fd, data) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:  # the new file's name, durably, in its directory
            directory = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        return len(lines)

    def read(self) -> dict[uuid.UUID, datetime]:
        """Every id in the journal with its first erasure time; {} when none yet."""
        found: dict[uuid.UUID, datetime] = {}
        try:
            text = self.path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return found
        for number, line in enumerate(text.splitlines(), 1):
            try:
                ident, at = line.split()
                found.setdefault(uuid.UUID(ident), datetime.fromisoformat(at))
            except ValueError:
                log.warning("erasure journal line %s skipped: not an entry", number)
        return found
