"""Payouts, the shared rate limit and reconciliation through PgBouncer in
transaction pooling, as production may run them (docs/failover.md): their own
integration tests, run again with every connection through a pooler in front of a
PostgreSQL pair of their own. A server connection then serves a client for one
transaction only, so anything kept in a session between transactions (a `SET`, an
advisory lock, a temporary table, a prepared statement) would show here as a
failure. The application's flow through a pooler, and through a failover, is
tests/e2e/test_failover.py.

The run is a pytest of its own with `TEST_PG_URL` naming the pooler and
`TEST_PG_ADMIN_URL` the server (databases are made and copied there:
tests/conftest.py); the pooler's log shows the tests' databases were reached
through it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.conftest import ROOT
from tests.stack import postgres_pair

FILES = [
    "tests/stipends/integration/test_payouts_runs.py",
    "tests/stipends/integration/test_payouts_batch.py",
    "tests/stipends/integration/test_rate_limit.py",
    "tests/stipends/integration/test_reconciliation.py",
    "tests/stipends/integration/test_payouts_reconcile.py",
    "tests/insights/integration/test_rebuild_cli.py",
]
PASSWORD = "pooled-tests"


def test_payouts_and_reconciliation_pass_through_transaction_pooling() -> None:
    with postgres_pair(pooled=True, admin_password=PASSWORD) as pair:
        assert pair.pool_mode == "transaction"
        env = {
            **os.environ,
            "TEST_PG_URL": f"postgresql://postgres:{PASSWORD}@{pair.hosts[0]}",
            "TEST_PG_ADMIN_URL": pair.admin_url,
        }
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *FILES],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
        )
        log = (pair.base / "pgbouncer-primary" / "pgbouncer.log").read_text()
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) >= 62, summary  # every test collected
    assert "failed" not in summary and "error" not in summary, summary
    # the tests' own databases were reached through the pooler, many times over
    logins = re.findall(r"login attempt: db=(test_\w+)", log)
    assert len(logins) >= int(passed.group(1)), f"{len(logins)} logins through it"
