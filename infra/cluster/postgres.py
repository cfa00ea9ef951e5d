"""PostgreSQL with a streaming standby on this machine, and PgBouncer in front of
each node: a second and a third PostgreSQL server of their own (never the machine's
on 5432), on ports of their own, their data under `var/`.

    python infra/cluster/postgres.py --base var/pgha   # start, print the URIs, wait

The primary is made by Debian's `initdb`, the standby by `pg_basebackup -R` from it
(a streaming replica, named `standby` in the primary's `synchronous_standby_names`,
so a commit is acknowledged only once the standby has flushed it: what a service saw
committed survives the primary's loss). `promote()` stops the primary at once (as a
lost machine stops) and promotes the standby (`pg_ctl promote`); the standby's own
configuration names no synchronous standby, so it commits alone once promoted.

Services reach a database through a URI naming both nodes with
`target_session_attrs=read-write` (libpq's multi-host connection string, which
SQLAlchemy's psycopg2 dialect passes through: `?host=a:p1&host=b:p2&...`), so a
new connection finds whichever node takes writes. With `pooled=True`, each node has
its own PgBouncer (transaction pooling) and the URI names the two poolers instead:
libpq asks each pooler's server whether it is read-only.

The servers run as the `postgres` system user (initdb refuses root); they trust
loopback connections, like the development server. docs/failover.md.
"""

from __future__ import annotations

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "infra" / "dev"))
from stack import multi_host_uri  # noqa: E402

PGBOUNCER = "/usr/sbin/pgbouncer"
OWNER = "postgres"  # the system user the servers run as


def pg_bin() -> Path:
    """The newest of Debian's PostgreSQL binaries (/usr/lib/postgresql/<n>/bin)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda p: int(p.parent.parent.name),
    )
    if not found:
        raise RuntimeError(
            "PostgreSQL's server binaries are missing (Debian: apt-get install "
            "postgresql)"
        )
    return found[-1].parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner() -> None:
    """In the child: drop root for the `postgres` user (initdb and postgres refuse
    to run as root)."""
    if os.getuid() == 0:
        user = pwd.getpwnam(OWNER)
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)


def _run(*argv: str | Path) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL tool as the servers' owner; raise with its message."""
    done = subprocess.run(
        [str(a) for a in argv],
        preexec_fn=_as_owner,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
        env={**os.environ, "LC_ALL": "C.UTF-8"},
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"{Path(str(argv[0])).name} failed ({done.returncode}): "
            f"{(done.stderr or done.stdout)[-800:]}"
        )
    return done


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Node:
    name: str  # "primary", "standby"
    data: Path
    port: int
    pooler_port: int = 0

    @property
    def log(self) -> Path:
        return self.data.parent / f"{self.name}.log"


@dataclass
class PostgresPair:
    """A primary and its synchronous streaming standby under `base` (made empty)."""

    base: Path
    pooled: bool = False
    pool_mode: str = "transaction"
    # the administrator's password at the poolers (its server trusts loopback):
    # set, the poolers take `postgres` too, so tests can create their databases
    # through them (TEST_PG_URL, docs/failover.md)
    admin_password: str = ""
    nodes: list[Node] = field(default_factory=list)
    poolers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    promoted: bool = False

    def __post_init__(self) -> None:
        self.base = self.base.resolve()
        self.bin = pg_bin()
        if not self.nodes:
            self.nodes = [
                Node(name, self.base / name, free_port(), free_port())
                for name in ("primary", "standby")
            ]

    @property
    def primary(self) -> Node:
        return self.nodes[1] if self.promoted else self.nodes[0]

    # -- addresses --------------------------------------------------------------
    @property
    def hosts(self) -> tuple[str, ...]:
        """`host:port` of each node, or of each node's pooler, primary first."""
        return tuple(
            f"127.0.0.1:{n.pooler_port if self.pooled else n.port}" for n in self.nodes
        )

    @property
    def admin_url(self) -> str:
        """The administrator on the current primary, directly (no pooler)."""
        return f"postgresql://postgres@127.0.0.1:{self.primary.port}"

    def uri(self, database: str, user: str = "postgres", password: str = "") -> str:
        """SQLAlchemy URI naming every node, the writable one chosen by libpq."""
        return multi_host_uri(self.hosts, database, user, password)

    # -- life -------------------------------------------------------------------
    def start(self) -> None:
        if shutil.which("pg_ctl", path=str(self.bin)) is None:
            raise RuntimeError(f"no pg_ctl in {self.bin}")
        if self.base.exists():
            shutil.rmtree(self.base)
        self.base.mkdir(parents=True)
        owner = pwd.getpwnam(OWNER)
        if os.getuid() == 0:
            os.chown(self.base, owner.pw_uid, owner.pw_gid)
        self._make_primary()
        self._make_standby()
        if self.admin_password:  # a write: the standby must be there to confirm it
            self.sql(
                self.nodes[0],
                f"ALTER ROLE postgres PASSWORD '{self.admin_password}'",
            )
        if self.pooled:
            for node in self.nodes:
                self._start_pooler(node)

    def _make_primary(self) -> None:
        node = self.nodes[0]
        _run(
            self.bin / "initdb",
            "-D",
            node.data,
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        self._configure(
            node,
            # a commit waits for the standby's flush: nothing acknowledged is lost
            synchronous_standby_names="'standby'",
            synchronous_commit="on",
        )
        self._pg_ctl(node, "start")

    def _make_standby(self) -> None:
        primary, node = self.nodes
        _run(
            self.bin / "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            node.data,
            "-R",  # standby.signal and primary_conninfo
            "-X",
            "stream",
            "--checkpoint=fast",
            "--no-sync",
        )
        self._configure(node, synchronous_standby_names="''")  # once promoted
        # -R wrote primary_conninfo into postgresql.auto.conf, read last: the
        # walreceiver's name, which the primary waits for, goes there too
        with open(node.data / "postgresql.auto.conf", "a") as conf:
            conf.write(
                f"primary_conninfo = 'host=127.0.0.1 port={primary.port} "
                "user=postgres application_name=standby'\n"
            )
        self._pg_ctl(node, "start")
        self.wait_streaming()

    def _configure(self, node: Node, **extra: str) -> None:
        settings = {
            "port": str(node.port),
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.base}'",
            "max_connections": "200",
            "shared_buffers": "'64MB'",
            "wal_level": "replica",
            "max_wal_senders": "5",
            "hot_standby": "on",
            "fsync": "on",
            **extra,
        }
        lines = "".join(f"{key} = {value}\n" for key, value in settings.items())
        with open(node.data / "postgresql.conf", "a") as conf:
            conf.write("\n# infra/cluster/postgres.py\n" + lines)

    def _pg_ctl(self, node: Node, action: str, *options: str) -> None:
        argv: list[str | Path] = [self.bin / "pg_ctl", "-D", node.data, "-w"]
        if action == "start":
            argv += ["-l", node.log]
        _run(*argv, *options, action)

    def sql(self, node: Node, query: str) -> str:
        done = _run(
            self.bin / "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(node.port),
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-Atqc",
            query,
        )
        return done.stdout.strip()

    def wait_streaming(self, timeout: float = 30.0) -> None:
        """Until the primary sees its standby streaming as its synchronous one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.sql(
                self.nodes[0],
                "SELECT state || '/' || sync_state FROM pg_stat_replication "
                "WHERE application_name = 'standby'",
            )
            if state == "streaming/sync":
                return
            time.sleep(0.2)
        raise TimeoutError(f"the standby is not streaming within {timeout:.0f} s")

    def promote(self, gap: float = 0.0) -> float:
        """Stop the primary at once (`-m immediate`: no shutdown checkpoint, as a
        lost machine), wait `gap` seconds (a failover manager's time to decide the
        primary is lost), then promote the standby; returns the seconds it took."""
        began = time.monotonic()
        self.stop_node(self.nodes[0], mode="immediate")
        time.sleep(gap)
        self._pg_ctl(self.nodes[1], "promote")
        self.promoted = True
        if self.pooled:
            # PgBouncer replays the startup parameters of its pool's first server
            # login to every client, `in_hot_standby = on` among them if that was
            # before the promotion: libpq would go on taking the promoted node for
            # a standby (target_session_attrs=read-write). Its pooler starts again.
            self._stop_pooler(self.nodes[1], signal.SIGTERM)
            self._start_pooler(self.nodes[1])
        return time.monotonic() - began

    def _stop_pooler(self, node: Node, sig: int = signal.SIGINT) -> None:
        """SIGINT: PgBouncer's safe shutdown; SIGTERM: at once."""
        pooler = self.poolers.pop(node.name, None)
        if pooler is not None and pooler.poll() is None:
            pooler.send_signal(sig)
            try:
                pooler.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pooler.kill()
                pooler.wait()

    def stop_node(self, node: Node, mode: str = "fast") -> None:
        self._stop_pooler(
            node, signal.SIGTERM if mode == "immediate" else signal.SIGINT
        )
        if (node.data / "postmaster.pid").exists():
            self._pg_ctl(node, "stop", "-m", mode)

    def stop(self) -> None:
        """Stop both servers and their poolers and remove their files."""
        for node in self.nodes:
            try:
                self.stop_node(node, mode="immediate")
            except RuntimeError as exc:
                print(f"stopping {node.name}: {exc}", file=sys.stderr)
        shutil.rmtree(self.base, ignore_errors=True)

    # -- PgBouncer ----------------------------------------------------------------
    def _start_pooler(self, node: Node) -> None:
        """PgBouncer on `node.pooler_port` in front of `node` alone: clients
        authenticate with their role's password (SCRAM, looked up on the server by
        `auth_query` as the administrator); `pool_mode` as asked."""
        folder = self.base / f"pgbouncer-{node.name}"
        folder.mkdir(exist_ok=True)
        (folder / "userlist.txt").write_text(f'"postgres" "{self.admin_password}"\n')
        (folder / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host=127.0.0.1 port={node.port} auth_user=postgres\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {node.pooler_port}\n"
            f"unix_socket_dir = {folder}\n"
            "auth_type = scram-sha-256\n"
            f"auth_file = {folder / 'userlist.txt'}\n"
            "auth_query = SELECT usename, passwd FROM pg_shadow WHERE usename=$1\n"
            f"pool_mode = {self.pool_mode}\n"
            "max_client_conn = 1000\n"
            "default_pool_size = 20\n"
            "max_db_connections = 60\n"
            # a pooler whose server is gone answers within seconds (the default
            # waits 120 s), so that libpq and the pre-ping move on to the next host
            "query_wait_timeout = 5\n"
            "server_connect_timeout = 3\n"
            "server_login_retry = 1\n"
            # psycopg2 and libpq send it; PgBouncer refuses unknown ones otherwise
            "ignore_startup_parameters = extra_float_digits,options\n"
            f"logfile = {folder / 'pgbouncer.log'}\n"
            f"pidfile = {folder / 'pgbouncer.pid'}\n"
        )
        owner = pwd.getpwnam(OWNER)
        if os.getuid() == 0:
            for path in (folder, *folder.iterdir()):
                os.chown(path, owner.pw_uid, owner.pw_gid)
        self.poolers[node.name] = subprocess.Popen(
            [PGBOUNCER, str(folder / "pgbouncer.ini")],
            preexec_fn=_as_owner,
            stdout=subprocess.DEVNULL,
            stderr=open(folder / "stderr.log", "ab"),  # noqa: SIM115 - the child's
            cwd="/",
        )
        deadline = time.monotonic() + 15
        while not _port_open(node.pooler_port):
            gone = self.poolers[node.name].poll() is not None
            if gone or time.monotonic() > deadline:
                raise RuntimeError(
                    f"PgBouncer for {node.name} did not start: see {folder}"
                )
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=Path, default=ROOT / "var" / "pgha")
    parser.add_argument("--pooled", action="store_true", help="PgBouncer per node")
    parser.add_argument(
        "--admin-password", default="", help="the administrator's, at the poolers"
    )
    args = parser.parse_args()
    pair = PostgresPair(
        args.base, pooled=args.pooled, admin_password=args.admin_password
    )
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        pair.start()
        print(
            f"primary 127.0.0.1:{pair.nodes[0].port}, standby 127.0.0.1:"
            f"{pair.nodes[1].port} (streaming, synchronous)\n"
            f"  administrator  {pair.admin_url}\n"
            f"  a database     {pair.uri('<database>', '<role>', '<password>')}\n"
            + (
                f"  tests through the primary's pooler: TEST_PG_URL=postgresql://"
                f"postgres:{args.admin_password}@{pair.hosts[0]} "
                f"TEST_PG_ADMIN_URL={pair.admin_url}\n"
                if args.pooled and args.admin_password
                else ""
            )
            + "Ctrl-C stops both and removes their files.",
            flush=True,
        )
        while not stopping:
            time.sleep(0.5)
    finally:
        pair.stop()


if __name__ == "__main__":
    main()
