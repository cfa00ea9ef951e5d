"""Write docs/chaos.md from what `make chaos` printed (var/chaos/run.txt and
no-dedup.txt): each run's output as it was, after the machine it ran on. Nothing is
typed in by hand.

    python infra/dev/chaosreport.py var/chaos docs/chaos.md
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchreport import machine  # noqa: E402

RUNS = (
    ("run.txt", "The chaos run (inbox deduplication on)"),
    ("no-dedup.txt", "The unsafe variant (inbox deduplication off)"),
    # tests/e2e/test_failover.py with FAILOVER_LONG=1 (docs/failover.md)
    ("failover.txt", "PostgreSQL failover, long (directly and through PgBouncer)"),
)


def printed(path: Path) -> list[str]:
    """The run's own lines, without tracebacks' noise or warnings."""
    lines = path.read_text(errors="replace").splitlines()
    return [line for line in lines if line.strip() and "Warning" not in line]


def main(folder: str, target: str) -> None:
    out = [
        "# Chaos runs",
        "",
        f"Written by `make chaos` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from what",
        "`tests/chaos/run.py` printed (see docs/testing.md, the chaos run, for",
        "what it does and what each count means).",
        "",
        "## Machine",
        "",
        *machine(),
    ]
    for name, title in RUNS:
        path = Path(folder) / name
        out += ["", f"## {title}", ""]
        if not path.exists():
            out.append("(not run)")
            continue
        out += ["```", *printed(path), "```"]
    Path(target).write_text("\n".join(out) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
