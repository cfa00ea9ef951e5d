"""A killed run's system is swept (infra/dev/leftovers.py) on the real PostgreSQL and
RabbitMQ, and only once no run is alive. The run here is a child process holding a
lock of the test's own; only names with the test's own tag are looked at, so the
other runs on the machine (the suite's other jobs) are never touched."""

import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import leftovers
import psycopg2
import pytest
import requests

from tests.conftest import PG, ROOT

API = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")
# a run: holds the lock as every test process does, says so, then waits to be killed
RUN = """
import sys, time
sys.path.insert(0, sys.argv[1])
import leftovers
from pathlib import Path
leftovers.LOCK = Path(sys.argv[2])
leftovers.hold()
print("alive", flush=True)
time.sleep(300)
"""


def _sql(statement: str) -> list[Any]:
    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


class Leftover:
    """A killed run's things: a database, a role, a vhost, a broker user, a
    PostgreSQL pair's folder with a process that names it (as a postmaster does),
    a chaos cluster's node (a process named as its Erlang VM is, with the node's
    name in its environment, as RabbitMQ's start script leaves it),
    and a chaos run's folder."""

    def __init__(self, tag: str, scratch: Path) -> None:
        self.tag = tag
        self.database = f"e2e_{tag}_stipends"
        self.role = f"e2e_{tag}_stipends_app"
        self.vhost = f"svyaz-e2e-{tag}"
        self.user = f"e2e_{tag}-stipends"
        self.kept = f"keep_{tag}"  # not of a test's shape
        self.pair = leftovers.TMP / f"{leftovers.PAIRS}{tag}"
        self.folder = leftovers.TMP / f"svyaz-chaos-{tag}"
        self.node_name = "svyaz-chaos-7@localhost"
        self.beam = scratch / "beam.smp"  # the interpreter under the VM's name
        self.server: subprocess.Popen[bytes] | None = None
        self.node: subprocess.Popen[bytes] | None = None

    def make(self) -> None:
        _sql(f'CREATE ROLE "{self.role}" LOGIN')
        _sql(f'CREATE DATABASE "{self.database}"')
        _sql(f'CREATE DATABASE "{self.kept}"')
        requests.put(f"{API}/vhosts/{self.vhost}", auth=AUTH, timeout=30)
        requests.put(
            f"{API}/users/{self.user}",
            auth=AUTH,
            timeout=30,
            json={"password": "x", "tags": ""},
        ).raise_for_status()
        (self.pair / "primary").mkdir(parents=True)
        self.server = subprocess.Popen(  # outlives the run, as a postmaster does
            [sys.executable, "-c", "import time; time.sleep(300)", str(self.pair)],
            start_new_session=True,
        )
        self.folder.mkdir()
        self.beam.symlink_to(Path(sys.executable).resolve())
        # named as RabbitMQ's start script names a node: in the VM's environment,
        # not its command line
        self.node = subprocess.Popen(
            [str(self.beam), "-c", "import time; time.sleep(300)", self.tag],
            env={**os.environ, "RABBITMQ_NODENAME": self.node_name},
            start_new_session=True,  # the tag: only this test's is swept
        )

    def present(self) -> dict[str, bool]:
        databases = {r[0] for r in _sql("SELECT datname FROM pg_database")}
        vhosts = {v["name"] for v in requests.get(f"{API}/vhosts", auth=AUTH).json()}
        users = {u["name"] for u in requests.get(f"{API}/users", auth=AUTH).json()}
        assert self.server is not None and self.node is not None
        return {
            "node": self.node.poll() is None,
            "folder": self.folder.exists(),
            "database": self.database in databases,
            "role": bool(_sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{self.role}'")),
            "vhost": self.vhost in vhosts,
            "user": self.user in users,
            "pair": self.pair.exists(),
            "server": self.server.poll() is None,
        }

    def remove(self) -> None:
        for process in (self.server, self.node):
            if process is not None and process.poll() is None:
                process.kill()
            if process is not None:
                process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)
        for name in (self.database, self.kept):
            _sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _sql(f'DROP ROLE IF EXISTS "{self.role}"')
        requests.delete(f"{API}/vhosts/{self.vhost}", auth=AUTH, timeout=30)
        requests.delete(f"{API}/users/{self.user}", auth=AUTH, timeout=30)
        shutil.rmtree(self.pair, ignore_errors=True)


@pytest.fixture
def leftover(tmp_path: Path) -> Iterator[Leftover]:
    made = Leftover(uuid.uuid4().hex[:8], tmp_path)
    try:
        made.make()
        yield made
    finally:
        made.remove()


def test_a_killed_run_s_system_is_swept_once_no_run_is_alive(
    leftover: Leftover, tmp_path: Path
) -> None:
    lock = tmp_path / "tests.lock"
    run = subprocess.Popen(
        [sys.executable, "-c", RUN, str(ROOT / "infra" / "dev"), str(lock)],
        stdout=subprocess.PIPE,
    )
    try:
        assert run.stdout is not None and run.stdout.readline() == b"alive\n"
        # a run is alive: nothing is touched, not even listed
        assert leftovers.sweep(lock=lock, only=leftover.tag) is None
        assert all(leftover.present().values())
    finally:
        run.kill()  # as a run dies under SIGKILL: no clean-up of its own
        run.wait()
    listed = leftovers.sweep(dry_run=True, lock=lock, only=leftover.tag)
    assert listed is not None
    assert all(leftover.present().values())  # a dry run removes nothing
    found = leftovers.sweep(lock=lock, only=leftover.tag)
    assert found is not None
    assert leftover.server is not None and leftover.node is not None
    for seen in (listed, found):
        assert seen.databases == [leftover.database]  # not `keep_<tag>`
        assert seen.roles == [leftover.role]
        assert seen.vhosts == [leftover.vhost]
        assert seen.broker_users == [leftover.user]
        assert seen.pairs == [leftover.pair]
        assert seen.folders == [leftover.folder]
        assert seen.nodes == [f"{leftover.node.pid} {leftover.node_name}"]
    leftover.server.wait(timeout=15)  # stopped by the sweep
    leftover.node.wait(timeout=15)
    deadline = time.monotonic() + 10
    while any(leftover.present().values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert leftover.present() == dict.fromkeys(leftover.present(), False)
    kept = _sql(f"SELECT 1 FROM pg_database WHERE datname = '{leftover.kept}'")
    assert kept == [(1,)]


def test_the_command_says_when_a_run_is_alive(tmp_path: Path) -> None:
    """`python infra/dev/leftovers.py` while this very test process holds the
    machine's lock (every test process does): it removes nothing and says why."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "infra" / "dev" / "leftovers.py"), "--dry-run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "a test run or bench is running on this machine" in done.stdout
