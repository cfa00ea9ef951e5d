"""Prometheus metrics of a Svyaz process, and the correlation id of its log lines.

One registry per process: `prometheus_client`'s default one. A service runs as one
`nameko run` process whose workers are green threads sharing that registry, so a
counter is the process's count; each replica is its own process on its own
`METRICS_PORT` (0 or empty: no metrics page), and Prometheus scrapes every replica
and sums them (`sum by (queue) (...)`). The page listens on `METRICS_HOST`
(127.0.0.1 unless set), never on the gateway's public address.

No label holds personal data or an id: labels are queue names, RPC method names,
route templates (`/api/v1/communicators/<uuid:id>`, never the URL), statuses,
providers, channels and reason *kinds* (a closed list below), so the number of series
is bounded by the code, not by the traffic.

`Observed()`, a dependency every service declares, starts the page, freezes the
process's start-up heap (`svyaz.heap`, `HEAP_FREEZE`), times every worker by
entrypoint, puts the worker's correlation id on every log line it writes,
and every `METRICS_SAMPLE_SECONDS` samples what only the database and the broker
know: the outbox's waiting rows and the age of the oldest, the consumers and ready
messages of the service's queues, and what the service's own `sample(session)` sets
(payouts by state, deliveries by channel and state...).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import prometheus_client
from nameko.extensions import DependencyProvider
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from svyaz import settings as typed
from svyaz.context import bind_correlation, correlation_id, safe_id

log = logging.getLogger(__name__)
# no `<name>_created` series beside each counter and histogram (when each label set
# was first seen): nothing reads them, and they were a third of every page, scraped
# in the service's own event loop (a page of the stipends' size: 1.2 ms, 0.8 without)
prometheus_client.disable_created_metrics()
HTTP_CORRELATION = "svyaz.correlation_id"  # the WSGI environ key the gateway sets

# -- messages -------------------------------------------------------------------------
MESSAGES = Counter(
    "svyaz_messages",
    "Messages taken from a queue, by outcome (handled, retried, parked, refused) "
    "and reason kind",
    ["queue", "outcome", "reason"],
)
# the closed list of reason kinds: a parking reason's text never becomes a label
REASONS = (
    "none",
    "malformed",
    "bad_signature",
    "unprocessable",
    "failed",
    "replayed",
    "refused",
)
HANDLER_SECONDS = Histogram(
    "svyaz_handler_seconds",
    "Time a worker took, by entrypoint kind (rpc, event, timer, http) and name",
    ["kind", "name", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# -- RPC, as the caller sees it -------------------------------------------------------
RPC_CALLS = Counter(
    "svyaz_rpc_calls",
    "RPC calls made, by called service, method and outcome (ok, error, timeout)",
    ["service", "method", "outcome"],
)
RPC_SECONDS = Histogram(
    "svyaz_rpc_seconds",
    "Time an RPC call waited for its answer, by called service and method",
    ["service", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
# -- the database and the broker, sampled ---------------------------------------------
OUTBOX_WAITING = Gauge(
    "svyaz_outbox_waiting", "Outbox rows not yet published", ["producer"]
)
OUTBOX_OLDEST = Gauge(
    "svyaz_outbox_oldest_seconds",
    "Age of the oldest outbox row not yet published (0: none waiting)",
    ["producer"],
)
QUEUE_CONSUMERS = Gauge(
    "svyaz_queue_consumers", "Consumers on a queue this service consumes", ["queue"]
)
QUEUE_READY = Gauge(
    "svyaz_queue_ready", "Messages waiting in a queue this service consumes", ["queue"]
)
SAMPLED_AT = Gauge(
    "svyaz_sampled_timestamp_seconds",
    "When the database and broker were last sampled (unix time)",
)


def reason_kind(reason: str) -> str:
    """The kind of a parking or refusal reason (one of `REASONS`)."""
    text = reason.lower()
    if text.startswith("replayed"):
        return "replayed"
    if text.startswith("refused"):
        return (
            "bad_signature"
            if ("signature" in text or "signed" in text)
            else ("refused")
        )
    if text.startswith("malformed"):
        return "malformed"
    if text.startswith("unprocessable"):
        return "unprocessable"
    return "failed"


def queue_label(queue: str) -> str:
    """A reply queue's name holds a per-process uuid: all of them are one label."""
    return "rpc.reply" if queue.startswith("rpc.reply") else queue


def message(queue: str, outcome: str, reason: str = "none") -> None:
    """Count a message taken from `queue`: handled, retried, parked or refused."""
    kind = reason if reason in REASONS else reason_kind(reason)
    MESSAGES.labels(queue_label(queue), outcome, kind).inc()


@contextmanager
def rpc_call(service: str, method: str) -> Iterator[None]:
    """Time and count one RPC call (`svyaz.rpc_proxy.MethodProxy`)."""
    started = time.perf_counter()
    outcome = "error"
    try:
        yield
        outcome = "ok"
    except Exception as exc:
        if type(exc).__name__ == "RpcTimeout":
            outcome = "timeout"
        raise
    finally:
        RPC_SECONDS.labels(service, method).observe(time.perf_counter() - started)
        RPC_CALLS.labels(service, method, outcome).inc()


# -- the page -------------------------------------------------------------------------
_served: dict[int, Any] = {}
_served_lock = threading.Lock()


def port_of(config: Any) -> int:
    value = str(config.get("METRICS_PORT") or "0").strip()
    try:
        return int(value)
    except ValueError:
        return 0


def serve(config: Any) -> int:
    """Start this process's metrics page on `METRICS_PORT` (once per process; a
    second container in the same process shares it). Returns the port, 0 if off."""
    port = port_of(config)
    if port <= 0:
        return 0
    host = str(config.get("METRICS_HOST") or "127.0.0.1")
    with _served_lock:
        if port not in _served:
            _served[port] = start_http_server(port, addr=host)
            log.info("metrics on %s:%s/metrics", host, port)
    return port


def entrypoint_kind(entrypoint: Any) -> str:
    name = type(entrypoint).__name__.lower()
    for kind in ("rpc", "event", "timer", "http"):
        if kind in name:
            return kind
    return "other" if "handler" not in name else "event"


def _sample_outbox(session: Any, producer_name: str) -> None:
    from sqlalchemy import text

    rows = session.execute(
        text(
            "SELECT producer, count(*), "
            "coalesce(extract(epoch FROM now() - min(created_at)), 0) "
            "FROM outbox WHERE sent_at IS NULL GROUP BY producer"
        )
    ).all()
    seen = set()
    OUTBOX_WAITING.labels(producer_name)  # shown at 0 before any row waits
    OUTBOX_OLDEST.labels(producer_name)
    for producer, waiting, oldest in rows:
        seen.add(producer)
        OUTBOX_WAITING.labels(producer).set(waiting)
        OUTBOX_OLDEST.labels(producer).set(float(oldest))
    for labels in list(OUTBOX_WAITING._metrics):  # noqa: SLF001 - zero the drained
        if labels[0] not in seen:
            OUTBOX_WAITING.labels(*labels).set(0)
            OUTBOX_OLDEST.labels(*labels).set(0)


class _QueueSampler:
    """Each queue's consumers and ready messages, by passive declares on one
    connection and one channel kept between samples (a new connection and a channel
    per queue cost about 10 ms of CPU a sample, against 2.5 ms). A queue not
    declared yet closes the channel (the broker's 404): it counts no consumer and
    the next queue gets a new channel. A broken connection is dropped, and the next
    sample opens another."""

    def __init__(self, amqp_uri: str) -> None:
        self.amqp_uri = amqp_uri
        self.connection: Any = None
        self.channel: Any = None

    def sample(self, queues: list[str]) -> None:
        import kombu
        from amqp.exceptions import NotFound

        try:
            if self.connection is None:
                self.connection = kombu.Connection(self.amqp_uri, connect_timeout=5)
                self.connection.connect()
            for queue in queues:
                if self.channel is None:
                    self.channel = self.connection.channel()
                try:
                    declared = self.channel.queue_declare(queue, passive=True)
                except NotFound:  # not declared (yet): nobody consumes
                    self.channel = None  # the broker closed it
                    QUEUE_CONSUMERS.labels(queue).set(0)
                    continue
                QUEUE_CONSUMERS.labels(queue).set(declared.consumer_count)
                QUEUE_READY.labels(queue).set(declared.message_count)
        except Exception:
            self.close()
            raise

    def close(self) -> None:
        connection, self.connection, self.channel = self.connection, None, None
        if connection is not None:
            try:
                connection.release()
            except Exception:  # noqa: BLE001, S110 - it is being dropped anyway
                pass


class _Observed:
    """What `Observed` does, without nameko (so that a test can drive it)."""

    def __init__(
        self,
        sample: Callable[[Any], None] | None,
        sessionmaker: Any,
        amqp_uri: str,
        queues: list[str],
        outbox: bool = True,
        service: str = "",
    ) -> None:
        self.service = service
        self.outbox = outbox
        self.sample = sample
        self.sessionmaker = sessionmaker
        self.amqp_uri = amqp_uri
        self.queues = queues
        self.queue_sampler = _QueueSampler(amqp_uri)

    def run_once(self) -> None:
        if self.sessionmaker is not None:
            # committed: a service's sample may write (svyaz.tallies folds)
            with self.sessionmaker() as session, session.begin():
                if self.outbox:
                    _sample_outbox(session, self.service)
                if self.sample is not None:
                    self.sample(session)
        if self.queues:
            self.queue_sampler.sample(self.queues)
        SAMPLED_AT.set(time.time())


class Observed(DependencyProvider):
    """`observed = Observed(sample=my_sample)` on a service class: metrics page,
    worker timings, the correlation id on log lines, and sampling (see the module's
    docstring). `sample(session)` sets the service's own gauges."""

    def __init__(
        self, sample: Callable[[Any], None] | None = None, outbox: bool = True
    ) -> None:
        self.sample_fn = sample
        self.outbox = outbox

    def setup(self) -> None:
        config = self.container.config
        self.port = serve(config)
        self.interval = float(config.get("METRICS_SAMPLE_SECONDS") or 15.0)
        self._running = False
        self._gt: Any = None
        self._started: dict[Any, float] = {}
        self.sampler: _Observed | None = None
        if not self.port:
            return
        from nameko.constants import AMQP_URI_CONFIG_KEY

        from svyaz.db import make_cooperative, make_engine

        queues = sorted(
            {
                name
                for entrypoint in self.container.entrypoints
                for name in [_queue_of(entrypoint)]
                if name
            }
        )
        for queue in queues:  # at 0 from the start: the first one counts as a rise
            MESSAGES.labels(queue_label(queue), "handled", "none")
            for reason in REASONS[1:]:
                MESSAGES.labels(queue_label(queue), "parked", reason)
        sessionmaker = None
        if config.get("DB_URI") and (self.outbox or self.sample_fn):
            from sqlalchemy.orm import sessionmaker as make_sessionmaker

            make_cooperative()
            self.engine = make_engine(
                str(config["DB_URI"]), pool_size=1, max_overflow=0
            )
            sessionmaker = make_sessionmaker(self.engine)
        self.sampler = _Observed(
            self.sample_fn,
            sessionmaker,
            config[AMQP_URI_CONFIG_KEY],
            queues,
            self.outbox,
            self.container.service_name,
        )

    def start(self) -> None:
        from svyaz import heap

        self._freezer = None
        if typed.of(self.container, heap.Settings).freeze:
            self._freezer = self.container.spawn_managed_thread(
                self._freeze_heap, identifier="heap_freezer"
            )
        if self.sampler is not None:
            self._running = True
            self._gt = self.container.spawn_managed_thread(
                self._run, identifier="metrics_sampler"
            )

    @staticmethod
    def _freeze_heap() -> None:
        """`svyaz.heap.freeze` once the service has started, and after its
        warm-up: no full collection walks what start-up made (40-70 ms each)."""
        import eventlet

        from svyaz import heap

        eventlet.sleep(1.0)  # the other extensions are starting beside this
        heap.freeze()
        eventlet.sleep(heap.WARM_UP)
        heap.freeze()

    def _run(self) -> None:
        import random

        import eventlet

        # first wait: the consumers are starting beside this thread; then each
        # process keeps a phase of its own, so that processes started together do
        # not all sample the database and the broker in the same moment (together,
        # at one sample a second, they lengthened the slowest requests by a quarter)
        phase = self.interval * (0.5 + random.random())  # noqa: S311 - not a secret
        eventlet.sleep(phase)
        while self._running:
            try:
                if self.sampler is not None:
                    self.sampler.run_once()
            except Exception as exc:  # noqa: BLE001 - sampling must keep going
                log.warning("metrics sampling failed: %s", type(exc).__name__)
            eventlet.sleep(self.interval)

    def _halt(self) -> None:
        self._running = False
        freezer = getattr(self, "_freezer", None)
        if freezer is not None:
            freezer.kill()
            self._freezer = None
        if self._gt is not None:
            self._gt.kill()
            self._gt = None
        engine = getattr(self, "engine", None)
        if engine is not None:
            engine.dispose()
        if self.sampler is not None:
            self.sampler.queue_sampler.close()

    def stop(self) -> None:
        self._halt()

    def kill(self) -> None:
        self._halt()

    def worker_setup(self, worker_ctx: Any) -> None:
        request = worker_ctx.args[0] if worker_ctx.args else None
        environ = getattr(request, "environ", None)
        if isinstance(environ, dict):  # an HTTP request: the id the gateway gave it
            value = safe_id(environ.get(HTTP_CORRELATION))
            if value:
                worker_ctx.data.setdefault("correlation_id", value)
        bind_correlation(correlation_id(worker_ctx))
        self._started[worker_ctx] = time.perf_counter()

    def worker_result(
        self, worker_ctx: Any, result: Any = None, exc_info: Any = None
    ) -> None:
        started = self._started.pop(worker_ctx, None)
        if started is None:
            return
        kind = entrypoint_kind(worker_ctx.entrypoint)
        name = worker_ctx.entrypoint.method_name
        outcome = "ok" if exc_info is None else "error"
        took = time.perf_counter() - started
        HANDLER_SECONDS.labels(kind, name, outcome).observe(took)
        if kind in ("rpc", "event"):  # the bus's access log (timers tick too often)
            log.info(
                "%s %s %s %.1f ms",
                kind,
                name,
                outcome if exc_info is None else type(exc_info[1]).__name__,
                took * 1000,
            )

    def worker_teardown(self, worker_ctx: Any) -> None:
        self._started.pop(worker_ctx, None)
        bind_correlation(None)


def _queue_of(entrypoint: Any) -> str | None:
    queue = getattr(entrypoint, "queue", None)
    if queue is not None and getattr(queue, "name", None):
        return str(queue.name)
    consumer = getattr(entrypoint, "rpc_consumer", None)
    if consumer is not None:
        return f"rpc-{entrypoint.container.service_name}"
    return None
