"""Start the whole Svyaz system on this machine: what `make run` runs, and what the
end-to-end tests start (with their own databases, vhost and ports).

    python infra/dev/stack.py            # run in the foreground until Ctrl-C
    python infra/dev/stack.py --prepare  # only create databases and migrate

Each service runs as `nameko run --config services/<name>/config.yml
<name>.service:<Name>Service`,
beside an SMTP sink (aiosmtpd, mail kept as a Maildir) and the Stripe sandbox.

Least privilege, as in production: each service connects to RabbitMQ as its own user
(`<prefix>-<service>`, permitted only its own queues and the exchanges it publishes
to, svyaz.topology.broker_permissions) and to PostgreSQL as its own role
(`<prefix>_<service>`), which owns the service's database, the only one it may connect
to, and runs its migrations. Their passwords are generated once into
`var/credentials/` (like the bus keys in `var/keys/`); every step is idempotent.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
# insights last: each service's metrics port follows its place here
SERVICES = ("registry", "stipends", "notifications", "gateway", "insights")
WITH_DB = ("registry", "stipends", "notifications", "gateway", "insights")
TOOLS = ("finance-cli", "operator")  # the CLIs in infra/tools/: RPC calls only
BIN = Path(sys.executable).parent


@dataclass
class Settings:
    db_prefix: str = "svyaz"
    pg_url: str = "postgresql://postgres@127.0.0.1:5432"
    # the services' own connections go to these `host:port`s instead, tried in
    # order, the writable one kept (a primary and its standby, or their poolers:
    # infra/cluster/postgres.py); empty: pg_url's host
    pg_hosts: tuple[str, ...] = ()
    amqp_host: str = "guest:guest@127.0.0.1:5672"
    # the other nodes of a RabbitMQ cluster ("127.0.0.1:5702", ...): every AMQP URI
    # then names them all, `;`-separated, and its clients fail over among them
    amqp_alternates: tuple[str, ...] = ()
    vhost: str = "/"
    management_url: str = "http://127.0.0.1:15672"
    http: str = "127.0.0.1:8000"
    # more replicas of every service (chaos runs): gateway replica n listens on
    # replica_http[n-2]
    replica_http: tuple[str, ...] = ()
    smtp_port: int = 8025
    sandbox_port: int = 8420
    var: Path = ROOT / "var"
    keys: Path = ROOT / "var" / "keys"  # the development bus keys (svyaz.keys)
    extra_env: dict[str, str] = field(default_factory=dict)
    # metrics: replica n of the i-th service on metrics_base + i + 10 * (n - 1)
    # (`make run`: 9301 registry, 9302 stipends, 9303 notifications, 9304
    # gateway, 9305 insights); 0: free ports; None: no metrics pages
    metrics_base: int | None = None
    # Prometheus (Debian's `prometheus`) scraping them, on loopback; 0: not started
    prometheus_port: int = 0
    prometheus_interval: str = "15s"  # scrape and rule evaluation
    alert_for: str | None = None  # every alert's `for:` replaced (tests: "0s")

    def metrics_port(self, service: str, replica: int) -> int | None:
        if self.metrics_base is None:
            return None
        if self.metrics_base == 0:
            return free_port()
        return self.metrics_base + SERVICES.index(service) + 1 + 10 * (replica - 1)

    @property
    def credentials(self) -> Path:
        """Each service's generated database and broker passwords."""
        return self.var / "credentials"

    @property
    def amqp_uri(self) -> str:
        """The administrator's (the harness, the management API): not a service's."""
        return self.failover_uri(self.amqp_host.rpartition("@")[0])

    def failover_uri(self, user_password: str, first: int = 0) -> str:
        """`amqp://<user>@<node>/<vhost>` for every node, `;`-separated, from node
        `first` on (kombu connects to the first it can, and fails over in turn)."""
        vhost = urllib.parse.quote(self.vhost, safe="")
        nodes = (self.amqp_host.rpartition("@")[2], *self.amqp_alternates)
        first %= len(nodes)
        return ";".join(
            f"amqp://{user_password}@{node}/{vhost}"
            for node in nodes[first:] + nodes[:first]
        )

    def db_name(self, service: str) -> str:
        return f"{self.db_prefix}_{service}"

    def db_role(self, service: str) -> str:
        """The login role that owns the service's database (the same word): it runs
        the migrations, and the service never connects as it."""
        return self.db_name(service)

    def db_runtime_role(self, service: str) -> str:
        """The login role the service connects as: it reads and writes rows, and owns
        nothing (`svyaz.migrations.grant_runtime_role`)."""
        return f"{self.db_name(service)}_app"

    def broker_user(self, service: str) -> str:
        return f"{self.db_prefix}-{service}"

    def password(self, service: str, kind: str) -> str:
        """`service`'s `kind` ("db" or "broker") password, made once and kept in
        `credentials/` (readable by its owner alone)."""
        path = self.credentials / f"{service}.{kind}"
        if not path.exists():
            self.credentials.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another launcher made it meanwhile
                pass
            else:
                with os.fdopen(fd, "w") as handle:
                    handle.write(secrets.token_urlsafe(24))
        return path.read_text().strip()

    def db_uri(self, service: str, owner: bool = False) -> str:
        """The service's runtime role on its own database; `owner`: the role that
        owns it (migrations, backups)."""
        role = self.db_role(service) if owner else self.db_runtime_role(service)
        password = self.password(service, "db" if owner else "db-app")
        if self.pg_hosts:
            return multi_host_uri(self.pg_hosts, self.db_name(service), role, password)
        admin = urllib.parse.urlsplit(self.pg_url)
        return (
            f"postgresql+psycopg2://{role}:{password}@{admin.hostname}:"
            f"{admin.port or 5432}/{self.db_name(service)}"
        )

    def service_amqp_uri(self, service: str) -> str:
        """The service's own broker user on the vhost (on every node)."""
        # each service starts on another node: their connections spread over it
        return self.failover_uri(
            f"{self.broker_user(service)}:{self.password(service, 'broker')}",
            first=SERVICES.index(service) if service in SERVICES else 0,
        )

    def env(self, service: str) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            AMQP_URI=self.service_amqp_uri(service),
            WEB_SERVER_ADDRESS=self.http,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=str(self.smtp_port),
            STRIPE_API_BASE=f"http://127.0.0.1:{self.sandbox_port}",
            PUBLIC_URL=f"http://{self.http}",  # links in mails and Stripe's returns
            PYTHONUNBUFFERED="1",
            # nameko 2.14 imports pkg_resources and eventlet warns it is deprecated
            # (a plain Warning, raised where svyaz.db imports it first, as in the
            # migrations): notices for developers, not for the terminal of `make run`
            PYTHONWARNINGS=(
                "ignore::DeprecationWarning,ignore::UserWarning,ignore::Warning:svyaz.db"
            ),
        )
        # each process gets its own private key, by absolute path
        env["BUS_PRIVATE_KEY"] = str(self.keys / "private" / f"{service}.key")
        env["BUS_PUBLIC_KEYS"] = str(self.keys / "public")
        if service in WITH_DB:
            env["DB_URI"] = self.db_uri(service)
        if service == "registry":  # outside the database: see registry.journal
            env["ERASURE_JOURNAL"] = str(self.var / "erasures.journal")
        env.update(self.extra_env)
        return env


def multi_host_uri(
    hosts: tuple[str, ...], database: str, user: str, password: str = ""
) -> str:
    """`postgresql+psycopg2://user:pw@/db?host=h1:p1&host=h2:p2&
    target_session_attrs=read-write`: libpq (through SQLAlchemy's psycopg2 dialect)
    tries the hosts in order and keeps the first that takes writes."""
    secret = f":{urllib.parse.quote(password, safe='')}" if password else ""
    query = "&".join(f"host={host}" for host in hosts)
    return (
        f"postgresql+psycopg2://{urllib.parse.quote(user, safe='')}{secret}@/"
        f"{database}?{query}&target_session_attrs=read-write&connect_timeout=5"
    )


def _die_with_parent() -> None:
    """In the child: SIGTERM when the launcher dies, however it dies (a SIGKILLed
    test run must not leave services consuming from its queues)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _admin_connection(settings: Settings):  # type: ignore[no-untyped-def]
    import psycopg2

    conn = psycopg2.connect(f"{settings.pg_url}/postgres")
    conn.autocommit = True
    return conn


# Objects a database held before it had its own owner (made by migrations run as
# postgres): handed to the owner, so that its migrations can alter them.
ADOPT = """
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS name, c.relkind FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
        AND c.relowner <> %(role)s::regrole LOOP
    EXECUTE format('ALTER %%s %%s OWNER TO %%I',
      CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                     WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
      r.name, %(role)s);
  END LOOP;
  FOR r IN SELECT c.oid::regclass AS name FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind = 'S'
        AND c.relowner <> %(role)s::regrole LOOP
    EXECUTE format('ALTER SEQUENCE %%s OWNER TO %%I', r.name, %(role)s);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS name FROM pg_proc p
      JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.proowner <> %(role)s::regrole LOOP
    EXECUTE format('ALTER ROUTINE %%s OWNER TO %%I', r.name, %(role)s);
  END LOOP;
  FOR r IN SELECT t.oid::regtype AS name FROM pg_type t
      JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')
        AND t.typowner <> %(role)s::regrole LOOP
    EXECUTE format('ALTER TYPE %%s OWNER TO %%I', r.name, %(role)s);
  END LOOP;
END $$;
"""


def create_databases(settings: Settings) -> None:
    """Each service's two login roles and its database: owned by the one that runs
    the migrations, used by the other (the service's runtime role, which the
    migrations grant what it needs, `migrate`); no other role (but the
    administrators) may connect to it. Run again, it changes nothing but the roles'
    passwords (from `credentials/`) and what a database held before."""
    import psycopg2

    conn = _admin_connection(settings)
    with conn.cursor() as cur:
        for service in WITH_DB:
            name, role = settings.db_name(service), settings.db_role(service)
            for login, password in (
                (role, settings.password(service, "db")),
                (
                    settings.db_runtime_role(service),
                    settings.password(service, "db-app"),
                ),
            ):
                cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (login,))
                verb = "ALTER" if cur.fetchone() else "CREATE"
                cur.execute(
                    f'{verb} ROLE "{login}" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE '
                    "PASSWORD %s",
                    (password,),
                )
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cur.fetchone() is None:
                cur.execute(f'CREATE DATABASE "{name}" OWNER "{role}"')
            else:
                cur.execute(f'ALTER DATABASE "{name}" OWNER TO "{role}"')
                own = psycopg2.connect(f"{settings.pg_url}/{name}")
                own.autocommit = True
                with own.cursor() as inside:
                    inside.execute(ADOPT, {"role": role})
                own.close()
            cur.execute(f'REVOKE ALL ON DATABASE "{name}" FROM PUBLIC')
    conn.close()


def drop_databases(settings: Settings) -> None:
    conn = _admin_connection(settings)
    with conn.cursor() as cur:
        for service in WITH_DB:
            cur.execute(
                f'DROP DATABASE IF EXISTS "{settings.db_name(service)}" WITH (FORCE)'
            )
            cur.execute(f'DROP ROLE IF EXISTS "{settings.db_role(service)}"')
            cur.execute(f'DROP ROLE IF EXISTS "{settings.db_runtime_role(service)}"')
    conn.close()


def migrate(settings: Settings) -> None:
    """Each service's migrations, as the role that owns its database, granting its
    runtime role what they made (`DB_RUNTIME_ROLE`)."""
    for service in WITH_DB:
        subprocess.run(
            [
                str(BIN / "alembic"),
                "-c",
                str(ROOT / "services" / service / "alembic.ini"),
                "upgrade",
                "head",
            ],
            env={
                **settings.env(service),
                "DB_URI": settings.db_uri(service, owner=True),
                "DB_RUNTIME_ROLE": settings.db_runtime_role(service),
            },
            check=True,
            cwd=ROOT / "services" / service,
        )


def _management(settings: Settings, method: str, path: str, body: object = None):  # type: ignore[no-untyped-def]
    """A call to RabbitMQ's management API as the administrator."""
    import base64

    request = urllib.request.Request(
        f"{settings.management_url}/api/{path}",
        data=body if isinstance(body, bytes | None) else json.dumps(body).encode(),
        method=method,
        headers={"Content-Type": "application/json"},
    )
    user_password = settings.amqp_host.rpartition("@")[0].encode()
    request.add_header(
        "Authorization", "Basic " + base64.b64encode(user_password).decode()
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        if method == "DELETE" and exc.code == 404:
            return exc.code
        detail = exc.read()[:200]
        raise RuntimeError(f"{method} {path}: {exc.code} {detail!r}") from None


def _definitions() -> dict:  # type: ignore[type-arg]
    return json.loads((ROOT / "infra" / "rabbitmq" / "definitions.json").read_text())


def load_topology(settings: Settings) -> None:
    """Load infra/rabbitmq/definitions.json (exchanges, queues, policies) into the
    vhost through the management API; loading twice changes nothing."""
    body = (ROOT / "infra" / "rabbitmq" / "definitions.json").read_bytes()
    if settings.amqp_alternates:  # a cluster: RPC queues mirrored on every node
        from svyaz import topology

        body = json.dumps(topology.clustered(json.loads(body))).encode()
    vhost = urllib.parse.quote(settings.vhost, safe="")
    status = _management(settings, "POST", f"definitions/{vhost}", body)
    if status not in (200, 201, 204):
        raise RuntimeError(f"loading definitions: {status}")


def create_broker_users(settings: Settings) -> None:
    """Each service's own broker user, permitted on the vhost only what
    svyaz.topology.broker_permissions gives it, and each CLI's (RPC calls only);
    run again, it sets the same."""
    from svyaz import topology

    definitions = _definitions()
    handlers = topology.handlers_in(definitions)
    rpc_services = topology.rpc_services_in(definitions)
    vhost = urllib.parse.quote(settings.vhost, safe="")
    for service in SERVICES + TOOLS:
        user = urllib.parse.quote(settings.broker_user(service), safe="")
        grant = (
            topology.tool_permissions(service)
            if service in TOOLS
            else topology.broker_permissions(service, handlers, rpc_services)
        )
        _management(
            settings,
            "PUT",
            f"users/{user}",
            {"password": settings.password(service, "broker"), "tags": ""},
        )
        _management(
            settings,
            "PUT",
            f"permissions/{vhost}/{user}",
            {key: grant[key] for key in ("configure", "write", "read")},
        )
        _management(settings, "DELETE", f"topic-permissions/{vhost}/{user}")
        for topic in grant["topics"]:
            _management(settings, "PUT", f"topic-permissions/{vhost}/{user}", topic)


def drop_broker_users(settings: Settings) -> None:
    for service in SERVICES + TOOLS:
        user = urllib.parse.quote(settings.broker_user(service), safe="")
        _management(settings, "DELETE", f"users/{user}")


# the ports `free_port` gave this process, each held by a lock file until it ends
PORTS = Path(tempfile.gettempdir()) / "svyaz-ports"
_reserved: list[IO[bytes]] = []


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on, this process's while it lives.

    The kernel's pick (binding port 0) is free at that moment only: the test jobs
    run side by side, and two systems could draw the same port for their gateways
    (which then fail to start, `GatewayServer.start`); an outgoing connection may
    take such a port meanwhile too. So the port is drawn below the kernel's
    ephemeral range, where outgoing connections never get theirs, and reserved by
    a lock file under `PORTS` that the kernel lets go of when this process ends:
    another process drawing at the same moment skips it."""
    low = _ephemeral_low()
    PORTS.mkdir(exist_ok=True)
    for _ in range(1000):
        port = random.randrange(10_000, max(low, 10_001))
        handle = (PORTS / str(port)).open("ab")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process's
            handle.close()
            continue
        if _bindable(port):
            _reserved.append(handle)
            return port
        handle.close()
    raise RuntimeError(f"no free port between 10000 and {low}")


def _ephemeral_low() -> int:
    """The first port of the kernel's range for outgoing connections."""
    try:
        return int(
            Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]
        )
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def _bindable(port: int) -> bool:
    """Nothing listens on it (bound as the servers bind, with SO_REUSEADDR)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def prometheus_config(settings: Settings, targets: dict[str, list[int]]) -> str:
    """prometheus.yml: one job per service, one target per replica's metrics page."""
    import json

    rules = settings.var / "prometheus" / "alerts.yml"
    lines = [
        "global:",
        f"  scrape_interval: {settings.prometheus_interval}",
        f"  evaluation_interval: {settings.prometheus_interval}",
        f"rule_files: [{json.dumps(str(rules))}]",
        "scrape_configs:",
    ]
    for job, ports in targets.items():
        hosts = ", ".join(json.dumps(f"127.0.0.1:{port}") for port in ports)
        lines += [
            f"  - job_name: {job}",
            "    static_configs:",
            f"      - targets: [{hosts}]",
        ]
    return "\n".join(lines) + "\n"


def alert_rules(settings: Settings) -> str:
    """infra/prometheus/alerts.yml, with every `for:` replaced if asked (tests)."""
    import re

    text = (ROOT / "infra" / "prometheus" / "alerts.yml").read_text()
    if settings.alert_for is not None:
        text = re.sub(r"(?m)^(\s+for: ).*$", rf"\g<1>{settings.alert_for}", text)
    return text


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def wait_for(check, what: str, seconds: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} was not ready within {seconds:.0f} s")


def queue_consumers(settings: Settings, queue: str) -> int:
    import amqp

    user, _, password = settings.amqp_host.rpartition("@")[0].partition(":")
    for node in (settings.amqp_host.rpartition("@")[2], *settings.amqp_alternates):
        try:
            with amqp.Connection(
                node, userid=user, password=password, virtual_host=settings.vhost
            ) as conn:
                channel = conn.channel()
                return int(channel.queue_declare(queue, passive=True).consumer_count)
        except OSError:  # this node is down: the next one
            continue
        except Exception:  # noqa: BLE001 - not declared yet
            return 0
    return 0


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310
            return response.status == 200
    except OSError:
        return False


def service_class(service: str) -> str:
    """The service's class by name: its module also imports the mixins it is made
    of, which nameko would otherwise take for services of their own."""
    return f"{service}.service:{service.capitalize()}Service"


def replica_name(service: str, replica: int) -> str:
    """`registry` for the first replica, `registry-2` for the second..."""
    return service if replica == 1 else f"{service}-{replica}"


@dataclass
class Stack:
    settings: Settings
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # how each process was started, so that it can be started again as it was
    launches: dict[str, tuple[list[str], dict[str, str]]] = field(default_factory=dict)
    # the metrics page of each process: name -> port (see Settings.metrics_base)
    metrics_ports: dict[str, int] = field(default_factory=dict)

    @property
    def logs(self) -> Path:
        return self.settings.var / "log"

    def spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = open(self.logs / f"{name}.log", "ab")
        self.launches[name] = (argv, env)
        self.processes[name] = subprocess.Popen(
            argv,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )

    def start_service(self, service: str, replica: int = 1, **env: str) -> None:
        overrides: dict[str, str] = {}
        if service == "gateway" and replica > 1:
            overrides["WEB_SERVER_ADDRESS"] = self.settings.replica_http[replica - 2]
        port = self.settings.metrics_port(service, replica)
        if port is not None:
            self.metrics_ports[replica_name(service, replica)] = port
            overrides["METRICS_PORT"] = str(port)
        self.spawn(
            replica_name(service, replica),
            [
                str(BIN / "nameko"),
                "run",
                "--config",
                str(ROOT / "services" / service / "config.yml"),
                service_class(service),
            ],
            {**self.settings.env(service), **overrides, **env},
        )

    def restart(self, name: str) -> None:
        """Start a process again as it was first started (after it died)."""
        argv, env = self.launches[name]
        self.spawn(name, argv, env)

    def start_sinks(self) -> None:
        mail = self.settings.var / "mail"
        for sub in ("cur", "new", "tmp"):
            (mail / sub).mkdir(parents=True, exist_ok=True)
        self.spawn(
            "smtp",
            [
                sys.executable,
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                f"127.0.0.1:{self.settings.smtp_port}",
                "-c",
                "aiosmtpd.handlers.Mailbox",
                str(mail),
            ],
            dict(os.environ),
        )
        sandbox = ROOT / "infra" / "stripe-sandbox"
        if (sandbox / "stripe_sandbox" / "__main__.py").exists():
            env = dict(os.environ, PYTHONPATH=str(sandbox))
            self.spawn(
                "stripe-sandbox",
                [
                    sys.executable,
                    "-m",
                    "stripe_sandbox",
                    "--port",
                    str(self.settings.sandbox_port),
                    "--state-file",
                    str(self.settings.var / "stripe-sandbox.json"),
                    "--webhook-url",
                    f"http://{self.settings.http}/webhooks/stripe",
                    "--request-log",
                    str(self.logs / "stripe-requests.jsonl"),
                ],
                env,
            )

    def start(self, timeout: float = 90.0) -> None:
        from svyaz import keys

        keys.ensure(self.settings.keys)
        self.start_sinks()
        for replica in range(1, len(self.settings.replica_http) + 2):
            for service in SERVICES:
                self.start_service(service, replica)
        self.start_prometheus()
        self.wait_ready(timeout)

    def start_prometheus(self) -> None:
        """Prometheus on loopback, scraping every process's metrics page, with the
        alert rules and the console dashboard of infra/prometheus (when Debian's
        `prometheus` is installed: `make tools`)."""
        s = self.settings
        binary = shutil.which("prometheus")
        if not s.prometheus_port or not self.metrics_ports or binary is None:
            return
        folder = s.var / "prometheus"
        folder.mkdir(parents=True, exist_ok=True)
        targets: dict[str, list[int]] = {}
        for name, port in self.metrics_ports.items():
            targets.setdefault(name.split("-")[0], []).append(port)
        (folder / "alerts.yml").write_text(alert_rules(s))
        (folder / "prometheus.yml").write_text(prometheus_config(s, targets))
        infra = ROOT / "infra" / "prometheus"
        self.spawn(
            "prometheus",
            [
                binary,
                f"--config.file={folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={folder / 'data'}",
                f"--web.listen-address=127.0.0.1:{s.prometheus_port}",
                f"--web.console.templates={infra / 'consoles'}",
                f"--web.console.libraries={infra / 'consoles'}",
                "--storage.tsdb.retention.time=15d",
            ],
            dict(os.environ),
        )

    def wait_ready(self, timeout: float = 90.0) -> None:
        s = self.settings
        wait_for(lambda: port_open("127.0.0.1", s.smtp_port), "the SMTP sink", timeout)
        if "stripe-sandbox" in self.processes:
            wait_for(
                lambda: port_open("127.0.0.1", s.sandbox_port),
                "the Stripe sandbox",
                timeout,
            )
        host, port = s.http.rsplit(":", 1)
        for http in (s.http, *s.replica_http):
            wait_for(
                lambda h=http: healthy(f"http://{h}/healthz"),
                f"gateway {http}",
                timeout,
            )
        for queue in (
            "rpc-registry",
            "stipends.on_communicator_applied",
            "notifications.on_communicator_applied",
            "insights.on_report_submitted",
        ):
            wait_for(
                lambda q=queue: queue_consumers(s, q) > 0, f"queue {queue}", timeout
            )
        for name, port in self.metrics_ports.items():
            wait_for(
                lambda p=port: port_open("127.0.0.1", p),
                f"the metrics page of {name}",
                timeout,
            )
        if "prometheus" in self.processes:
            wait_for(
                lambda: healthy(f"http://127.0.0.1:{s.prometheus_port}/-/ready"),
                "Prometheus",
                timeout,
            )
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes[name]
        os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--prepare", action="store_true", help="create databases and migrate, then exit"
    )
    parser.add_argument(
        "--cluster",
        action="store_true",
        help="on the three-node cluster `make cluster` started (AMQP 5701-5703, "
        "management 15701), not the machine's broker",
    )
    args = parser.parse_args()
    settings = Settings(metrics_base=9300, prometheus_port=9090)
    if args.cluster:
        settings.amqp_host = "guest:guest@127.0.0.1:5701"
        settings.amqp_alternates = ("127.0.0.1:5702", "127.0.0.1:5703")
        settings.management_url = "http://127.0.0.1:15701"
    create_databases(settings)
    migrate(settings)
    load_topology(settings)
    create_broker_users(settings)
    if args.prepare:
        return
    stack = Stack(settings)
    stopping = False

    def _stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        stack.start()
        print(
            "\nSvyaz is running.\n"
            f"  API and consoles  http://{settings.http}/  (health: /healthz)\n"
            f"  RabbitMQ console  {settings.management_url}/  (guest/guest; the "
            f"services' own users: {settings.broker_user('<service>')})\n"
            f"  mail sent         {settings.var / 'mail'} (Maildir; SMTP on "
            f"127.0.0.1:{settings.smtp_port})\n"
            f"  Stripe sandbox    http://127.0.0.1:{settings.sandbox_port}/\n"
            f"  logs              {stack.logs}/<service>.log\n"
            f"  Prometheus        http://127.0.0.1:{settings.prometheus_port}/ "
            f"(dashboard: /consoles/svyaz.html; metrics pages on 127.0.0.1:"
            f"{', '.join(str(p) for p in stack.metrics_ports.values())})\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while not stopping:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    print(
                        f"{name} exited ({process.returncode}); see its log", flush=True
                    )
                    stopping = True
            time.sleep(0.5)
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
