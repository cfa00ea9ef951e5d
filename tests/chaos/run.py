"""A chaos run: the whole system, two replicas of every service, a full cycle
(applications, vetting, training, Stripe onboarding, reports, review, approvals, a
payout run) while `faults.Monkey` breaks things; then the witnesses.

    python -m tests.chaos.run --communicators 2000        # `make chaos`
    python -m tests.chaos.run --communicators 40 --no-dedup

Afterwards, with the Stripe sandbox and the databases as witnesses:
- every approved stipend was paid exactly once (one transfer at the sandbox, not
  reversed, for its payout; its payout `paid`), and nothing was paid that was not
  approved;
- the ledger balances (every journal entry, every currency);
- every outbox row of every service was sent;
- every event recorded on the bus was handled by every queue bound to it (its
  `processed_events` row), and its effects happened once: each mail's Message-ID
  arrived once, unless a crash of the sender in the moment after the send explains a
  second copy (the mail went out, the handler died before its commit: the same
  message again, which the receiving side can drop by its Message-ID);
- nothing is parked without a reason;
- no personal value of the run's people in any message on the bus, log line, Stripe
  request or mail subject (tests/leaks.py).
The last line: `RESULT chaos faults=<n> lost=<n> duplicated=<n>`.
"""

from __future__ import annotations

import warnings

warnings.simplefilter("ignore")  # eventlet's and pkg_resources' deprecations
import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import mailbox  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import uuid  # noqa: E402
from collections import Counter  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import kombu  # noqa: E402
import requests  # noqa: E402
import stripe  # noqa: E402
from eventlet.greenpool import GreenPool  # noqa: E402
from eventlet.queue import LightQueue  # noqa: E402
from nameko.exceptions import RemoteError  # noqa: E402

from svyaz import config as settings  # noqa: E402
from svyaz import signing  # noqa: E402
from svyaz.db import make_cooperative  # noqa: E402
from svyaz.errors import ServiceError  # noqa: E402
from svyaz.keys import GATEWAY, OPERATOR  # noqa: E402
from svyaz.rpc_proxy import ClusterRpcProxy  # noqa: E402
from tests import leaks  # noqa: E402
from tests.chaos.faults import AUTH, Monkey  # noqa: E402
from tests.helpers import actor, configure_bus, publish_raw  # noqa: E402
from tests.journeys import ADMINS, REPORT, enrolled_staff  # noqa: E402
from tests.stack import API, System, devstack, grant, running_system  # noqa: E402

PASSWORD = "chaos"  # noqa: S105 - the harness's broker login
AMOUNT = 25_000
EVENT_EXCHANGES = ("registry.events", "stipends.events")
# errors a service answers with when its database connection was cut mid-call:
# nothing was committed, the caller tries again
TRANSIENT = {"OperationalError", "InterfaceError", "DBAPIError", "PendingRollbackError"}


class Refused(Exception):
    """The service answered with an error (a rule, or a redelivered request that
    had already taken effect): the caller checks the state it wanted."""


# -- the harness's own bus user --------------------------------------------------------
def harness_name(vhost: str) -> str:
    """The run's own (runs at the same time on one broker must not delete each
    other's user)."""
    return f"{vhost}-harness"


def harness_user(system: System) -> str:
    """A broker user for the harness, apart from the services' own users whose
    connections the faults close. Its AMQP URI (every node's, on a cluster)."""
    vhost = system.settings.vhost
    user = harness_name(vhost)
    requests.put(
        f"{system.api}/users/{user}",
        auth=AUTH,
        timeout=30,
        json={"password": PASSWORD, "tags": ""},
    ).raise_for_status()
    grant(vhost, user, system.api)
    return system.settings.failover_uri(f"{user}:{PASSWORD}")


# -- the tap ---------------------------------------------------------------------------
class Tap:
    """Every message published in the vhost, copied to a queue of the harness:
    scanned for personal values as it comes, events kept (to publish again and to
    know which must have been handled). The queue is a durable quorum queue, like
    the services' own, so that what is published while the broker restarts is
    still there for the tap when it connects again."""

    def __init__(self, amqp_uri: str, values: list[str]) -> None:
        self.amqp_uri = amqp_uri
        self.index = leaks.Index(values)
        self.name = f"chaos-tap-{uuid.uuid4().hex[:8]}"
        self.connection: kombu.Connection | None = None
        self.channel: Any = None
        self.connect()
        # (exchange, routing key, body, headers) of every event, first copies only
        self.events: list[tuple[str, str, bytes, dict[str, Any]]] = []
        self.event_ids: dict[str, str] = {}  # event id -> type
        self.copies: Counter[str] = Counter()
        self.scan = leaks.Scan()
        self.republished: set[str] = set()
        self.reconnects = 0

    def connect(self) -> None:
        self.connection = kombu.Connection(self.amqp_uri)
        self.channel = self.connection.channel()
        self.channel.queue_declare(
            self.name,
            durable=True,
            auto_delete=False,
            arguments={"x-queue-type": "quorum"},
        )
        for exchange, kind in leaks.EXCHANGES:
            self.channel.exchange_declare(
                exchange, kind, durable=True, auto_delete=False
            )
            self.channel.queue_bind(self.name, exchange, "#")

    def drain(self) -> None:
        """Take what the queue holds; after a lost connection, connect again first
        (the broker restarted) and, while it cannot, leave it for the next time."""
        if self.channel is None:
            try:
                self.connect()
            except Exception:  # noqa: BLE001 - the broker is still away
                self.connection = self.channel = None
                return
            self.reconnects += 1
        try:
            self._drain()
        except Exception:  # noqa: BLE001 - the connection went with the broker
            try:
                assert self.connection is not None
                self.connection.close()
            except Exception:  # noqa: BLE001
                pass
            self.connection = self.channel = None

    def _drain(self) -> None:
        while True:
            # acknowledged after it is read: a copy the broker restart interrupted
            # comes again (scanned twice, recorded once by its id)
            message = self.channel.basic_get(self.name, no_ack=False)
            if message is None:
                return
            self._read(message)
            self.channel.basic_ack(message.delivery_tag)

    def _read(self, message: Any) -> None:
        raw = message.body
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
        opened = leaks.opened_event(text)
        self.scan_text("bus", text)
        if opened:
            self.scan_text("events opened", opened)
        exchange = message.delivery_info.get("exchange", "")
        if exchange in EVENT_EXCHANGES:
            wrapper = json.loads(text)
            ident = str(wrapper.get("id"))
            self.copies[ident] += 1
            if ident not in self.event_ids:
                self.event_ids[ident] = str(wrapper.get("type"))
                self.events.append(
                    (
                        exchange,
                        message.delivery_info.get("routing_key", ""),
                        raw if isinstance(raw, bytes) else raw.encode(),
                        dict(message.headers or {}),
                    )
                )

    def settle(self) -> None:
        """The last drain, after the faults: it must reach the queue."""
        if self.channel is None:
            self.connect()
        self._drain()

    def scan_text(self, source: str, text: str) -> None:
        self.scan.counts[source] = self.scan.counts.get(source, 0) + 1
        self.scan.findings += [(source, v) for v in self.index.find(text)]

    def follow(self, stop: Callable[[], bool]) -> None:
        while not stop():
            self.drain()
            eventlet.sleep(0.5)

    def republish(self, rng: random.Random, count: int) -> int:
        """Publish `count` recorded events again, byte for byte."""
        if not self.events:
            return 0
        sent = 0
        for exchange, key, body, headers in rng.sample(
            self.events, min(count, len(self.events))
        ):
            publish_raw(self.amqp_uri, exchange, key, body, headers=headers)
            self.republished.add(json.loads(body)["id"])
            sent += 1
        return sent

    def close(self) -> None:
        """The queue goes with the run (it is durable: nothing else deletes it)."""
        if self.channel is None:
            self.connect()
        self.channel.queue_delete(self.name)
        assert self.connection is not None
        self.connection.close()


# -- the workload ----------------------------------------------------------------------
@dataclass
class Person:
    pseudonym: str
    legal_name: str
    email: str
    id: str = ""

    @property
    def actor(self) -> dict[str, Any]:
        return actor(["communicator"], self.id)


@dataclass
class Driver:
    """People and staff doing a cycle's work through the gateways and signed RPC,
    retrying what a fault interrupted and checking state where an answer was lost."""

    system: System
    amqp_uri: str
    people: list[Person]
    concurrency: int = 8
    proxies: LightQueue = field(default_factory=LightQueue)
    calls: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        config = settings.load(ROOT / "services" / "gateway" / "config.yml")
        config.pop("LOGGING", None)
        config["AMQP_URI"] = self.amqp_uri
        self.config = config
        self.gateways = [
            f"http://{h}"
            for h in (self.system.settings.http, *self.system.settings.replica_http)
        ]

    # -- plumbing ----------------------------------------------------------------------
    def rpc(
        self,
        service: str,
        method: str,
        *args: Any,
        patience: float = 180,
        signer: str = GATEWAY,
    ) -> Any:
        """One call, signed as `signer` (the gateway's calls, unless an operator's),
        again after a transport failure (timeout, dropped connection); an answered
        error raises Refused."""
        deadline = time.monotonic() + patience
        while True:
            try:
                cluster = self.proxies.get_nowait()
            except eventlet.queue.Empty:
                try:
                    cluster = ClusterRpcProxy(self.config, timeout=60)
                    cluster.proxy = cluster.start()
                except Exception as exc:  # noqa: BLE001 - the broker is away
                    self.calls["rpc retried"] += 1
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{service}.{method}: {exc!r}") from exc
                    eventlet.sleep(1.0)
                    continue
            try:
                with signing.signing_as(signer):
                    result = getattr(getattr(cluster.proxy, service), method)(*args)
            except (RemoteError, ServiceError) as exc:
                # a service's own error comes back as its class when this process
                # has imported it (pytest has, beside other tiers), else RemoteError
                self.proxies.put(cluster)
                kind = getattr(exc, "exc_type", type(exc).__name__)
                if kind not in TRANSIENT:
                    raise Refused(f"{kind}: {exc}") from None
                self.calls["rpc retried"] += 1  # the service lost its database
                if time.monotonic() > deadline:
                    raise
                eventlet.sleep(0.5)
                continue
            except Exception as exc:  # noqa: BLE001 - transport: a new proxy, again
                self.calls["rpc retried"] += 1
                try:
                    cluster.stop()
                except Exception:  # noqa: BLE001
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{service}.{method}: {exc!r}") from exc
                eventlet.sleep(0.5)
                continue
            self.proxies.put(cluster)
            self.calls["rpc"] += 1
            return result

    def attempt(self, service: str, method: str, *args: Any) -> Any:
        """A call whose refusal may only mean that a first, redelivered attempt had
        already done it; the caller checks the state afterwards."""
        try:
            return self.rpc(service, method, *args)
        except Refused:
            self.calls["refused"] += 1
            return None

    def http(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        deadline = time.monotonic() + 180
        while True:
            url = random.choice(self.gateways)  # noqa: S311
            try:
                answer = requests.request(method, url + path, timeout=20, **kwargs)
            except requests.RequestException:
                answer = None
            if answer is not None and answer.status_code < 500:
                return answer
            self.calls["http retried"] += 1
            if time.monotonic() > deadline:
                raise RuntimeError(f"{method} {path}: no gateway answered")
            eventlet.sleep(0.5)

    def each(self, work: Callable[[Person], None]) -> None:
        pool = GreenPool(self.concurrency)
        for _ in pool.imap(work, self.people):
            pass

    def until(
        self,
        check: Callable[[], bool],
        what: str,
        timeout: float,
        why: Callable[[], str] | None = None,
    ) -> None:
        """Wait for `check`; on timeout, `why` says what is still waiting."""
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                said = f": {why()}" if why else ""
                raise TimeoutError(f"chaos run: {what} within {timeout:.0f} s{said}")
            eventlet.sleep(0.5)

    def sql(self, service: str, query: str, **params: Any) -> list[Any]:
        deadline = time.monotonic() + 60
        while True:
            try:
                return self.system.sql(service, query, **params)
            except Exception:  # noqa: BLE001 - our backend was terminated: again
                if time.monotonic() > deadline:
                    raise
                eventlet.sleep(0.3)

    # -- a communicator's way in -------------------------------------------------------
    def join(self, person: Person, training_id: str) -> None:
        answer = self.http(
            "POST",
            "/api/v1/applications",
            json={
                "pseudonym": person.pseudonym,
                "legal_name": person.legal_name,
                "email": person.email,
                "country": "DE",
                "city": "Leipzig",
                "consent_version": "2026-11",
                "consent": True,
            },
        )
        # taken: a first attempt whose answer was lost, or this join repeated
        taken = answer.status_code == 400 and answer.json()["code"] == "pseudonym_taken"
        assert answer.status_code == 202 or taken, answer.text
        deadline = time.monotonic() + 180
        while True:  # each step by the state it finds: an answer may have been lost
            found = self.rpc(
                "registry",
                "find_communicators",
                ADMINS[0],
                {"pseudonym": person.pseudonym},
            )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{person.pseudonym} stuck: {found}")
            if not found:
                eventlet.sleep(0.5)
                continue
            person.id, status = found[0]["id"], found[0]["status"]
            if status == "applied":
                self.attempt("registry", "start_review", ADMINS[0], person.id, "docs")
            elif status == "in_review":
                for admin in ADMINS:
                    self.attempt("registry", "approve", admin, person.id, "interviewed")
            elif status == "active" and found[0]["tier"] != "professional":
                self.attempt(
                    "registry",
                    "record_training_completion",
                    ADMINS[0],
                    training_id,
                    person.id,
                )
                self.attempt(
                    "registry",
                    "set_tier",
                    ADMINS[0],
                    person.id,
                    "professional",
                    "trained",
                )
            elif status == "active":
                break
            else:
                raise RuntimeError(f"{person.pseudonym} is {status}")
        setup = None
        while setup is None:  # Stripe's refusals (429, 500) reach the person: again
            try:
                setup = self.rpc("registry", "start_payout_setup", person.actor)
            except Refused as exc:
                if "payout provider" not in str(exc):
                    raise
                self.calls["payout setup tried again"] += 1
                eventlet.sleep(1)
        link = setup["onboarding_url"]  # the person finishes onboarding at Stripe
        deadline = time.monotonic() + 120
        while True:
            try:
                done = requests.get(link, allow_redirects=False, timeout=20)
                if done.status_code < 400:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("onboarding link did not answer")
            eventlet.sleep(0.5)

    def joined(self, person: Person, training_id: str) -> None:
        """`join` until stipends knows the person as a professional, paid-ready."""
        for _ in range(6):
            self.join(person, training_id)
            try:
                self.until(
                    lambda: bool(
                        self.sql(
                            "stipends",
                            "SELECT 1 FROM communicators WHERE id = :i AND payout_ready"
                            " AND tier = 'professional' AND status = 'active'",
                            i=person.id,
                        )
                    ),
                    "a communicator to be paid-ready in stipends",
                    60,
                )
                return
            except TimeoutError:
                self.calls["join repeated"] += 1
        raise RuntimeError(f"{person.pseudonym} never became paid-ready")

    # -- the cycle ---------------------------------------------------------------------
    def programme(self, name: str) -> dict[str, Any]:
        body = {
            "name": name,
            "currency": "EUR",
            "budget_minor": AMOUNT * len(self.people),
            "tier_amounts": {"professional": AMOUNT, "volunteer": 0},
            "min_accepted_reports": 1,
            "min_conversations": 1,
        }
        self.attempt("stipends", "create_programme", ADMINS[0], body)
        (programme,) = [
            p
            for p in self.rpc("stipends", "list_programmes", ADMINS[0])
            if p["name"] == name
        ]
        return dict(programme)

    def funded(self, programme_id: str) -> None:
        """Funded once: a refused or lost answer is followed by a look, not a second
        funding."""
        wanted = AMOUNT * len(self.people)
        while True:
            shown = self.rpc("stipends", "get_programme", ADMINS[0], programme_id)
            if shown["available_minor"] >= wanted:
                return
            self.attempt(  # one key: a funding redelivered funds nothing more
                "stipends",
                "fund_programme",
                ADMINS[0],
                programme_id,
                wanted,
                f"chaos-funding-{programme_id}",
            )

    def report(self, cycle_id: str, person: Person) -> None:
        """One report accepted, and none left submitted: a draft saved again (its
        first answer lost, the request run twice) is submitted and reviewed too."""
        while True:
            mine = self.sql(
                "stipends",
                "SELECT id, status FROM activity_reports WHERE cycle_id = :c "
                "AND communicator_id = :i ORDER BY id",
                c=cycle_id,
                i=person.id,
            )
            states = [status for _, status in mine]
            if "accepted" in states and "submitted" not in states:
                if len(mine) > 1:  # a save run twice (an answer lost, then again)
                    self.calls["reports saved twice"] += 1
                return
            if not mine:
                self.attempt(
                    "stipends", "save_report_draft", person.actor, cycle_id, REPORT
                )
            for report_id, status in mine:
                if status == "draft" and "accepted" not in states:
                    self.attempt(
                        "stipends", "submit_report", person.actor, str(report_id)
                    )
                elif status == "submitted":
                    self.attempt(
                        "stipends",
                        "review_report",
                        ADMINS[0],
                        str(report_id),
                        "accepted",
                        "",
                    )
                elif status not in ("draft", "accepted"):
                    raise RuntimeError(f"a report ended {status}")

    def approve(self, stipend_id: str) -> None:
        while True:
            shown = self.rpc("stipends", "get_stipend", ADMINS[1], stipend_id)
            if shown["status"] != "proposed":
                assert shown["status"] == "approved", shown["status"]
                return
            self.attempt(
                "stipends", "approve_stipend", ADMINS[1], stipend_id, shown["digest"]
            )


def cycle(driver: Driver, log: Callable[[str], None], payout_timeout: float) -> str:
    """The whole cycle under faults; the cycle's id."""
    system = driver.system
    tag = uuid.uuid4().hex[:6]
    training = None
    while training is None:
        driver.attempt(
            "registry",
            "create_training",
            ADMINS[0],
            {"title": f"Listening {tag}", "held_on": "2026-10-01"},
        )
        found = driver.sql(
            "registry",
            "SELECT id FROM trainings WHERE title = :t",
            t=f"Listening {tag}",
        )
        training = str(found[0][0]) if found else None
    driver.each(lambda p: driver.joined(p, training))
    log(f"{len(driver.people)} communicators joined, vetted, trained and onboarded")

    programme = driver.programme(f"Chaos {tag}")
    driver.funded(programme["id"])
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    driver.attempt(
        "stipends", "open_cycle", ADMINS[0], programme["id"], "2026-10", past
    )
    (cycle_row,) = driver.rpc("stipends", "list_cycles", ADMINS[0], programme["id"])
    cycle_id = str(cycle_row["id"])
    driver.each(lambda p: driver.report(cycle_id, p))
    log(f"{len(driver.people)} reports submitted and accepted")

    driver.until(
        lambda: (
            bool(
                driver.sql(
                    "stipends",
                    "SELECT 1 FROM cycles WHERE id = :c AND status <> 'open'",
                    c=cycle_id,
                )
            )
            or driver.attempt("stipends", "close_cycle", ADMINS[0], cycle_id)
            is not None
        ),
        "the cycle to close",
        900,
    )
    proposed = [
        str(r[0])
        for r in driver.sql(
            "stipends", "SELECT id FROM stipends WHERE cycle_id = :c", c=cycle_id
        )
    ]
    assert len(proposed) == len(driver.people), (len(proposed), len(driver.people))
    pool = GreenPool(driver.concurrency)
    for _ in pool.imap(driver.approve, proposed):
        pass
    log(f"{len(proposed)} stipends approved")

    for tries in range(10):  # a gateway may be down as the member signs in
        try:
            gateway = random.choice(driver.gateways)  # noqa: S311
            finance_id, _, totp = enrolled_staff(
                system, driver_rpc(driver), ["finance"], gateway
            )
            break
        except Exception:  # noqa: BLE001
            if tries == 9:
                raise
            eventlet.sleep(1)
    finance = actor(["finance"], finance_id)
    run_id = None
    while run_id is None:
        driver.attempt("stipends", "build_payout_run", finance, cycle_id)
        built = driver.sql(
            "stipends", "SELECT id FROM payout_runs WHERE cycle_id = :c", c=cycle_id
        )
        run_id = str(built[0][0]) if built else None
    released_code = None
    while True:
        run = driver.rpc("stipends", "get_payout_run", finance, run_id)
        if run["status"] != "draft":
            break
        code = totp.now()
        if code == released_code:  # a code is good once: wait for the next
            eventlet.sleep(1)
            continue
        released_code = code
        driver.attempt(
            "stipends",
            "release_payout_run",
            finance,
            run_id,
            run["totals_digest"],
            code,
        )
    log(f"payout run of {len(proposed)} released")
    driver.until(
        lambda: (
            not driver.sql(
                "stipends",
                "SELECT 1 FROM payouts WHERE run_id = :r "
                "AND status NOT IN ('paid', 'failed')",
                r=run_id,
            )
        ),
        "every payout to end",
        payout_timeout,
        why=lambda: "; ".join(
            " ".join(str(v) for v in row)
            for row in driver.sql(
                "stipends",
                "SELECT id, status, provider, attempt, retries, next_attempt_at, "
                "deadline_at, last_error FROM payouts WHERE run_id = :r "
                "AND status NOT IN ('paid', 'failed') ORDER BY id",
                r=run_id,
            )
        ),
    )
    log("every payout ended")
    return cycle_id


def driver_rpc(driver: Driver) -> Any:
    """An object with `.registry.create_staff_account(...)` over the driver's calls."""

    class Service:
        def __init__(self, name: str) -> None:
            self.name = name

        def __getattr__(self, method: str) -> Callable[..., Any]:
            return lambda *args: driver.rpc(self.name, method, *args, signer=OPERATOR)

    class Proxy:
        registry = Service("registry")

    return Proxy()


# -- the witnesses ---------------------------------------------------------------------
@dataclass
class Outcome:
    """What a run counted, and the line it ends with."""

    faults: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    lost: dict[str, int] = field(default_factory=dict)
    duplicated: dict[str, int] = field(default_factory=dict)
    broken: dict[str, int] = field(default_factory=dict)  # must all be 0
    examples: list[str] = field(default_factory=list)
    leaks: leaks.Scan = field(default_factory=leaks.Scan)

    @property
    def total_faults(self) -> int:
        return sum(self.faults.values())

    @property
    def total_lost(self) -> int:
        return sum(self.lost.values())

    @property
    def total_duplicated(self) -> int:
        return sum(self.duplicated.values())

    def lines(self) -> list[str]:
        def listed(counts: dict[str, int]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"

        return [
            f"faults: {listed(self.faults)}; total {self.total_faults}",
            f"counts: {listed(self.counts)}",
            f"lost: {listed(self.lost)}",
            f"duplicated: {listed(self.duplicated)}",
            f"must be none: {listed({k: v for k, v in self.broken.items() if v})}",
            self.leaks.summary(),
            *[f"  e.g. {e}" for e in self.examples[:10]],
            f"RESULT chaos faults={self.total_faults} lost={self.total_lost} "
            f"duplicated={self.total_duplicated}",
        ]


def witness_payments(system: System, cycle_id: str, out: Outcome) -> None:
    client = stripe.StripeClient(
        "sk_test_dev-stipends",
        base_addresses={"api": system.sandbox},
        max_network_retries=5,
    )
    transfers = list(client.transfers.list({"limit": 100}).auto_paging_iter())
    by_payout: Counter[str] = Counter()
    for transfer in transfers:
        metadata = transfer.metadata.to_dict() if transfer.metadata else {}
        reference = metadata.get("payout_reference", "")
        if not transfer.reversed:
            by_payout[reference.removeprefix("payout:")] += 1
    approved = {
        str(r[0]): r[1]
        for r in system.sql(
            "stipends",
            "SELECT id, amount_minor FROM stipends WHERE cycle_id = :c "
            "AND approvals_given >= approvals_needed",
            c=cycle_id,
        )
    }
    payouts = system.sql(
        "stipends",
        "SELECT p.id, p.stipend_id, p.status, p.amount_minor FROM payouts p "
        "JOIN stipends s ON s.id = p.stipend_id WHERE s.cycle_id = :c "
        "AND p.status <> 'cancelled'",
        c=cycle_id,
    )
    paid: Counter[str] = Counter()
    ours = set()
    for payout_id, stipend_id, status, _amount in payouts:
        ours.add(str(payout_id))
        paid[str(stipend_id)] += by_payout.get(str(payout_id), 0)
        if str(stipend_id) in approved and status != "paid":
            out.broken["payouts not paid in our books"] = (
                out.broken.get("payouts not paid in our books", 0) + 1
            )
            out.examples.append(f"payout {payout_id} ended {status}")
    out.counts["stipends approved"] = len(approved)
    out.counts["stripe transfers"] = len(transfers)
    out.lost["stipends not paid"] = sum(1 for s in approved if paid[s] == 0)
    out.duplicated["stipends paid twice"] = sum(
        paid[s] - 1 for s in approved if paid[s] > 1
    )
    out.broken["paid without approval"] = sum(
        n for ref, n in by_payout.items() if ref not in ours
    ) + sum(paid[s] for s in paid if s not in approved)


def witness_replication(system: System, out: Outcome) -> None:
    """On a cluster: every quorum queue of the run has a member on every node, and
    their leaders are spread over the nodes."""
    vhost = urllib.parse.quote(system.settings.vhost, safe="")
    queues = requests.get(
        f"{system.api}/queues/{vhost}",
        params={"columns": "name,type,leader,members"},
        auth=AUTH,
        timeout=30,
    ).json()
    quorum = [q for q in queues if q.get("type") == "quorum"]
    nodes = len(system.cluster.nodes)
    out.counts["quorum queues"] = len(quorum)
    out.counts["nodes leading quorum queues"] = len({q["leader"] for q in quorum})
    out.broken["quorum queues not on every node"] = sum(
        len(q.get("members") or []) < nodes for q in quorum
    )


def witness_books(system: System, out: Outcome) -> None:
    unbalanced = system.sql(
        "stipends",
        "SELECT entry_id FROM postings GROUP BY entry_id, currency "
        "HAVING sum(amount_minor) <> 0",
    )
    out.broken["ledger entries unbalanced"] = len(unbalanced)
    for service in ("registry", "stipends", "notifications"):
        unsent = system.sql(
            service, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
        )
        out.broken[f"{service} outbox rows unsent"] = int(unsent[0][0])


def witness_events(system: System, tap: Tap, out: Outcome) -> None:
    """Every recorded event handled by every queue bound to its type."""
    vhost = urllib.parse.quote(system.settings.vhost, safe="")
    bindings = requests.get(
        f"{system.api}/bindings/{vhost}", auth=AUTH, timeout=30
    ).json()
    consumers: dict[str, list[str]] = {}
    for b in bindings:
        if b["source"] in EVENT_EXCHANGES and b["destination_type"] == "queue":
            if b["routing_key"] != "#":
                consumers.setdefault(b["routing_key"], []).append(b["destination"])
    handled = set()
    for service in devstack.WITH_DB:  # every service's inbox, insights' too
        try:
            rows = system.sql(
                service, "SELECT consumer, event_id FROM processed_events"
            )
        except Exception:  # noqa: BLE001 - a service without an inbox
            continue
        handled |= {(str(c), str(e)) for c, e in rows}
    expected = unhandled = 0
    for event_id, event_type in tap.event_ids.items():
        for queue in consumers.get(event_type, []):
            expected += 1
            if (queue, event_id) not in handled:
                unhandled += 1
                out.examples.append(f"{queue} never handled {event_type} {event_id}")
    out.counts["events published"] = len(tap.event_ids)
    out.counts["event copies on the bus"] = sum(tap.copies.values())
    out.counts["handlings expected"] = expected
    out.lost["events not handled"] = unhandled


def witness_work(system: System, out: Outcome) -> None:
    """At the end of a cycle nothing waits for staff: every application was decided,
    every report reviewed, every stipend approved. An item still shown as waiting is
    an old event ("it arrived") taking effect again after the later one ("it was
    done"): the effect the inbox guards that no unique key does."""
    rows = system.sql(
        "notifications",
        "SELECT kind, count(*) FROM pending_items WHERE state = 'waiting' "
        "GROUP BY kind",
    )
    for kind, count in rows:
        out.examples.append(f"{count} {kind} items still shown as waiting")
    out.duplicated["done work shown as waiting"] = sum(int(r[1]) for r in rows)


def witness_mail(system: System, monkey: Monkey, out: Outcome) -> None:
    """Each Message-ID once; a second copy is the crash's (at least once at the SMTP
    boundary) when the sender died or lost its database right after the first."""
    arrivals: dict[str, list[float]] = {}
    folder = system.settings.var / "mail"
    box = mailbox.Maildir(str(folder), create=False)
    for key in box.keys():
        message = box.get_message(key)
        path = folder / ("new" if (folder / "new" / key).exists() else "cur") / key
        when = path.stat().st_mtime if path.exists() else time.time()
        arrivals.setdefault(str(message["Message-ID"]), []).append(when)
    resent = duplicated = 0
    for ident, times in arrivals.items():
        times.sort()
        for later in times[1:]:
            # the handler's registry call times out after 10 s; its commit follows
            # the send within a second
            fault = monkey.record.crashed_near("notifications", times[0], 10.0, 2.0)
            if fault is not None:
                resent += 1
                out.examples.append(
                    f"mail resent at +{later - times[0]:.1f} s: {fault.kind} "
                    f"{fault.target} at +{fault.at - times[0]:.1f} s"
                )
            else:
                duplicated += 1
                out.examples.append(
                    f"mail {ident} arrived again at +{later - times[0]:.1f} s"
                )
    out.counts["mails"] = sum(len(t) for t in arrivals.values())
    out.counts["mails resent after a crash"] = resent
    out.duplicated["mails sent twice"] = duplicated


def witness_parked(system: System, out: Outcome) -> None:
    vhost = urllib.parse.quote(system.settings.vhost, safe="")
    queues = requests.get(f"{system.api}/queues/{vhost}", auth=AUTH, timeout=30).json()
    parked = unreasoned = 0
    for queue in queues:
        if not queue["name"].endswith(".dlq") or not queue.get("messages"):
            continue
        got = requests.post(
            f"{system.api}/queues/{vhost}/"
            f"{urllib.parse.quote(queue['name'], safe='')}/get",
            auth=AUTH,
            timeout=30,
            json={"count": 1000, "ackmode": "ack_requeue_true", "encoding": "auto"},
        ).json()
        for message in got:
            parked += 1
            headers = message.get("properties", {}).get("headers", {}) or {}
            if not headers.get("x-svyaz-reason"):
                unreasoned += 1
            else:
                out.examples.append(
                    f"parked in {queue['name']}: {headers['x-svyaz-reason'][:120]}"
                )
    out.counts["parked with a reason"] = parked - unreasoned
    out.broken["parked without a reason"] = unreasoned


def witness_logs(system: System, out: Outcome) -> None:
    """What the services said they did with what came again."""
    redelivered = suppressed = again = injected = 0
    for path in system.stack.logs.glob("*.log"):
        for line in path.read_text(errors="replace").splitlines():
            redelivered += "redelivered: " in line
            suppressed += "duplicate suppressed: " in line
            again += "duplicate handled again: " in line
            injected += "fault injection: SIGKILL" in line
    out.counts["redeliveries"] = redelivered
    out.counts["duplicates suppressed"] = suppressed
    out.counts["phase-end kills logged"] = injected
    # an event that took effect a second time (only with the inbox's check off)
    out.duplicated["events handled twice"] = again


def witness_leaks(system: System, tap: Tap, out: Outcome) -> None:
    """The tap scanned the bus as it went; now what the system wrote."""
    tap.settle()
    for source, texts in leaks.said(system).items():
        for text in texts:
            tap.scan_text(source, text)
    out.leaks = tap.scan


class Probe:
    """A signed RPC to the registry every 0.2 s, each waiting at most 5 s: when the
    system answered. After a node's loss, the longest wait between two answers is
    the pause people saw."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = {**config}
        self.answered: list[float] = []
        self.failed = 0

    def run(self, stop: Callable[[], bool]) -> None:
        proxy: Any = None
        while not stop():
            try:
                if proxy is None:
                    proxy = ClusterRpcProxy(self.config, timeout=5)
                    proxy.proxy = proxy.start()
                with signing.signing_as(GATEWAY):
                    proxy.proxy.registry.find_communicators(
                        ADMINS[0], {"pseudonym": "probe"}
                    )
                self.answered.append(time.time())
            except Exception:  # noqa: BLE001 - no answer: a new proxy, again
                self.failed += 1
                if proxy is not None:
                    try:
                        proxy.stop()
                    except Exception:  # noqa: BLE001
                        pass
                proxy = None
            eventlet.sleep(0.2)
        if proxy is not None:
            proxy.stop()

    def pause_after(self, when: float) -> float:
        """Seconds from `when` (a node's loss) to the end of the longest wait
        between answers that it began, within a minute."""
        before = [t for t in self.answered if t <= when]
        times = [max(before[-1] if before else when, when)] + [
            t for t in self.answered if when < t <= when + 60
        ]
        if len(times) < 2:
            return 60.0
        return max(b - a for a, b in zip(times, times[1:], strict=False))


# -- the run ---------------------------------------------------------------------------
def quiet(system: System, driver: Driver, timeout: float = 240) -> None:
    """Wait until nothing is left to do: every outbox sent, every queue empty."""
    vhost = urllib.parse.quote(system.settings.vhost, safe="")

    busy: list[str] = []

    def settled() -> bool:
        busy.clear()
        for service in ("registry", "stipends", "notifications"):
            if driver.sql(
                service, "SELECT 1 FROM outbox WHERE sent_at IS NULL LIMIT 1"
            ):
                busy.append(f"{service}'s outbox")
        queues = requests.get(
            f"{system.api}/queues/{vhost}", auth=AUTH, timeout=30
        ).json()
        busy.extend(
            f"{q['name']} ({q.get('messages_ready', 0)} ready, "
            f"{q.get('messages_unacknowledged', 0)} unacked)"
            for q in queues
            if not q["name"].endswith(".dlq")
            and not q["name"].startswith(("chaos-tap", "rpc.reply"))
            and (q.get("messages") or 0) > 0
        )
        return not busy

    stable = 0
    deadline = time.monotonic() + timeout
    while stable < 3:  # the management API's figures lag a little
        stable = stable + 1 if settled() else 0
        if time.monotonic() > deadline:
            raise TimeoutError(
                "the system did not settle after the faults: " + "; ".join(busy)
            )
        eventlet.sleep(2)


def chaos(
    var: Path,
    communicators: int,
    dedup: bool = True,
    seed: int | None = None,
    interval: float = 0.5,
    kill_at_phase: float = 0.05,
    heartbeat: int = 4,
    log: Callable[[str], None] = print,
    calm: bool = False,
    concurrency: int = 32,
    kinds: dict[str, int] | None = None,
    broker_every: float = 0,
    cluster: Any = None,
    node_every: float = 60,
    first_node_kill: float = 20,
    node_kills: int = 0,
    node_down_for: tuple[float, float] = (2.0, 5.0),
) -> Outcome:
    seed = seed if seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)
    started = time.monotonic()
    people = [
        Person(
            pseudonym=f"kite_{uuid.uuid4().hex[:8]}",
            legal_name=f"Irina Volkonskaya-{uuid.uuid4().hex[:6]}",
            email=f"chaos.{uuid.uuid4().hex[:10]}@example.org",
        )
        for _ in range(communicators)
    ]
    values = [p.legal_name for p in people] + [p.email for p in people]
    env = {
        "HEARTBEAT": str(heartbeat),
        "PAYOUT_RATE_LIMIT": "100",
        "PAYOUT_LEASE_SECONDS": "5",
        "PAYOUT_POLL_SECONDS": "3",
        # the run's time is short: a payout the faults keep refusing tries again
        # within seconds, not the five minutes production allows
        "PAYOUT_MAX_BACKOFF_SECONDS": "4",
        "PAYOUT_STRIPE_CONFIRM_SECONDS": "5",
        "NOTIFY_RETRY_BASE": "1",
        "UNSAFE_PAYOUT_KILL_AT_PHASE": "0" if calm else str(kill_at_phase),
        "UNSAFE_INBOX_DEDUP": "true" if dedup else "false",
        # eight processes (two replicas of four services) each pool up to
        # MAX_WORKERS + 6 connections: at the default 10 a burst of the run took
        # PostgreSQL's 97 slots for roles that are not superusers (each service its
        # own role since least privilege), so a machine's default max_connections
        # (100) carries the run with 6
        "MAX_WORKERS": "6",
    }
    vhost = ""
    try:
        with running_system(
            var, replicas=2, prefix="chaos", cluster=cluster, **env
        ) as system:
            vhost = system.settings.vhost
            amqp_uri = harness_user(system)
            tap = Tap(amqp_uri, values)
            monkey = Monkey(
                system, tap, rng, interval=interval, heartbeat=heartbeat, kinds=kinds
            )
            driver = Driver(system, amqp_uri, people, concurrency=concurrency)
            done = False
            threads = [
                eventlet.spawn(tap.follow, lambda: done),
                eventlet.spawn(monkey.supervise),
            ]
            if not calm:
                threads.append(eventlet.spawn(monkey.run))
                if broker_every:
                    threads.append(
                        eventlet.spawn(monkey.restart_broker_every, broker_every)
                    )
            monkey.node_down_for = node_down_for
            probe = Probe(driver.config)
            if cluster is not None:  # node kills even in a calm run: its only fault
                threads.append(
                    eventlet.spawn(
                        monkey.kill_nodes_every, node_every, first_node_kill, node_kills
                    )
                )
                threads.append(eventlet.spawn(probe.run, lambda: done))
            log(
                f"chaos: {communicators} communicators, 2 replicas of "
                f"{', '.join(sorted({n.split('-')[0] for n in monkey.replicas()}))}, "
                f"inbox dedup {'on' if dedup else 'OFF'}, seed {seed}"
                + (f", broker restart every ~{broker_every:.0f} s" * bool(broker_every))
                + (
                    f", a {len(cluster.nodes)}-node RabbitMQ cluster, a node killed "
                    f"every ~{node_every:.0f} s"
                    if cluster is not None
                    else ""
                )
            )

            def phase(line: str) -> None:
                """Said at each phase's end. With a number of node kills to make,
                the payout run waits until the last has begun: money moves while
                a node is down."""
                log(line)
                if cluster is not None and node_kills and "approved" in line:
                    deadline = time.monotonic() + 180
                    while len(monkey.record.node_kills) < node_kills:
                        if time.monotonic() > deadline:
                            break
                        eventlet.sleep(0.2)

            try:
                cycle_id = cycle(
                    driver, phase, payout_timeout=max(300, communicators / 5)
                )
                log(f"faults stop after {time.monotonic() - started:.0f} s; settling")
                monkey.heal()
                quiet(system, driver)
            finally:
                monkey.heal()
                done = True
                for thread in threads:
                    thread.wait()
            tap.settle()
            out = Outcome()
            out.faults = {**monkey.record.by_kind(), **monkey.sandbox_fired()}
            out.counts["restarts"] = monkey.record.restarts
            out.counts["tap reconnects"] = tap.reconnects
            if monkey.record.broker_downtime:
                out.counts["longest broker outage s"] = round(
                    max(monkey.record.broker_downtime)
                )
            if monkey.record.broker_deaths:
                out.counts["replicas that exited, the broker away or just back"] = (
                    monkey.record.broker_deaths
                )
            out.counts["replicas that exited otherwise"] = len(monkey.record.exits)
            if monkey.record.node_kills:
                pauses = [probe.pause_after(t) for t, _ in monkey.record.node_kills]
                for (_when, node), pause in zip(
                    monkey.record.node_kills, pauses, strict=True
                ):
                    log(f"node {node} killed: RPC answered again after {pause:.1f} s")
                out.counts["longest pause after a node loss ms"] = round(
                    max(pauses) * 1000
                )
                out.counts["shortest node outage ms"] = round(
                    min(monkey.record.node_outages, default=0) * 1000
                )
                out.counts["probe calls answered"] = len(probe.answered)
                out.counts["distinct nodes killed"] = len(
                    {node for _, node in monkey.record.node_kills}
                )
            out.examples += monkey.record.exits
            out.counts.update({k: v for k, v in driver.calls.items()})
            if cluster is not None:
                witness_replication(system, out)
            witness_payments(system, cycle_id, out)
            witness_books(system, out)
            witness_events(system, tap, out)
            witness_work(system, out)
            witness_mail(system, monkey, out)
            witness_parked(system, out)
            witness_logs(system, out)
            witness_leaks(system, tap, out)
            out.counts["seconds"] = int(time.monotonic() - started)
            tap.close()
            for proxy in list(driver.proxies.queue):
                proxy.stop()
    finally:  # the harness's broker user goes with the run
        if vhost:
            api = f"{cluster.management_url}/api" if cluster else API
            requests.delete(f"{api}/users/{harness_name(vhost)}", auth=AUTH, timeout=30)
    return out


@contextmanager
def started_cluster(var: Path, size: int) -> Iterator[Any]:
    """A RabbitMQ cluster of `size` nodes of the run's own (free ports, its data in
    `var`), cleaned up afterwards; None for no cluster (the machine's broker)."""
    if not size:
        yield None
        return
    sys.path.insert(0, str(ROOT / "infra" / "cluster"))
    from cluster import Cluster

    cluster = Cluster(var / "cluster", size=size, prefix="svyaz-chaos-", ports=None)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.clean()


def weights(text: str) -> dict[str, int]:
    """`kind=weight,...` from the command line."""
    try:
        pairs = [item.split("=", 1) for item in text.split(",") if item.strip()]
        return {kind.strip(): int(weight) for kind, weight in pairs}
    except ValueError:
        raise argparse.ArgumentTypeError("write kind=weight,kind=weight") from None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--communicators", type=int, default=2000)
    parser.add_argument("--no-dedup", action="store_true", help="the inbox off")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--interval", type=float, default=0.5, help="s between faults")
    parser.add_argument("--concurrency", type=int, default=32, help="people at once")
    parser.add_argument("--calm", action="store_true", help="no faults (a baseline)")
    parser.add_argument(
        "--broker-every",
        type=float,
        default=0,
        help="restart the machine's RabbitMQ every ~N s (0: never; it is shared)",
    )
    parser.add_argument(
        "--kinds",
        type=weights,
        help="only these faults, weighted: republish=4,kill=1,stripe=1 (the short "
        "inbox-off test's mix)",
    )
    parser.add_argument("--keep", type=Path, help="keep logs and mail in this folder")
    parser.add_argument(
        "--cluster",
        type=int,
        default=0,
        help="run on a RabbitMQ cluster of N nodes of its own (infra/cluster), not "
        "the machine's broker, with node kills among the faults",
    )
    parser.add_argument(
        "--node-every", type=float, default=60, help="s between node kills (~)"
    )
    args = parser.parse_args()
    if args.cluster and args.broker_every:
        parser.error("--broker-every restarts the machine's broker: not on a cluster")
    make_cooperative()
    configure_bus()
    with tempfile.TemporaryDirectory(prefix="svyaz-chaos-") as var:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
        with started_cluster(Path(var), args.cluster) as cluster:
            out = chaos(
                args.keep or Path(var),
                args.communicators,
                calm=args.calm,
                concurrency=args.concurrency,
                dedup=not args.no_dedup,
                seed=args.seed,
                interval=args.interval,
                broker_every=args.broker_every,
                kinds=args.kinds,
                cluster=cluster,
                node_every=args.node_every,
            )
    for line in out.lines():
        print(line, flush=True)
    failed = out.total_lost or any(out.broken.values()) or out.leaks.findings
    if args.no_dedup:  # the unsafe variant must show what the inbox guards
        failed = not out.total_duplicated
    elif out.total_duplicated:
        failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
