"""Events per second end to end: outbox → RabbitMQ → inbox, with a PostgreSQL
transaction on both sides, beside two hand-written hops measured in the same run:

- the like-for-like baseline (the RESULT ratio's): the producer commits its own state
  row, then publishes with confirms to a quorum queue; the consumer inserts and acks
  each message (prefetch 10). The same durability as Svyaz's hop, written by hand.
- the raw reference hop, kept as a line of reference: kombu publish with confirms to
  a classic queue, no state row → consume → one PostgreSQL insert per message.

    python bench/event_hop.py     # BENCH_N=10000 events, BENCH_PRODUCERS=10,
                                  # BENCH_ROUNDS=3 paired rounds

As in production, the producing side and the consuming side are separate processes
(for the hand-written hops too), and the producing side writes from BENCH_PRODUCERS
concurrent green threads (a service's workers). Svyaz's consumer is a real nameko
container whose handler is batched as the services' are (`batch=BATCH`), and
writes its effect as theirs do, by adding a mapped object to the session: the
session's unit of work then writes a whole batch's rows in one INSERT when the batch
commits. (Until 2026-12-07 the handler ran its own INSERT per event, a round trip
each; that handler still runs once, bare, as a line of reference: a handler that
must read or write by statement per event pays those round trips.)

The Svyaz hop runs bare (no `svyaz.metrics.Observed`, message counting switched
off) and instrumented (metrics page on, the database and broker sampled every
second, the page scraped every second, a log record per handled event), so the
instrumentation's cost is a ratio measured in the same run.

The raw reference and our bare hops run once; the like-for-like hop and our
instrumented hop run in BENCH_ROUNDS alternating pairs (like, ours, like, ours, ...),
so that a machine drifting in speed over the run weighs on both sides alike. Each
pair's ratio is printed.

Last line: RESULT event_hop ratio=<median of the pairs' ours/like-for-like>
target>=1.0 (ours: instrumented); the ratio against the raw reference is printed
above it.
"""

from __future__ import annotations

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kombu  # noqa: E402
import psycopg2  # noqa: E402
from _support import (  # noqa: E402
    ROOT,
    backends_cpu,
    broker_cpu,
    bus_config,
    configure_signing,
    cpu_seconds,
    database,
    free_port,
    machine,
    result,
    vhost,
)
from marshmallow import Schema, fields  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.orm import (  # noqa: E402
    DeclarativeBase,
    Mapped,
    Session,
    mapped_column,
)

from svyaz import config as settings  # noqa: E402
from svyaz import inbox, outbox  # noqa: E402
from svyaz.db import make_cooperative, make_engine  # noqa: E402
from svyaz.dependencies import Database, OutboxRelay  # noqa: E402
from svyaz.envelope import EventSpec, ReceivedEvent  # noqa: E402
from svyaz.handlers import BATCH, event_handler  # noqa: E402
from svyaz.metrics import Observed  # noqa: E402

# 3000 until 2026-12-05: phases of about 3 s, and ratios from 0.76 to 0.99
N = int(os.environ.get("BENCH_N", "10000"))
# each round runs the like-for-like hop, then ours (instrumented): a phase is about
# 10 s, and a single pair moved from 0.74 to 1.02 between three runs of one quiet
# afternoon (2026-12-06), so the RESULT is the median of ROUNDS paired ratios
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
PRODUCERS = int(os.environ.get("BENCH_PRODUCERS", "10"))
RAW_QUEUE = kombu.Queue(
    "raw-hop",
    kombu.Exchange("raw", type="topic", durable=True),
    routing_key="hop",
    durable=True,
)
LIKE_QUEUE = kombu.Queue(
    "like-hop",
    kombu.Exchange("like", type="topic", durable=True),
    routing_key="hop",
    durable=True,
    queue_arguments={"x-queue-type": "quorum"},
)


class HopV1(Schema):
    n = fields.Integer(required=True)


HOP = EventSpec("bench", "hop.happened.v1", HopV1)

# how the handler writes its effect: "orm" adds a mapped object to the session, as
# the services' handlers do (`session.add`; the unit of work writes a batch's rows
# in one INSERT at its flush); "statement" runs its own INSERT for each event (one
# round trip each), as the bench's handler did until 2026-12-07
HANDLER = os.environ.get("BENCH_HANDLER", "orm")


class Base(DeclarativeBase):
    pass


class Effect(Base):
    """A row of `bench_effects`, which has no key of its own in the database (as
    `like_effects` has none): the mapper takes `n`, unique per event, as its key."""

    __tablename__ = "bench_effects"
    n: Mapped[int] = mapped_column(primary_key=True)


class BenchService:
    name = "bench"
    db = Database()
    outbox = OutboxRelay()

    @event_handler("bench", "hop.happened.v1", batch=BATCH)
    def on_hop_happened(self, event: ReceivedEvent) -> None:
        with self.db.transaction() as session:
            if inbox.claim(session, event):
                if HANDLER == "statement":
                    session.execute(
                        text("INSERT INTO bench_effects (n) VALUES (:n)"),
                        {"n": event.data["n"]},
                    )
                else:
                    session.add(Effect(n=event.data["n"]))


def service_config(amqp_uri: str, db_url: str) -> dict:
    config = settings.load(ROOT / "services" / "stipends" / "config.yml")
    config.pop("LOGGING", None)
    config.update(AMQP_URI=amqp_uri, DB_URI=db_url, OUTBOX_POLL_INTERVAL=0.02)
    config.update(bus_config("bench"))
    return config


def run_producers(produce_one) -> None:  # type: ignore[no-untyped-def]
    """Wait for "go" on stdin, then write N events from PRODUCERS green threads."""
    print("ready", flush=True)
    sys.stdin.readline()

    def worker(first: int) -> None:
        for n in range(first, N, PRODUCERS):
            produce_one(n)

    threads = [eventlet.spawn(worker, first) for first in range(PRODUCERS)]
    for thread in threads:
        thread.wait()


# -- the roles, each in its own process -----------------------------------------


def raw_produce(amqp_uri: str, db_url: str) -> None:
    hand_produce(amqp_uri, db_url, RAW_QUEUE, state=False)


def like_produce(amqp_uri: str, db_url: str) -> None:
    hand_produce(amqp_uri, db_url, LIKE_QUEUE, state=True)


def hand_produce(amqp_uri: str, db_url: str, queue: kombu.Queue, state: bool) -> None:
    """Per green thread: (commit a state row, then) publish with confirms."""
    producers = {}
    dsn = db_url.replace("postgresql+psycopg2://", "postgresql://")

    def produce_one(n: int) -> None:
        key = eventlet.getcurrent()
        if key not in producers:
            conn = kombu.Connection(
                amqp_uri, transport_options={"confirm_publish": True}
            )
            producers[key] = (
                conn.Producer(serializer="json"),
                psycopg2.connect(dsn) if state else None,
            )
        producer, pg = producers[key]
        if pg is not None:
            with pg, pg.cursor() as cursor:  # one transaction, committed
                cursor.execute("INSERT INTO like_source (n) VALUES (%s)", (n,))
        producer.publish(
            {"n": n}, exchange=queue.exchange, routing_key="hop", delivery_mode=2
        )

    run_producers(produce_one)


def raw_consume(amqp_uri: str, db_url: str) -> None:
    hand_consume(amqp_uri, db_url, RAW_QUEUE, "raw_effects")


def like_consume(amqp_uri: str, db_url: str) -> None:
    hand_consume(amqp_uri, db_url, LIKE_QUEUE, "like_effects")


def hand_consume(amqp_uri: str, db_url: str, queue: kombu.Queue, table: str) -> None:
    """Insert (autocommit) then ack each message, prefetch 10."""
    pg = psycopg2.connect(db_url.replace("postgresql+psycopg2://", "postgresql://"))
    pg.autocommit = True
    cursor = pg.cursor()
    insert = f"INSERT INTO {table} (n) VALUES (%s)"  # noqa: S608 - a fixed name

    def on_message(body, message):  # type: ignore[no-untyped-def]
        cursor.execute(insert, (body["n"],))
        message.ack()

    with kombu.Connection(amqp_uri) as conn:
        with conn.Consumer(queue, callbacks=[on_message], accept=["json"]) as c:
            c.qos(prefetch_count=10)
            print("ready", flush=True)
            while True:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass


def our_produce(amqp_uri: str, db_url: str) -> None:
    engine = make_engine(db_url, pool_size=PRODUCERS)  # as a service's: no pre-ping

    def produce_one(n: int) -> None:
        # a service's unit of work: the state change and its event, one transaction
        with Session(engine) as session, session.begin():
            session.execute(text("INSERT INTO bench_source (n) VALUES (:n)"), {"n": n})
            outbox.add(session, HOP.build(f"hop:{n % 50}", n=n))

    run_producers(produce_one)


class ObservedBenchService(BenchService):
    observed = Observed()


def our_relay_and_consume(amqp_uri: str, db_url: str) -> None:
    from nameko.containers import ServiceContainer

    from svyaz import metrics

    config = service_config(amqp_uri, db_url)
    port = int(os.environ.get("BENCH_METRICS_PORT") or 0)
    if port:
        config.update(METRICS_PORT=port, METRICS_SAMPLE_SECONDS=1)
        service = ObservedBenchService
    else:
        metrics.message = lambda *args, **kwargs: None  # bare: nothing counted
        service = BenchService
    container = ServiceContainer(service, config)
    container.start()
    print("ready", flush=True)
    container.wait()


ROLES = {
    "raw-produce": raw_produce,
    "raw-consume": raw_consume,
    "like-produce": like_produce,
    "like-consume": like_consume,
    "our-produce": our_produce,
    "our-consume": our_relay_and_consume,
}


# -- the orchestrator --------------------------------------------------------------


def spawn(
    role: str, amqp_uri: str, db_url: str, metrics_port: int = 0, handler: str = ""
) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, role, amqp_uri, db_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={
            **os.environ,
            "BENCH_METRICS_PORT": str(metrics_port),
            "BENCH_HANDLER": handler or HANDLER,
        },
    )
    line = process.stdout.readline().strip() if process.stdout else ""
    if line != "ready":
        process.kill()
        raise SystemExit(f"{role} did not start ({line!r})")
    return process


def count(engine, table: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar())


def scrape_every_second(port: int) -> Any:
    """A green thread reading the metrics page every second, as Prometheus would."""
    import urllib.request

    def run() -> None:
        while True:
            with urllib.request.urlopen(  # noqa: S310 - loopback
                f"http://127.0.0.1:{port}/metrics", timeout=5
            ) as page:
                page.read()
            eventlet.sleep(1)

    return eventlet.spawn(run)


def hop(
    kind: str,
    amqp_uri: str,
    db_url: str,
    table: str,
    replicas: int = 1,
    observed: bool = False,
    label: str = "",
    handler: str = "",
) -> float:
    """N events from the producer to `table`, through `replicas` consumer processes
    on the same queue; events per second. Prints each process's CPU per event.
    `observed`: the consumers serve metrics pages, scraped every second; `handler`:
    how our handler writes (see HANDLER)."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {table}"))
    ports = [free_port() if observed else 0 for _ in range(replicas)]
    consumers = [spawn(f"{kind}-consume", amqp_uri, db_url, p, handler) for p in ports]
    scrapers = [scrape_every_second(p) for p in ports if p]
    producer = spawn(f"{kind}-produce", amqp_uri, db_url)
    kind = label or kind
    everyone = (producer, *consumers)
    db_name = db_url.rsplit("/", 1)[1]

    def spent() -> dict[str, float]:
        return {
            **{str(p.pid): cpu_seconds(p.pid) for p in everyone},
            "postgresql": backends_cpu(db_name),
            "rabbitmq": broker_cpu(),
        }

    before = spent()  # start-up not counted
    try:
        started = time.perf_counter()
        assert producer.stdin is not None
        producer.stdin.write("go\n")
        producer.stdin.flush()
        deadline = time.monotonic() + 600
        while count(engine, table) < N:
            if time.monotonic() > deadline:
                raise SystemExit(f"{kind}: timed out")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        time.sleep(0.2)
        assert count(engine, table) == N, "every event exactly once"
        after = spent()  # before the clients disconnect: their backends count
        named = [("producer", str(producer.pid))] + [
            (f"consumer {i + 1}" if replicas > 1 else "consumer", str(c.pid))
            for i, c in enumerate(consumers)
        ]
        named += [("postgresql", "postgresql"), ("rabbitmq", "rabbitmq")]
        per_event = {name: (after[k] - before[k]) / N * 1000 for name, k in named}
        print(
            f"{kind} cpu per event (ms): "
            + ", ".join(f"{name} {ms:.2f}" for name, ms in per_event.items())
            + f"; all {sum(per_event.values()):.2f}",
            flush=True,
        )
    finally:
        for scraper in scrapers:
            scraper.kill()
        for process in everyone:
            process.terminate()
            process.wait(timeout=30)
        engine.dispose()
    return N / elapsed


def main() -> None:
    configure_signing("stipends")
    with vhost() as amqp_uri, database("stipends") as db_url:
        engine = create_engine(db_url)
        with engine.begin() as conn:
            for table in (
                "raw_effects",
                "like_source",
                "like_effects",
                "bench_source",
                "bench_effects",
            ):
                conn.execute(text(f"CREATE TABLE {table} (n int)"))
        with kombu.Connection(amqp_uri) as conn:
            RAW_QUEUE(conn.channel()).declare()
            LIKE_QUEUE(conn.channel()).declare()
        engine.dispose()
        raw = hop("raw", amqp_uri, db_url, "raw_effects")
        bare = hop("our", amqp_uri, db_url, "bench_effects", label="our bare")
        by_statement = hop(
            "our",
            amqp_uri,
            db_url,
            "bench_effects",
            label="our bare, an INSERT per event",
            handler="statement",
        )
        pairs = []
        for round_ in range(1, ROUNDS + 1):
            like = hop("like", amqp_uri, db_url, "like_effects", label="like-for-like")
            ours = hop(
                "our",
                amqp_uri,
                db_url,
                "bench_effects",
                observed=True,
                label="our metrics",
            )
            print(
                f"round {round_}: like-for-like {like:,.0f} events/s, ours "
                f"{ours:,.0f} events/s, ratio {ours / like:.3f}",
                flush=True,
            )
            pairs.append((ours / like, like, ours))
    ratio, like, ours = sorted(pairs)[len(pairs) // 2]  # the median pair
    figures = {
        "raw_events_per_s": round(raw),
        "like_for_like_events_per_s": round(like),
        "svyaz_bare_events_per_s": round(bare),
        "svyaz_bare_insert_per_event_events_per_s": round(by_statement),
        "svyaz_events_per_s": round(ours),
        "instrumented_over_bare": round(ours / bare, 3),
        "svyaz_over_raw": round(ours / raw, 3),
        "round_ratios": [round(p[0], 3) for p in pairs],
    }
    print(f"machine: {machine()}")
    print(
        f"events: {N}; producing green threads: {PRODUCERS}; batch: {BATCH}; "
        f"rounds: {ROUNDS} (the median round below)"
    )
    print(
        "raw reference hop (publish+confirm to a classic queue -> consume -> "
        f"insert): {raw:,.0f} events/s"
    )
    print(
        "like-for-like hop (commit a state row, publish+confirm to a quorum queue "
        f"-> consume -> insert -> ack): {like:,.0f} events/s"
    )
    print(f"svyaz hop, bare (tx+outbox -> relay -> tx+inbox): {bare:,.0f} events/s")
    print(
        "svyaz hop, bare, the handler running its own INSERT per event instead of "
        f"adding to the session: {by_statement:,.0f} events/s"
    )
    print(f"svyaz hop, metrics on and scraped every second: {ours:,.0f} events/s")
    print(f"instrumentation: instrumented/bare = {ours / bare:.3f}")
    print(f"against the raw reference: svyaz/raw = {ours / raw:.2f}")
    print(
        "rounds' ratios (ours/like-for-like): "
        + ", ".join(f"{p[0]:.2f}" for p in pairs)
    )
    print(f"FIGURES {json.dumps(figures)}")
    result("event_hop", ratio, ">=1.0")


if __name__ == "__main__":
    if len(sys.argv) == 4:
        make_cooperative()
        configure_signing("stipends")
        ROLES[sys.argv[1]](sys.argv[2], sys.argv[3])
    else:
        main()
