"""Before each benchmark of `make bench`: let the machine settle after the one before.

A benchmark leaves work behind when it ends: PostgreSQL has the pages its runs
dirtied still to write (its next checkpoint then flushes them while the next
benchmark commits, and a commit waits behind the flush), its dropped database and
RabbitMQ's deleted vhost are cleaned up in the background. Measured on 2026-12-07:
`bench/gateway.py` run straight after `bench/event_hop.py` (the machine's load 2.4)
had requests stall up to 195 ms and a p99 of 79 ms; alone on a quiet machine, minutes
later, its slowest request took 60 ms and its p99 50 ms.

So: a CHECKPOINT now (the dirty pages written before the measurement, not during
it), then a wait until the two cores are idle (at most 60 s). Prints one line.

    python bench/_settle.py
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psycopg2

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import PG  # noqa: E402

IDLE = 0.85  # the share of the machine's CPU time idle over a window
WINDOW = 2.0  # seconds
LONGEST = 60.0  # seconds: a machine busy with something else is not waited for


def cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of all CPUs since boot."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return idle, sum(fields[:8])


def idle_share(seconds: float) -> float:
    idle_before, total_before = cpu_times()
    time.sleep(seconds)
    idle_after, total_after = cpu_times()
    return (idle_after - idle_before) / max(1, total_after - total_before)


def main() -> None:
    started = time.monotonic()
    connection = psycopg2.connect(f"{PG}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")
    connection.close()
    share = idle_share(WINDOW)
    while share < IDLE and time.monotonic() - started < LONGEST:
        share = idle_share(WINDOW)
    waited = time.monotonic() - started
    state = "settled" if share >= IDLE else "still busy"
    print(
        f"[bench] {state} after {waited:.1f} s (checkpoint, then {share:.0%} idle "
        f"over {WINDOW:g} s; load average {os.getloadavg()[0]:.2f})",
        flush=True,
    )


if __name__ == "__main__":
    main()
