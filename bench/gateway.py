"""Latency of report submissions through the gateway at a fixed request rate, beside
the same save written by hand and a bare werkzeug handler, each measured in the same
run at the same rate.

    python bench/gateway.py     # BENCH_RATE=20 requests/s, BENCH_N=400 requests

The system runs as `make run` runs it (infra/dev/stack.py: every service a separate
`nameko run` process) on its own databases and vhost. A communicator, signed in
through the API, posts activity reports (`POST /api/v1/cycles/<id>/reports`: session
and CSRF checks, an RPC to stipends, validation, redaction, a PostgreSQL transaction
with its idempotency record, the reply). Requests are sent open-loop on a fixed
schedule, and each latency is measured from its scheduled time, so a slow server
cannot slow the load down and hide its own queueing.

The baselines, each a process of its own:
- like for like (`_gateway_by_hand.py`): the same save written by hand in one
  werkzeug process: the session's row and CSRF token checked, the body validated by
  the same schema and redacted by the same function, the report and its idempotency
  record committed in one transaction, the same answer. What it leaves out is the
  platform's price: the gateway and stipends split, the RPC over RabbitMQ, signed and
  sealed messages. The target is against it.
- the bare werkzeug handler parses the same JSON body and answers 201: no database,
  no checks. Its ratio is printed as the reference it was before the like-for-like
  baseline existed.

The gateway is measured twice in the same run: first with every service's
metrics page off (`METRICS_PORT` unset), then with every service restarted with its
page on, the database and broker sampled every second and every page scraped every
second by a process of its own (what Prometheus does, at four times `make run`'s
rate). Request counting and the access log line are on in both: they are not
switches.

Last line: RESULT gateway ratio=<p99 ours / p99 by hand> target<=5 (ours: metrics on)"""

from __future__ import annotations

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psycopg2  # noqa: E402
import requests  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _gateway_by_hand import COOKIE, prepare  # noqa: E402
from _support import (  # noqa: E402
    PG,
    ROOT,
    actor,
    configure_signing,
    free_port,
    machine,
    result,
)

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402

from svyaz import config as settings  # noqa: E402
from svyaz.keys import OPERATOR  # noqa: E402
from svyaz.rpc_proxy import ClusterRpcProxy  # noqa: E402

RATE = float(os.environ.get("BENCH_RATE", "20"))
N = int(os.environ.get("BENCH_N", "400"))
API = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")
PASSWORD = "a long passphrase for the bench"
ADMINS = [actor(["program_admin"]) for _ in range(2)]
REPORT = {
    "conversations": 4,
    "audiences": ["family", "friends"],
    "channels": ["phone"],
    "topics": ["prices", "news"],
    "hours": 3,
    "observed_change": "some",
    "narrative": "Talked with my aunt for an hour; she asked where to read more, "
    "I sent her https://example.org/article and my number +7 916 123-45-67.",
}

BARE = """
import json, logging, sys
from werkzeug.serving import run_simple
from werkzeug.wrappers import Request, Response

@Request.application
def app(request):
    body = json.loads(request.get_data())
    return Response(json.dumps({"received": len(body)}), status=201,
                    mimetype="application/json")

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
run_simple("127.0.0.1", int(sys.argv[1]), app, threaded=True)
"""


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# the slowest requests of each measured phase: (latency, seconds into the phase),
# printed so that a stall that comes back on a period (a sampler, a collection)
# shows itself
SLOWEST: dict[int, list[tuple[float, float]]] = {}


def fixed_rate(send: Any) -> list[float]:
    """Latencies (s) of N calls of `send`, started RATE per second on a schedule."""
    latencies: list[float] = []
    timed: list[tuple[float, float]] = []
    pool = eventlet.GreenPool(1000)
    start = time.perf_counter() + 0.2

    def one(due: float) -> None:
        send()
        latency = time.perf_counter() - due
        latencies.append(latency)
        timed.append((latency, due - start))

    for i in range(N):
        due = start + i / RATE
        delay = due - time.perf_counter()
        if delay > 0:
            eventlet.sleep(delay)
        pool.spawn(one, due)
    pool.waitall()
    SLOWEST[id(latencies)] = sorted(timed, reverse=True)[:5]
    return latencies


def served(argv: list[str], port: int, name: str, send: Any) -> list[float]:
    """Latencies of `send` at the fixed rate, against a server process started from
    `argv` listening on `port` (warmed up first, stopped afterwards)."""
    server = subprocess.Popen([sys.executable, *argv])
    try:
        devstack.wait_for(lambda: devstack.port_open("127.0.0.1", port), name, 30)
        for _ in range(20):  # warm-up
            send()
        return fixed_rate(send)
    finally:
        server.terminate()
        server.wait(timeout=30)


def bare() -> list[float]:
    port = free_port()
    http = requests.Session()
    url = f"http://127.0.0.1:{port}/reports"

    def send() -> None:
        response = http.post(url, json=REPORT, timeout=30)
        assert response.status_code == 201, response.text

    return served(["-c", BARE, str(port)], port, "the bare server", send)


def by_hand(url: str) -> list[float]:
    """The same save written by hand (`_gateway_by_hand.py`), on a database of its
    own."""
    token, csrf, cycle = prepare(url)
    port = free_port()
    http = requests.Session()
    http.cookies.set(COOKIE, token)
    target = f"http://127.0.0.1:{port}/api/v1/cycles/{cycle}/reports"
    headers = {"X-CSRF-Token": csrf}

    def send() -> None:
        response = http.post(target, json=REPORT, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        assert "phone" in response.json()["redacted"]  # the real work was done

    script = str(Path(__file__).with_name("_gateway_by_hand.py"))
    return served([script, str(port), url], port, "the by-hand server", send)


def observe(stack: devstack.Stack) -> None:
    """Every service restarted with its metrics page on, sampled every second."""
    for service in devstack.SERVICES:
        stack.kill(service, signal.SIGTERM)
        port = free_port()
        stack.metrics_ports[service] = port
        stack.start_service(service, METRICS_PORT=str(port), METRICS_SAMPLE_SECONDS="1")
    stack.wait_ready()


# Prometheus's part, in a process of its own as Prometheus is: not in the load
# generator's event loop, where reading a page could hold up a reply being timed
# (measured: it was not what made the slowest requests slower; docs/benchmarks.md)
SCRAPER = """
import sys, time, urllib.request
ports = sys.argv[1:]
while True:
    for port in ports:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            assert r.status == 200 and r.read()
    time.sleep(1)
"""


def scrape_every_second(ports: list[int]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", SCRAPER, *map(str, ports)])


def ours(stack: devstack.Stack) -> list[float]:
    s = stack.settings
    url = f"http://{s.http}"
    email = f"bench.{uuid.uuid4().hex[:8]}@example.org"
    applied = requests.post(
        f"{url}/api/v1/applications",
        timeout=30,
        json={
            "pseudonym": f"bench_{uuid.uuid4().hex[:6]}",
            "legal_name": "Bench Mark",
            "email": email,
            "password": PASSWORD,
            "country": "DE",
            "city": "Berlin",
            "consent_version": "2026-11",
            "consent": True,
        },
    )
    assert applied.status_code == 202, applied.text
    config = settings.load(ROOT / "services" / "gateway" / "config.yml")
    config.pop("LOGGING", None)
    config["AMQP_URI"] = s.amqp_uri
    configure_signing(OPERATOR)
    with ClusterRpcProxy({**config, "BUS_IDENTITY": OPERATOR}, timeout=30) as rpc:
        (me,) = rpc.registry.find_communicators(ADMINS[0], {"status": "applied"})
        rpc.registry.start_review(ADMINS[0], me["id"], "bench set-up")
        for admin in ADMINS:
            rpc.registry.approve(admin, me["id"], "bench set-up")
        programme = rpc.stipends.create_programme(
            ADMINS[0],
            {
                "name": f"Bench {uuid.uuid4().hex[:6]}",
                "currency": "EUR",
                "budget_minor": 1_000_000,
                "tier_amounts": {"professional": 20_000, "volunteer": 0},
                "min_accepted_reports": 1,
                "min_conversations": 1,
            },
        )
        deadline = (datetime.now(UTC) + timedelta(days=10)).isoformat()
        cycle = rpc.stipends.open_cycle(ADMINS[0], programme["id"], "2026-11", deadline)
    http = requests.Session()
    signed_in = http.post(
        f"{url}/api/v1/session",
        json={"email": email, "password": PASSWORD},
        timeout=30,
    )
    assert signed_in.status_code == 200, signed_in.text
    headers = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
    target = f"{url}/api/v1/cycles/{cycle['id']}/reports"

    def send() -> None:
        response = http.post(target, json=REPORT, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        assert "phone" in response.json()["redacted"]  # the real work was done

    # the stipends read model follows the registry's events: wait for "active"
    devstack.wait_for(
        lambda: (
            http.post(target, json=REPORT, headers=headers, timeout=30).status_code
            == 201
        ),
        "the communicator to be active in stipends",
        60,
    )
    for _ in range(20):  # warm-up
        send()
    return fixed_rate(send)


def main() -> None:
    tag = uuid.uuid4().hex[:8]
    var = Path(tempfile.mkdtemp(prefix="svyaz-bench-"))
    s = devstack.Settings(
        db_prefix=f"bench_{tag}",
        vhost=f"svyaz-bench-{tag}",
        http=f"127.0.0.1:{free_port()}",
        smtp_port=free_port(),
        sandbox_port=free_port(),
        var=var,
        # requests keeps Secure cookies off plain http; browsers allow them on loopback
        extra_env={"COOKIE_SECURE": "false"},
    )
    requests.put(f"{API}/vhosts/{s.vhost}", auth=AUTH, timeout=30).raise_for_status()
    requests.put(
        f"{API}/permissions/{s.vhost}/guest",
        auth=AUTH,
        timeout=30,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    devstack.create_databases(s)
    by_hand_db = f"bench_byhand_{tag}"
    by_hand_url = f"{PG}/{by_hand_db}"
    admin = psycopg2.connect(f"{PG}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{by_hand_db}"')
    stack = devstack.Stack(s)
    try:
        devstack.migrate(s)
        devstack.load_topology(s)
        devstack.create_broker_users(s)
        stack.start()
        print(f"machine: {machine()}; rate {RATE:g}/s, {N} requests each")
        base = bare()
        hand = by_hand(by_hand_url)
        unobserved = ours(stack)
        observe(stack)
        scraper = scrape_every_second(list(stack.metrics_ports.values()))
        try:
            mine = ours(stack)
            if scraper.poll() is not None:
                raise SystemExit("the scraper stopped: a metrics page did not answer")
        finally:
            scraper.terminate()
            scraper.wait(timeout=30)
    finally:
        stack.stop()
        devstack.drop_databases(s)
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{by_hand_db}" WITH (FORCE)')
        admin.close()
        devstack.drop_broker_users(s)
        requests.delete(f"{API}/vhosts/{s.vhost}", auth=AUTH, timeout=30)
        shutil.rmtree(var, ignore_errors=True)  # its credentials and logs
    for name, values in (
        ("bare werkzeug", base),
        ("by hand", hand),
        ("metrics off", unobserved),
        ("Svyaz gateway", mine),
    ):
        print(
            f"{name:>14}: p50 {percentile(values, 50) * 1000:7.2f} ms   "
            f"p99 {percentile(values, 99) * 1000:7.2f} ms   "
            f"max {max(values) * 1000:7.2f} ms"
        )
        print(
            f"{'':>14}  slowest: "
            + ", ".join(
                f"{latency * 1000:.0f} ms at {at:.1f} s"
                for latency, at in SLOWEST.get(id(values), [])
            )
        )
    print(
        "instrumentation: p50 on/off = "
        f"{percentile(mine, 50) / percentile(unobserved, 50):.3f}, p99 on/off = "
        f"{percentile(mine, 99) / percentile(unobserved, 99):.3f}"
    )
    print(
        "against the bare werkzeug handler (the reference before the like-for-like "
        f"baseline): p99 ours/bare = {percentile(mine, 99) / percentile(base, 99):.2f}"
    )
    print(
        "against the save written by hand: p50 ours/by hand = "
        f"{percentile(mine, 50) / percentile(hand, 50):.2f}"
    )
    result("gateway", percentile(mine, 99) / percentile(hand, 99), "<=5")


if __name__ == "__main__":
    main()
