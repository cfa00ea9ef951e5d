"""infra/k8s: the Kustomize base and the production overlay render, every resource
is valid (the built-in ones against Kubernetes' own schemas, offline, with
kubernetes-validate; the operators' ones against the schemas their CRDs publish,
vendored in tests/infra/schemas/), and they hold what running Svyaz needs: probes,
limits and a locked-down securityContext on every pod, every Secret key they read
provided by the secret store, every setting a service reads set (and accepted by the
service's own production checks), and NetworkPolicies that let each service reach
exactly what it needs. Offline and without a cluster."""

from __future__ import annotations

import copy
import functools
import importlib.util
import ipaddress
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from svyaz import config as settings
from svyaz import crypto
from tests.conftest import ROOT
from tests.infra import kustomize

K8S = ROOT / "infra" / "k8s"
SCHEMAS = ROOT / "tests" / "infra" / "schemas"
OVERLAYS = {
    "base": K8S / "base",
    "production": K8S / "overlays" / "production",
    "staging": K8S / "overlays" / "staging",
}
KUBERNETES = "1.33.0"  # the oldest release the manifests are held to
SERVICES = ("registry", "stipends", "notifications", "gateway", "insights")
CONSUMERS = ("registry", "stipends", "notifications", "insights")  # scaled on queues
NAMESPACE = "svyaz"


def key(resource: dict[str, Any]) -> tuple[str, str, str | None, str]:
    meta = resource["metadata"]
    return (
        resource["apiVersion"],
        resource["kind"],
        meta.get("namespace"),
        meta["name"],
    )


@functools.cache
def render(overlay: str) -> list[dict[str, Any]]:
    """The overlay's resources, rendered once (a test that changes them copies)."""
    return kustomize.render(OVERLAYS[overlay])


@pytest.fixture(scope="module", params=sorted(OVERLAYS))
def rendered(request: pytest.FixtureRequest) -> list[dict[str, Any]]:
    return render(request.param)


@pytest.fixture(scope="module")
def production() -> list[dict[str, Any]]:
    resources = render("production")
    namespaced = [r for r in resources if r["kind"] != "Namespace"]
    assert {r["metadata"]["namespace"] for r in namespaced} == {NAMESPACE}
    return resources


def of_kind(resources: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {r["metadata"]["name"]: r for r in resources if r["kind"] == kind}


def pod_spec(resource: dict[str, Any]) -> dict[str, Any]:
    return resource["spec"]["template"]["spec"]


def services(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The services' Deployments (not the staging fakes)."""
    return {
        name: d
        for name, d in of_kind(resources, "Deployment").items()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "service"
    }


# -- rendering ----------------------------------------------------------------------


def test_the_renderer_builds_what_kubectl_builds() -> None:
    """What these tests check is what `kubectl apply -k` applies: the same objects,
    field for field, as `kubectl kustomize` builds (where kubectl is installed).
    Staging builds production, which builds the base: one build runs all three
    kustomizations (kubectl takes a second or more to start)."""
    overlay = "staging"
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not installed: the Python renderer alone is checked")
    built = subprocess.run(
        [kubectl, "kustomize", str(OVERLAYS[overlay])],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    theirs = {key(d): d for d in yaml.safe_load_all(built) if d}
    ours = {key(d): d for d in kustomize.render(OVERLAYS[overlay])}
    assert sorted(ours) == sorted(theirs)
    for name, resource in ours.items():
        assert resource == theirs[name], name


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text(
        "resources: []\ncommonLabels: {a: b}\n"
    )
    with pytest.raises(kustomize.Unsupported):
        kustomize.render(tmp_path)


def test_the_generated_files_match_the_topology() -> None:
    spec = importlib.util.spec_from_file_location("k8s_generate", K8S / "generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path, text in module.outputs().items():
        assert path.read_text() == text, f"{path}: run `make topology`"


# -- schemas ------------------------------------------------------------------------


def _structural(node: Any) -> Any:
    """A CRD's OpenAPI v3 schema as JSON Schema, as strict as the API server with
    strict field validation (kubectl's default): unknown fields refused unless the
    schema keeps them, `nullable` allowed, int-or-string either."""
    if isinstance(node, list):
        return [_structural(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: _structural(v)
        for k, v in node.items()
        if k not in ("nullable", "format") and not k.startswith("x-kubernetes-")
    }
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    if (
        "properties" in node
        and "additionalProperties" not in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def _custom_schemas() -> dict[tuple[str, str], Any]:
    found = {}
    for path in sorted(SCHEMAS.glob("*.json")):
        vendored = json.loads(path.read_text())
        for field in ("source", "commit", "release", "file"):
            assert vendored[field], f"{path.name} does not say its {field}"
        schema = _structural(vendored["schema"])
        found[(vendored["apiVersion"], vendored["kind"])] = jsonschema.Draft4Validator(
            schema
        )
    return found


CUSTOM = _custom_schemas()


@pytest.fixture(scope="module", autouse=True)
def schemas_read_once() -> Iterator[None]:
    """kubernetes-validate reads its schema files (several MB of definitions) again
    for every resource: read each once for this module."""
    utils = kubernetes_validate.utils
    original = utils.schema_contents
    utils.schema_contents = functools.lru_cache(maxsize=None)(original)
    yield
    utils.schema_contents = original


def validate(resource: dict[str, Any]) -> list[str]:
    """What is wrong with `resource`: [] when its schema accepts it."""
    custom = CUSTOM.get((resource["apiVersion"], resource["kind"]))
    if custom is not None:
        return [
            f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in custom.iter_errors(resource)
        ]
    try:
        kubernetes_validate.validate(resource, KUBERNETES, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path))}: {exc.message}"]
    return []


def test_every_resource_is_valid_against_its_schema(
    rendered: list[dict[str, Any]],
) -> None:
    problems = {}
    for resource in rendered:
        custom = (resource["apiVersion"], resource["kind"]) in CUSTOM
        if not custom:
            # a kind with neither a vendored nor a Kubernetes schema is a mistake
            try:
                kubernetes_validate.validate(resource, KUBERNETES, strict=True)
            except kubernetes_validate.SchemaNotFoundError:
                problems[key(resource)] = ["no schema: vendor the operator's CRD"]
                continue
            except kubernetes_validate.ValidationError:
                pass
        errors = validate(resource)
        if errors:
            problems[key(resource)] = errors
    assert not problems, json.dumps({str(k): v for k, v in problems.items()}, indent=1)


@pytest.mark.parametrize(
    ("kind", "path", "value"),
    [
        (
            "Deployment",
            ("spec", "template", "spec", "containers", 0, "livenesProbe"),
            {},
        ),
        ("Deployment", ("spec", "replicas"), "two"),
        ("RabbitmqCluster", ("spec", "replica"), 3),
        ("Cluster", ("spec", "bootstrap", "initdb", "databse"), "x"),
        ("Pooler", ("spec", "pgbouncer", "poolMode"), "statement-ish"),
        ("ScheduledBackup", ("spec", "method"), "tape"),
        ("ScaledObject", ("spec", "triggers", 0, "authRef"), {"name": "x"}),
        ("ExternalSecret", ("spec", "target", "nme"), "x"),
        ("Permission", ("spec", "permissions", "delete"), ".*"),
    ],
)
def test_the_schemas_refuse_a_mistake(
    production: list[dict[str, Any]], kind: str, path: tuple[Any, ...], value: Any
) -> None:
    """A misspelt field or a wrong value is caught: the validation is not a no-op."""
    resource = copy.deepcopy(next(r for r in production if r["kind"] == kind))
    assert not validate(resource)
    node: Any = resource
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    assert validate(resource), f"{kind}: {path} = {value!r} was accepted"


def test_every_custom_resource_kind_has_its_vendored_schema(
    production: list[dict[str, Any]],
) -> None:
    kinds = {(r["apiVersion"], r["kind"]) for r in production}
    expected = {
        ("rabbitmq.com/v1beta1", "RabbitmqCluster"),
        ("rabbitmq.com/v1beta1", "User"),
        ("rabbitmq.com/v1beta1", "Permission"),
        ("rabbitmq.com/v1beta1", "TopicPermission"),
        ("postgresql.cnpg.io/v1", "Cluster"),
        ("postgresql.cnpg.io/v1", "Pooler"),
        ("postgresql.cnpg.io/v1", "ScheduledBackup"),
        ("barmancloud.cnpg.io/v1", "ObjectStore"),
        ("keda.sh/v1alpha1", "ScaledObject"),
        ("keda.sh/v1alpha1", "TriggerAuthentication"),
        ("external-secrets.io/v1", "ExternalSecret"),
    }
    assert expected <= kinds
    assert expected <= set(CUSTOM)


# -- workloads ----------------------------------------------------------------------


def workloads(resources: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    yield from (r for r in resources if r["kind"] in ("Deployment", "Job"))


def test_a_deployment_and_a_migration_job_per_service(
    rendered: list[dict[str, Any]],
) -> None:
    deployments = services(rendered)
    jobs = of_kind(rendered, "Job")
    assert set(deployments) == set(SERVICES)
    assert set(jobs) == {f"{s}-migrate" for s in SERVICES}
    for service in SERVICES:
        (migrate,) = pod_spec(jobs[f"{service}-migrate"])["containers"]
        assert migrate["command"] == ["alembic", "upgrade", "head"]
        assert migrate["image"].split(":")[0].endswith(f"svyaz/{service}")
        assert pod_spec(jobs[f"{service}-migrate"])["restartPolicy"] in (
            "OnFailure",
            "Never",
        )


def test_each_image_is_its_services_dockerfile(
    production: list[dict[str, Any]],
) -> None:
    """The service's container runs the Dockerfile's CMD (no override), as the user
    the Dockerfile names, and its probes call what the image has."""
    dockerfile = (ROOT / "services/Dockerfile").read_text()
    assert "COPY services/${SERVICE} services/${SERVICE}" in dockerfile
    assert re.search(r"^USER nobody$", dockerfile, re.M)
    cmd = re.search(r"^CMD (.*)$", dockerfile, re.M)
    assert cmd and "nameko run" in cmd.group(1) and "$NAMEKO_SERVICE" in cmd.group(1)
    for service in SERVICES:
        spec = pod_spec(of_kind(production, "Deployment")[service])
        (container,) = spec["containers"]
        assert "command" not in container and "args" not in container
        assert container["image"] == (f"registry.example.org/svyaz/{service}:0.1.0"), (
            container["image"]
        )
        assert spec["securityContext"]["runAsUser"] == 65534  # nobody


def test_every_pod_has_probes_limits_and_a_locked_down_context(
    rendered: list[dict[str, Any]],
) -> None:
    for resource in workloads(rendered):
        name = resource["metadata"]["name"]
        spec = pod_spec(resource)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec.get("initContainers", []) + spec["containers"]:
            where = f"{name}/{container['name']}"
            resources = container["resources"]
            for bound in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources[bound]), where
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, where
            assert context["allowPrivilegeEscalation"] is False, where
            assert context["capabilities"]["drop"] == ["ALL"], where
            # a read-only root: whatever writes a temporary file gets /tmp
            mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
            if container in spec["containers"]:
                assert "/tmp" in mounts, where
        if resource["kind"] == "Deployment":
            (container,) = spec["containers"]
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                assert probe in container, f"{name}: no {probe}"


def test_probes_ask_the_right_thing(rendered: list[dict[str, Any]]) -> None:
    """Liveness is the process answering; readiness is the service's own check
    (the gateway's /readyz, `svyaz.health --ready <service>` for the others), on
    ports the container declares and the settings open."""
    common = of_kind(rendered, "ConfigMap")["svyaz-common"]["data"]
    for service, deployment in services(rendered).items():
        (container,) = pod_spec(deployment)["containers"]
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["metrics"] == int(common["METRICS_PORT"])
        annotations = deployment["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/port"] == common["METRICS_PORT"]
        assert common["METRICS_HOST"] == "0.0.0.0"  # reachable by Prometheus
        ready = container["readinessProbe"]
        if service == "gateway":
            gateway = of_kind(rendered, "ConfigMap")["svyaz-gateway"]["data"]
            assert gateway["WEB_SERVER_ADDRESS"] == f"0.0.0.0:{ports['http']}"
            assert ready["httpGet"] == {"path": "/readyz", "port": "http"}
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        else:
            assert ready["exec"]["command"] == [
                "python",
                "-m",
                "svyaz.health",
                "--ready",
                service,
            ]
            assert ready["timeoutSeconds"] >= 10  # it imports the service first
            assert container["livenessProbe"]["httpGet"]["port"] == "metrics"
        for probe in ("startupProbe", "livenessProbe"):
            port = container[probe].get("httpGet", {}).get("port")
            assert port is None or port in ports, f"{service} {probe} {port}"


def test_every_deployment_has_a_disruption_budget_and_an_autoscaler(
    rendered: list[dict[str, Any]],
) -> None:
    deployments = services(rendered)
    budgets = of_kind(rendered, "PodDisruptionBudget")
    scaled = of_kind(rendered, "ScaledObject")
    hpas = of_kind(rendered, "HorizontalPodAutoscaler")
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [
            b
            for b in budgets.values()
            if b["spec"]["selector"]["matchLabels"].items() <= labels.items()
        ]
        assert covering, f"{name} has no PodDisruptionBudget"
        # the autoscaler owns the count: an apply that named one would reset it
        assert "replicas" not in deployment["spec"], name
        minimum = [
            s["spec"]["minReplicaCount"]
            for s in scaled.values()
            if s["spec"]["scaleTargetRef"]["name"] == name
        ] + [
            h["spec"]["minReplicas"]
            for h in hpas.values()
            if h["spec"]["scaleTargetRef"]["name"] == name
        ]
        assert len(minimum) == 1, f"{name}: {len(minimum)} autoscalers"
        assert minimum[0] >= 2, name  # one may be drained while another serves
        assert all(b["spec"].get("minAvailable", 0) < minimum[0] for b in covering)
    assert set(scaled) == set(CONSUMERS)
    assert hpas["gateway"]["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_consumers_scale_on_every_queue_they_consume(
    rendered: list[dict[str, Any]],
) -> None:
    definitions = json.loads((ROOT / "infra/rabbitmq/definitions.json").read_text())
    queues = {q["name"] for q in definitions["queues"]}
    auth = of_kind(rendered, "TriggerAuthentication")
    for service, scaled in of_kind(rendered, "ScaledObject").items():
        triggers = scaled["spec"]["triggers"]
        names = {t["metadata"]["queueName"] for t in triggers}
        own = {q for q in queues if q.startswith(f"{service}.") and ".dlq" not in q}
        assert names == own | {f"rpc-{service}"}, service
        for trigger in triggers:
            assert trigger["type"] == "rabbitmq"
            # KEDA runs in its own namespace: the broker by its full name
            assert trigger["metadata"]["host"] == (
                f"amqp://svyaz-rabbitmq.{NAMESPACE}.svc:5672/"
            )
            assert trigger["metadata"]["mode"] == "QueueLength"
            ref = auth[trigger["authenticationRef"]["name"]]
            secrets = {r["name"] for r in ref["spec"]["secretTargetRef"]}
            assert secrets == {f"svyaz-{service}-broker"}  # its own user only


# -- secrets and settings -----------------------------------------------------------


def provided_secrets(resources: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """Secret name -> {key: what the store gives} for every Secret the overlay
    makes (ExternalSecrets; a literal Secret's data too)."""
    found: dict[str, dict[str, str]] = {}
    for external in of_kind(resources, "ExternalSecret").values():
        target = external["spec"]["target"]
        data = {
            d["secretKey"]: f"<{d['remoteRef']['key']}>"
            for d in external["spec"].get("data", [])
        }
        template = target.get("template", {})
        if template.get("data") and template.get("mergePolicy") != "Merge":
            # External Secrets' default: a template's keys replace the fetched ones
            data = dict(template["data"])
        else:
            data.update(template.get("data", {}))
        found[target.get("name", external["metadata"]["name"])] = data
    for secret in of_kind(resources, "Secret").values():
        found[secret["metadata"]["name"]] = {
            **secret.get("data", {}),
            **secret.get("stringData", {}),
        }
    return found


def secret_references(
    resources: list[dict[str, Any]],
) -> Iterator[tuple[str, str, str]]:
    """(who, secret, key) for every key of a Secret anything reads."""
    for resource in workloads(resources):
        name = resource["metadata"]["name"]
        spec = pod_spec(resource)
        for container in spec.get("initContainers", []) + spec["containers"]:
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    yield name, ref["name"], ref["key"]
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, f"{name}: name each secret key"
        for volume in spec.get("volumes", []):
            secret = volume.get("secret")
            if secret:
                for item in secret.get("items", [{"key": None}]):
                    yield name, secret["secretName"], item["key"]
    for auth in of_kind(resources, "TriggerAuthentication").values():
        for ref in auth["spec"]["secretTargetRef"]:
            yield auth["metadata"]["name"], ref["name"], ref["key"]
    for user in of_kind(resources, "User").values():
        secret = user["spec"]["importCredentialsSecret"]["name"]
        yield user["metadata"]["name"], secret, "username"
        yield user["metadata"]["name"], secret, "password"
    for cluster in of_kind(resources, "Cluster").values():
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        yield cluster["metadata"]["name"], initdb["secret"]["name"], "username"
        yield cluster["metadata"]["name"], initdb["secret"]["name"], "password"
        for role in cluster["spec"].get("managed", {}).get("roles", []):
            yield (
                cluster["metadata"]["name"],
                role["passwordSecret"]["name"],
                "username",
            )
            yield (
                cluster["metadata"]["name"],
                role["passwordSecret"]["name"],
                "password",
            )
    for store in of_kind(resources, "ObjectStore").values():
        for ref in store["spec"]["configuration"]["s3Credentials"].values():
            yield store["metadata"]["name"], ref["name"], ref["key"]


def test_every_secret_key_read_is_provided(production: list[dict[str, Any]]) -> None:
    provided = provided_secrets(production)
    references = list(secret_references(production))
    assert len(references) > 60
    missing = [
        (who, secret, k)
        for who, secret, k in references
        if secret not in provided or (k is not None and k not in provided[secret])
    ]
    assert not missing, missing


def test_a_secret_missing_from_the_store_is_caught(
    production: list[dict[str, Any]],
) -> None:
    changed = copy.deepcopy(production)
    external = of_kind(changed, "ExternalSecret")["svyaz-registry"]
    external["spec"]["data"] = [
        d for d in external["spec"]["data"] if d["secretKey"] != "MASTER_KEYS"
    ]
    provided = provided_secrets(changed)
    assert "MASTER_KEYS" not in provided["svyaz-registry"]
    assert ("registry", "svyaz-registry", "MASTER_KEYS") in set(
        secret_references(changed)
    )


def test_each_pod_reads_only_its_own_services_secrets(
    production: list[dict[str, Any]],
) -> None:
    for who, secret, _ in secret_references(production):
        for service in SERVICES:
            if who in (service, f"{service}-migrate", f"svyaz-{service}-broker"):
                allowed = (f"svyaz-{service}", "svyaz-bus-public-keys")
                assert secret.startswith(allowed), (who, secret)
                for other in set(SERVICES) - {service}:
                    assert other not in secret, (who, secret)


def test_database_and_broker_credentials_agree(
    production: list[dict[str, Any]],
) -> None:
    """The user in each service's DB_URI and AMQP_URI is the runtime role
    CloudNativePG manages (not the database's owner, which only the migrations
    connect as, granting the runtime role its rows) and the broker user the topology
    operator creates, with the password of the same Secret; the URIs name the
    service's own pooler and database."""
    provided = provided_secrets(production)
    clusters = of_kind(production, "Cluster")
    poolers = of_kind(production, "Pooler")
    users = of_kind(production, "User")
    for service in SERVICES:
        env = {
            e["name"]: e
            for e in pod_spec(of_kind(production, "Deployment")[service])["containers"][
                0
            ]["env"]
        }
        cluster = clusters[f"svyaz-{service}-db"]["spec"]
        initdb = cluster["bootstrap"]["initdb"]
        db_secret = provided[initdb["secret"]["name"]]
        assert db_secret["username"] == initdb["owner"] == f"svyaz_{service}"
        (runtime,) = cluster["managed"]["roles"]
        assert runtime["name"] == f"svyaz_{service}_app" != initdb["owner"]
        assert runtime["login"] is True and runtime["ensure"] == "present"
        assert not {"superuser", "createdb", "createrole", "inRoles"} & set(runtime)
        runtime_secret = runtime["passwordSecret"]["name"]
        assert provided[runtime_secret]["username"] == runtime["name"]
        assert env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == runtime_secret
        uri = env["DB_URI"]["value"]
        pooler = poolers[f"svyaz-{service}-pooler"]
        assert pooler["spec"]["cluster"]["name"] == f"svyaz-{service}-db"
        assert uri == (
            f"postgresql+psycopg2://{runtime['name']}:$(DB_PASSWORD)@"
            f"{pooler['metadata']['name']}:5432/{initdb['database']}"
        )
        assert "DB_RUNTIME_ROLE" not in env
        user = users[f"svyaz-{service}"]
        broker_secret = user["spec"]["importCredentialsSecret"]["name"]
        assert provided[broker_secret]["username"] == f"svyaz-{service}"
        assert env["AMQP_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == (
            broker_secret
        )
        assert env["AMQP_URI"]["value"] == (
            f"amqp://svyaz-{service}:$(AMQP_PASSWORD)@svyaz-rabbitmq:5672/"
        )
        # the migrations: as the owner, straight to the primary, granting the
        # runtime role what they make
        job = pod_spec(of_kind(production, "Job")[f"{service}-migrate"])
        job_env = {e["name"]: e for e in job["containers"][0]["env"]}
        assert job_env["DB_URI"]["value"] == (
            f"postgresql+psycopg2://{initdb['owner']}:$(DB_PASSWORD)@"
            f"svyaz-{service}-db-rw:5432/{initdb['database']}"
        )
        assert (
            job_env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"]
            == (initdb["secret"]["name"])
        )
        assert job_env["DB_RUNTIME_ROLE"]["value"] == runtime["name"]


def _fake(secret: str, key: str) -> str:
    """A stand-in for the store's value, in the shape the service parses."""
    if key.endswith("_KEY_ID"):
        return "k2026"
    if key.endswith("_KEYS"):
        return f"k2026={crypto.generate_key()}"
    return f"s3cret-{secret}-{key}".ljust(48, "x")


def container_environment(
    resources: list[dict[str, Any]], deployment: str
) -> dict[str, str]:
    """The environment Kubernetes gives the service's container: its ConfigMaps, then
    each `env` entry in order, `$(NAME)` replaced by an earlier one."""
    configmaps = of_kind(resources, "ConfigMap")
    (container,) = pod_spec(of_kind(resources, "Deployment")[deployment])["containers"]
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(configmaps[source["configMapRef"]["name"]]["data"])
    for entry in container.get("env", []):
        if "value" in entry:
            env[entry["name"]] = re.sub(
                r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                lambda m: env.get(m.group(1), m.group(0)),
                entry["value"],
            )
        else:
            ref = entry["valueFrom"]["secretKeyRef"]
            env[entry["name"]] = _fake(ref["name"], ref["key"])
    return env


def placeholders(service: str) -> dict[str, str]:
    """{ENV_VAR: development default} of the service's config.yml."""
    text = (ROOT / "services" / service / "config.yml").read_text()
    return dict(re.findall(r"\$\{([A-Z_]+):([^}]*)\}", text))


def must_be_set(default: str) -> bool:
    """A default that cannot serve a deployment: a development secret, a loopback
    address or a path in the development tree."""
    return any(mark in default for mark in ("dev-", "127.0.0.1", "localhost")) or (
        default.startswith("var/")
    )


@pytest.mark.parametrize("overlay", ["production", "staging"])
@pytest.mark.parametrize("service", SERVICES)
def test_the_service_gets_every_setting_it_reads_and_starts_in_production(
    overlay: str, service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every placeholder of config.yml whose default only suits development is set,
    and config.yml loaded with that environment (as `nameko run` loads it) passes
    the service's own production checks."""
    production = render(overlay)
    env = container_environment(production, service)
    unset = [
        name
        for name, default in placeholders(service).items()
        if must_be_set(default) and name not in env
    ]
    assert not unset, f"{service} would run with development defaults: {unset}"
    unread = (
        set(env)
        - set(placeholders(service))
        - {
            "DB_PASSWORD",  # parts of DB_URI and AMQP_URI
            "AMQP_PASSWORD",
            "PYTHONUNBUFFERED",
        }
    )
    assert not unread, f"{service} is given settings it never reads: {unread}"
    assert env["SVYAZ_ENV"] == "production"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = settings.load(ROOT / "services" / service / "config.yml")
    settings.refuse_development_settings(config)
    for name, default in placeholders(service).items():
        if "dev-" in default:  # a secret: production refuses its default
            settings.secret(config, name)
    if service == "registry":
        crypto.keyring(config)
        public = str(config["PUBLIC_URL"])
        host = of_kind(production, "Ingress")["gateway"]["spec"]["rules"][0]["host"]
        assert public == f"https://{host}"


def test_the_production_checks_would_catch_a_development_setting(
    production: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    changed = copy.deepcopy(production)
    of_kind(changed, "ConfigMap")["svyaz-registry"]["data"]["PUBLIC_URL"] = (
        "http://svyaz.example.org"
    )
    for name, value in container_environment(changed, "registry").items():
        monkeypatch.setenv(name, value)
    config = settings.load(ROOT / "services" / "registry" / "config.yml")
    with pytest.raises(settings.ConfigurationError, match="PUBLIC_URL"):
        settings.refuse_development_settings(config)


def test_the_bus_key_reaches_the_service_readable_by_it_alone(
    production: list[dict[str, Any]],
) -> None:
    """A Secret volume's files are group-readable once fsGroup applies, which a
    service in production refuses (svyaz.keys.load_private): BUS_PRIVATE_KEY is a
    copy on a memory volume, made 0400 by an init container, never the Secret's
    file."""
    for service in SERVICES:
        spec = pod_spec(of_kind(production, "Deployment")[service])
        (container,) = spec["containers"]
        env = {e["name"]: e.get("value") for e in container["env"]}
        path = env["BUS_PRIVATE_KEY"]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        folder = str(Path(path).parent)
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert volumes[mounts[folder]]["emptyDir"]["medium"] == "Memory"
        (init,) = spec["initContainers"]
        command = " ".join(init["command"])
        assert path in command and "0o400" in command
        secret = volumes[
            next(m["name"] for m in init["volumeMounts"] if m["mountPath"] != folder)
        ]["secret"]
        assert secret["secretName"] == f"svyaz-{service}"
        assert secret["items"] == [{"key": "bus.key", "path": f"{service}.key"}]
        common = of_kind(production, "ConfigMap")["svyaz-common"]["data"]
        assert mounts[common["BUS_PUBLIC_KEYS"]] == "bus-public-keys"


def test_the_registry_keeps_its_erasure_journal_on_a_shared_volume(
    production: list[dict[str, Any]],
) -> None:
    spec = pod_spec(of_kind(production, "Deployment")["registry"])
    journal = of_kind(production, "ConfigMap")["svyaz-registry"]["data"][
        "ERASURE_JOURNAL"
    ]
    (container,) = spec["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    volume = {v["name"]: v for v in spec["volumes"]}[mounts[str(Path(journal).parent)]]
    claim = of_kind(production, "PersistentVolumeClaim")[
        volume["persistentVolumeClaim"]["claimName"]
    ]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]  # every replica


# -- the broker and the databases ---------------------------------------------------


def test_rabbitmq_is_three_nodes_with_the_projects_definitions(
    rendered: list[dict[str, Any]],
) -> None:
    (cluster,) = of_kind(rendered, "RabbitmqCluster").values()
    assert cluster["spec"]["replicas"] == 3
    config = cluster["spec"]["rabbitmq"]["additionalConfig"]
    path = re.search(r"^load_definitions = (\S+)$", config, re.M)
    assert path, config
    assert "queue_leader_locator = balanced" in config
    pod = cluster["spec"]["override"]["statefulSet"]["spec"]["template"]["spec"]
    (mount,) = pod["containers"][0]["volumeMounts"]
    assert mount["mountPath"] == path.group(1)
    (volume,) = pod["volumes"]
    configmap = of_kind(rendered, "ConfigMap")[volume["configMap"]["name"]]
    imported = json.loads(configmap["data"][mount["subPath"]])
    assert imported == json.loads(
        (ROOT / "infra" / "rabbitmq" / "definitions.json").read_text()
    )
    handlers = [q for q in imported["queues"] if not q["name"].startswith("rpc-")]
    assert all(q["arguments"]["x-queue-type"] == "quorum" for q in handlers)


def test_each_service_has_its_own_replicated_database_pooler_and_backups(
    rendered: list[dict[str, Any]],
) -> None:
    clusters = of_kind(rendered, "Cluster")
    poolers = of_kind(rendered, "Pooler")
    backups = of_kind(rendered, "ScheduledBackup")
    stores = of_kind(rendered, "ObjectStore")
    assert set(clusters) == {f"svyaz-{s}-db" for s in SERVICES}
    for service in SERVICES:
        cluster = clusters[f"svyaz-{service}-db"]
        assert cluster["spec"]["instances"] >= 3  # a primary and two standbys
        initdb = cluster["spec"]["bootstrap"]["initdb"]
        assert initdb["database"] == initdb["owner"] == f"svyaz_{service}"
        (pooler,) = [
            p
            for p in poolers.values()
            if p["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        ]
        assert pooler["spec"]["type"] == "rw"
        (backup,) = [
            b
            for b in backups.values()
            if b["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
        ]
        (plugin,) = cluster["spec"]["plugins"]
        assert plugin["isWALArchiver"] is True
        assert backup["spec"]["method"] == "plugin"
        assert backup["spec"]["pluginConfiguration"]["name"] == plugin["name"]
        store = stores[plugin["parameters"]["barmanObjectName"]]
        assert store["spec"]["configuration"]["destinationPath"].endswith(f"/{service}")


# -- network policies ---------------------------------------------------------------

NAMESPACES = {  # the namespaces the policies name, as Kubernetes labels them
    name: {"kubernetes.io/metadata.name": name}
    for name in (NAMESPACE, "kube-system", "ingress-nginx", "monitoring", "keda")
    + ("rabbitmq-system", "cnpg-system", "elsewhere")
}


class Pod:
    def __init__(self, namespace: str, labels: dict[str, str]) -> None:
        self.namespace, self.labels = namespace, labels

    def __repr__(self) -> str:
        return f"{self.namespace}/{self.labels}"


INTERNET = ipaddress.ip_address("203.0.113.10")  # Stripe, a relay: outside
PRIVATE = ipaddress.ip_address("10.1.2.3")  # another machine of the network


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if set(selector) - {"matchLabels"}:
        raise AssertionError(f"unsupported selector {selector}")
    return selector.get("matchLabels", {}).items() <= labels.items()


def _peer_matches(peer: dict[str, Any], policy_ns: str, other: Pod | Any) -> bool:
    if "ipBlock" in peer:
        if isinstance(other, Pod):
            return False
        block = peer["ipBlock"]
        inside = other in ipaddress.ip_network(block["cidr"])
        return inside and not any(
            other in ipaddress.ip_network(e) for e in block.get("except", [])
        )
    if not isinstance(other, Pod):
        return False
    if "namespaceSelector" in peer:
        if not _selects(peer["namespaceSelector"], NAMESPACES[other.namespace]):
            return False
    elif other.namespace != policy_ns:
        return False
    return _selects(peer.get("podSelector", {}), other.labels)


def _port_matches(rule: dict[str, Any], port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    return any(
        p.get("protocol", "TCP") == protocol and p.get("port") in (None, port)
        for p in ports
    )


def _allowed(
    policies: list[dict[str, Any]],
    pod: Pod,
    direction: str,
    other: Any,
    port: int,
    protocol: str,
) -> bool:
    selecting = [
        p
        for p in policies
        if p["metadata"]["namespace"] == pod.namespace
        and _selects(p["spec"]["podSelector"], pod.labels)
        and direction in p["spec"]["policyTypes"]
    ]
    if not selecting:
        return True  # no policy isolates it
    field, peers = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
    for policy in selecting:
        for rule in policy["spec"].get(field, []):
            if not _port_matches(rule, port, protocol):
                continue
            if not rule.get(peers) or any(
                _peer_matches(peer, policy["metadata"]["namespace"], other)
                for peer in rule[peers]
            ):
                return True
    return False


def can_reach(
    policies: list[dict[str, Any]],
    source: Pod | Any,
    target: Pod | Any,
    port: int,
    protocol: str = "TCP",
) -> bool:
    """Whether a connection from `source` to `target`:`port` is let through (a pod
    or an outside address on either side), as NetworkPolicy decides it."""
    if isinstance(source, Pod) and not _allowed(
        policies, source, "Egress", target, port, protocol
    ):
        return False
    if isinstance(target, Pod) and not _allowed(
        policies, target, "Ingress", source, port, protocol
    ):
        return False
    return True


def build_network(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The policies, and a pod of each kind with the labels it gets."""
    policies = [r for r in resources if r["kind"] == "NetworkPolicy"]
    pods = {s: Pod(NAMESPACE, {"app.kubernetes.io/name": s}) for s in SERVICES}
    pods.update(
        {
            f"{s}-migrate": Pod(NAMESPACE, {"app.kubernetes.io/name": f"{s}-migrate"})
            for s in SERVICES
        }
    )
    for s in SERVICES:
        pods[f"pooler:{s}"] = Pod(
            NAMESPACE,
            {
                "cnpg.io/poolerName": f"svyaz-{s}-pooler",
                "cnpg.io/cluster": f"svyaz-{s}-db",
                "cnpg.io/podRole": "pooler",
            },
        )
        pods[f"db:{s}"] = Pod(
            NAMESPACE,
            {
                "cnpg.io/cluster": f"svyaz-{s}-db",
                "cnpg.io/podRole": "instance",
                "cnpg.io/instanceRole": "primary",
            },
        )
    pods["rabbitmq"] = Pod(
        NAMESPACE,
        {
            "app.kubernetes.io/name": "svyaz-rabbitmq",
            "app.kubernetes.io/component": "rabbitmq",
        },
    )
    pods["dns"] = Pod("kube-system", {"k8s-app": "kube-dns"})
    pods["ingress"] = Pod("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"})
    pods["prometheus"] = Pod("monitoring", {"app.kubernetes.io/name": "prometheus"})
    pods["keda"] = Pod("keda", {"app": "keda-operator"})
    pods["cnpg-operator"] = Pod("cnpg-system", {"app.kubernetes.io/name": "cnpg"})
    pods["rabbitmq-operator"] = Pod("rabbitmq-system", {"app": "operator"})
    pods["stranger"] = Pod("elsewhere", {"app": "anything"})
    for fake in ("stripe-sandbox", "smtp-sink"):
        pods[fake] = Pod(NAMESPACE, {"app.kubernetes.io/name": fake})
    return {"policies": policies, "pods": pods}


@pytest.fixture(scope="module")
def network(production: list[dict[str, Any]]) -> dict[str, Any]:
    return build_network(production)


def test_the_labels_the_policies_use_are_the_ones_the_pods_get(
    production: list[dict[str, Any]],
) -> None:
    for service in SERVICES:
        template = of_kind(production, "Deployment")[service]["spec"]["template"]
        assert template["metadata"]["labels"]["app.kubernetes.io/name"] == service
        job = of_kind(production, "Job")[f"{service}-migrate"]["spec"]["template"]
        assert (
            job["metadata"]["labels"]["app.kubernetes.io/name"] == f"{service}-migrate"
        )
    # the operators label their pods with their resource's name
    assert "svyaz-rabbitmq" in of_kind(production, "RabbitmqCluster")
    assert {f"svyaz-{s}-pooler" for s in SERVICES} <= set(of_kind(production, "Pooler"))


EXPECTED_EGRESS = {  # (what, port) each service may reach beyond DNS and the broker
    "registry": {("internet", 443)},  # Stripe's API
    "stipends": {("internet", 443)},  # Stripe's API
    "notifications": {("internet", 587), ("internet", 443)},  # SMTP relay, Telegram
    "gateway": set(),
    "insights": set(),  # nothing outside: it only listens and answers
}
PORTS = (25, 53, 80, 443, 465, 587, 5432, 5672, 6443, 8000, 9100, 15672)


def test_each_service_reaches_exactly_what_it_needs(
    production: list[dict[str, Any]], network: dict[str, Any]
) -> None:
    policies, pods = network["policies"], network["pods"]
    notifications = of_kind(production, "ConfigMap")["svyaz-notifications"]["data"]
    assert ("internet", int(notifications["SMTP_PORT"])) in EXPECTED_EGRESS[
        "notifications"
    ]
    for service in SERVICES:
        me = pods[service]
        reached = set()
        for name, pod in pods.items():
            for port in PORTS:
                if can_reach(policies, me, pod, port):
                    reached.add((name, port))
        for address, where in ((INTERNET, "internet"), (PRIVATE, "private")):
            for port in PORTS:
                if can_reach(policies, me, address, port):
                    reached.add((where, port))
        udp = can_reach(policies, me, pods["dns"], 53, "UDP")
        assert udp, f"{service} cannot resolve names"
        expected = {("dns", 53), ("rabbitmq", 5672), (f"pooler:{service}", 5432)}
        assert reached == expected | EXPECTED_EGRESS[service], service


def test_only_the_gateway_takes_traffic_from_outside(network: dict[str, Any]) -> None:
    policies, pods = network["policies"], network["pods"]
    outsiders = ("ingress", "stranger", "keda", INTERNET)
    for name, pod in pods.items():
        if pod.namespace != NAMESPACE:
            continue
        for source in outsiders:
            src = pods[source] if isinstance(source, str) else source
            for port in PORTS:
                allowed = can_reach(policies, src, pod, port)
                expected = (name, source, port) in {
                    ("gateway", "ingress", 8000),
                    ("rabbitmq", "keda", 5672),  # the scaler reads queue depths
                }
                assert allowed == expected, (source, name, port)
    # the operators manage what they made: the topology operator sets users and
    # permissions through the management API
    assert can_reach(policies, pods["rabbitmq-operator"], pods["rabbitmq"], 15672)
    assert not can_reach(policies, pods["rabbitmq-operator"], pods["registry"], 9100)
    # Prometheus scrapes every service's metrics page, nothing else of theirs
    for service in SERVICES:
        assert can_reach(policies, pods["prometheus"], pods[service], 9100)
        assert not can_reach(policies, pods["prometheus"], pods[service], 8000)


def test_a_database_takes_only_its_own_services_connections(
    network: dict[str, Any],
) -> None:
    policies, pods = network["policies"], network["pods"]
    for owner in SERVICES:
        for service in SERVICES:
            mine = owner == service
            assert (
                can_reach(policies, pods[service], pods[f"pooler:{owner}"], 5432)
                == mine
            )
            assert not can_reach(policies, pods[service], pods[f"db:{owner}"], 5432)
            assert (
                can_reach(
                    policies, pods[f"{service}-migrate"], pods[f"db:{owner}"], 5432
                )
                == mine
            )
        assert can_reach(policies, pods[f"pooler:{owner}"], pods[f"db:{owner}"], 5432)
        assert can_reach(policies, pods[f"db:{owner}"], pods[f"db:{owner}"], 5432)
        assert not can_reach(policies, pods[f"{owner}-migrate"], INTERNET, 443)
        # the operator reaches its instances (status and PostgreSQL), as it needs
        for port in (8000, 5432):
            assert can_reach(policies, pods["cnpg-operator"], pods[f"db:{owner}"], port)
        assert not can_reach(policies, pods[f"{owner}-migrate"], pods["rabbitmq"], 5672)


def test_the_policy_check_would_catch_a_widened_policy(
    production: list[dict[str, Any]], network: dict[str, Any]
) -> None:
    """If the gateway's policy let it reach the registry's pooler, it is seen."""
    policies = copy.deepcopy(network["policies"])
    gateway = next(p for p in policies if p["metadata"]["name"] == "gateway")
    gateway["spec"]["egress"].append(
        {
            "to": [
                {
                    "podSelector": {
                        "matchLabels": {"cnpg.io/poolerName": "svyaz-registry-pooler"}
                    }
                }
            ]
        }
    )
    pods = network["pods"]
    assert not can_reach(
        network["policies"], pods["gateway"], pods["pooler:registry"], 5432
    )
    # egress alone is not enough: the pooler's ingress still refuses the gateway
    assert not can_reach(policies, pods["gateway"], pods["pooler:registry"], 5432)
    registry = next(
        p for p in policies if p["metadata"]["name"] == "svyaz-registry-pooler"
    )
    registry["spec"]["ingress"][0]["from"].append(
        {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}}
    )
    assert can_reach(policies, pods["gateway"], pods["pooler:registry"], 5432)


# -- staging: the fakes `make run` starts -------------------------------------------


@pytest.fixture(scope="module")
def staging() -> list[dict[str, Any]]:
    return render("staging")


def fakes(resources: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        name: d
        for name, d in of_kind(resources, "Deployment").items()
        if d["metadata"]["labels"]["app.kubernetes.io/component"] == "fake"
    }


def test_production_talks_to_stripe_and_the_relay_only(
    production: list[dict[str, Any]],
) -> None:
    assert not fakes(production)
    configmaps = of_kind(production, "ConfigMap")
    for service in ("registry", "stipends"):
        assert configmaps[f"svyaz-{service}"]["data"]["STRIPE_API_BASE"] == (
            "https://api.stripe.com"
        )
    assert configmaps["svyaz-notifications"]["data"]["SMTP_STARTTLS"] == "true"


def test_staging_runs_the_sandbox_and_the_sink_in_their_place(
    staging: list[dict[str, Any]],
) -> None:
    """The Stripe sandbox (its own Dockerfile) and an SMTP sink, as `make run`
    starts them, and the services pointed at them."""
    found = fakes(staging)
    assert set(found) == {"stripe-sandbox", "smtp-sink"}
    service_ports = {
        name: {p["name"]: p["port"] for p in s["spec"]["ports"]}
        for name, s in of_kind(staging, "Service").items()
    }
    (sandbox,) = pod_spec(found["stripe-sandbox"])["containers"]
    dockerfile = (ROOT / "infra/stripe-sandbox/Dockerfile").read_text()
    assert "COPY infra/stripe-sandbox/stripe_sandbox stripe_sandbox" in dockerfile
    assert re.search(r"^USER nobody$", dockerfile, re.M)
    assert sandbox["image"] == "registry.example.org/svyaz/stripe-sandbox:0.1.0"
    argv = sandbox["command"]
    assert argv[:3] == ["python", "-m", "stripe_sandbox"]
    options = dict(zip(argv[3::2], argv[4::2], strict=True))
    assert int(options["--port"]) == sandbox["ports"][0]["containerPort"]
    assert options["--port"] == str(service_ports["stripe-sandbox"]["http"])
    # its webhooks reach the gateway's Service, signed with the gateway's secret
    assert options["--webhook-url"] == "http://gateway/webhooks/stripe"
    assert service_ports["gateway"]["http"] == 80
    assert options["--webhook-secret"] == "$(STRIPE_WEBHOOK_SECRET)"
    (secret,) = sandbox["env"]
    gateway = {
        e["name"]: e
        for e in pod_spec(services(staging)["gateway"])["containers"][0]["env"]
    }
    assert secret == gateway["STRIPE_WEBHOOK_SECRET"]
    configmaps = of_kind(staging, "ConfigMap")
    for service in ("registry", "stipends"):
        assert configmaps[f"svyaz-{service}"]["data"]["STRIPE_API_BASE"] == (
            f"http://stripe-sandbox:{service_ports['stripe-sandbox']['http']}"
        )
    (sink,) = pod_spec(found["smtp-sink"])["containers"]
    assert sink["image"] == "registry.example.org/svyaz/notifications:0.1.0"
    assert re.search(r"^aiosmtpd==", (ROOT / "requirements.txt").read_text(), re.M)
    assert "-l 0.0.0.0:8025" in sink["command"][-1]
    mail = configmaps["svyaz-notifications"]["data"]
    assert mail["SMTP_HOST"] == "smtp-sink"
    assert mail["SMTP_PORT"] == str(service_ports["smtp-sink"]["smtp"]) == "8025"


def test_in_staging_nothing_reaches_stripe_or_the_relay(
    staging: list[dict[str, Any]],
) -> None:
    network = build_network(staging)
    policies, pods = network["policies"], network["pods"]
    for service in SERVICES:
        assert can_reach(policies, pods[service], pods["stripe-sandbox"], 8420) == (
            service in ("registry", "stipends")
        ), service
        assert can_reach(policies, pods[service], pods["smtp-sink"], 8025) == (
            service == "notifications"
        ), service
        for port in PORTS:
            assert not can_reach(policies, pods[service], INTERNET, port), service
    assert can_reach(policies, pods["stripe-sandbox"], pods["gateway"], 8000)
    assert not can_reach(policies, pods["stripe-sandbox"], pods["registry"], 9100)
    assert not can_reach(policies, pods["stripe-sandbox"], INTERNET, 443)
    assert not can_reach(policies, pods["stranger"], pods["stripe-sandbox"], 8420)
    assert not can_reach(policies, pods["smtp-sink"], INTERNET, 25)
