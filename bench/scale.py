"""Scale-out: the event hop of bench/event_hop.py (a producer's transaction with its
outbox row → relay → RabbitMQ → a consumer's transaction with its inbox row) with one
and with two replicas of the consuming service, each its own process with its relay
and its consumer on the same queue. Measured in the same run on the same machine, so
the way past one machine is measured, not assumed.

    python bench/scale.py     # BENCH_N=3000 events, BENCH_PRODUCERS=10

Last line: RESULT scale ratio=<two replicas / one> target>=1.5
"""

from __future__ import annotations

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _support import configure_signing, database, machine, result, vhost  # noqa: E402
from event_hop import PRODUCERS, N, count, cpu_seconds, spawn  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402


def hop(replicas: int, amqp_uri: str, db_url: str) -> float:
    engine = create_engine(db_url)
    with engine.begin() as conn:  # each run from nothing
        conn.execute(
            text("TRUNCATE bench_source, bench_effects, outbox, processed_events")
        )
    consumers = [spawn("our-consume", amqp_uri, db_url) for _ in range(replicas)]
    producer = spawn("our-produce", amqp_uri, db_url)
    try:
        started = time.perf_counter()
        assert producer.stdin is not None
        producer.stdin.write("go\n")
        producer.stdin.flush()
        deadline = time.monotonic() + 600
        while count(engine, "bench_effects") < N:
            if time.monotonic() > deadline:
                raise SystemExit(f"{replicas} replicas: timed out")
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        time.sleep(0.5)
        assert count(engine, "bench_effects") == N, "every event exactly once"
        shares = [cpu_seconds(c.pid) for c in consumers]
        print(
            f"{replicas} replica(s): {N / elapsed:,.0f} events/s; consumer cpu "
            + ", ".join(f"{s:.1f} s" for s in shares),
            flush=True,
        )
    finally:
        for process in (producer, *consumers):
            process.terminate()
            process.wait(timeout=30)
        engine.dispose()
    return N / elapsed


def main() -> None:
    configure_signing("stipends")
    with vhost() as amqp_uri, database("stipends") as db_url:
        engine = create_engine(db_url)
        with engine.begin() as conn:
            for table in ("bench_source", "bench_effects"):
                conn.execute(text(f"CREATE TABLE {table} (n int)"))
        engine.dispose()
        one = hop(1, amqp_uri, db_url)
        two = hop(2, amqp_uri, db_url)
    print(f"machine: {machine()}")
    print(f"events: {N}; producing green threads: {PRODUCERS}")
    print(f"one replica: {one:,.0f} events/s; two replicas: {two:,.0f} events/s")
    result("scale", two / one, ">=1.5")


if __name__ == "__main__":
    main()
