"""The garbage collector's pauses in a long-running service process.

CPython's full collection (its oldest generation) walks every object the process
holds. A service process after start-up holds about 130,000 (SQLAlchemy's mappers
and statement caches, marshmallow schemas, nameko, templates): one full collection
took 40-70 ms here (2026-12-05), a pause for whichever request is in flight, longer
than a report save's whole median. Nearly all of those objects live as long as the
process.

`freeze()` collects, then moves every object left into the permanent generation
(`gc.freeze`), which no collection walks: what the start-up made is never walked
again, and what is made later is collected as before. Collecting first means no
garbage is frozen. `Observed` (every service declares it) freezes once the service
has started and once more after `WARM_UP` seconds, when the first requests have
filled the caches they keep.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass

from svyaz import settings as typed

log = logging.getLogger(__name__)

WARM_UP = 60.0  # seconds after the start: the second freeze


@dataclass(frozen=True)
class Settings(typed.Settings):
    # off for a test process that starts and stops many containers: a frozen heap
    # would keep the cycles of those alive at the freeze
    freeze: bool = typed.setting("HEAP_FREEZE", True)


def freeze() -> int:
    """Collect, then freeze what is left; the number of objects frozen so far."""
    began = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "heap frozen: %s objects (took %.0f ms)",
        frozen,
        (time.perf_counter() - began) * 1000,
    )
    return frozen
