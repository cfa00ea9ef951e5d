"""Shared set-up for benchmarks: a throwaway vhost and databases on this machine."""

from __future__ import annotations

import os
import platform
import socket
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg2
import requests
from alembic import command
from alembic.config import Config as AlembicConfig

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432")
API = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import leftovers  # noqa: E402

# alive: what this bench makes is not a killed run's leftover (infra/dev/leftovers.py)
leftovers.hold()


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cpu, Python {sys.version.split()[0]}"
    )


@contextmanager
def vhost() -> Iterator[str]:
    name = f"bench-{uuid.uuid4().hex[:8]}"
    requests.put(f"{API}/vhosts/{name}", auth=AUTH, timeout=30).raise_for_status()
    requests.put(
        f"{API}/permissions/{name}/guest",
        auth=AUTH,
        timeout=30,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    try:
        yield f"amqp://guest:guest@127.0.0.1:5672/{name}"
    finally:
        requests.delete(f"{API}/vhosts/{name}", auth=AUTH, timeout=30)


@contextmanager
def database(service: str) -> Iterator[str]:
    name = f"bench_{service}_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(f"{PG}/postgres")
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG.replace('postgresql://', 'postgresql+psycopg2://')}/{name}"
    alembic = AlembicConfig(str(ROOT / "services" / service / "alembic.ini"))
    alembic.set_main_option("sqlalchemy.url", url)
    command.upgrade(alembic, "head")
    try:
        yield url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


CLK = os.sysconf("SC_CLK_TCK")


def _stat(proc: Path) -> list[str]:
    """The fields of /proc/<pid>/stat after the command's name (OSError: gone)."""
    return (proc / "stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) of process `pid` so far."""
    fields = _stat(Path(f"/proc/{pid}"))
    return (int(fields[11]) + int(fields[12])) / CLK


def _cpu_of(matching: Callable[[Path, list[str]], bool]) -> float:
    """CPU seconds of every live process that `matching(its /proc folder, its stat
    fields)` picks (a process gone meanwhile is skipped)."""
    total = 0
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            fields = _stat(proc)
            if not matching(proc, fields):
                continue
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / CLK


def group_cpu(group: int) -> float:
    """CPU seconds of every live process in process group `group`."""
    return _cpu_of(lambda _, fields: int(fields[2]) == group)


def backends_cpu(db_name: str) -> float:
    """CPU seconds of the PostgreSQL backends serving `db_name` now (a backend
    that has exited is not counted: read before the clients disconnect)."""
    return _cpu_of(
        lambda proc, _: db_name in (proc / "cmdline").read_text(errors="replace")
    )


def broker_cpu() -> float:
    """CPU seconds of this machine's RabbitMQ nodes (every `beam.smp`): the whole
    broker, so a figure of it is the bench's only on a quiet machine."""
    return _cpu_of(lambda proc, _: (proc / "comm").read_text().strip() == "beam.smp")


def result(name: str, ratio: float, target: str) -> None:
    print(f"RESULT {name} ratio={ratio:.2f} target{target}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def actor(roles: list[str]) -> dict[str, object]:
    """A signed-in person for the bench's calls: the assertion the registry would
    sign at sign-in (the bench holds the development keys), good for six hours."""
    import dataclasses
    import time

    from svyaz import assertions, keys, signing

    if not signing.can_sign_as(keys.REGISTRY):
        configure_signing(keys.OPERATOR)
    now = time.time()
    claims = assertions.new_claims(uuid.uuid4(), frozenset(roles), totp_at=now)
    claims = dataclasses.replace(claims, exp=now + 6 * 3600)
    return {"id": str(claims.sub), "roles": roles, "assertion": assertions.mint(claims)}


def configure_signing(identity: str) -> None:
    """Sign as `identity` with its development bus key (var/keys), as that process
    does; the bench plays several processes (and its own `bench` service), so it
    holds every development key."""
    from svyaz import keys, signing

    folder = ROOT / "var" / "keys"
    identities = (*keys.IDENTITIES, "bench")
    keys.ensure(folder, identities)
    signing.register()
    signing.configure_from_config(
        signing.development_config(folder, identity), identity
    )
    for other in identities:
        signing.add_identity(
            other, keys.load_private(folder / keys.PRIVATE_DIR / f"{other}.key")
        )


def bus_config(identity: str) -> dict[str, str]:
    """The development bus settings of `identity` by absolute path, for a bench
    container's config (the same key set `configure_signing` loads)."""
    from svyaz import signing

    return signing.development_config(ROOT / "var" / "keys", identity)
