"""Fixtures every tier shares: real PostgreSQL databases built by Alembic, real
RabbitMQ vhosts (nameko's `rabbit_config`), service configs, and AMQP helpers.

The eventlet monkeypatch comes first, as under `nameko run`.
"""

import warnings

warnings.simplefilter("ignore", DeprecationWarning)
import eventlet  # noqa: E402

eventlet.monkey_patch()

import atexit  # noqa: E402
import faulthandler  # noqa: E402
import gc  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import psycopg2  # noqa: E402
import pytest  # noqa: E402
from alembic import command  # noqa: E402
from alembic.config import Config as AlembicConfig  # noqa: E402

from svyaz import config as settings  # noqa: E402
from svyaz import signing  # noqa: E402
from svyaz.db import make_cooperative  # noqa: E402
from tests.helpers import LIGHT_PASSWORDS, bus_settings, configure_bus  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
PG = os.environ.get("TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432")
# the server itself, when PG is a pooler (PgBouncer in transaction pooling): databases
# are made, copied and dropped there, and the template migrated there, since a copy
# is refused while the pooler keeps a server connection to its template
PG_ADMIN = os.environ.get("TEST_PG_ADMIN_URL", PG)

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import leftovers  # noqa: E402

make_cooperative()
signing.register()
# alive: what this process makes is not a killed run's leftover (infra/dev/leftovers.py)
leftovers.hold()


def _dump_stacks(signum: int, frame: Any) -> None:
    """Every greenlet's stack, for a job stopped past its deadline."""
    import greenlet

    out = _stacks_file
    for obj in gc.get_objects():
        if isinstance(obj, greenlet.greenlet) and obj.gr_frame is not None:
            out.write(f"\n--- greenlet {obj!r}\n")
            traceback.print_stack(obj.gr_frame, file=out)
    out.flush()


# infra/dev/testrun.py sends SIGUSR1 to a job past its deadline: every thread's stack
# (faulthandler, at once) and every greenlet's (when Python next runs) go to the file
# it names, which pytest's output capture cannot swallow
if os.environ.get("SVYAZ_TEST_STACKS"):
    _stacks_file = open(os.environ["SVYAZ_TEST_STACKS"], "a")  # noqa: SIM115
    signal.signal(signal.SIGUSR1, _dump_stacks)
    faulthandler.register(
        signal.SIGUSR1, file=_stacks_file, all_threads=True, chain=True
    )


def service_config_file(service: str) -> dict[str, Any]:
    return settings.load(ROOT / "services" / service / "config.yml")


@pytest.fixture(scope="session", autouse=True)
def bus_identity() -> None:
    """Test processes sign as the gateway unless a test says otherwise."""
    configure_bus()


def _admin() -> Any:
    conn = psycopg2.connect(f"{PG_ADMIN}/postgres")
    conn.autocommit = True
    return conn


_templates: dict[str, str] = {}


def _migrated_template(service: str) -> str:
    """A database built once per test process by `service`'s own Alembic migrations,
    which every `create_database(service)` then copies (PostgreSQL's CREATE DATABASE
    ... TEMPLATE: a tenth of the time of running the migrations for each test). Its
    name is this process's own, so concurrent runs never copy or drop each other's;
    it is dropped when the process ends."""
    if service not in _templates:
        name = f"test_template_{service}_{uuid.uuid4().hex[:10]}"
        conn = _admin()
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        url = f"{PG_ADMIN.replace('postgresql://', 'postgresql+psycopg2://')}/{name}"
        alembic = AlembicConfig(str(ROOT / "services" / service / "alembic.ini"))
        alembic.set_main_option("sqlalchemy.url", url)
        command.upgrade(alembic, "head")  # NullPool: nothing stays connected to it
        _templates[service] = name
        atexit.register(drop_database, url)
    return _templates[service]


def create_database(service: str) -> str:
    """A new database for `service`, migrated to head by its own Alembic migrations
    (a copy of this process's migrated template)."""
    template = _migrated_template(service)
    name = f"test_{service}_{uuid.uuid4().hex[:10]}"
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    conn.close()
    return f"{PG.replace('postgresql://', 'postgresql+psycopg2://')}/{name}"


def drop_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = _admin()
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture
def database() -> Iterator[Callable[[str], str]]:
    """`database("stipends")` -> the URL of a fresh, migrated stipends database."""
    made: list[str] = []

    def make(service: str) -> str:
        made.append(create_database(service))
        return made[-1]

    yield make
    for url in made:
        drop_database(url)


@pytest.fixture
def service_config(
    rabbit_config: dict[str, Any], tmp_path: Path
) -> Callable[..., dict[str, Any]]:
    """`service_config("registry", DB_URI=...)`: config.yml on the test's vhost
    (and the registry's erasure journal in the test's own directory)."""

    def make(service: str, **overrides: Any) -> dict[str, Any]:
        config = service_config_file(service)
        if "ERASURE_JOURNAL" in config:
            config["ERASURE_JOURNAL"] = str(tmp_path / f"{service}-erasures.journal")
        bus = bus_settings(service)
        bus.pop("BUS_IDENTITY")  # a container signs as its service's name
        config.update(bus)
        config["AMQP_URI"] = rabbit_config["AMQP_URI"]
        config["OUTBOX_POLL_INTERVAL"] = 0.2
        # many containers come and go in one test process: a frozen heap would
        # keep the cycles of those alive at the freeze (svyaz.heap)
        config["HEAP_FREEZE"] = "off"
        if service == "registry":
            config.update(LIGHT_PASSWORDS)
        config.pop("LOGGING", None)
        config.update(overrides)
        return config

    return make


@pytest.fixture(scope="session")
def system(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The whole system as real processes (see tests/stack.py)."""
    from tests.stack import running_system

    with running_system(Path(tmp_path_factory.mktemp("var")), observed=True) as system:
        yield system
