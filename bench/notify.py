"""Notifications per second end to end, from event to SMTP, beside a like-for-like
hand-written baseline and the raw durable hop of bench/event_hop.py, measured in the
same run.

    python bench/notify.py     # BENCH_N=3000 events, BENCH_PRODUCERS=10

Ours: a producer process publishes N signed `communicator.rejected.v1` envelopes with
publisher confirms from BENCH_PRODUCERS green threads; a real nameko notifications
container (its own process) takes the events in batches of up to 100 (one
transaction: the inbox claim, the deliveries and inbox rows written and leased at the
batch's end), then asks a `registry` service (its own process: a stand-in answering
`get_contacts` from memory, so the registry's decryption and access-log writes are
not in this figure) for the batch's contacts in one call, renders the discreet mails
and sends them over SMTP (a pool of reused sessions, up to 10 at once) to an aiosmtpd
server on loopback (its own process), and records them sent in one statement. The
clock stops when the SMTP server has received N mails.

Like-for-like (the RESULT ratio's): the same producer's publish with confirms to a
quorum queue; a hand-written consumer process (prefetch 10) takes each message,
inserts a row (autocommit), sends one mail over SMTP on one reused session to the
same kind of sink (aiosmtpd, Maildir), and acks. No contact RPC, no inbox, no
templates, no retry bookkeeping: what a careful hand-written mailer pays at least.

Raw reference: bench/event_hop.py's raw hop (kombu publish with confirms → consume →
one PostgreSQL insert per message), same N, same machine, same run.

Last line: RESULT notify ratio=<ours/like-for-like> target>=0.5
"""

from __future__ import annotations

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kombu  # noqa: E402
from _support import (  # noqa: E402
    ROOT,
    bus_config,
    configure_signing,
    database,
    free_port,
    machine,
    result,
    vhost,
)
from sqlalchemy import create_engine, text  # noqa: E402

from svyaz import config as settings  # noqa: E402
from svyaz import signing  # noqa: E402
from svyaz.db import make_cooperative  # noqa: E402
from svyaz.rpc import rpc  # noqa: E402

# the same count for bench/event_hop.py's raw hop, which this runs (and whose
# processes read it from the environment): event_hop's own default is larger
os.environ.setdefault("BENCH_N", "3000")
N = int(os.environ["BENCH_N"])
PRODUCERS = int(os.environ.get("BENCH_PRODUCERS", "10"))
NAMESPACE = uuid.UUID("6b1f3a52-0c1e-4c44-9a57-8f1e2d3c4b5a")


def communicator(n: int) -> str:
    return str(uuid.uuid5(NAMESPACE, str(n)))


def config_of(service: str, **overrides: Any) -> dict[str, Any]:
    config = settings.load(ROOT / "services" / service / "config.yml")
    config.pop("LOGGING", None)
    config.update(bus_config(service))
    config.update(overrides)
    return config


class RegistryStandIn:
    """Answers get_contact and get_contacts from memory: the bench measures
    notifications."""

    name = "registry"

    @rpc(callers={"notifications"})
    def get_contact(self, communicator_id: str, purpose: str) -> dict[str, str]:
        return {
            "communicator_id": communicator_id,
            "email": f"c.{communicator_id[:8]}@bench.invalid",
            "language": "en",
        }

    @rpc(callers={"notifications"})
    def get_contacts(
        self, ids: list[str], purpose: str, audience: str = "communicator"
    ) -> list[dict[str, str]]:
        return [
            {"id": ident, "email": f"c.{ident[:8]}@bench.invalid", "language": "en"}
            for ident in ids
        ]


# -- the roles, each in its own process -----------------------------------------


def run_registry(amqp_uri: str, db_url: str, extra: str) -> None:
    from nameko.containers import ServiceContainer

    container = ServiceContainer(
        # its RPC nonces go to the bench's database
        RegistryStandIn,
        config_of("registry", AMQP_URI=amqp_uri, DB_URI=db_url),
    )
    container.start()
    print("ready", flush=True)
    container.wait()


def run_notifications(amqp_uri: str, db_url: str, smtp_port: str) -> None:
    from nameko.containers import ServiceContainer

    from notifications.service import NotificationsService

    config = config_of(
        "notifications",
        AMQP_URI=amqp_uri,
        DB_URI=db_url,
        SMTP_PORT=int(smtp_port),
        SENDER_INTERVAL=1.0,
        DIGEST_INTERVAL=3600,
        OUTBOX_POLL_INTERVAL=1.0,
    )
    container = ServiceContainer(NotificationsService, config)
    container.start()
    print("ready", flush=True)
    container.wait()


def run_producer(amqp_uri: str, db_url: str, extra: str) -> None:
    exchange = kombu.Exchange("registry.events", type="topic", durable=True)
    producers: dict[Any, Any] = {}

    def publish(n: int) -> None:
        key = eventlet.getcurrent()
        if key not in producers:
            conn = kombu.Connection(
                amqp_uri, transport_options={"confirm_publish": True}
            )
            producers[key] = conn.Producer(serializer=signing.NAME)
        envelope = {
            "event_id": str(uuid.uuid4()),
            "event_type": "communicator.rejected.v1",
            "occurred_at": "2026-11-24T00:00:00+00:00",
            "producer": "registry",
            "correlation_id": str(uuid.uuid4()),
            "data": {"communicator_id": communicator(n)},
        }
        producers[key].publish(
            envelope,
            exchange=exchange,
            routing_key="communicator.rejected.v1",
            delivery_mode=2,
        )

    print("ready", flush=True)
    sys.stdin.readline()

    def worker(first: int) -> None:
        for n in range(first, N, PRODUCERS):
            publish(n)

    for thread in [eventlet.spawn(worker, first) for first in range(PRODUCERS)]:
        thread.wait()


LIKE_QUEUE = kombu.Queue(
    "like-notify",
    kombu.Exchange("like-notify", type="topic", durable=True),
    routing_key="hop",
    durable=True,
    queue_arguments={"x-queue-type": "quorum"},
)
MAIL = (
    "From: Svyaz <noreply@svyaz.invalid>\r\nTo: {to}\r\n"
    "Subject: Svyaz: an update\r\n\r\n"
    "There is news about your application. Sign in to read it.\r\n"
)


def run_like_producer(amqp_uri: str, db_url: str, extra: str) -> None:
    import event_hop

    event_hop.hand_produce(amqp_uri, db_url, LIKE_QUEUE, state=False)


def run_like_consumer(amqp_uri: str, db_url: str, smtp_port: str) -> None:
    """consume → insert → SMTP on a reused session → ack, one message at a time."""
    import smtplib

    import psycopg2

    pg = psycopg2.connect(db_url.replace("postgresql+psycopg2://", "postgresql://"))
    pg.autocommit = True
    cursor = pg.cursor()
    smtp = smtplib.SMTP("127.0.0.1", int(smtp_port))

    def on_message(body, message):  # type: ignore[no-untyped-def]
        n = body["n"]
        cursor.execute("INSERT INTO like_mails (n) VALUES (%s)", (n,))
        to = f"c.{communicator(n)[:8]}@bench.invalid"
        smtp.sendmail("noreply@svyaz.invalid", [to], MAIL.format(to=to))
        message.ack()

    with kombu.Connection(amqp_uri) as conn:
        with conn.Consumer(LIKE_QUEUE, callbacks=[on_message], accept=["json"]) as c:
            c.qos(prefetch_count=10)
            print("ready", flush=True)
            while True:
                try:
                    conn.drain_events(timeout=1)
                except TimeoutError:
                    pass


ROLES = {
    "like-producer": run_like_producer,
    "like-consumer": run_like_consumer,
    "registry": run_registry,
    "notifications": run_notifications,
    "producer": run_producer,
}


# -- the orchestrator --------------------------------------------------------------


def spawn(role: str, amqp_uri: str, db_url: str, extra: str = "") -> Any:
    process = subprocess.Popen(
        [sys.executable, __file__, role, amqp_uri, db_url, extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    line = process.stdout.readline().strip() if process.stdout else ""
    if line != "ready":
        process.kill()
        raise SystemExit(f"{role} did not start ({line!r})")
    return process


def smtp_sink(port: int, maildir: Path) -> Any:
    """aiosmtpd on loopback, as `make run` starts it (a Maildir), in a process of
    its own without eventlet."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{port}",
            "-c",
            "aiosmtpd.handlers.Mailbox",
            str(maildir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        time.sleep(0.05)
    process.kill()
    raise SystemExit("the SMTP sink did not start")


def received(maildir: Path) -> int:
    new = maildir / "new"
    return len(os.listdir(new)) if new.exists() else 0


def like(amqp_uri: str, db_url: str) -> float:
    """The like-for-like baseline: mails per second, and each exactly once."""
    import event_hop

    mailbox = Path(tempfile.mkdtemp(prefix="svyaz-bench-")) / "maildir"
    port = free_port()
    processes = [smtp_sink(port, mailbox)]
    try:
        processes.append(spawn("like-consumer", amqp_uri, db_url, str(port)))
        producer = spawn("like-producer", amqp_uri, db_url)
        processes.append(producer)
        before = {p.pid: event_hop.cpu_seconds(p.pid) for p in processes}
        elapsed = until_received(producer, processes, mailbox, "like-for-like")
        time.sleep(0.5)
        assert received(mailbox) == N, f"{received(mailbox)} mails for {N} events"
        for process in [p for p in processes if p.poll() is None]:
            cpu = (event_hop.cpu_seconds(process.pid) - before[process.pid]) / N * 1000
            name = process.args[2] if process.args[1] != "-m" else "smtp sink"
            print(f"like-for-like {name} cpu per mail: {cpu:.2f} ms", flush=True)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(mailbox.parent, ignore_errors=True)
    return N / elapsed


def until_received(
    producer: Any, processes: list[Any], mailbox: Path, what: str
) -> float:
    """Say go to the producer; seconds until the sink holds N mails."""
    started = time.perf_counter()
    producer.stdin.write("go\n")
    producer.stdin.flush()
    deadline = time.monotonic() + 900
    while received(mailbox) < N:
        if time.monotonic() > deadline:
            raise SystemExit(f"{what}: timed out at {received(mailbox)} of {N}")
        for process in processes:
            if process.poll() not in (None, 0):
                raise SystemExit(f"a bench process exited ({process.args})")
        time.sleep(0.01)
    return time.perf_counter() - started


def ours(amqp_uri: str, db_url: str) -> float:
    import event_hop

    mailbox = Path(tempfile.mkdtemp(prefix="svyaz-bench-")) / "maildir"
    port = free_port()
    processes = [smtp_sink(port, mailbox)]
    try:
        processes.append(spawn("registry", amqp_uri, db_url))
        processes.append(spawn("notifications", amqp_uri, db_url, str(port)))
        producer = spawn("producer", amqp_uri, db_url)
        processes.append(producer)
        before = {p.pid: event_hop.cpu_seconds(p.pid) for p in processes}
        elapsed = until_received(producer, processes, mailbox, "notify")
        engine = create_engine(db_url)
        with engine.connect() as conn:
            sent = conn.execute(
                text(
                    "SELECT count(*) FROM deliveries"
                    " WHERE channel = 'email' AND status = 'sent'"
                )
            ).scalar()
        engine.dispose()
        time.sleep(0.5)  # any mail sent twice would show up now
        assert received(mailbox) == N, f"{received(mailbox)} mails for {N} events"
        print(f"deliveries recorded sent: {sent} of {N}", flush=True)
        for process in [p for p in processes if p.poll() is None]:
            cpu = (event_hop.cpu_seconds(process.pid) - before[process.pid]) / N * 1000
            name = process.args[2] if process.args[1] != "-m" else "smtp sink"
            print(f"{name} cpu per notification: {cpu:.2f} ms", flush=True)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        shutil.rmtree(mailbox.parent, ignore_errors=True)
    return N / elapsed


def main() -> None:
    import event_hop

    if event_hop.N != N:
        raise SystemExit("event_hop read a different BENCH_N")
    configure_signing("registry")
    with vhost() as amqp_uri, database("notifications") as db_url:
        engine = create_engine(db_url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE raw_effects (n int)"))
            conn.execute(text("CREATE TABLE like_mails (n int)"))
        engine.dispose()
        with kombu.Connection(amqp_uri) as conn:
            event_hop.RAW_QUEUE(conn.channel()).declare()
            LIKE_QUEUE(conn.channel()).declare()
        raw = event_hop.hop("raw", amqp_uri, db_url, "raw_effects")
        baseline = like(amqp_uri, db_url)
        notified = ours(amqp_uri, db_url)
    figures = {
        "raw_events_per_s": round(raw),
        "like_for_like_mails_per_s": round(baseline),
        "notifications_per_s": round(notified),
        "notify_over_raw": round(notified / raw, 3),
    }
    print(f"machine: {machine()}")
    print(f"events: {N}; producing green threads: {PRODUCERS}")
    print(f"raw durable hop (publish+confirm -> consume -> insert): {raw:,.0f} /s")
    print(
        "like-for-like (publish+confirm to a quorum queue -> consume -> insert -> "
        f"SMTP on a reused session -> ack): {baseline:,.0f} /s"
    )
    print(
        "notifications (event -> deliveries -> get_contacts -> SMTP -> sent): "
        f"{notified:,.0f} /s"
    )
    print(f"against the raw reference: notify/raw = {notified / raw:.2f}")
    print(f"FIGURES {json.dumps(figures)}")
    result("notify", notified / baseline, ">=0.5")


if __name__ == "__main__":
    if len(sys.argv) == 5:
        make_cooperative()
        configure_signing(
            "notifications" if sys.argv[1] == "notifications" else "registry"
        )
        ROLES[sys.argv[1]](sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
