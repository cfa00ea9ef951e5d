"""The metrics page a service serves: its own series, without a `_created` series
beside each counter and histogram (nothing reads them; they cost a third of the
page's time, in the service's own event loop)."""

from prometheus_client import REGISTRY, generate_latest

from svyaz import metrics


def test_the_page_has_no_created_series() -> None:
    metrics.MESSAGES.labels("bench.queue", "handled", "none").inc()
    metrics.HANDLER_SECONDS.labels("rpc", "bench_method", "ok").observe(0.01)
    page = generate_latest(REGISTRY).decode()
    assert 'svyaz_messages_total{outcome="handled",queue="bench.queue"' in page
    assert "svyaz_handler_seconds_bucket" in page
    assert "_created" not in page
