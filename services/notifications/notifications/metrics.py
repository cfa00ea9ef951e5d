"""The notifications service's own metrics: deliveries by channel and state,
sampled by `svyaz.metrics.Observed` every `METRICS_SAMPLE_SECONDS`. Labels are
channels and states (closed lists): never a recipient."""

from __future__ import annotations

from typing import Any

from prometheus_client import Gauge
from sqlalchemy import text

from notifications.channels import EMAIL, INBOX, TELEGRAM
from notifications.models import DELIVERY_TALLY, DISCARDED, PARKED, PENDING, SENT
from svyaz import tallies

CHANNELS = (EMAIL, INBOX, TELEGRAM)
STATES = (PENDING, SENT, PARKED, DISCARDED)

DELIVERIES = Gauge(
    "svyaz_deliveries", "Deliveries by channel and state", ["channel", "state"]
)
OLDEST_PENDING = Gauge(
    "svyaz_delivery_oldest_due_seconds",
    "How long the most overdue pending delivery has been due (0: none)",
)


def sample(session: Any) -> None:
    counts = {(channel, state): 0 for channel in CHANNELS for state in STATES}
    for (channel, state), count in tallies.read(session, DELIVERY_TALLY).items():
        if (channel, state) in counts:  # not a count of every delivery
            counts[(channel, state)] = count
    for (channel, state), count in counts.items():
        DELIVERIES.labels(channel, state).set(count)
    overdue = session.execute(
        text(
            "SELECT coalesce(extract(epoch FROM now() - min(due_at)), 0) "
            "FROM deliveries WHERE status = 'pending' AND due_at < now()"
        )
    ).scalar_one()
    OLDEST_PENDING.set(max(0.0, float(overdue)))
