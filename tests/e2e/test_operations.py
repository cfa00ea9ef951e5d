"""Operating the running system: the processes started as `make run` starts them,
with their metrics pages and a real Prometheus (Debian's) scraping them every second
and evaluating infra/prometheus/alerts.yml (every `for:` at 0s).

- A small cycle (applications, vetting, a report, a stipend approved, a payout run
  released and paid in the Stripe sandbox) is counted as it happened, read back
  through Prometheus's HTTP API, not only from the services' pages.
- One request's correlation id is on the gateway's access line and on the log lines
  of every service its RPC and events reached (`grep <id> var/log/*.log`).
- Injected faults fire their alerts: a poison message (SvyazMessageParked), a
  provider answering 500 (SvyazProviderErrors), a consumer stopped by SIGSTOP
  (SvyazConsumerGone), and the gateway's /readyz says 503 while its database is
  unreachable is not tested here (see tests/gateway); it answers 200 when ready.
"""

import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from svyaz import signing
from svyaz.keys import FINANCE_CLI
from tests.conftest import ROOT
from tests.helpers import actor, publish_raw, wait_until
from tests.journeys import approved_stipend, enrolled_staff
from tests.stack import System, devstack, running_system


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    var = Path(tmp_path_factory.mktemp("ops"))
    with running_system(
        var,
        prefix="ops",
        observed=True,
        PAYOUT_MAX_BACKOFF_SECONDS="1",
        PAYOUT_POLL_SECONDS="1",
    ) as system:
        yield system


def query(system: System, promql: str) -> list[dict[str, Any]]:
    answer = requests.get(
        f"{system.prometheus}/api/v1/query", params={"query": promql}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["status"] == "success", body
    return list(body["data"]["result"])


def value(system: System, promql: str) -> float | None:
    result = query(system, promql)
    return float(result[0]["value"][1]) if result else None


def eventually(system: System, promql: str, expected: float, what: str) -> None:
    """The query's value reaches `expected` (Prometheus scrapes every second)."""
    seen: list[float | None] = []

    def check() -> bool:
        seen.append(value(system, promql))
        return seen[-1] == expected

    try:
        wait_until(check, what, timeout=30)
    except AssertionError:
        raise AssertionError(
            f"{what}: {promql} is {seen[-1]}, not {expected}"
        ) from None


def firing(system: System, alert: str, timeout: float = 45) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]]:
        alerts = requests.get(f"{system.prometheus}/api/v1/alerts", timeout=10)
        return [
            a
            for a in alerts.json()["data"]["alerts"]
            if a["labels"]["alertname"] == alert and a["state"] == "firing"
        ]

    return list(wait_until(check, f"the alert {alert} to fire", timeout=timeout))


def readiness(
    system: System, service: str, **env: str
) -> subprocess.CompletedProcess[str]:
    """`python -m svyaz.health <service> --ready` as docker-compose runs it."""
    return subprocess.run(
        [sys.executable, "-m", "svyaz.health", "--ready", service],
        cwd=ROOT / "services" / service,
        env={**system.settings.env(service), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def paid_cycle(system: System, before_release: Any = None) -> str:
    """One approved stipend paid through a released run; the run's id."""
    with system.rpc() as rpc:
        finance_id, _, totp = enrolled_staff(system, rpc, ["finance"])
        cycle = approved_stipend(system, rpc)
    finance = actor(["finance"], finance_id)
    if before_release is not None:
        before_release()
    with system.rpc(FINANCE_CLI) as rpc, signing.signing_as(FINANCE_CLI):
        run = rpc.stipends.build_payout_run(finance, cycle)
        rpc.stipends.release_payout_run(
            finance, run["id"], run["totals_digest"], totp.now()
        )
    return str(run["id"])


def test_a_cycle_is_counted_as_it_happened_in_prometheus(observed: System) -> None:
    system = observed
    eventually(
        system, "count(up == 1)", len(devstack.SERVICES), "every process scraped"
    )
    ready = requests.get(f"{system.url}/readyz", timeout=10)
    assert ready.status_code == 200, ready.text

    run_id = paid_cycle(system)
    wait_until(
        lambda: system.sql(
            "stipends",
            "SELECT 1 FROM payouts WHERE run_id = :r AND status IN ('sent', 'paid')",
            r=run_id,
        ),
        "the payout to reach the sandbox",
        timeout=60,
    )
    (applied,) = system.sql("registry", "SELECT count(*) FROM communicators")[0]
    # the gateway answered every application with 202, and called registry.apply
    eventually(
        system,
        'sum(svyaz_http_requests_total{method="POST", '
        'route="/api/v1/applications", status="202"})',
        applied,
        "applications counted by the gateway",
    )
    eventually(
        system,
        'sum(svyaz_rpc_calls_total{job="gateway", service="registry", '
        'method="apply", outcome="ok"})',
        applied,
        "registry.apply calls counted by the gateway",
    )
    # each communicator.applied.v1 handled once by stipends and by notifications
    for queue in (
        "stipends.on_communicator_applied",
        "notifications.on_communicator_applied",
    ):
        eventually(
            system,
            f'sum(svyaz_messages_total{{queue="{queue}", outcome="handled"}})',
            applied,
            f"events handled on {queue}",
        )
    # the payouts the database holds are the ones Prometheus shows
    (payouts,) = system.sql("stipends", "SELECT count(*) FROM payouts")[0]
    assert payouts == 1
    eventually(
        system,
        'sum(svyaz_payouts{state=~"sent|paid", provider="stripe_connect"})',
        payouts,
        "the payout sent or paid",
    )
    eventually(system, "sum(svyaz_outbox_waiting)", 0, "the outboxes drained")
    eventually(
        system,
        'min(svyaz_queue_consumers{queue="rpc-registry"})',
        1,
        "a consumer on rpc-registry",
    )
    assert not query(system, 'ALERTS{alertstate="firing"}')
    for service in ("registry", "stipends", "notifications"):
        ready = readiness(system, service)
        assert ready.returncode == 0, ready.stdout + ready.stderr
        assert "ok   database" in ready.stdout and "FAIL" not in ready.stdout
    unready = readiness(system, "stipends", DB_URI=system.settings.db_uri("nowhere"))
    assert unready.returncode == 1
    assert "FAIL database" in unready.stdout and "ok   broker" in unready.stdout
    # the dashboard renders from the same data
    page = requests.get(f"{system.prometheus}/consoles/svyaz.html", timeout=10)
    assert page.status_code == 200, page.text
    assert "stipends.on_communicator_applied" in page.text
    assert "POST /api/v1/applications" in page.text


def test_one_request_is_followed_across_every_service_by_its_id(
    observed: System,
) -> None:
    system = observed
    pseudonym = f"lark_{uuid.uuid4().hex[:6]}"
    answer = requests.post(
        f"{system.url}/api/v1/applications",
        timeout=30,
        json={
            "pseudonym": pseudonym,
            "legal_name": "Vera T.",
            "email": f"{uuid.uuid4().hex[:8]}@example.org",
            "country": "AM",
            "city": "Yerevan",
            "consent_version": "2026-11",
            "consent": True,
        },
    )
    assert answer.status_code == 202
    correlation = answer.headers["X-Correlation-Id"]
    logs = system.stack.logs

    def lines() -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for path in logs.glob("*.log"):
            for line in path.read_text(errors="replace").splitlines():
                if correlation in line and line.startswith("{"):
                    found.setdefault(path.stem, []).append(json.loads(line))
        return found

    found = wait_until(
        lambda: (lambda f: f if {"stipends", "notifications"} <= set(f) else None)(
            lines()
        ),
        "the request's id in every service's log",
        timeout=30,
    )
    assert {"gateway", "registry", "stipends", "notifications"} <= set(found)
    (access,) = [e for e in found["gateway"] if e["logger"] == "gateway.access"]
    assert access["http"] == {
        "method": "POST",
        "route": "/api/v1/applications",
        "status": 202,
        "ms": access["http"]["ms"],
    }
    assert access["correlation_id"] == correlation
    assert all(e["correlation_id"] == correlation for f in found.values() for e in f)
    # the application's state change, with ids only
    (applied,) = [
        e
        for e in found["registry"]
        if e.get("change", {}).get("event") == "communicator.applied.v1"
    ]
    assert pseudonym not in json.dumps(found)


def test_a_poison_message_fires_its_alert(observed: System) -> None:
    system = observed
    publish_raw(
        system.settings.amqp_uri,
        "registry.events",
        "communicator.applied.v1",
        b"{this is not a signed message",
    )
    (alert, *_) = firing(system, "SvyazMessageParked")
    assert alert["labels"]["reason"] == "bad_signature"
    assert alert["labels"]["queue"] in (
        "stipends.on_communicator_applied",
        "notifications.on_communicator_applied",
    )


def test_a_provider_answering_500_fires_its_alert(observed: System) -> None:
    system = observed

    def fail() -> None:
        faults = requests.post(
            f"{system.sandbox}/_sandbox/faults",
            json={"fail_nth": 1, "status": 500, "times": 50},
            timeout=10,
        )
        assert faults.status_code == 200, faults.text

    try:
        paid_cycle(system, before_release=fail)
        (alert,) = firing(system, "SvyazProviderErrors", timeout=60)
        assert alert["labels"]["provider"] == "stripe_connect"
        # the 500s were counted as the provider being unavailable (the alert's
        # increase() extrapolates over its window: two may already fire it)
        errors = value(
            system,
            'sum(svyaz_provider_errors_total{provider="stripe_connect", '
            'kind="unavailable"})',
        )
        assert errors is not None and errors >= 2
    finally:
        requests.delete(f"{system.sandbox}/_sandbox/faults", timeout=10)


def test_a_stopped_consumer_fires_its_alert(observed: System) -> None:
    system = observed
    process = system.stack.processes["notifications"]
    process.send_signal(signal.SIGSTOP)
    try:
        alerts = firing(system, "SvyazConsumerGone")
        assert {a["labels"].get("job") for a in alerts} >= {"notifications"}
    finally:
        process.send_signal(signal.SIGCONT)
    wait_until(
        lambda: value(system, 'up{job="notifications"}') == 1,
        "notifications to answer again",
        timeout=30,
    )
