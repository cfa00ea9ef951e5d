"""The console's stipends page for a cycle of 5,000 stipends against one of 50.

    python bench/stipends_page.py     # BENCH_N=30 page loads of each, after warm-up

The system runs as `make run` runs it (infra/dev/stack.py) on its own databases and
vhost. Two closed cycles of one programme are written straight into the stipends
database (5,000 and 50 proposed stipends, their payees payout-ready), and a program
admin, signed in with a second factor, loads `GET /admin/stipends?cycle=…` for each:
the session, one stipends_page RPC (four SQL statements whatever the cycle's size),
and the page of 50 rendered. Paginated, the two should take about as long.

Last line: RESULT stipends_page ratio=<median 5,000 / median 50> target<=2
"""

from __future__ import annotations

import warnings

warnings.simplefilter("ignore")
import eventlet  # noqa: E402

eventlet.monkey_patch()

import os  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import pyotp  # noqa: E402
import requests  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _support import (  # noqa: E402
    ROOT,
    actor,
    configure_signing,
    free_port,
    machine,
    result,
)

sys.path.insert(0, str(ROOT / "infra" / "dev"))
import stack as devstack  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from stipends.models import Communicator, Cycle, Programme, Stipend  # noqa: E402
from svyaz import config as settings  # noqa: E402
from svyaz.db import make_cooperative  # noqa: E402
from svyaz.keys import OPERATOR  # noqa: E402
from svyaz.rpc_proxy import ClusterRpcProxy  # noqa: E402

N = int(os.environ.get("BENCH_N", "30"))
SIZES = (5_000, 50)
API = "http://127.0.0.1:15672/api"
AUTH = ("guest", "guest")
PASSWORD = "a long passphrase for the bench"
AMOUNT = 20_000


def seed(db_uri: str) -> dict[int, str]:
    """A programme and one closed cycle per size, each with that many proposed
    stipends of payout-ready payees; {size: cycle id}."""
    engine = create_engine(db_uri)
    cycles = {}
    with Session(engine) as session, session.begin():
        proposer = uuid.uuid4()
        programme = Programme(
            id=uuid.uuid4(),
            name="bench",
            currency="EUR",
            budget_minor=0,
            tier_amounts={"professional": AMOUNT},
            approval_bands=[{"up_to_minor": None, "approvers": 2}],
            created_by=proposer,
        )
        session.add(programme)
        session.flush()
        for month, size in enumerate(SIZES, start=1):
            cycle = Cycle(
                id=uuid.uuid4(),
                programme_id=programme.id,
                period=f"2026-{month:02d}",
                deadline=datetime(2026, month, 28, tzinfo=UTC),
                status="closed",
            )
            session.add(cycle)
            session.flush()
            payees = [
                Communicator(
                    id=uuid.uuid4(),
                    pseudonym=f"bench_{uuid.uuid4().hex[:8]}",
                    status="active",
                    tier="professional",
                    training_completed=True,
                    payout_provider="stripe_connect",
                    payout_ready=True,
                    destination_fingerprint=uuid.uuid4().hex * 2,
                )
                for _ in range(size)
            ]
            session.add_all(payees)
            session.flush()
            session.add_all(
                Stipend(
                    id=uuid.uuid4(),
                    programme_id=programme.id,
                    cycle_id=cycle.id,
                    communicator_id=who.id,
                    amount_minor=AMOUNT,
                    currency="EUR",
                    reasons=["professional tier"],
                    status="proposed",
                    proposed_by=proposer,
                    approvals_needed=2,
                    approvals_given=0,
                )
                for who in payees
            )
            cycles[size] = str(cycle.id)
    engine.dispose()
    return cycles


def signed_in_admin(stack: devstack.Stack, url: str) -> requests.Session:
    """A program admin with an authenticator, signed in through the JSON API (the
    session cookie serves the console as well)."""
    config = settings.load(ROOT / "services" / "gateway" / "config.yml")
    config.pop("LOGGING", None)
    config["AMQP_URI"] = stack.settings.amqp_uri
    configure_signing(OPERATOR)
    email = f"bench.admin.{uuid.uuid4().hex[:6]}@example.org"
    with ClusterRpcProxy({**config, "BUS_IDENTITY": OPERATOR}, timeout=30) as rpc:
        rpc.registry.create_staff_account(
            actor(["program_admin"]),
            {"email": email, "roles": ["program_admin"], "password": PASSWORD},
        )
    http = requests.Session()
    enroll = http.post(
        f"{url}/api/v1/session",
        json={"email": email, "password": PASSWORD},
        timeout=30,
    ).json()
    totp = pyotp.TOTP(enroll["totp_secret"])
    done = http.post(
        f"{url}/api/v1/session/second-factor",
        json={"code": totp.now()},
        headers={"X-CSRF-Token": enroll["csrf_token"]},
        timeout=30,
    )
    assert done.status_code == 200, done.text
    return http


def timings(http: requests.Session, page: str) -> list[float]:
    def load() -> float:
        started = time.perf_counter()
        response = http.get(page, timeout=60)
        took = time.perf_counter() - started
        assert response.status_code == 200, response.status_code
        assert response.text.count('class="stipend-status"') == 50
        return took

    for _ in range(5):  # warm-up
        load()
    return [load() for _ in range(N)]


def main() -> None:
    make_cooperative()
    tag = uuid.uuid4().hex[:8]
    var = Path(tempfile.mkdtemp(prefix="svyaz-bench-"))
    s = devstack.Settings(
        db_prefix=f"bench_{tag}",
        vhost=f"svyaz-bench-{tag}",
        http=f"127.0.0.1:{free_port()}",
        smtp_port=free_port(),
        sandbox_port=free_port(),
        var=var,
        # requests keeps Secure cookies off plain http; browsers allow them on loopback
        extra_env={"COOKIE_SECURE": "false"},
    )
    requests.put(f"{API}/vhosts/{s.vhost}", auth=AUTH, timeout=30).raise_for_status()
    requests.put(
        f"{API}/permissions/{s.vhost}/guest",
        auth=AUTH,
        timeout=30,
        json={"configure": ".*", "write": ".*", "read": ".*"},
    ).raise_for_status()
    devstack.create_databases(s)
    stack = devstack.Stack(s)
    measured: dict[int, list[float]] = {}
    try:
        devstack.migrate(s)
        devstack.load_topology(s)
        devstack.create_broker_users(s)
        stack.start()
        url = f"http://{s.http}"
        print(f"machine: {machine()}; {N} page loads of each cycle")
        cycles = seed(s.db_uri("stipends"))
        http = signed_in_admin(stack, url)
        for size in SIZES:
            measured[size] = timings(http, f"{url}/admin/stipends?cycle={cycles[size]}")
    finally:
        stack.stop()
        devstack.drop_databases(s)
        devstack.drop_broker_users(s)
        requests.delete(f"{API}/vhosts/{s.vhost}", auth=AUTH, timeout=30)
        shutil.rmtree(var, ignore_errors=True)  # its credentials and logs
    for size in SIZES:
        values = measured[size]
        print(
            f"{size:>5} stipends: median {statistics.median(values) * 1000:7.2f} ms   "
            f"max {max(values) * 1000:7.2f} ms"
        )
    ratio = statistics.median(measured[5_000]) / statistics.median(measured[50])
    result("stipends_page", ratio, "<=2")


if __name__ == "__main__":
    main()
