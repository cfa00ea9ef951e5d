"""The alert rules are valid Prometheus rules, each fires on the series that mean
trouble and stays quiet beside them (`promtool test rules`), and the Prometheus
that `make run` starts scrapes every process with them."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402

RULES = ROOT / "infra" / "prometheus"


@pytest.fixture(scope="module")
def promtool() -> str:
    binary = shutil.which("promtool")
    assert binary, "promtool is not installed: run `make tools` (Debian's prometheus)"
    return binary


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=RULES, capture_output=True, text=True, timeout=60)


def test_the_rules_are_valid(promtool: str) -> None:
    result = run(promtool, "check", "rules", "alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_fires_when_it_should_and_only_then(promtool: str) -> None:
    result = run(promtool, "test", "rules", "tests.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_is_tested_and_documented() -> None:
    rules = yaml.safe_load((RULES / "alerts.yml").read_text())
    names = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tested = (RULES / "tests.yml").read_text()
    readme = (ROOT / "README.md").read_text()
    operations = (ROOT / "docs" / "operations.md").read_text()
    for name in names:
        assert f"alertname: {name}" in tested, name
        assert name in readme, name
        assert name in operations, name
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["annotations"]["action"], rule["alert"]


def test_the_stack_scrapes_every_process_with_the_rules(
    promtool: str, tmp_path: Path
) -> None:
    settings = devstack.Settings(var=tmp_path, alert_for="0s")
    config = devstack.prometheus_config(
        settings, {"registry": [9301, 9311], "gateway": [9304]}
    )
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "alerts.yml").write_text(devstack.alert_rules(settings))
    (tmp_path / "prometheus.yml").write_text(config)
    checked = subprocess.run(
        [promtool, "check", "config", str(tmp_path / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    parsed = yaml.safe_load(config)
    jobs = {
        j["job_name"]: j["static_configs"][0]["targets"]
        for j in parsed["scrape_configs"]
    }
    assert jobs == {
        "registry": ["127.0.0.1:9301", "127.0.0.1:9311"],
        "gateway": ["127.0.0.1:9304"],
    }
    rules = yaml.safe_load(devstack.alert_rules(settings))
    assert {r["for"] for g in rules["groups"] for r in g["rules"]} == {"0s"}


def test_make_run_gives_each_replica_its_own_metrics_port() -> None:
    settings = devstack.Settings(metrics_base=9300)
    ports = {
        (s, n): settings.metrics_port(s, n) for s in devstack.SERVICES for n in (1, 2)
    }
    assert ports[("registry", 1)] == 9301 and ports[("gateway", 2)] == 9314
    assert len(set(ports.values())) == len(ports)
    assert devstack.Settings().metrics_port("registry", 1) is None  # tests: off
