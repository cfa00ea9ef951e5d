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
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import event_hop  # noqa: E402
from _support import configure_signing, database, machine, result, vhost  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402


def hop(replicas: int, amqp_uri: str, db_url: str) -> float:
    engine = create_engine(db_url)
    with engine.begin() as conn:  # each run from nothing
        conn.execute(
            text("TRUNCATE bench_source, bench_effects, outbox, processed_events")
        )
    engine.dispose()
    rate = event_hop.hop("our", amqp_uri, db_url, "bench_effects", replicas)
    print(f"{replicas} replica(s): {rate:,.0f} events/s", flush=True)
    return rate


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
    print(f"events: {event_hop.N}; producing green threads: {event_hop.PRODUCERS}")
    print(f"one replica: {one:,.0f} events/s; two replicas: {two:,.0f} events/s")
    result("scale", two / one, ">=1.5")


if __name__ == "__main__":
    main()
