"""Scale-out, measured honestly on a small machine: the event hop of
bench/event_hop.py (a producer's transaction with its outbox row → relay → RabbitMQ →
a consumer's transaction with its inbox row) whose handler first makes a remote call
that takes 50 ms (an HTTP service on loopback), so that a replica waits rather than
computes, as most of Svyaz's handlers do (registry lookups, SMTP, Stripe). With 1, 2
and 3 replicas of the consuming service (each its own process, its consumer on the
one quorum queue, BENCH_WORKERS workers each; the first also runs the relay that
publishes the producer's outbox), on a RabbitMQ of one node and on a cluster of three
(infra/cluster, both this bench's own, on free ports).

For each run: events per second, and the CPU seconds each part spent per event (the
replicas, the producer, the RabbitMQ node(s), the database's backends), so that the
efficiency (events per CPU-second of the replicas) says what more cores would carry.

    python bench/scale.py     # BENCH_SCALE_N=1200 events, BENCH_WORKERS=4

Last line: RESULT scale ratio=<two replicas / one, I/O-bound, one node> target>=1.8
(the efficiency, events per CPU-second with two replicas / one, is printed beside it
with its target >= 0.9).
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
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "infra" / "cluster"))

import event_hop  # noqa: E402
from _support import (  # noqa: E402
    backends_cpu,
    configure_signing,
    cpu_seconds,
    database,
    free_port,
    group_cpu,
    machine,
    result,
)
from cluster import Cluster  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from svyaz import inbox  # noqa: E402
from svyaz.db import make_cooperative  # noqa: E402
from svyaz.envelope import ReceivedEvent  # noqa: E402
from svyaz.handlers import event_handler  # noqa: E402

N = int(os.environ.get("BENCH_SCALE_N", "1200"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "4"))
REMOTE_SECONDS = 0.05
REPLICAS = (1, 2, 3)


class RemoteBoundService(event_hop.BenchService):
    """The hop's consumer, whose handler first asks a remote service (50 ms)."""

    name = "bench"

    @event_handler("bench", "hop.happened.v1")
    def on_hop_happened(self, event: ReceivedEvent) -> None:
        remote = os.environ["BENCH_REMOTE"]
        with urllib.request.urlopen(remote, timeout=10) as answer:  # noqa: S310
            answer.read()
        with self.db.transaction() as session:
            if inbox.claim(session, event):
                session.execute(
                    text("INSERT INTO bench_effects (n) VALUES (:n)"),
                    {"n": event.data["n"]},
                )


def remote(port: int) -> None:
    """The remote service: answers every request after 50 ms, many at once."""
    from eventlet import wsgi

    def app(environ: Any, start_response: Any) -> list[bytes]:
        eventlet.sleep(REMOTE_SECONDS)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    sock = eventlet.listen(("127.0.0.1", port))
    print("ready", flush=True)
    wsgi.server(sock, app, log_output=False, max_size=1000)


def consume(amqp_uri: str, db_url: str) -> None:
    from nameko.containers import ServiceContainer

    from svyaz import metrics

    config = event_hop.service_config(amqp_uri, db_url)
    config["max_workers"] = WORKERS
    metrics.message = lambda *args, **kwargs: None  # bare: nothing counted
    container = ServiceContainer(RemoteBoundService, config)
    container.start()
    print("ready", flush=True)
    container.wait()


def spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, __file__, *argv],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )
    line = process.stdout.readline().strip() if process.stdout else ""
    if line != "ready":
        process.kill()
        raise SystemExit(f"{argv[0]} did not start ({line!r})")
    return process


def rotated(uri: str, by: int) -> str:
    """The failover URI starting on another node (replicas spread over nodes)."""
    nodes = uri.split(";")
    by %= len(nodes)
    return ";".join(nodes[by:] + nodes[:by])


def run(
    replicas: int, amqp_uri: str, db_url: str, cluster: Cluster, remote_url: str
) -> dict[str, float]:
    engine = create_engine(db_url)
    with engine.begin() as conn:  # each run from nothing
        conn.execute(
            text("TRUNCATE bench_source, bench_effects, outbox, processed_events")
        )
    env = {"BENCH_REMOTE": remote_url}
    # the producer's events are relayed once, as the producing service's relay
    # would: by the first replica (the others' relays would only race it for the
    # same rows); what the replicas scale is the consuming side
    consumers = [
        spawn(
            ["consume", rotated(amqp_uri, i), db_url],
            {**env, "OUTBOX_RELAY_ENABLED": "true" if i == 0 else "false"},
        )
        for i in range(replicas)
    ]
    producer = event_hop.spawn("our-produce", amqp_uri, db_url)
    db_name = db_url.rsplit("/", 1)[1]
    nodes = [n.process.pid for n in cluster.nodes if n.process]
    before = {
        "replicas": sum(cpu_seconds(c.pid) for c in consumers),
        "producer": cpu_seconds(producer.pid),
        "rabbitmq": sum(group_cpu(pid) for pid in nodes),
        "postgresql": backends_cpu(db_name),
    }
    try:
        started = time.perf_counter()
        assert producer.stdin is not None
        producer.stdin.write("go\n")
        producer.stdin.flush()
        deadline = time.monotonic() + 600
        relayed = 0.0
        while event_hop.count(engine, "bench_effects") < N:
            if time.monotonic() > deadline:
                raise SystemExit(f"{replicas} replica(s): timed out")
            if not relayed and event_hop.count(engine, "outbox") >= N:
                with engine.connect() as conn:
                    unsent = conn.execute(
                        text("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
                    ).scalar()
                relayed = 0.0 if unsent else time.perf_counter() - started
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        time.sleep(0.2)
        assert event_hop.count(engine, "bench_effects") == N, "each event once"
        cpu = {
            "replicas": sum(cpu_seconds(c.pid) for c in consumers),
            "producer": cpu_seconds(producer.pid),
            "rabbitmq": sum(group_cpu(pid) for pid in nodes),
            "postgresql": backends_cpu(db_name),
        }
    finally:
        for process in (producer, *consumers):
            process.terminate()
            process.wait(timeout=30)
        engine.dispose()
    spent = {part: cpu[part] - before[part] for part in cpu}
    # the replicas' start-up (imports, container) is not the hop's: their CPU at
    # "ready" is taken off above; the producer's too
    figures = {"events_per_s": N / elapsed, "seconds": elapsed, "relayed": relayed}
    for part, seconds in spent.items():
        figures[f"{part}_cpu_ms_per_event"] = seconds / N * 1000
    figures["events_per_replica_cpu_s"] = N / spent["replicas"]
    figures["events_per_cpu_s"] = N / sum(spent.values())
    return figures


def on_broker(
    size: int, db_url: str, remote_url: str, base: Path
) -> dict[int, dict[str, float]]:
    cluster = Cluster(base / f"n{size}", size=size, prefix="svyaz-bench-", ports=None)
    cluster.start()
    try:
        amqp_uri = cluster.uris()
        measured = {}
        for replicas in REPLICAS:
            figures = run(replicas, amqp_uri, db_url, cluster, remote_url)
            measured[replicas] = figures
            print(
                f"{size} node(s), {replicas} replica(s): "
                f"{figures['events_per_s']:,.0f} events/s; cpu per event (ms): "
                f"replicas {figures['replicas_cpu_ms_per_event']:.2f}, "
                f"producer {figures['producer_cpu_ms_per_event']:.2f}, "
                f"rabbitmq {figures['rabbitmq_cpu_ms_per_event']:.2f}, "
                f"postgresql {figures['postgresql_cpu_ms_per_event']:.2f}; "
                f"{figures['events_per_replica_cpu_s']:,.0f} events per replica "
                f"CPU-second; every event on the bus after {figures['relayed']:.1f} "
                f"of {figures['seconds']:.1f} s",
                flush=True,
            )
        return measured
    finally:
        cluster.clean()


def main() -> None:
    os.environ["BENCH_N"] = str(N)  # the producer's (bench/event_hop.py's role)
    configure_signing("stipends")
    port = free_port()
    server = spawn(["remote", str(port)], {})
    remote_url = f"http://127.0.0.1:{port}/"
    try:
        with (
            database("stipends") as db_url,
            tempfile.TemporaryDirectory(prefix="svyaz-scale-") as base,
        ):
            engine = create_engine(db_url)
            with engine.begin() as conn:
                for table in ("bench_source", "bench_effects"):
                    conn.execute(text(f"CREATE TABLE {table} (n int)"))
            engine.dispose()
            one_node = on_broker(1, db_url, remote_url, Path(base))
            three_nodes = on_broker(3, db_url, remote_url, Path(base))
    finally:
        server.terminate()
        server.wait(timeout=30)
    one, two = one_node[1], one_node[2]
    ratio = two["events_per_s"] / one["events_per_s"]
    efficiency = two["events_per_replica_cpu_s"] / one["events_per_replica_cpu_s"]
    ceiling = WORKERS / REMOTE_SECONDS
    per_cpu_s = one_node[2]["events_per_cpu_s"]
    print(f"machine: {machine()}")
    print(
        f"events: {N} per run; {WORKERS} workers per replica, each handling waits "
        f"{REMOTE_SECONDS * 1000:.0f} ms on a remote call (at most {ceiling:.0f} "
        "events/s per replica)"
    )
    for replicas in REPLICAS:
        print(
            f"{replicas} replica(s): one node "
            f"{one_node[replicas]['events_per_s']:,.0f} events/s, three nodes "
            f"{three_nodes[replicas]['events_per_s']:,.0f} events/s"
        )
    print(
        f"three nodes / one, two replicas: "
        f"{three_nodes[2]['events_per_s'] / two['events_per_s']:.2f} events/s; "
        f"rabbitmq cpu per event {three_nodes[2]['rabbitmq_cpu_ms_per_event']:.2f} "
        f"ms against {two['rabbitmq_cpu_ms_per_event']:.2f} ms"
    )
    print(
        f"efficiency: events per replica CPU-second, two replicas / one = "
        f"{efficiency:.2f} target>=0.9"
    )
    print(
        f"prediction: the whole hop (replicas, producer, RabbitMQ, PostgreSQL) "
        f"costs {1000 / per_cpu_s:.2f} ms of CPU per event with two replicas on one "
        f"node, so a core carries about {per_cpu_s:,.0f} events/s of it; a machine "
        f"with 8 cores about {8 * per_cpu_s:,.0f}/s and 16 cores about "
        f"{16 * per_cpu_s:,.0f}/s, each replica adding up to {ceiling:.0f}/s while "
        f"cores remain (with three nodes: "
        f"{three_nodes[2]['events_per_cpu_s']:,.0f} events per CPU-second)"
    )
    figures = {
        f"{size}_node_{replicas}_replicas_events_per_s": round(
            measured[replicas]["events_per_s"]
        )
        for size, measured in ((1, one_node), (3, three_nodes))
        for replicas in REPLICAS
    }
    figures["efficiency_two_over_one"] = round(efficiency, 3)
    print(f"FIGURES {json.dumps(figures)}")
    result("scale", ratio, ">=1.8")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "remote":
        remote(int(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "consume":
        make_cooperative()
        configure_signing("stipends")
        consume(sys.argv[2], sys.argv[3])
    else:
        main()
