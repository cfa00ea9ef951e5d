"""The faults a chaos run injects into the running system, and their record.

Each kind is one method of `Monkey`; `Monkey.run` picks them at random until told to
stop. Every fault is logged with its time and target, so that the witnesses can tell
which effects a crash may explain (a mail sent just before its handler died).

- kill: SIGKILL one replica of a service; the supervisor starts it again.
- pause: SIGSTOP one replica past its AMQP heartbeat, then SIGCONT (the broker gives
  its unacknowledged messages to the other replica meanwhile).
- amqp: close every connection the services hold to the run's vhost (what a broker
  restart does to them; the shared broker itself keeps serving other vhosts).
- broker: stop the RabbitMQ node and start it again (`rabbitmqctl shutdown`, a few
  seconds down, `rabbitmq-server -detached`): every connection drops, and only what
  the quorum queues and the outboxes kept survives. Only where the run may stop the
  machine's broker (`make chaos`), every `broker_every` seconds or so, not among the
  random faults.
- node: on a RabbitMQ cluster (infra/cluster, `make chaos CLUSTER=3`), SIGKILL the
  node that leads the busiest quorum queues, start it again a few seconds later and
  wait until every quorum queue has all its members back; the next one is another
  node. Never two at once: a quorum queue needs two of its three members.
- pg: terminate every PostgreSQL backend of the run's databases.
- stripe: the sandbox answers the next API requests 429 or 500, or loses an answer
  after doing the work.
- webhook: the sandbox duplicates, delays or reorders the webhooks of a few seconds.
- republish: a handful of events already delivered are published again, byte for
  byte: what an outbox relay does when it dies between the broker's ack and marking
  the rows sent.
The payout workers' own SIGKILL at phase ends (`UNSAFE_PAYOUT_KILL_AT_PHASE`) is
seen by the supervisor as a death it did not cause.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Any

import eventlet
import psycopg2
import requests

from tests.stack import System, devstack

AUTH = ("guest", "guest")
SERVICES = devstack.SERVICES


def broker_ctl(*args: str, timeout: float = 180) -> None:
    subprocess.run(
        ["rabbitmqctl", *args],
        check=True,
        capture_output=True,
        timeout=timeout,
    )


def start_broker() -> None:
    """Start the node (if it is not running) and wait until it serves."""
    if not broker_running():
        subprocess.run(
            ["rabbitmq-server", "-detached"], check=True, capture_output=True
        )
    deadline = time.monotonic() + 120
    while not broker_running():  # the runtime first, then the application in it
        if time.monotonic() > deadline:
            raise TimeoutError("RabbitMQ's node did not come up within 120 s")
        eventlet.sleep(1.0)
    broker_ctl("await_startup", "--timeout", "180", timeout=200)


def broker_running() -> bool:
    return not subprocess.run(["rabbitmqctl", "ping"], capture_output=True).returncode


@dataclass
class Fault:
    at: float
    kind: str
    target: str
    count: int = 1


@dataclass
class Record:
    faults: list[Fault] = field(default_factory=list)
    restarts: int = 0
    phase_kills: int = 0
    broker_deaths: int = 0
    exits: list[str] = field(default_factory=list)
    broker_downtime: list[float] = field(default_factory=list)
    node_kills: list[tuple[float, str]] = field(default_factory=list)  # (when, node)
    node_outages: list[float] = field(default_factory=list)  # s until it served again

    def add(self, kind: str, target: str, count: int = 1) -> None:
        self.faults.append(Fault(time.time(), kind, target, count))

    def by_kind(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for fault in self.faults:
            counts[fault.kind] = counts.get(fault.kind, 0) + fault.count
        return counts

    def crashed_near(
        self, service: str, when: float, before: float, after: float
    ) -> Fault | None:
        """The fault that can have interrupted the `service` handler that had an
        effect outside its database at `when` before its commit: from `before`
        seconds earlier (a database connection cut while the handler waited on an
        RPC fails only at its next statement) to `after` seconds later."""
        for fault in self.faults:
            if not when - before <= fault.at <= when + after:
                continue
            if fault.kind in ("kill", "pause", "phase_kill") and (
                fault.target.split("-")[0] == service
            ):
                return fault
            if fault.kind == "pg":
                return fault
        return None


class Monkey:
    """Injects faults into `system` (its replicas) every `interval` seconds."""

    def __init__(
        self,
        system: System,
        events: Any,
        rng: random.Random,
        interval: float = 0.5,
        heartbeat: float = 4.0,
        kinds: dict[str, int] | None = None,
    ) -> None:
        self.system = system
        self.stack = system.stack
        self.events = events  # the tap: recorded events to publish again
        self.rng = rng
        self.interval = interval
        self.heartbeat = heartbeat
        self.record = Record()
        self.kinds = kinds or {
            "kill": 3,
            "pause": 1,
            "amqp": 1,
            "pg": 1,
            "stripe": 4,
            "webhook": 1,
            "republish": 2,
        }
        self.paused: set[str] = set()
        self.killed: dict[str, float] = {}  # name -> when to start it again
        self.stopping = False
        self.last_kill = 0.0
        self.broker_down = False
        self.broker_back = -1e9  # when the broker last came back
        self.last_node = ""  # the cluster node killed last
        self.node_down_for = (2.0, 5.0)  # s a killed node stays down
        self.vhost = urllib.parse.quote(system.settings.vhost, safe="")

    # -- the replicas ------------------------------------------------------------------
    def replicas(self) -> list[str]:
        return [name for name in self.stack.processes if name.split("-")[0] in SERVICES]

    def alive(self, name: str) -> bool:
        return self.stack.processes[name].poll() is None

    def supervise(self) -> None:
        """Start again every replica that died, after a moment (the harness's kills
        and the payout workers' own)."""
        while not self.stopping or self.killed:
            now = time.monotonic()
            for name in self.replicas():
                process = self.stack.processes[name]
                if process.poll() is None or name in self.paused:
                    continue
                if name not in self.killed:  # died without our kill
                    self.died(name, process.returncode, now)
                    self.killed[name] = now + self.rng.uniform(0.5, 2.0)
                elif self.killed[name] <= now:
                    del self.killed[name]
                    self.stack.restart(name)
                    self.record.restarts += 1
            eventlet.sleep(0.2)

    def died(self, name: str, code: int, now: float) -> None:
        """A payout worker's own SIGKILL at a phase end is a fault; a replica that
        exited (code 1: it could not declare its queues, the broker being away or
        just back, or its connection closed as it started) is counted apart."""
        if code == -signal.SIGKILL:
            self.record.phase_kills += 1
            self.record.add("phase_kill", name)
        elif self.broker_down or now - self.broker_back < 60:
            # a replica that lost its node as it started exits too
            self.record.broker_deaths += 1
        else:
            self.record.exits.append(f"{name} exited with {code}")

    # -- the faults --------------------------------------------------------------------
    def kill(self) -> None:
        if time.monotonic() - self.last_kill < 2.0:
            return self.stripe()  # restarts cost CPU: at most one kill per 2 s
        candidates = [
            n
            for n in self.replicas()
            if self.alive(n) and n not in self.paused and n not in self.killed
        ]
        if not candidates:
            return None
        name = self.rng.choice(candidates)
        self.killed[name] = time.monotonic() + self.rng.uniform(0.5, 3.0)
        os.killpg(self.stack.processes[name].pid, signal.SIGKILL)
        self.stack.processes[name].wait(timeout=30)
        self.last_kill = time.monotonic()
        self.record.add("kill", name)
        return None

    def pause(self) -> None:
        if self.paused:
            return None
        candidates = [n for n in self.replicas() if self.alive(n)]
        if not candidates:
            return None
        name = self.rng.choice(candidates)
        self.paused.add(name)
        os.killpg(self.stack.processes[name].pid, signal.SIGSTOP)
        self.record.add("pause", name)

        def resume() -> None:
            eventlet.sleep(self.heartbeat * 2.5 + 1)
            try:
                os.killpg(self.stack.processes[name].pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
            self.paused.discard(name)

        eventlet.spawn(resume)
        return None

    def broker(self) -> None:
        """Restart the RabbitMQ node: stopped, down a few seconds, started, and
        waited for (the next fault comes when it serves again)."""
        self.broker_down = True
        began = time.monotonic()
        try:
            broker_ctl("shutdown")  # returns when the node has exited
            self.record.add("broker", "rabbitmq stopped")
            eventlet.sleep(self.rng.uniform(1.0, 5.0))
            start_broker()
            self.record.restarts += 1
            self.record.broker_downtime.append(time.monotonic() - began)
        finally:
            self.broker_down = False
            self.broker_back = time.monotonic()

    def restart_broker_every(self, seconds: float) -> None:
        """A broker restart every `seconds` or so until the faults stop."""
        while True:
            eventlet.sleep(self.rng.uniform(0.5, 1.5) * seconds)
            if self.stopping:
                return
            try:
                self.broker()
            except Exception as exc:  # noqa: BLE001 - say so; the run's checks judge
                print(f"chaos: broker restart failed: {type(exc).__name__}: {exc}")
                start_broker()

    def amqp(self) -> None:
        """Close the services' connections: each service's own broker user (the
        harness connects as another)."""
        if self.broker_down:
            return None
        found = requests.get(
            f"{self.system.api}/vhosts/{self.vhost}/connections", auth=AUTH, timeout=30
        )
        found.raise_for_status()
        services = {self.system.settings.broker_user(s) for s in SERVICES}
        closed = 0
        for connection in found.json():
            if connection.get("user") not in services:
                continue
            name = urllib.parse.quote(connection["name"], safe="")
            gone = requests.delete(
                f"{self.system.api}/connections/{name}",
                auth=AUTH,
                timeout=30,
                headers={"X-Reason": "chaos: connection closed"},
            )
            closed += gone.status_code in (200, 204)
        if closed:
            self.record.add("amqp", f"{closed} connections", 1)

    def busiest_node(self) -> Any:
        """The cluster's live node (not the one killed last) that leads the quorum
        queues with the most messages published to them so far."""
        cluster = self.system.cluster
        queues = requests.get(
            f"{self.system.api}/queues/{self.vhost}",
            params={"columns": "name,type,leader,message_stats.publish"},
            auth=AUTH,
            timeout=30,
        ).json()
        load = {node.name: 0 for node in cluster.live()}
        load.pop(self.last_node, None)
        for queue in queues:
            if queue.get("type") == "quorum" and queue.get("leader") in load:
                stats = queue.get("message_stats") or {}
                load[queue["leader"]] += 1 + int(stats.get("publish") or 0)
        return cluster.node_named(max(load, key=lambda n: load[n]))

    def node(self) -> None:
        """Kill the node leading the busiest queues; start it again after a few
        seconds and wait until every quorum queue has all its members online."""
        cluster = self.system.cluster
        target = self.busiest_node()
        self.broker_down = True
        began = time.monotonic()
        try:
            cluster.kill_node(target)
            self.record.add("node", target.name)
            self.record.node_kills.append((time.time(), target.name))
            eventlet.sleep(self.rng.uniform(*self.node_down_for))
            cluster.start_node(target)
            self.record.node_outages.append(time.monotonic() - began)
            self.record.restarts += 1
            deadline = time.monotonic() + 120
            while not self.members_online() and time.monotonic() < deadline:
                eventlet.sleep(1.0)
            # what an operator does after a node's return: its share of leaders
            cluster.rebalance()
            self.record.broker_downtime.append(time.monotonic() - began)
        finally:
            self.last_node = target.name
            self.broker_down = False
            self.broker_back = time.monotonic()

    def members_online(self) -> bool:
        queues = requests.get(
            f"{self.system.api}/queues/{self.vhost}",
            params={"columns": "name,type,members,online"},
            auth=AUTH,
            timeout=30,
        ).json()
        return all(
            set(q.get("members") or []) <= set(q.get("online") or [])
            for q in queues
            if q.get("type") == "quorum"
        )

    def kill_nodes_every(self, seconds: float, first: float, most: int = 0) -> None:
        """A node kill after `first` seconds, then every `seconds` or so (each
        after the last one's node is back) until the faults stop, or `most` kills
        (0: no limit)."""
        eventlet.sleep(first)
        while not self.stopping and not (most and len(self.record.node_kills) >= most):
            try:
                self.node()
            except Exception as exc:  # noqa: BLE001 - say so; the run's checks judge
                print(f"chaos: node kill failed: {type(exc).__name__}: {exc}")
            eventlet.sleep(self.rng.uniform(0.5, 1.5) * seconds)

    def pg(self) -> None:
        names = [self.system.settings.db_name(s) for s in devstack.WITH_DB]
        conn = psycopg2.connect(f"{self.system.settings.pg_url}/postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                    (names,),
                )
                (terminated,) = cur.fetchone()
        finally:
            conn.close()
        if terminated:
            self.record.add("pg", f"{terminated} backends", 1)

    def stripe(self) -> None:
        choice = self.rng.random()
        if choice < 0.4:
            body: dict[str, Any] = {
                "fail_nth": self.rng.randint(1, 3),
                "status": 429,
                "times": self.rng.randint(1, 3),
            }
        elif choice < 0.8:
            body = {
                "fail_nth": self.rng.randint(1, 3),
                "status": 500,
                "times": self.rng.randint(1, 2),
            }
        else:
            body = {"lose_response_nth": self.rng.randint(1, 3)}
        self.sandbox("POST", "/_sandbox/faults", body)

    def webhook(self) -> None:
        switch = self.rng.choice(
            [{"duplicate": True}, {"reorder": True}, {"delay": 2.0}]
        )
        self.sandbox("POST", "/_sandbox/faults", {"webhook": switch})

        def off() -> None:
            eventlet.sleep(3.0)
            off = {
                "duplicate": False,
                "reorder": False,
                "delay": 0.0,
            }
            self.sandbox("POST", "/_sandbox/faults", {"webhook": off})

        eventlet.spawn(off)

    def republish(self) -> None:
        sent = self.events.republish(self.rng, self.rng.randint(1, 4))
        if sent:
            self.record.add("republish", "events", sent)

    def sandbox(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(
            method, f"{self.system.sandbox}{path}", json=body, timeout=30
        )
        answer.raise_for_status()
        return answer.json()

    def sandbox_fired(self) -> dict[str, int]:
        """Requests and webhooks the sandbox's switches actually hit."""
        state = self.sandbox("GET", "/_sandbox/faults")
        fired = {f"stripe {k}": v for k, v in state.get("fired", {}).items()}
        hooks = state.get("webhook", {}).get("fired", {})
        fired.update({f"webhook {k}": v for k, v in hooks.items()})
        return fired

    def run(self) -> None:
        kinds, weights = zip(*self.kinds.items(), strict=True)
        while not self.stopping:
            kind = self.rng.choices(kinds, weights)[0]
            try:
                getattr(self, kind)()
            except Exception as exc:  # noqa: BLE001 - a fault that failed to start
                print(f"chaos: {kind} not injected: {type(exc).__name__}: {exc}")
            eventlet.sleep(self.rng.expovariate(1 / self.interval))

    def heal(self) -> None:
        """Stop injecting; every switch off, every paused replica on, every dead one
        started again."""
        self.stopping = True
        try:
            self.sandbox("DELETE", "/_sandbox/faults")
        except requests.RequestException as exc:  # a run that failed: say so only
            print(f"chaos: sandbox switches not cleared: {exc}")
        deadline = time.monotonic() + self.heartbeat * 2.5 + 10
        while (self.paused or self.killed) and time.monotonic() < deadline:
            eventlet.sleep(0.2)
        deadline = time.monotonic() + 240  # a broker restart under way ends first
        while self.broker_down and time.monotonic() < deadline:
            eventlet.sleep(0.2)
