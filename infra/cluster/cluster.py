"""A RabbitMQ cluster of three nodes on this machine, from Debian's `rabbitmq-server`.

    python infra/cluster/cluster.py start    # three nodes, joined, definitions loaded
    python infra/cluster/cluster.py status   # nodes, and where each queue's leader is
    python infra/cluster/cluster.py stop     # stop the nodes, keep their data
    python infra/cluster/cluster.py clean    # stop them and delete var/cluster/

Each node is its own Erlang node (`svyaz-c1@localhost`, ...) with its own AMQP port
(5701, 5702, 5703), distribution port (25701...), management port (15701...), data,
log and configuration directories under `var/cluster/<node>/`, and the cluster's one
Erlang cookie (`var/cluster/home/.erlang.cookie`: the nodes and `rabbitmqctl` run with
that folder as HOME). Nodes 2 and 3 join node 1 (`rabbitmqctl join_cluster`); then the
project's definitions (infra/rabbitmq/definitions.json) are loaded into `/`, so every
quorum queue is declared with all three nodes as members, and
`queue_leader_locator = balanced` spreads their leaders over the nodes.

The machine's own RabbitMQ (`rabbit@localhost`, port 5672) is never touched: every
`rabbitmqctl` here names one of this cluster's nodes with `-n`, and a node is killed
through the process group this harness started it in.

Tests and the chaos run use `Cluster` (free ports, their own folder); `uris()` gives the
failover URI the services take (`amqp://...@127.0.0.1:5701/;amqp://...:5702/;...`).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SBIN = Path("/usr/lib/rabbitmq/bin")  # the real scripts (/usr/sbin's wrapper su's)
DEFINITIONS = ROOT / "infra" / "rabbitmq" / "definitions.json"
ADMIN = ("guest", "guest")  # RabbitMQ's guest: loopback only, the harness's own

CONFIG = """\
listeners.tcp.1 = 127.0.0.1:{amqp}
management.tcp.ip = 127.0.0.1
management.tcp.port = {management}
# a quorum queue's leader goes to the node with the fewest leaders
queue_leader_locator = balanced
# a node cut off from the majority stops serving rather than diverge
cluster_partition_handling = pause_minority
# this machine's disk is shared: the default 50 MB floor, not a fraction of RAM
disk_free_limit.absolute = 50MB
log.file.level = warning
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _raise_fd_limit() -> None:  # in the child, before exec
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Node:
    index: int
    name: str  # the Erlang node name, `<prefix><index>@localhost`
    amqp: int
    dist: int
    management: int
    home: Path  # var/cluster/<short name>/
    process: subprocess.Popen[bytes] | None = None

    @property
    def short(self) -> str:
        return self.name.partition("@")[0]


class Cluster:
    """`size` RabbitMQ nodes on loopback. `ports`: the first node's AMQP port, the
    others following (distribution +20000, management +10000), or None for free
    ports (tests: several runs may share the machine)."""

    def __init__(
        self,
        base: Path = ROOT / "var" / "cluster",
        size: int = 3,
        prefix: str = "svyaz-c",
        ports: int | None = 5701,
    ):
        self.base = base
        self.cookie_home = base / "home"
        self.nodes: list[Node] = []
        for i in range(1, size + 1):
            if ports is None:
                amqp, dist, management = free_port(), free_port(), free_port()
            else:
                amqp = ports + i - 1
                dist, management = amqp + 20000, amqp + 10000
            short = f"{prefix}{i}"
            self.nodes.append(
                Node(i, f"{short}@localhost", amqp, dist, management, base / short)
            )

    # -- what clients take -------------------------------------------------------
    def uris(
        self, user: str = "guest", password: str = "guest", vhost: str = "/"
    ) -> str:
        """The failover URI: every node, `;`-separated (kombu tries them in turn)."""
        quoted = urllib.parse.quote(vhost, safe="")
        return ";".join(
            f"amqp://{user}:{password}@127.0.0.1:{n.amqp}/{quoted}" for n in self.nodes
        )

    def hosts(self) -> list[str]:
        return [f"127.0.0.1:{n.amqp}" for n in self.nodes]

    @property
    def management_url(self) -> str:
        """The first live node's management API (node 1's when none is known)."""
        node = next((n for n in self.nodes if port_open(n.management)), self.nodes[0])
        return f"http://127.0.0.1:{node.management}"

    def live(self) -> list[Node]:
        return [n for n in self.nodes if n.process and n.process.poll() is None]

    # -- the nodes -------------------------------------------------------------------
    def env(self, node: Node) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("RABBITMQ_", "ERL_"))
        }
        env.update(
            HOME=str(self.cookie_home),  # the cluster's cookie, for node and CLI
            # not /etc/rabbitmq/rabbitmq-env.conf: that names the machine's node
            RABBITMQ_CONF_ENV_FILE=str(node.home / "rabbitmq-env.conf"),
            RABBITMQ_NODENAME=node.name,
            RABBITMQ_DIST_PORT=str(node.dist),
            RABBITMQ_CONFIG_FILE=str(node.home / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(node.home / "advanced.config"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(node.home / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(node.home / "mnesia"),
            RABBITMQ_LOG_BASE=str(node.home / "log"),
            RABBITMQ_PID_FILE=str(node.home / "pid"),
            RABBITMQ_NODE_IP_ADDRESS="127.0.0.1",
            ERL_EPMD_ADDRESS="127.0.0.1",
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=(
                "-kernel inet_dist_use_interface {127,0,0,1}"
            ),
        )
        return env

    def _prepare(self, node: Node) -> None:
        for sub in ("mnesia", "log"):
            (node.home / sub).mkdir(parents=True, exist_ok=True)
        (node.home / "rabbitmq-env.conf").write_text("# svyaz cluster: see env()\n")
        (node.home / "rabbitmq.conf").write_text(
            CONFIG.format(amqp=node.amqp, management=node.management)
        )
        (node.home / "advanced.config").write_text("[].\n")
        (node.home / "enabled_plugins").write_text("[rabbitmq_management].\n")
        cookie = self.cookie_home / ".erlang.cookie"
        if not cookie.exists():
            self.cookie_home.mkdir(parents=True, exist_ok=True)
            fd = os.open(cookie, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o400)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(20).upper())

    def ctl(self, node: Node, *args: str, timeout: float = 120) -> str:
        """`rabbitmqctl -n <this cluster's node> ...` (never the machine's node)."""
        done = subprocess.run(
            [str(SBIN / "rabbitmqctl"), "-n", node.name, *args],
            env=self.env(node),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl -n {node.name} {' '.join(args)}: "
                f"{(done.stderr or done.stdout).strip()[-400:]}"
            )
        return done.stdout

    def start_node(self, node: Node, timeout: float = 120) -> None:
        """Start one node in the foreground (as this process's child) and wait
        until it serves AMQP."""
        self.spawn(node)
        self.await_node(node, timeout)

    def spawn(self, node: Node) -> None:
        if node.process and node.process.poll() is None:
            return
        self._prepare(node)
        log = open(node.home / "log" / "console.log", "ab")  # noqa: SIM115
        node.process = subprocess.Popen(
            [str(SBIN / "rabbitmq-server")],
            env=self.env(node),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=node.home,
            start_new_session=True,
            preexec_fn=_raise_fd_limit,  # noqa: PLW1509 - no threads here yet
        )
        log.close()

    def await_node(self, node: Node, timeout: float = 120) -> None:
        def listening() -> bool:
            if node.process and node.process.poll() is not None:
                log = (node.home / "log" / "console.log").read_text(errors="replace")
                raise RuntimeError(f"{node.name} exited: {log[-800:]}")
            return port_open(node.dist)

        # await_startup refuses a node that epmd does not know yet
        self.wait(listening, f"{node.name}'s distribution port", timeout)
        self.ctl(node, "await_startup", "--timeout", str(int(timeout)))
        self.wait(lambda: port_open(node.amqp), f"{node.name} on AMQP", timeout)

    def kill_node(self, node: Node) -> None:
        """The node's loss: SIGKILL to its whole process group (beam and all)."""
        if node.process and node.process.poll() is None:
            os.killpg(node.process.pid, signal.SIGKILL)
            node.process.wait(timeout=30)
        self.wait(lambda: not port_open(node.amqp), f"{node.name} gone", 30)

    def stop_node(self, node: Node) -> None:
        """A clean stop (`rabbitmqctl stop`), then the process group is reaped."""
        if node.process and node.process.poll() is None:
            try:
                self.ctl(node, "stop", timeout=60)
                node.process.wait(timeout=60)
            except (RuntimeError, subprocess.TimeoutExpired):
                pass
            if node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGKILL)
                node.process.wait(timeout=30)
        else:
            # started by an earlier `cluster.py start`: stopped by its node name
            pid_file = node.home / "pid"
            if pid_file.exists():
                try:
                    self.ctl(node, "stop", timeout=60)
                except RuntimeError:
                    pass
        try:  # the shell scripts around beam
            if node.process:
                os.killpg(node.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    @staticmethod
    def wait(check: Any, what: str, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise TimeoutError(f"{what}: not within {seconds:.0f} s")

    def start(self) -> None:
        """Every node started, 2..n joined to node 1, the definitions loaded."""
        if any(port_open(n.amqp) or port_open(n.management) for n in self.nodes):
            raise RuntimeError(
                "a cluster port is taken: is a cluster already running? "
                "(`python infra/cluster/cluster.py stop`)"
            )
        first, *others = self.nodes
        kept = {n.name for n in self.nodes if (n.home / "mnesia").exists()}
        try:
            # all at once: nodes restarted from kept data wait for their peers
            for node in self.nodes:
                self.spawn(node)
            for node in self.nodes:
                self.await_node(node)
            for node in others:
                if node.name in kept and first.name in self.running_nodes(node):
                    continue  # joined before (a restart of a kept cluster)
                self.ctl(node, "stop_app")
                if node.name in kept:  # a fresh node has nothing to forget
                    self.ctl(node, "reset")
                self.ctl(node, "join_cluster", first.name)
                self.ctl(node, "start_app")
            self.wait(
                lambda: len(self.running_nodes(first)) == len(self.nodes),
                "every node running in the cluster",
                60,
            )
            self.wait(
                lambda: self.management("GET", "overview") is not None,
                "the management API",
                60,
            )
            self.load_definitions()
            if kept:  # leaders went to the nodes that stopped last: spread them
                self.rebalance()
        except BaseException:
            self.stop()
            raise

    def rebalance(self) -> None:
        """Spread the quorum queues' leaders over the nodes again (after a node's
        loss its leaders moved to the others, and a node that comes back leads
        nothing until this runs): `rabbitmq-queues rebalance quorum`."""
        node = self.live()[0] if self.live() else self.nodes[0]
        done = subprocess.run(
            [str(SBIN / "rabbitmq-queues"), "-n", node.name, "rebalance", "quorum"],
            env=self.env(node),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"rebalance: {(done.stderr or done.stdout)[-400:]}")

    def running_nodes(self, node: Node) -> list[str]:
        status = json.loads(self.ctl(node, "cluster_status", "--formatter", "json"))
        return [str(n) for n in status.get("running_nodes", [])]

    def stop(self) -> None:
        for node in reversed(self.nodes):
            self.stop_node(node)

    def clean(self) -> None:
        """Every node killed (its data goes too) and the folder deleted."""
        for node in self.nodes:
            if node.process and node.process.poll() is None:
                os.killpg(node.process.pid, signal.SIGKILL)
                node.process.wait(timeout=30)
            elif not node.process and port_open(node.dist):
                self.stop_node(node)  # started by an earlier `cluster.py start`
        shutil.rmtree(self.base, ignore_errors=True)

    # -- the management API ------------------------------------------------------
    def management(
        self, method: str, path: str, body: object = None, node: Node | None = None
    ) -> Any:
        """A call to a live node's management API (the first live one by default)."""
        targets = [node] if node else self.live() or self.nodes
        last: Exception | None = None
        for target in targets:
            request = urllib.request.Request(
                f"http://127.0.0.1:{target.management}/api/{path}",
                data=body
                if isinstance(body, bytes | None)
                else json.dumps(body).encode(),
                method=method,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": "Basic "
                    + base64.b64encode(":".join(ADMIN).encode()).decode(),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
                    text = response.read()
                    return json.loads(text) if text else {}
            except urllib.error.HTTPError as exc:
                raise RuntimeError(
                    f"{method} {path}: {exc.code} {exc.read()[:200]!r}"
                ) from None
            except OSError as exc:
                last = exc
        raise RuntimeError(f"{method} {path}: no node answered ({last})")

    def load_definitions(self, vhost: str = "/") -> None:
        """infra/rabbitmq/definitions.json into `vhost` (made if missing)."""
        quoted = urllib.parse.quote(vhost, safe="")
        self.management("PUT", f"vhosts/{quoted}")
        self.management(
            "PUT",
            f"permissions/{quoted}/{ADMIN[0]}",
            {"configure": ".*", "write": ".*", "read": ".*"},
        )
        from svyaz import topology

        definitions = topology.clustered(json.loads(DEFINITIONS.read_text()))
        self.management("POST", f"definitions/{quoted}", definitions)

    def leaders(self, vhost: str = "/") -> dict[str, str]:
        """Each quorum queue of `vhost` -> the node that leads it."""
        quoted = urllib.parse.quote(vhost, safe="")
        return {
            q["name"]: str(q.get("leader") or q.get("node"))
            for q in self.management(
                "GET", f"queues/{quoted}?columns=name,type,leader,node"
            )
            if q.get("type") == "quorum"
        }

    def members(self, queue: str, vhost: str = "/") -> list[str]:
        quoted = urllib.parse.quote(vhost, safe="")
        name = urllib.parse.quote(queue, safe="")
        found = self.management("GET", f"queues/{quoted}/{name}")
        return [str(m) for m in found.get("members") or []]

    def node_named(self, name: str) -> Node:
        (node,) = [n for n in self.nodes if n.name == name]
        return node


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=("start", "status", "stop", "clean"))
    parser.add_argument("--ports", type=int, default=5701, help="node 1's AMQP port")
    parser.add_argument("--size", type=int, default=3)
    args = parser.parse_args()
    cluster = Cluster(size=args.size, ports=args.ports)
    if args.command == "start":
        cluster.start()
        # the nodes outlive this command (their own sessions); `stop` ends them
        for node in cluster.nodes:
            if node.process:
                node.process = None
        print(f"cluster of {len(cluster.nodes)} running; AMQP_URI={cluster.uris()}")
        print(f"management: {cluster.management_url} (guest/guest)")
    elif args.command == "status":
        for node in cluster.nodes:
            state = "up" if port_open(node.amqp) else "down"
            print(
                f"{node.name}: {state}, AMQP {node.amqp}, management {node.management}"
            )
        spread: dict[str, int] = {}
        for leader in cluster.leaders().values():
            spread[leader] = spread.get(leader, 0) + 1
        print("quorum queue leaders:", json.dumps(spread, sort_keys=True))
    elif args.command == "stop":
        cluster.stop()
    else:
        cluster.clean()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
