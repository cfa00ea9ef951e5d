"""The stipends service's own metrics: payouts by state and provider, the age of
the oldest payout not final and how many are past their deadline, provider errors
by kind, rate-limit waits, and reconciliation differences open. Labels are states,
providers and closed lists of kinds: never an id or an amount.

`sample(session)` is what `svyaz.metrics.Observed` calls every
`METRICS_SAMPLE_SECONDS`; the counters are counted where the work happens
(`stipends.logic.payouts.phases`)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import text

from stipends.payouts.models import PROVIDERS
from svyaz import tallies

PAYOUTS = Gauge("svyaz_payouts", "Payouts by state and provider", ["state", "provider"])
PAYOUT_OLDEST_OPEN = Gauge(
    "svyaz_payout_oldest_open_seconds",
    "Age of the oldest payout not final (queued, calling or sent); 0: none",
)
PAYOUTS_OVERDUE = Gauge(
    "svyaz_payouts_overdue",
    "Payouts not final past their deadline (a person must look at them)",
    ["provider"],
)
PROVIDER_ERRORS = Counter(
    "svyaz_provider_errors",
    "Provider calls that did not send a payment, by provider and kind "
    "(unavailable, rate_limited, exception, or a failure reason)",
    ["provider", "kind"],
)
RATE_LIMIT_WAITS = Counter(
    "svyaz_rate_limit_waits",
    "Times a payout call waited for the shared rate limit",
    ["bucket"],
)
RATE_LIMIT_SECONDS = Counter(
    "svyaz_rate_limit_wait_seconds",
    "Seconds payout calls waited for the shared rate limit",
    ["bucket"],
)
RECONCILIATION_OPEN = Gauge(
    "svyaz_reconciliation_differences_open",
    "Reconciliation differences still open, by provider",
    ["provider"],
)


for _provider in PROVIDERS:  # at 0 from the start: the first error counts as a rise
    for _kind in ("unavailable", "exception", "rate_limited"):
        PROVIDER_ERRORS.labels(_provider, _kind)


def provider_outcome(provider: str, outcome: Any) -> None:
    """Count a provider's answer that was not a payment sent."""
    from stipends.events import FAILURE_REASONS

    if provider not in PROVIDERS:
        provider = "other"
    if outcome.status in ("sent", "paid"):
        return
    if outcome.rate_limited:
        kind = "rate_limited"
    elif outcome.status == "failed":
        kind = outcome.reason if outcome.reason in FAILURE_REASONS else "failed"
    else:
        kind = "unavailable"
    PROVIDER_ERRORS.labels(provider, kind).inc()


def provider_exception(provider: str) -> None:
    PROVIDER_ERRORS.labels(
        provider if provider in PROVIDERS else "other", "exception"
    ).inc()


def rate_limit_wait(bucket: str, seconds: float) -> None:
    RATE_LIMIT_WAITS.labels(bucket).inc()
    RATE_LIMIT_SECONDS.labels(bucket).inc(seconds)


def sample(session: Any) -> None:
    from stipends.payouts.models import OPEN_STATUSES, PAYOUT_STATUSES, PAYOUT_TALLY

    counts = {
        (state, provider): 0 for state in PAYOUT_STATUSES for provider in PROVIDERS
    }
    counts.update(tallies.read(session, PAYOUT_TALLY))  # not a count of every payout
    for (state, provider), count in counts.items():
        PAYOUTS.labels(state, provider).set(count)
    oldest = session.execute(
        text(
            "SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0) "
            "FROM payouts WHERE status = ANY(:open)"
        ),
        {"open": list(OPEN_STATUSES)},
    ).scalar_one()
    PAYOUT_OLDEST_OPEN.set(float(oldest))
    overdue = {provider: 0 for provider in PROVIDERS}
    for provider, count in session.execute(
        text(
            "SELECT provider, count(*) FROM payouts WHERE status = ANY(:open) "
            "AND deadline_at < now() GROUP BY 1"
        ),
        {"open": list(OPEN_STATUSES)},
    ):
        overdue[provider] = count
    for provider, count in overdue.items():
        PAYOUTS_OVERDUE.labels(provider).set(count)
    differences = {provider: 0 for provider in PROVIDERS}
    for provider, count in session.execute(
        text(
            "SELECT r.provider, count(*) FROM reconciliation_items i "
            "JOIN reconciliations r ON r.id = i.reconciliation_id "
            "WHERE i.state = 'open' AND r.status <> 'superseded' GROUP BY 1"
        )
    ):
        differences[provider] = count
    for provider, count in differences.items():
        RECONCILIATION_OPEN.labels(provider).set(count)
