"""Events the notifications service publishes (none yet)."""

from svyaz.envelope import EventSpec

PRODUCER = "notifications"

PUBLISHED: tuple[EventSpec, ...] = ()
