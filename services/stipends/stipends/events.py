"""Events the stipends service publishes (none yet). Payloads: ids and pseudonyms."""

from svyaz.envelope import EventSpec

PRODUCER = "stipends"

PUBLISHED: tuple[EventSpec, ...] = ()
