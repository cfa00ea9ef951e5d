"""docker-compose.yml is valid for Debian's docker-compose and runs the same set as
`make run`: broker, database, SMTP sink, migrations before every service, health
checks on everything."""

import shutil
import subprocess

import pytest
import yaml

from tests.conftest import ROOT

APP = ("registry", "stipends", "notifications", "gateway", "insights")


@pytest.fixture(scope="module")
def compose() -> dict:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose is not installed: run `make test` (it installs it)"
    result = subprocess.run(
        [binary, "config"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_whole_system_is_there(compose: dict) -> None:
    assert set(compose["services"]) == {
        "rabbitmq",
        "postgres",
        "smtp",
        "stripe-sandbox",
        *APP,
        "registry-migrate",
        "stipends-migrate",
        "notifications-migrate",
        "gateway-migrate",
        "insights-migrate",
        "bus-keys",
    }


def test_every_long_running_part_has_a_health_check(compose: dict) -> None:
    for name, service in compose["services"].items():
        if not name.endswith("-migrate") and name != "bus-keys":  # one-shot jobs
            assert service.get("healthcheck", {}).get("test"), name


def test_services_start_after_their_migrations_and_the_broker(compose: dict) -> None:
    for name in APP:
        depends = compose["services"][name]["depends_on"]
        assert depends[f"{name}-migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert depends["rabbitmq"]["condition"] == "service_healthy"
        migrate = compose["services"][f"{name}-migrate"]
        assert migrate["command"] == ["alembic", "upgrade", "head"]
        assert migrate["environment"]["DB_URI"].endswith(f"/svyaz_{name}")


def test_the_broker_loads_the_committed_topology(compose: dict) -> None:
    volumes = " ".join(str(v) for v in compose["services"]["rabbitmq"]["volumes"])
    # the topology with each process's own user (tests/infra/unit/test_topology.py)
    assert "infra/rabbitmq/development.json:/etc/rabbitmq/definitions.json" in volumes
    conf = (ROOT / "infra/rabbitmq/rabbitmq.conf").read_text()
    assert "load_definitions = /etc/rabbitmq/definitions.json" in conf


def test_the_registry_reaches_stripe_only_in_the_sandbox(compose: dict) -> None:
    registry = compose["services"]["registry"]
    assert registry["environment"]["STRIPE_API_BASE"] == "http://stripe-sandbox:8420"
    assert registry["depends_on"]["stripe-sandbox"]["condition"] == "service_healthy"
    sandbox = compose["services"]["stripe-sandbox"]
    assert "http://gateway:8000/webhooks/stripe" in sandbox["command"]
    assert "stripe_sandbox" in (ROOT / sandbox["build"]["dockerfile"]).read_text()


def test_every_service_image_runs_its_service(compose: dict) -> None:
    """One Dockerfile for every service: the build arguments name the service, its
    image copies that service and runs its nameko class."""
    for name in APP:
        for process in (name, f"{name}-migrate"):
            build = compose["services"][process]["build"]
            assert build["dockerfile"] == "services/Dockerfile", process
            assert build["args"] == {
                "SERVICE": name,
                "SERVICE_CLASS": f"{name.capitalize()}Service",
            }, process
    text = (ROOT / "services/Dockerfile").read_text()
    assert "COPY services/${SERVICE} services/${SERVICE}" in text
    assert 'NAMEKO_SERVICE="${SERVICE}.service:${SERVICE_CLASS}"' in text
    assert 'exec nameko run --config config.yml \\"$NAMEKO_SERVICE\\"' in text


def test_each_service_holds_its_own_bus_key_and_no_other(compose: dict) -> None:
    """The bus keys are made once (`bus-keys`), a volume per process: a service
    mounts its own private key and everyone's public keys, nothing else."""
    services = compose["services"]
    assert services["bus-keys"]["command"][-1].startswith(
        "python -m svyaz.keys ensure /keys --nested"
    )
    for name in APP:
        mounts = [str(v) for v in services[name].get("volumes", [])]
        private = [m for m in mounts if "/keys/private" in m]
        assert len(private) == 1 and f"keys-{name}:" in private[0], (name, mounts)
        assert private[0].endswith(":ro") or "read_only" in private[0]
        env = services[name]["environment"]
        assert env["BUS_PRIVATE_KEY"] == f"/keys/private/{name}/{name}.key"
        assert env["BUS_PUBLIC_KEYS"] == "/keys/public"
        assert "BUS_SIGNING_KEYS" not in env
        depends = services[name]["depends_on"]
        assert depends["bus-keys"]["condition"] == "service_completed_successfully"


DATA_KEYS = (
    "MASTER_KEYS",
    "MASTER_KEY_ID",
    "BLIND_INDEX_KEYS",
    "BLIND_INDEX_KEY_ID",
    "ACCESS_LOG_KEYS",
    "ACCESS_LOG_KEY_ID",
)


def test_the_registry_alone_gets_the_personal_data_keys(compose: dict) -> None:
    """The registry starts with every key its config.yml asks for (master,
    blind-index, access-log), each a ring that parses; no other service gets one."""
    from svyaz.crypto import parse_keys

    services = compose["services"]
    env = services["registry"]["environment"]
    for name in DATA_KEYS:
        assert env.get(name), name
        if name.endswith("_KEYS"):
            assert env[f"{name[:-1]}_ID"] in parse_keys(env[name], name)
    for other in APP[1:]:
        assert not set(DATA_KEYS) & set(services[other]["environment"]), other


def test_each_service_connects_as_its_own_broker_user_and_database_role(
    compose: dict,
) -> None:
    """Least privilege: no service (nor its migration) is the broker's guest or the
    database's superuser; each is the user that development.json confines and the
    role that init.sql makes its database's owner, which alone may connect to it."""
    import json
    from urllib.parse import urlsplit

    from tests.infra.unit.test_topology import generator

    generate = generator()
    broker = json.loads((ROOT / "infra/rabbitmq/development.json").read_text())
    users = {u["name"]: u for u in broker["users"]}
    init = (ROOT / "infra/postgres/init.sql").read_text()
    services = compose["services"]
    assert "POSTGRES_HOST_AUTH_METHOD" not in services["postgres"]["environment"]
    for name in APP:
        amqp = urlsplit(services[name]["environment"]["AMQP_URI"])
        assert amqp.username == f"svyaz-{name}", name
        user = users[amqp.username]
        assert user["password_hash"] == generate.password_hash(
            amqp.username, amqp.password
        )
        assert user["tags"] == []
        # the service as its runtime role; its migrations as the database's owner,
        # granting the runtime role its rows
        for job, role in ((name, f"svyaz_{name}_app"), (f"{name}-migrate", None)):
            db = urlsplit(services[job]["environment"]["DB_URI"])
            login = role or f"svyaz_{name}"
            assert (db.username, db.path) == (login, f"/svyaz_{name}"), job
            assert db.password == f"dev-{login[6:].replace('_', '-')}-db", job
        assert services[f"{name}-migrate"]["environment"]["DB_RUNTIME_ROLE"] == (
            f"svyaz_{name}_app"
        )
        assert "DB_RUNTIME_ROLE" not in services[name]["environment"]
        assert f"('{name}')" in init
    assert "CREATE DATABASE %I OWNER %I" in init
    assert "REVOKE ALL ON DATABASE %I FROM PUBLIC" in init
    assert "REVOKE CONNECT ON DATABASE postgres, template1 FROM PUBLIC" in init


def test_the_services_health_checks_are_readiness_checks(compose: dict) -> None:
    """Database, broker and consumers (svyaz.health --ready; the gateway's /readyz),
    not only a live process; metrics on the compose network, never published."""
    for name in ("registry", "stipends", "notifications", "insights"):
        test = compose["services"][name]["healthcheck"]["test"]
        assert test[:4] == ["CMD", "python", "-m", "svyaz.health"], name
        assert test[-2:] == ["--ready", name], name
    gateway = " ".join(compose["services"]["gateway"]["healthcheck"]["test"])
    assert "/readyz" in gateway
    for name in APP:
        service = compose["services"][name]
        assert str(service["environment"]["METRICS_PORT"]) == "9100"
        assert "9100" not in " ".join(str(p) for p in service.get("ports", []))
