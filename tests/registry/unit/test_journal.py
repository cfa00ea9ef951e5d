"""The erasure journal: an entry written after a crash tore the last line is kept."""

import uuid
from datetime import UTC, datetime
from pathlib import Path

from registry.journal import Journal


def test_an_entry_after_a_torn_last_line_is_a_line_of_its_own(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "erasures" / "erasures.journal")
    first, second = uuid.uuid4(), uuid.uuid4()
    at = datetime(2026, 12, 5, 6, 30, tzinfo=UTC)
    assert journal.append([(first, at)]) == 1
    with open(journal.path, "a") as torn:  # a crash in the middle of a write
        torn.write(f"{uuid.uuid4()} 2026-12-05T06:3")
    assert journal.append([(second, at)]) == 1
    found = journal.read()
    assert found[first] == at and found[second] == at
    assert len(found) == 2  # the torn entry is skipped, never merged into another


def test_entries_append_and_a_repeated_id_counts_once(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "erasures.journal")
    ident = uuid.uuid4()
    early = datetime(2026, 12, 1, tzinfo=UTC)
    journal.append([(ident, early)])
    journal.append([(ident, datetime(2026, 12, 2, tzinfo=UTC))])
    assert journal.read() == {ident: early}
    assert journal.path.read_text().count("\n") == 2
