"""Events the insights service publishes: none. It only listens (logic.facts)."""

from svyaz.envelope import EventSpec

PRODUCER = "insights"

PUBLISHED: tuple[EventSpec, ...] = ()
