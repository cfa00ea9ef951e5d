"""What killed test and bench runs left on this machine, found and removed.

Tests and benches make whole systems of their own on the machine's PostgreSQL and
RabbitMQ: databases and roles, vhosts and broker users, under names with a random tag
(`e2e_1a2b3c4d_stipends`, `svyaz-browser-1a2b3c4d`, `test_stipends_<10 hex>`,
`nameko_test_<10 letters>`), PostgreSQL pairs of their own under
`/tmp/svyaz-pgha-*`, RabbitMQ cluster nodes (`svyaz-chaos-1@localhost`,
`svyaz-bench-1@localhost`) and folders (`/tmp/svyaz-chaos-*`,
`/tmp/svyaz-bench-*`). A run that ends removes what it made; one that is killed
(SIGKILL, a closed terminal, a CI timeout) cannot, and what it made stays until
someone removes it by hand.

Who is still running is told by a lock: every test process, test runner and bench
holds `LOCK` shared while it lives (`hold`), and the kernel lets it go however the
process ends. `sweep` takes the lock alone, without waiting: if it gets it, no
run is alive on this machine and everything of the shapes below is a leftover;
if not, it removes nothing. `make test` sweeps before its jobs start
(infra/dev/testrun.py), and

    python infra/dev/leftovers.py [--dry-run]

sweeps by hand. Only names of the test and bench shapes are touched: `make run`'s
`svyaz_*` databases, the vhost "/", `guest` and `make cluster`'s nodes
(`svyaz-c1@localhost`) never match.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import re
import shutil
import signal
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

TMP = Path(tempfile.gettempdir())
LOCK = TMP / "svyaz-tests.lock"
PAIRS = "svyaz-pgha-"  # tests.stack.postgres_pair's folders under TMP
FOLDERS = ("svyaz-chaos-", "svyaz-bench-")  # a chaos run's and the benches' own
# a RabbitMQ node of the chaos runs' and bench/scale.py's clusters (infra/cluster)
NODES = re.compile(r"svyaz-(?:chaos|bench)-\d+@[\w.-]+")
PG = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")
BROKER_API = "http://127.0.0.1:15672/api"
BROKER_AUTH = ("guest", "guest")

_STACK = r"[a-z0-9]+_[0-9a-f]{8}_(?:registry|stipends|notifications|gateway|insights)"
DATABASES = re.compile(
    rf"{_STACK}"  # a whole system's (tests.stack, the benches, test_dev_prepare)
    r"|test_template_[a-z]+_[0-9a-f]{10}"  # tests/conftest.py's per process
    r"|test_[a-z]+_[0-9a-f]{10}"  # tests/conftest.py's per test
    r"|bench_[a-z]+_[0-9a-f]{8}"  # bench/_support.database
)
ROLES = re.compile(rf"{_STACK}(?:_app)?|test_owner_[0-9a-f]{{10}}(?:_app)?")
VHOSTS = re.compile(
    r"svyaz-[a-z0-9]+-[0-9a-f]{8}"  # a whole system's
    r"|bench-[0-9a-f]{8}"  # bench/_support.vhost
    r"|nameko_test_[a-z]{10}"  # nameko's pytest plugin
)
BROKER_USERS = re.compile(
    r"[a-z0-9]+_[0-9a-f]{8}-[a-z-]+"  # a system's services and CLIs
    r"|svyaz-[a-z0-9]+-[0-9a-f]{8}-harness"  # the chaos harness's
    r"|[0-9a-f]{8}-svyaz-[a-z-]+"  # test_topology_definitions' compose users
)

_held: IO[bytes] | None = None


def hold() -> None:
    """This process runs tests or a bench: `LOCK` held shared until it ends (the
    kernel lets go of it however it ends). Idempotent."""
    global _held
    if _held is None:
        handle = LOCK.open("ab")
        fcntl.flock(handle.fileno(), fcntl.LOCK_SH)
        _held = handle


@dataclass
class Found:
    databases: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)
    vhosts: list[str] = field(default_factory=list)
    broker_users: list[str] = field(default_factory=list)
    pairs: list[Path] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)  # "<pid> <node name>"
    folders: list[Path] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any(vars(self).values())

    def lines(self) -> list[str]:
        return [
            f"{label}: {', '.join(map(str, names))}"
            for label, names in (
                ("databases", self.databases),
                ("database roles", self.roles),
                ("vhosts", self.vhosts),
                ("broker users", self.broker_users),
                ("PostgreSQL pairs", self.pairs),
                ("RabbitMQ nodes", self.nodes),
                ("folders", self.folders),
            )
            if names
        ]


def _admin() -> Any:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/postgres", connect_timeout=5)
    conn.autocommit = True
    return conn


def _names(query: str) -> list[str]:
    conn = _admin()
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return [row[0] for row in cur.fetchall()]
    finally:
        conn.close()


def _broker(path: str) -> list[str]:
    import requests

    response = requests.get(f"{BROKER_API}/{path}", auth=BROKER_AUTH, timeout=30)
    response.raise_for_status()
    return [item["name"] for item in response.json()]


def find(only: str = "") -> Found:
    """Everything of the test and bench shapes on the machine, running or not
    (`only`: and whose name has that in it)."""
    found = Found(
        databases=sorted(
            n
            for n in _names("SELECT datname FROM pg_database")
            if DATABASES.fullmatch(n)
        ),
        roles=sorted(
            n for n in _names("SELECT rolname FROM pg_roles") if ROLES.fullmatch(n)
        ),
        vhosts=sorted(n for n in _broker("vhosts") if VHOSTS.fullmatch(n)),
        broker_users=sorted(n for n in _broker("users") if BROKER_USERS.fullmatch(n)),
        pairs=sorted(p for p in TMP.glob(f"{PAIRS}*") if p.is_dir()),
        folders=sorted(
            p for prefix in FOLDERS for p in TMP.glob(f"{prefix}*") if p.is_dir()
        ),
    )
    for kind, names in vars(found).items():
        setattr(found, kind, [n for n in names if only in str(n)])
    found.nodes = [
        f"{pid} {name}" for pid, name, argv in _nodes() if only in " ".join(argv)
    ]
    return found


def _command_lines() -> Iterator[tuple[int, list[str]]]:
    """(pid, argv) of every process but this one."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except OSError:  # gone meanwhile
            continue
        yield int(entry.name), [a.decode(errors="replace") for a in raw.split(b"\0")]


def _nodes() -> list[tuple[int, str, list[str]]]:
    """(pid, node name, argv) of each Erlang VM of a test or bench cluster's node.
    RabbitMQ's own start script leaves the name out of the VM's command line (the
    node takes it from RABBITMQ_NODENAME, which infra/cluster sets): the name is
    looked for in both. Killed chaos runs' nodes went unseen for lack of this
    until 2026-12-07, and held their names against the next run's cluster."""
    found = []
    for pid, argv in _command_lines():
        if not argv or not Path(argv[0]).name.startswith("beam"):
            continue
        named = NODES.search(" ".join(argv)) or NODES.fullmatch(_node_name(pid))
        if named:
            found.append((pid, named.group(0), argv))
    return found


def _node_name(pid: int) -> str:
    """The RABBITMQ_NODENAME a process was started with ("" when none, or when
    its environment cannot be read)."""
    try:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:  # gone meanwhile, or another user's
        return ""
    for item in environ.split(b"\0"):
        if item.startswith(b"RABBITMQ_NODENAME="):
            return item.partition(b"=")[2].decode(errors="replace")
    return ""


def _processes_under(folder: Path) -> list[tuple[int, str]]:
    """(pid, program) of every process whose command line names `folder`: a
    pair's postmasters (`postgres -D <folder>/...`) and PgBouncers."""
    return [
        (pid, Path(argv[0]).name)
        for pid, argv in _command_lines()
        if any(str(folder) in arg for arg in argv)
    ]


def _alive(pid: int) -> bool:
    """Running still (an ended process its parent has not yet reaped, a zombie, is
    not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _stop(processes: list[tuple[int, str]]) -> None:
    """Each process asked to stop (a postmaster at once, SIGQUIT: its children go
    with it; others SIGTERM), then killed if still there after 15 s."""
    for pid, program in processes:
        try:
            os.kill(pid, signal.SIGQUIT if program == "postgres" else signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 15
    running = processes
    while running and time.monotonic() < deadline:
        time.sleep(0.1)
        running = [(p, n) for p, n in running if _alive(p)]
    for pid, _ in running:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _stop_pair(folder: Path) -> None:
    """A pair's servers and poolers stopped, and its files removed."""
    _stop(_processes_under(folder))
    shutil.rmtree(folder, ignore_errors=True)


def remove(found: Found) -> None:
    """Remove what `find` found (each removal tolerates its thing being gone)."""
    import requests

    for folder in found.pairs:
        _stop_pair(folder)
    # a node's Erlang VM (its data is in a folder of the run's, swept below)
    _stop([(int(node.split()[0]), "beam") for node in found.nodes])
    for folder in found.folders:
        shutil.rmtree(folder, ignore_errors=True)
    conn = _admin()
    try:
        with conn.cursor() as cur:
            for name in found.databases:
                cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            for name in found.roles:
                cur.execute(f'DROP ROLE IF EXISTS "{name}"')
    finally:
        conn.close()
    for kind, names in (("vhosts", found.vhosts), ("users", found.broker_users)):
        for name in names:
            quoted = urllib.parse.quote(name, safe="")
            response = requests.delete(
                f"{BROKER_API}/{kind}/{quoted}", auth=BROKER_AUTH, timeout=30
            )
            if response.status_code not in (204, 404):
                response.raise_for_status()


def sweep(dry_run: bool = False, lock: Path = LOCK, only: str = "") -> Found | None:
    """What killed runs left, removed (or only listed, `dry_run`) when no run is
    alive on this machine; None (nothing touched) when one is. (`lock` and
    `only`, `find`'s, for a test that must not touch the machine's runs.)"""
    with lock.open("ab") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:
            found = find(only)
            if found and not dry_run:
                remove(found)
            return found
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def report(found: Found | None, dry_run: bool = False) -> str:
    if found is None:
        return (
            "leftovers: a test run or bench is running on this machine; nothing "
            "was removed (sweep again once it has ended)"
        )
    if not found:
        return "leftovers: none"
    verb = "would remove" if dry_run else "removed what killed runs left"
    return "\n".join([f"leftovers: {verb}:", *(f"  {x}" for x in found.lines())])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dry-run", action="store_true", help="list what would go, remove nothing"
    )
    options = parser.parse_args()
    found = sweep(options.dry_run)
    print(report(found, options.dry_run))


if __name__ == "__main__":
    main()
