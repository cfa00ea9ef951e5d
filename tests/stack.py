"""The real system, started the way `make run` starts it (infra/dev/stack.py), on its
own databases, vhost and ports: one per test session, for e2e and browser tests. Each
service connects with its own broker user and its own database role (the run's,
dropped afterwards), as in production."""

import mailbox
import os
import socket
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from svyaz.keys import OPERATOR
from tests.conftest import ROOT
from tests.helpers import UNTHROTTLED

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402

# another broker for a test run, when the shared one is busy or down:
# TEST_AMQP_HOST=guest:guest@127.0.0.1:5699 TEST_RABBIT_MANAGEMENT=http://127.0.0.1:15699
AMQP_HOST = os.environ.get("TEST_AMQP_HOST", "guest:guest@127.0.0.1:5672")
MANAGEMENT = os.environ.get("TEST_RABBIT_MANAGEMENT", "http://127.0.0.1:15672")
API = f"{MANAGEMENT}/api"
AUTH = ("guest", "guest")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class System:
    def __init__(self, stack: devstack.Stack):
        self.stack = stack
        self.settings = stack.settings
        self.url = f"http://{stack.settings.http}"
        self._engines: dict[str, Any] = {}

    def sql(self, service: str, query: str, **params: Any) -> list[Any]:
        if service not in self._engines:
            self._engines[service] = create_engine(
                self.settings.db_uri(service), pool_pre_ping=True
            )
        with self._engines[service].connect() as conn:
            return list(conn.execute(text(query), params))

    def mails(self) -> list[Any]:
        return list(mailbox.Maildir(str(self.settings.var / "mail"), create=False))

    @contextmanager
    def rpc(self, identity: str = OPERATOR) -> Iterator[Any]:
        """Signed RPC to the running services, as the operator's console makes it
        (or as `identity`: this process holds every development key)."""
        from svyaz import config as settings
        from svyaz.messaging import ClusterRpcProxy

        config = settings.load(ROOT / "infra" / "tools" / "operator.yml")
        config["AMQP_URI"] = self.settings.amqp_uri
        config["BUS_IDENTITY"] = identity
        with ClusterRpcProxy(config, timeout=30) as proxy:
            yield proxy

    @property
    def prometheus(self) -> str:
        return f"http://127.0.0.1:{self.settings.prometheus_port}"

    def metrics_page(self, name: str) -> str:
        """The text of process `name`'s metrics page (`registry`, `gateway-2`...)."""
        port = self.stack.metrics_ports[name]
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text

    @property
    def sandbox(self) -> str:
        return f"http://127.0.0.1:{self.settings.sandbox_port}"

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()


def grant(vhost: str, user: str) -> None:
    """Every right on `vhost` to `user` (through the management API)."""
    quoted = urllib.parse.quote(vhost, safe="")
    requests.put(
        f"{API}/permissions/{quoted}/{user}",
        auth=AUTH,
        timeout=30,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()


@contextmanager
def running_system(
    var: Path,
    replicas: int = 1,
    prefix: str = "e2e",
    observed: bool = False,
    **env: str,
) -> Iterator[System]:
    """The whole system on its own databases, vhost and ports, its files in `var`;
    `replicas` processes of every service; `env` added to every service's.
    `observed`: metrics pages on free ports and Prometheus scraping them every
    second, every alert's `for:` at 0s (`System.prometheus`)."""
    tag = uuid.uuid4().hex[:8]
    settings = devstack.Settings(
        db_prefix=f"{prefix}_{tag}",
        vhost=f"svyaz-{prefix}-{tag}",
        http=f"127.0.0.1:{free_port()}",
        replica_http=tuple(f"127.0.0.1:{free_port()}" for _ in range(replicas - 1)),
        smtp_port=free_port(),
        sandbox_port=free_port(),
        var=var,
        amqp_host=AMQP_HOST,
        management_url=MANAGEMENT,
        extra_env={"OUTBOX_POLL_INTERVAL": "0.2", **UNTHROTTLED, **env},
    )
    if observed:
        settings.metrics_base = 0
        settings.prometheus_port = free_port()
        settings.prometheus_interval = "1s"
        settings.alert_for = "0s"
        settings.extra_env.setdefault("METRICS_SAMPLE_SECONDS", "1")
    stack = devstack.Stack(settings)
    system = System(stack)
    try:  # what a failed set-up made is removed too
        requests.put(
            f"{API}/vhosts/{settings.vhost}", auth=AUTH, timeout=30
        ).raise_for_status()
        grant(settings.vhost, "guest")
        devstack.create_databases(settings)
        devstack.migrate(settings)
        devstack.load_topology(settings)
        devstack.create_broker_users(settings)  # each its own, as in production
        stack.start()
        yield system
    finally:
        stack.stop()
        system.close()
        # every step of the clean-up is tried, and none hides what the run raised
        for step in (
            devstack.drop_databases,
            devstack.drop_broker_users,
            lambda s: requests.delete(f"{API}/vhosts/{s.vhost}", auth=AUTH, timeout=30),
        ):
            try:
                step(settings)
            except Exception as exc:  # noqa: BLE001 - reported, the rest still runs
                print(f"clean-up of {settings.vhost}: {exc}", file=sys.stderr)
