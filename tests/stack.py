"""The real system, started the way `make run` starts it (infra/dev/stack.py), on its
own databases, vhost and ports: one per test session, for e2e and browser tests. Each
service connects with its own broker user and its own database role (the run's,
dropped afterwards), as in production."""

import mailbox
import os
import shutil
import sys
import tempfile
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import create_engine, text

from svyaz.keys import OPERATOR
from tests.conftest import ROOT
from tests.helpers import LIGHT_PASSWORDS, UNTHROTTLED

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402

sys.path.insert(0, str(ROOT / "infra" / "cluster"))
import postgres as pgcluster  # noqa: E402

# the broker the run's systems use: the machine's, unless TEST_BROKER
# (`guest:guest@127.0.0.1:5682`) and TEST_BROKER_MANAGEMENT (`http://127.0.0.1:15682`)
# name a node of one's own
BROKER = os.environ.get("TEST_BROKER", "guest:guest@127.0.0.1:5672")
MANAGEMENT = os.environ.get("TEST_BROKER_MANAGEMENT", "http://127.0.0.1:15672")
API = f"{MANAGEMENT}/api"
AUTH = ("guest", "guest")


free_port = devstack.free_port  # reserved for this process (see its docstring)


class System:
    def __init__(self, stack: devstack.Stack, cluster: Any = None):
        self.stack = stack
        self.settings = stack.settings
        self.url = f"http://{stack.settings.http}"
        self.cluster = cluster  # infra/cluster's Cluster, when it runs on one
        self._engines: dict[str, Any] = {}

    @property
    def api(self) -> str:
        """The broker's management API (a live node's, on a cluster)."""
        if self.cluster is not None:
            return f"{self.cluster.management_url}/api"
        return API

    def sql(self, service: str, query: str, **params: Any) -> list[Any]:
        if service not in self._engines:
            self._engines[service] = create_engine(
                self.settings.db_uri(service), pool_pre_ping=True
            )
        with self._engines[service].connect() as conn:
            return list(conn.execute(text(query), params))

    def parked(self) -> dict[str, int]:
        """The messages parked in each dead-letter queue of the system's vhost."""
        vhost = urllib.parse.quote(self.settings.vhost, safe="")
        answer = requests.get(f"{self.api}/queues/{vhost}", auth=AUTH, timeout=30)
        answer.raise_for_status()
        return {
            queue["name"]: queue.get("messages", 0)
            for queue in answer.json()
            if queue["name"].endswith(".dlq") and queue.get("messages", 0)
        }

    def mails(self) -> list[Any]:
        return list(mailbox.Maildir(str(self.settings.var / "mail"), create=False))

    @contextmanager
    def rpc(self, identity: str = OPERATOR) -> Iterator[Any]:
        """Signed RPC to the running services, as the operator's console makes it
        (or as `identity`: this process holds every development key)."""
        from svyaz import config as settings
        from svyaz.rpc_proxy import ClusterRpcProxy

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


def grant(vhost: str, user: str, api: str = API) -> None:
    """Every right on `vhost` to `user` (through the management API)."""
    quoted = urllib.parse.quote(vhost, safe="")
    requests.put(
        f"{api}/permissions/{quoted}/{user}",
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
    pg_url: str | None = None,
    pg_hosts: tuple[str, ...] = (),
    prepare: Callable[[devstack.Settings], None] | None = None,
    cluster: Any = None,
    **env: str,
) -> Iterator[System]:
    """The whole system on its own databases, vhost and ports, its files in `var`;
    `replicas` processes of every service; `env` added to every service's.
    `pg_url`: another PostgreSQL's administrator (the machine's by default);
    `pg_hosts`: the nodes the services connect to (see `postgres_pair`);
    `prepare`: what makes the databases and the vhost's topology instead of
    migrations (a restore: infra/backup/backup.py).
    `observed`: metrics pages on free ports and Prometheus scraping them every
    second, every alert's `for:` at 0s (`System.prometheus`).
    `cluster`: a running infra/cluster `Cluster` instead of the machine's broker;
    every process gets a URI naming all its nodes."""
    tag = uuid.uuid4().hex[:8]
    broker: dict[str, Any] = {"amqp_host": BROKER, "management_url": MANAGEMENT}
    if cluster is not None:
        first, *others = cluster.hosts()
        broker = {
            "amqp_host": f"guest:guest@{first}",
            "amqp_alternates": tuple(others),
            "management_url": cluster.management_url,
        }
    settings = devstack.Settings(
        db_prefix=f"{prefix}_{tag}",
        vhost=f"svyaz-{prefix}-{tag}",
        http=f"127.0.0.1:{free_port()}",
        replica_http=tuple(f"127.0.0.1:{free_port()}" for _ in range(replicas - 1)),
        smtp_port=free_port(),
        sandbox_port=free_port(),
        var=var,
        extra_env={
            "OUTBOX_POLL_INTERVAL": "0.2",
            **UNTHROTTLED,
            **LIGHT_PASSWORDS,
            **env,
        },
        pg_hosts=pg_hosts,
        **broker,
    )
    if pg_url is not None:
        settings.pg_url = pg_url
    if observed:
        settings.metrics_base = 0
        settings.prometheus_port = free_port()
        settings.prometheus_interval = "1s"
        settings.alert_for = "0s"
        settings.extra_env.setdefault("METRICS_SAMPLE_SECONDS", "1")
    stack = devstack.Stack(settings)
    system = System(stack, cluster)
    try:  # what a failed set-up made is removed too
        requests.put(
            f"{system.api}/vhosts/{settings.vhost}", auth=AUTH, timeout=30
        ).raise_for_status()
        grant(settings.vhost, "guest", system.api)
        if prepare is None:
            devstack.create_databases(settings)
            devstack.migrate(settings)
            devstack.load_topology(settings)
        else:
            prepare(settings)
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
            lambda s: requests.delete(
                f"{system.api}/vhosts/{s.vhost}", auth=AUTH, timeout=30
            ),
        ):
            try:
                step(settings)
            except Exception as exc:  # noqa: BLE001 - reported, the rest still runs
                print(f"clean-up of {settings.vhost}: {exc}", file=sys.stderr)


@contextmanager
def postgres_pair(
    pooled: bool = False, admin_password: str = ""
) -> Iterator[pgcluster.PostgresPair]:
    """A PostgreSQL primary and its synchronous standby of their own (never the
    machine's), with a PgBouncer in front of each if `pooled` (which takes the
    administrator too, with `admin_password`); removed afterwards
    (infra/cluster/postgres.py)."""
    # its servers run as the `postgres` user, who must reach their data directory:
    # under /tmp, not the checkout (a clone made with `mktemp -d` is 0700 root)
    parent = Path(tempfile.mkdtemp(prefix="svyaz-pgha-"))
    parent.chmod(0o755)
    pair = pgcluster.PostgresPair(
        parent / "pair", pooled=pooled, admin_password=admin_password
    )
    try:
        pair.start()
        yield pair
    finally:
        pair.stop()
        shutil.rmtree(parent, ignore_errors=True)
